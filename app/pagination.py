"""The HTTP side of paging: the `limit` and `cursor` parameters, signed opaque cursors,
the list envelope and the `Link` header. (The SQL side, keyset pages, is
`app.queries.keyset`.)

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
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlencode

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from app.errors import FieldError, InvalidParameters
from app.queries.keyset import KeysetPage, PagePosition, first_page

Item = TypeVar("Item")

DEFAULT_LIMIT = 20
# The list a term's detail embeds (a phase's exercises, a source's evidence) is paged
# too, but most terms fit on one page, so the default is the largest page.
DETAIL_DEFAULT_LIMIT = 100
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 512
# What every cursor looks like: URL-safe base64 without padding (`_base64`).
CURSOR_PATTERN = "^[A-Za-z0-9_-]+$"


def CURSOR_SCHEMA(schema: dict[str, Any]) -> None:  # noqa: N802 (used as a constant)
    """`json_schema_extra` of a cursor field: its string (of `string | null`) has the
    pattern and length of every cursor."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string":
            branch.update(pattern=CURSOR_PATTERN, maxLength=MAX_CURSOR_LENGTH)


class Page(BaseModel, Generic[Item]):
    """The envelope every list shares."""

    items: list[Item] = Field(description="This page's items, in the list's order.")
    total: int = Field(description="How many items match the query, across all pages.")
    limit: int = Field(description="The page size asked for.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page.",
        json_schema_extra=CURSOR_SCHEMA,
    )


CURSOR_DESCRIPTION = (
    "`next_cursor` of the previous page: an opaque token, only ever copied from an answer "
    "(URL-safe base64 without padding, signed; a cursor of another list is a 422)."
)


def cursor_field(description: str = CURSOR_DESCRIPTION) -> Any:
    """The `cursor` query parameter. Its pattern is documented, not checked here:
    `decode_cursor` refuses any cursor this API did not issue, naming why."""
    return Field(
        default=None,
        max_length=MAX_CURSOR_LENGTH,
        description=description,
        json_schema_extra=CURSOR_SCHEMA,
    )


def _page_size(default: int, description: str) -> Any:
    return Field(default=default, ge=1, le=MAX_LIMIT, description=description, examples=[default])


class ListPage(BaseModel):
    """The page of a term list asked for: `limit` and `cursor`."""

    limit: int = _page_size(DEFAULT_LIMIT, "Page size, 1..100.")
    cursor: str | None = cursor_field()


class DetailPage(ListPage):
    """The page of the list a term's detail embeds (default 100 rather than 20)."""

    limit: int = _page_size(DETAIL_DEFAULT_LIMIT, "Page size of the embedded list, 1..100.")


FEED_MAX_LIMIT = 1000


class FeedQuery(BaseModel):
    """The page of the change feed asked for: its entries are small, so pages are large."""

    limit: int = Field(
        default=100, ge=1, le=FEED_MAX_LIMIT, description="Page size, 1..1000.", examples=[100]
    )
    cursor: str | None = cursor_field(
        "`next_cursor` or `resume_cursor` of an earlier page, or an export's "
        "`resume_cursor`; none for the whole log from its start (URL-safe base64 without "
        "padding, signed; a cursor of another catalogue database is a 422)."
    )


def query_fingerprint(parameters: Mapping[str, Any]) -> str:
    """Identifies a query apart from its paging, so a cursor only works where it came from."""
    canonical = json.dumps(parameters, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _sign(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:16]


def encode_cursor(secret: str, fingerprint: str, key: Sequence[Any]) -> str:
    payload = json.dumps({"f": fingerprint, "k": list(key)}, separators=(",", ":")).encode()
    return _base64(payload + _sign(secret, payload))


def _base64(token: bytes) -> str:
    """URL-safe base64 without padding: a cursor's only spelling."""
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


FOREIGN_CURSOR = "it belongs to a different query (filters or sort changed)"


def decode_cursor(
    secret: str, fingerprint: str | None, cursor: str, *, foreign: str = FOREIGN_CURSOR
) -> list[Any]:
    """The key a cursor carries; `InvalidParameters` if it is malformed, tampered or
    foreign (issued for another query: `foreign` says what that means here)."""
    data = _signed_data(secret, cursor)
    if data.get("f") != fingerprint:
        raise _invalid(cursor, foreign)
    return list(data["k"])


def check_cursor_signed(secret: str, cursor: str) -> None:
    """`InvalidParameters` unless `cursor` is one this API issued, for whichever list:
    what can be checked of it before the list it belongs to is known."""
    _signed_data(secret, cursor)


def cursor_problems(request: Request) -> list[FieldError]:
    """What is wrong with a request's `cursor`, as far as can be told without its list
    (for a 422 whose other parameters failed validation first)."""
    cursor = request.query_params.get("cursor")
    if cursor is None:
        return []
    try:
        check_cursor_signed(request.app.state.resources.settings.cursor_secret, cursor)
    except InvalidParameters as error:
        return list(error.errors or [])
    return []


def _invalid(cursor: str, message: str) -> InvalidParameters:
    return InvalidParameters(
        f"The cursor is not valid: {message}.",
        [FieldError(field="cursor", message=message, value=cursor[:64])],
    )


def _signed_data(secret: str, cursor: str) -> dict[str, Any]:
    """What a cursor this API signed holds: `f`, its query's fingerprint, and `k`."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise _invalid(cursor, "too long")
    data = _verified(secret, cursor)
    if data is None:
        raise _invalid(cursor, "not a cursor this API issued")
    return data


def _verified(secret: str, cursor: str) -> dict[str, Any] | None:
    """The data of a cursor this API signed, or None: the error is built only for a
    cursor that fails, since every page request checks one."""
    try:
        token = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None
    # One spelling per cursor: what the lenient decoding let through (characters outside
    # the alphabet, `+` and `/`, padding, stray low bits in the last character) is not
    # how `encode_cursor` writes it.
    if _base64(token) != cursor:
        return None
    payload, signature = token[:-16], token[-16:]
    if len(token) <= 16 or not hmac.compare_digest(signature, _sign(secret, payload)):
        return None
    # Signed by whoever holds the secret (a public default, unless set): check the shape.
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("k"), list):
        return None
    return data


@dataclass(frozen=True)
class Paging:
    """One request's page of a list: its size, where it starts (`position`, the
    request's cursor read as a keyset position), and the next page's cursor, also
    announced in an RFC 8288 `Link` header. A cursor works only for the query whose
    `fingerprint` it carries."""

    request: Request
    response: Response
    cursor_secret: str
    fingerprint: str
    limit: int
    position: PagePosition

    @classmethod
    def of(
        cls,
        request: Request,
        response: Response,
        *,
        cursor_secret: str,
        query: Mapping[str, Any],
        limit: int,
        cursor: str | None,
        when_read: bool = False,
    ) -> "Paging":
        """The paging of `query` (its parameters but the paging ones) from `cursor` on.
        The cursor is decoded now (a 422 before anything else is done), or with
        `when_read` when the query reads its position."""
        fingerprint = query_fingerprint(query)
        position: PagePosition = first_page
        if cursor is not None and when_read:
            position = lambda: decode_cursor(cursor_secret, fingerprint, cursor)  # noqa: E731
        elif cursor is not None:
            key = decode_cursor(cursor_secret, fingerprint, cursor)
            position = lambda: key  # noqa: E731
        return cls(request, response, cursor_secret, fingerprint, limit, position)

    def next_cursor(self, next_key: list[Any] | None) -> str | None:
        if next_key is None:
            return None
        cursor = encode_cursor(self.cursor_secret, self.fingerprint, next_key)
        # This request's URL with `cursor` replaced: parsed and encoded once, where
        # Starlette's remove_query_params and include_query_params do each twice.
        query = parse_qsl(self.request.url.query, keep_blank_values=True)
        query = [(name, value) for name, value in query if name != "cursor"]
        url = self.request.url.replace(query=urlencode([*query, ("cursor", cursor)]))
        self.response.headers["Link"] = f'<{url}>; rel="next"'
        return cursor

    def envelope(self, items: Sequence[Item], page: KeysetPage[Any]) -> Page[Item]:
        """The list envelope of `page`, whose rows are given as `items`."""
        return Page[Item](
            items=list(items),
            total=page.total,
            limit=self.limit,
            next_cursor=self.next_cursor(page.next_key),
        )


def feed_fingerprint(catalogue_id: str) -> str:
    """What a change-feed cursor carries: the catalogue database whose log it counts."""
    return query_fingerprint({"changes": catalogue_id})


@dataclass(frozen=True)
class FeedPaging:
    """One request's page of the change feed. Its cursors count entries of one
    database's change log, so they are bound to that database's catalogue id: another
    catalogue database (one migrated and seeded on its own, another deployment's)
    refuses them rather than read them as a position in its own log; its copies
    (replicas, restored backups) share the id and the log."""

    request: Request
    response: Response
    cursor_secret: str
    limit: int
    cursor: str | None

    def __post_init__(self) -> None:
        # Before the validators are checked (a 422 wins over a 304): which database the
        # cursor is bound to is only known once the read has begun.
        if self.cursor is not None:
            check_cursor_signed(self.cursor_secret, self.cursor)

    def position(self, catalogue_id: str) -> list[Any] | None:
        if self.cursor is None:
            return None
        return decode_cursor(
            self.cursor_secret,
            feed_fingerprint(catalogue_id),
            self.cursor,
            foreign="it belongs to a different list, or to another catalogue database",
        )

    def cursors(
        self, catalogue_id: str, next_key: list[Any] | None, resume_key: list[Any]
    ) -> tuple[str | None, str]:
        """The next page's cursor (announced in `Link`, None once caught up) and the
        cursor to poll with later."""
        fingerprint = feed_fingerprint(catalogue_id)
        paging = Paging(
            self.request, self.response, self.cursor_secret, fingerprint, self.limit, first_page
        )
        return paging.next_cursor(next_key), encode_cursor(
            self.cursor_secret, fingerprint, resume_key
        )
