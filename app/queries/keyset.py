"""Keyset pages: a page of rows after a position in a unique order, and the key of its
last row to continue from. Keyset (not offset) pages stay correct when rows are added
between requests.

A page's starting position comes from a cursor, which anyone holding the signing secret
(a public default unless configured) can sign, so every key is checked against the
types of the columns it is compared with before it reaches SQL."""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func
from sqlmodel import Session, select

from app.errors import InvalidParameters, invalid_cursor_key
from app.queries.plans import planned_with

Row = TypeVar("Row")
KeyType = type[int] | type[str] | type[float] | type[datetime]

# Where a page starts: the key of the previous page's last row, or None for the first
# page. Called when the query needs it, after the checks that come first (an unknown
# slug is a 404 before its cursor can be a 422).
PagePosition = Callable[[], list[Any] | None]


def first_page() -> None:
    return None


@dataclass(frozen=True)
class KeysetPage(Generic[Row]):
    """One page of a list: its rows, how many rows the whole list has, and the key to
    pass as the next page's position (None on the last page)."""

    items: list[Row]
    total: int
    next_key: list[Any] | None


def fits_column(value: Any) -> bool:
    """Whether a cursor's key value can be compared with a column on every database:
    PostgreSQL's integer keys are 32-bit and its text cannot hold NUL, no database's
    UTF-8 text holds a lone surrogate, and a value that does not fit must not reach them
    (it would be an error there, not a 422)."""
    if isinstance(value, int):
        return -(2**31) <= value < 2**31
    if isinstance(value, str):
        return "\x00" not in value and _utf8(value)
    return True


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_key(
    key: list[Any],
    types: Sequence[KeyType],
    invalid: Callable[[], InvalidParameters] = invalid_cursor_key,
) -> list[Any]:
    """A cursor's key, checked against (and converted to) the types of the columns it is
    compared with: `datetime` keys travel as ISO 8601 text with a zone, `float` keys
    may travel as integers. A key that does not fit raises `invalid()`."""
    if len(key) != len(types):
        raise invalid()
    parsed: list[Any] = []
    for value, kind in zip(key, types, strict=True):
        if kind is float:
            if type(value) not in (int, float) or not math.isfinite(value):
                raise invalid()
            parsed.append(float(value))
        elif kind is datetime:
            moment = _parse_moment(value)
            if moment is None:
                raise invalid()
            parsed.append(moment)
        elif type(value) is kind and fits_column(value):
            parsed.append(value)
        else:
            raise invalid()
    return parsed


def _parse_moment(value: Any) -> datetime | None:
    """An aware time from ISO 8601 text (this API only issues UTC times), else None."""
    if type(value) is not str:
        return None
    try:
        moment = datetime.fromisoformat(value)
        # Compared in UTC: a time that leaves the calendar there does not fit.
        return moment.astimezone(UTC) if moment.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None


def cut_page(
    rows: Sequence[Row], limit: int, key: Callable[[Row], list[Any]]
) -> tuple[list[Row], list[Any] | None]:
    """`rows`, fetched with `limit + 1`, cut to a page; and the key of its last row when
    the extra row shows there is a next page."""
    if len(rows) <= limit:
        return list(rows), None
    page = list(rows[:limit])
    return page, key(page[-1])


def keyset_page(
    session: Session,
    statement: Select[Any],
    key: Any,
    *,
    key_type: KeyType,
    limit: int,
    after: PagePosition,
) -> KeysetPage[Any]:
    """A page of `statement`'s model instances ordered by the unique model attribute
    `key` (e.g. `Goal.slug`, of `key_type` str), after the position `after`."""
    total: int = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    position = after()
    if position is not None:
        (start,) = parse_key(position, (key_type,))
        beyond: ColumnElement[bool] = key > start
        statement = statement.where(beyond)
    rows = session.execute(statement.order_by(key).limit(planned_with(limit + 1))).scalars().all()
    items, next_key = cut_page(rows, limit, lambda row: [getattr(row, key.key)])
    return KeysetPage(items=items, total=total, next_key=next_key)
