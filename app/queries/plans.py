"""Every query-plan hint in one place: the SQL forms chosen because they make one
database or the other plan a query well, not because they mean anything different.
The other query modules call these and otherwise read as plain SQLAlchemy; the
measurements behind each choice are in `bench/RESULTS.md`.

- `planned_with`: values that decide which plan is best, written into the SQL text.
- Id arrays (PostgreSQL): an exercise's copies of its phase and goal ids tested inside
  the name index, and a page's ids bound as one array.
- `exercises_linked_by_name`: a page of a term's exercises in name order, read by the
  plan that suits how many exercises the term links.
- `without_sequential_scans`: a broad search's tiers read through their GIN indexes.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Select
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col

from app.models import Exercise

ID_ARRAY = postgresql.ARRAY(sa.Integer)


def planned_with(value: Any, type_: Any = None) -> Any:
    """`value` (or a list of values, for IN) written into a statement's text instead of
    bound as a parameter, for values that decide which plan is best: term ids, page
    sizes, vocabulary values, search words, times.

    psycopg prepares a statement it has run five times on a connection, and PostgreSQL
    then keeps its plan. With these values in the text, each combination is a statement
    of its own whose plan is made once, and no plan made for one value is reused for
    another that needs a different one (a rare goal is best found through an index of
    goals, a common one by walking names). Keyset positions stay bound: they only move
    where an index walk starts.
    Only for values already validated; SQLAlchemy quotes them all the same. `type_`
    is the column's type where the value's own would write it differently (times)."""
    if isinstance(value, list | tuple):
        return sa.bindparam(None, list(value), type_, expanding=True, literal_execute=True)
    return sa.literal(value, type_, literal_execute=True)


@contextmanager
def without_sequential_scans(session: Session) -> Iterator[None]:
    """PostgreSQL plans the statements run meanwhile without sequential scans where it
    can (for this transaction, then as before). A broad search's tier reads its first
    rows of `heavy @@ query` under a LIMIT: guessing that many rows match, PostgreSQL
    walks the table for them, and where the matches are few or late it reads most of
    it (90 ms at 100k, against a few through the GIN index)."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    before = session.execute(
        sa.text(
            "SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)"
        )
    ).scalar_one()
    try:
        yield
    finally:
        session.execute(
            sa.text("SELECT set_config('enable_seqscan', :before, true)"), {"before": before}
        )


def uses_id_arrays(session: Session) -> bool:
    """Whether the database tests term ids as arrays (PostgreSQL) rather than through
    the link tables (SQLite, which has no arrays)."""
    return session.get_bind().dialect.name == "postgresql"


def shares_an_id(ids_column: Any, ids: list[int]) -> ColumnElement[bool]:
    """`ids_column` (an exercise's copy of its term ids) holds one of `ids`: the arrays
    overlap (`&&`). The ids are written into the SQL, as `planned_with` does for IN."""
    written = sa.literal(ids, ID_ARRAY, literal_execute=True)
    overlaps: ColumnElement[bool] = sa.type_coerce(ids_column, ID_ARRAY).overlap(written)
    return overlaps


def has_term(
    ids_column: Any, link_exercise_id: Any, link_term_id: Any, ids: list[int], *, id_arrays: bool
) -> ColumnElement[bool]:
    """The exercise links one of the terms `ids`: on PostgreSQL (`id_arrays`) tested on
    its own copy of its term ids (`ids_column`), which the name index carries, so a
    list walking names needs no probe of the link table per exercise; elsewhere, an
    EXISTS on the link table."""
    if id_arrays:
        return shares_an_id(ids_column, ids)
    linked: ColumnElement[bool] = sa.exists().where(
        link_exercise_id == Exercise.id, link_term_id.in_(planned_with(ids))
    )
    return linked


def in_page(exercise_id: Any, *, as_array: bool) -> ColumnElement[bool]:
    """`exercise_id` is one of the page's ids, bound at execution as `ids`.

    On PostgreSQL the ids are one array, so every page runs the same prepared statement:
    psycopg binds each integer as the smallest type that holds it, so separate ids made
    a new statement, parsed and planned, for almost every page. SQLite has no arrays:
    one expanding parameter."""
    if as_array:
        in_array: ColumnElement[bool] = exercise_id == sa.any_(sa.bindparam("ids", type_=ID_ARRAY))
        return in_array
    in_list: ColumnElement[bool] = exercise_id.in_(sa.bindparam("ids", expanding=True))
    return in_list


# How a page of a term's exercises in name order is read depends on how many exercises
# the term links:
# - Up to READ_ALL_LINKS_MAX: read every link, fetch its exercise and sort.
# - Up to SET_OF_LINKS_MAX: walk `ix_exercise_name_slug_id` in order and keep the names
#   in the set of the term's exercise ids, built once from the link table's covering
#   index.
# - Above: walk the names and look each one up in the link table's index. The walk is
#   short, and the set would cost more than it saves.
# Each plan is the cheapest in its own range by an order of magnitude. The written form
# is what picks the plan: SQLite drives a join from whichever index fits the WHERE
# clause, whatever the LIMIT; PostgreSQL turns a bare IN or EXISTS into a join.
READ_ALL_LINKS_MAX = 500
SET_OF_LINKS_MAX = 10_000


def exercises_linked_by_name(
    link_exercise_id: Any,
    link_conditions: Sequence[Any],
    link_columns: Sequence[Any] = (),
    *,
    linked: int,
    limit: int,
    after: list[Any] | None,
) -> Select[Any]:
    """A page (with one extra row) of the exercises a link table relates to a term,
    ordered by name then slug, after the checked key `after` = [name, slug].
    `link_exercise_id` is the link table's exercise column, `link_conditions` select
    the term's links, `linked` is how many there are (it picks the plan), and the rows
    carry the exercise's slug and name followed by `link_columns`."""
    name, slug, exercise_id = col(Exercise.name), col(Exercise.slug), col(Exercise.id)
    links = sa.select(link_exercise_id).where(*link_conditions)
    if linked <= READ_ALL_LINKS_MAX:
        statement = (
            sa.select(slug, name, *link_columns)
            .join_from(link_exercise_id.table, Exercise, link_exercise_id == exercise_id)
            .where(*link_conditions)
        )
    else:
        linked_to_term: ColumnElement[bool]
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
        statement = statement.where(sa.tuple_(name, slug) > sa.tuple_(*after))
    return statement.order_by(name, slug).limit(planned_with(limit + 1))
