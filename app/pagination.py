"""The HTTP side of paging: the list envelope, signed opaque cursors, and the `Link`
header. (The SQL side, keyset pages, is `app.queries.keyset`.)

A cursor carries the sort key of the last item served and a fingerprint of the query it
belongs to, signed so that a modified or foreign cursor is rejected rather than
answered with a wrong page.
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from app.errors import FieldError, InvalidParameters

Item = TypeVar("Item")

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


CURSOR_DESCRIPTION = "`next_cursor` of the previous page."


def _page_size(default: int, description: str) -> Any:
    return Field(default=default, ge=1, le=MAX_LIMIT, description=description, examples=[default])


class ListPage(BaseModel):
    """The page of a term list asked for: `limit` and `cursor`."""

    limit: int = _page_size(DEFAULT_LIMIT, "Page size, 1..100.")
    cursor: str | None = Field(
        default=None, max_length=MAX_CURSOR_LENGTH, description=CURSOR_DESCRIPTION
    )


class DetailPage(ListPage):
    """The page of the list a term's detail embeds (default 100 rather than 20)."""

    limit: int = _page_size(DETAIL_DEFAULT_LIMIT, "Page size of the embedded list, 1..100.")


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
            [FieldError(field="cursor", message=message, value=cursor[:64])],
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
