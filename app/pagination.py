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

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy import Select, func
from sqlmodel import Session, col, select

from app.errors import InvalidParameters, ParameterError
from app.models import Exercise

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


def _fits_column(value: str | int) -> bool:
    # Integer key columns are 32-bit in PostgreSQL; a larger number must not reach them.
    return not isinstance(value, int) or -(2**31) <= value < 2**31


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
        if len(after) != 1 or type(after[0]) is not key_type or not _fits_column(after[0]):
            raise invalid_cursor_key()
        statement = statement.where(key > after[0])
    rows = list(session.execute(statement.order_by(key).limit(limit + 1)).scalars().all())
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
        if type(value) is not kind or not _fits_column(value):
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


# How a page of a term's exercises in name order is read depends on how many exercises
# the term links (`linked`). Figures are per row at 100,000 exercises:
# - Up to READ_ALL_LINKS_MAX: read every link, fetch its exercise and sort (~3 us each).
# - Up to SET_OF_LINKS_MAX: walk `ix_exercise_name_slug_id` in order and keep the names
#   in the set of the term's exercise ids, built once from the link table's covering
#   index. The walk passes about limit * exercises / linked names (~0.1 us each); the
#   set costs ~0.15 us a link.
# - Above: walk the names and look each one up in the link table's index (0.4-3 us
#   each). The walk is short, and the set would cost more than it saves.
# Each plan costs at most a few milliseconds in its own range, where the others cost
# tens. The written form is what picks the plan: SQLite drives a join from whichever
# index fits the WHERE clause, whatever the LIMIT; PostgreSQL turns a bare IN or EXISTS
# into a join, probing an index for each name (~2 us).
READ_ALL_LINKS_MAX = 500
SET_OF_LINKS_MAX = 10_000


def exercises_by_name(
    link_exercise_id: Any,
    link_conditions: Sequence[Any],
    link_columns: Sequence[Any] = (),
    *,
    linked: int,
    limit: int,
    after: list[Any] | None,
) -> Select[Any]:
    """A page (with one extra row) of the exercises a link table relates to a term,
    ordered by name then slug, after the key `after` = [name, slug]. `link_exercise_id`
    is the link table's exercise column, `link_conditions` select the term's links,
    `linked` is how many there are (it picks the plan), and the rows carry the
    exercise's slug and name followed by `link_columns`."""
    name, slug, exercise_id = col(Exercise.name), col(Exercise.slug), col(Exercise.id)
    links = sa.select(link_exercise_id).where(*link_conditions)
    if linked <= READ_ALL_LINKS_MAX:
        statement = (
            sa.select(slug, name, *link_columns)
            .join_from(link_exercise_id.table, Exercise, link_exercise_id == exercise_id)
            .where(*link_conditions)
        )
    else:
        linked_to_term: sa.ColumnElement[bool]
        if linked <= SET_OF_LINKS_MAX:
            # `IS TRUE` keeps the IN a test on each name walked: neither database can
            # look exercises up by it, nor (PostgreSQL) turn it into a join.
            linked_to_term = exercise_id.in_(links).is_(sa.true())
        else:
            linked_to_term = sa.exists(links.where(link_exercise_id == exercise_id))
        # The link columns, looked up for the page's rows alone.
        columns = [
            sa.select(column)
            .where(link_exercise_id == exercise_id, *link_conditions)
            .scalar_subquery()
            .label(column.key)
            for column in link_columns
        ]
        statement = sa.select(slug, name, *columns).where(linked_to_term)
    if after is not None:
        # A row comparison: both databases start the walk of the name index at it, and
        # PostgreSQL estimates it far better than the equivalent ORs.
        after_key = sa.tuple_(*parse_key(after, (str, str)))
        statement = statement.where(sa.tuple_(name, slug) > after_key)
    return statement.order_by(name, slug).limit(limit + 1)
