"""The exercises a term links (a goal's, a condition's), a page at a time in name order.

Shared by the goal and condition queries: which SQL reads such a page fastest depends on
how many exercises the term links, and both terms face the same choice."""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Select
from sqlmodel import col

from app.database import planned_with
from app.models import Exercise
from app.pagination import parse_key

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
    return statement.order_by(name, slug).limit(planned_with(limit + 1))
