"""Keyset pagination: the list envelope, signed opaque cursors, and the pieces the
pages of the lists embedded in term details share (keys, cutting, name order).

A cursor carries the sort key of the last item served and a fingerprint of the query it
belongs to, signed so that a modified or foreign cursor is rejected rather than
answered with a wrong page. Keyset (not offset) pages stay correct when rows are
added between requests.
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, func
from sqlmodel import Session, select

from app.database import planned_with
from app.errors import InvalidParameters, ParameterError

Item = TypeVar("Item")
Row = TypeVar("Row")

DEFAULT_LIMIT = 20
# The list a term's detail embeds (a phase's exercises, a source's evidence) is paged
# too, but most terms fit on one page, so the default is the largest page.
DETAIL_DEFAULT_LIMIT = 100
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 512


class Page(BaseModel, Generic[Item]):
    """The envelope every list shares."""

    items: list[Item]
    total: int = Field(description="How many items match the query, across all pages.")
    limit: int = Field(description="The page size asked for.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


def query_fingerprint(parameters: Mapping[str, Any]) -> str:
    """Identifies a query apart from its paging, so a cursor only works where it came from."""
    canonical = json.dumps(parameters, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _sign(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:16]


def encode_cursor(secret: str, fingerprint: str, key: Sequence[Any]) -> str:
    payload = json.dumps({"f": fingerprint, "k": list(key)}, separators=(",", ":")).encode()
    token = payload + _sign(secret, payload)
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def decode_cursor(secret: str, fingerprint: str, cursor: str) -> list[Any]:
    """The key a cursor carries; `InvalidParameters` if it is malformed, tampered or foreign."""

    def invalid(message: str) -> InvalidParameters:
        return InvalidParameters(
            f"The cursor is not valid: {message}.",
            [ParameterError(parameter="cursor", message=message, value=cursor[:64])],
        )

    if len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid("too long")
    try:
        token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise invalid("not a cursor this API issued") from None
    payload, signature = token[:-16], token[-16:]
    if len(token) <= 16 or not hmac.compare_digest(signature, _sign(secret, payload)):
        raise invalid("not a cursor this API issued")
    # Signed by whoever holds the secret (a public default, unless set): check the shape.
    try:
        data = json.loads(payload)
    except ValueError:
        raise invalid("not a cursor this API issued") from None
    if not isinstance(data, dict) or not isinstance(data.get("k"), list):
        raise invalid("not a cursor this API issued")
    if data.get("f") != fingerprint:
        raise invalid("it belongs to a different query (filters or sort changed)")
    return list(data["k"])


def invalid_cursor_key() -> InvalidParameters:
    return InvalidParameters(
        "The cursor is not valid: its position does not fit this list.",
        [ParameterError(parameter="cursor", message="position does not fit this list")],
    )


def fits_column(value: Any) -> bool:
    """Whether a cursor's key value can be compared with a column on every database:
    PostgreSQL's integer keys are 32-bit and its text cannot hold NUL, and a value that
    does not fit must not reach them (it would be an error there, not a 422)."""
    if isinstance(value, int):
        return -(2**31) <= value < 2**31
    if isinstance(value, str):
        return "\x00" not in value
    return True


def keyset_page(
    session: Session,
    statement: Select[Any],
    key: Any,
    *,
    key_type: type[str] | type[int],
    limit: int,
    after: list[Any] | None,
) -> tuple[list[Any], int, list[Any] | None]:
    """A page of `statement` ordered by the unique model attribute `key` (e.g.
    `Goal.slug`, of `key_type` str), after the key `after`."""
    total: int = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    if after is not None:
        if len(after) != 1 or type(after[0]) is not key_type or not fits_column(after[0]):
            raise invalid_cursor_key()
        statement = statement.where(key > after[0])
    rows = list(
        session.execute(statement.order_by(key).limit(planned_with(limit + 1))).scalars().all()
    )
    next_key = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_key = [getattr(rows[-1], key.key)]
    return rows, total, next_key


def parse_key(after: list[Any], types: Sequence[type[str] | type[int]]) -> list[Any]:
    """A cursor's key, checked against the types of the columns it is compared with."""
    if len(after) != len(types):
        raise invalid_cursor_key()
    for value, kind in zip(after, types, strict=True):
        if type(value) is not kind or not fits_column(value):
            raise invalid_cursor_key()
    return after


def cut_page(
    rows: Sequence[Row], limit: int, key: Callable[[Row], list[Any]]
) -> tuple[list[Row], list[Any] | None]:
    """`rows`, fetched with `limit + 1`, cut to a page; and the key of its last row when
    the extra row shows there is a next page."""
    if len(rows) <= limit:
        return list(rows), None
    page = list(rows[:limit])
    return page, key(page[-1])
