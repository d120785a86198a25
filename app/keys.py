"""Curation API keys: made (shown once), listed, revoked, and checked.

A key reads `eck_<lookup>_<secret>`. The lookup part finds its row; only a salted
scrypt hash of the secret is stored, compared in constant time. A process remembers
the keys it has verified (as a hash of the secret, never the secret), so that scrypt's
deliberate cost is paid once per key and process rather than per request; the row is
still read every time, so a revoked key is refused at once."""

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app.errors import Conflict, NotFound, Unauthorized
from app.models import ApiKey
from app.vocabulary import KeyRole

PREFIX = "eck"
# The author the change log gives seeding (`app.writer.SEED_AUTHOR`): no key is named so.
SEED_AUTHOR = "seed"
# scrypt's cost: 16 MiB of memory and some tens of milliseconds per check.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True)
class KeyHolder:
    """Who a request's key says it is."""

    id: int
    name: str
    role: KeyRole


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    derived = hashlib.scrypt(secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${derived.hex()}"


def secret_matches(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        derived = hashlib.scrypt(
            secret.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(derived.hex(), expected)


class VerifiedKeys:
    """The keys this process has verified: lookup -> (stored hash, SHA-256 of the
    secret). A key whose stored hash changes, or a different secret, is verified anew."""

    MAX_KEYS = 1024

    def __init__(self) -> None:
        self._verified: dict[str, tuple[str, bytes]] = {}
        self._lock = threading.Lock()

    def check(self, lookup: str, secret: str, stored: str) -> bool:
        fingerprint = hashlib.sha256(secret.encode()).digest()
        known = self._verified.get(lookup)
        if known is not None and known[0] == stored:
            return hmac.compare_digest(known[1], fingerprint)
        if not secret_matches(secret, stored):
            return False
        with self._lock:
            if len(self._verified) >= self.MAX_KEYS:
                self._verified.pop(next(iter(self._verified)))
            self._verified[lookup] = (stored, fingerprint)
        return True


def create_key(session: Session, *, name: str, role: KeyRole, now: datetime) -> str:
    """Make a key named `name` with `role`; the key itself, which is never stored."""
    if name.strip().lower() == SEED_AUTHOR or not name.strip():
        raise Conflict(f"'{name}' cannot name a key: the change log uses it for the files.")
    if session.exec(select(ApiKey).where(ApiKey.name == name)).first() is not None:
        raise Conflict(f"A key named '{name}' already exists.")
    lookup = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    session.add(
        ApiKey(name=name, role=role, lookup=lookup, secret_hash=hash_secret(secret), created_at=now)
    )
    session.commit()
    return f"{PREFIX}_{lookup}_{secret}"


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.name))))


def revoke_key(session: Session, *, name: str, now: datetime) -> ApiKey:
    key = session.exec(select(ApiKey).where(ApiKey.name == name)).first()
    if key is None:
        raise NotFound(f"No key named '{name}'.")
    if key.revoked_at is None:
        key.revoked_at = now
        session.add(key)
        session.commit()
    return key


def key_holder(session: Session, *, token: str, verified: VerifiedKeys) -> KeyHolder:
    """The holder of `token`, a key as `create_key` made it; `Unauthorized` for a key
    that is malformed, unknown or revoked (the same answer for each, so the answer
    tells an attacker nothing)."""
    refused = Unauthorized("The API key is not valid.", key_sent=True)
    prefix, _, rest = token.partition("_")
    lookup, _, secret = rest.partition("_")
    if prefix != PREFIX or not lookup or not secret or len(token) > 200:
        raise refused
    key = session.exec(select(ApiKey).where(ApiKey.lookup == lookup)).first()
    if key is None or key.id is None or key.revoked_at is not None:
        raise refused
    if not verified.check(lookup, secret, key.secret_hash):
        raise refused
    return KeyHolder(id=key.id, name=key.name, role=key.role)
