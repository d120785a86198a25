"""Source documents, with the evidence quoted from each."""

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.database import planned_with
from app.errors import NotFound
from app.models import Evidence, Exercise, Source
from app.pagination import cut_page, keyset_page, parse_key
from app.queries.catalogue import REVISION_MEMO


def list_sources(
    session: Session, *, limit: int, after: list[Any] | None = None
) -> tuple[list[Source], int, list[Any] | None]:
    return keyset_page(session, select(Source), Source.slug, key_type=str, limit=limit, after=after)


def get_source(session: Session, *, slug: str) -> Source:
    """The source alone; `source_evidence` reads its evidence a page at a time."""
    source = session.exec(select(Source).where(Source.slug == slug)).first()
    if source is None:
        raise NotFound(f"No source with slug '{slug}'.")
    return source


def count_source_citations(session: Session, *, source: Source) -> tuple[int, int]:
    """How many evidence quotes the source has, and how many exercises they back
    (counted once per catalogue revision)."""
    statement = sa.select(
        sa.func.count(), sa.func.count(sa.distinct(col(Evidence.exercise_id)))
    ).where(col(Evidence.source_id) == source.id)

    def count() -> tuple[int, int]:
        evidence, exercises = session.execute(statement).one()
        return evidence, exercises

    return REVISION_MEMO.current(session).count(f"source|{source.slug}", count)


def source_evidence(
    session: Session, *, source: Source, limit: int, after: list[Any] | None = None
) -> tuple[list[sa.Row[Any]], list[Any] | None]:
    """A page of the source's evidence in document order (start, end, then id: several
    exercises may quote the same span), after the key `after` = [start, end, id]; and
    the next page's key, if any. Rows carry the evidence's columns and `slug`, that of
    the exercise it backs.

    `ix_evidence_source_id_start_end_id` yields the evidence in this order, so the query
    reads no further than the page."""
    key = (col(Evidence.start), col(Evidence.end), col(Evidence.id))
    statement = (
        sa.select(
            col(Evidence.id),
            col(Exercise.slug),
            col(Evidence.field),
            col(Evidence.subject),
            col(Evidence.stance),
            col(Evidence.quote),
            col(Evidence.start),
            col(Evidence.end),
        )
        .join_from(Evidence, Exercise, col(Evidence.exercise_id) == col(Exercise.id))
        .where(col(Evidence.source_id) == planned_with(source.id))
    )
    if after is not None:
        statement = statement.where(sa.tuple_(*key) > sa.tuple_(*parse_key(after, (int,) * 3)))
    rows = session.execute(statement.order_by(*key).limit(planned_with(limit + 1))).all()
    return cut_page(rows, limit, lambda row: [row.start, row.end, row.id])
