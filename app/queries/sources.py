"""Source documents, with the evidence quoted from each."""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import Evidence, Exercise, Source
from app.queries.keyset import (
    KeysetPage,
    PagePosition,
    cut_page,
    first_page,
    keyset_page,
    parse_key,
)
from app.queries.plans import planned_with
from app.queries.revision import revision_facts
from app.queries.terms import TermPage, term_by_slug
from app.vocabulary import EvidenceField, Stance, TextQuality


@dataclass(frozen=True)
class SourceEvidenceRow:
    id: int
    exercise: str
    field: EvidenceField
    subject: str | None
    stance: Stance
    quote: str
    start: int
    end: int
    text_quality: TextQuality


@dataclass(frozen=True)
class SourceDetailPage(TermPage[Source, SourceEvidenceRow]):
    """The source, a page of its evidence, and how many exercises all of it backs."""

    exercises_total: int


def list_sources(
    session: Session, *, limit: int, after: PagePosition = first_page
) -> KeysetPage[Source]:
    return keyset_page(session, select(Source), Source.slug, key_type=str, limit=limit, after=after)


def get_source_detail(
    session: Session, *, slug: str, limit: int, after: PagePosition = first_page
) -> SourceDetailPage:
    """The source and a page of its evidence in document order (start, end, then id:
    several exercises may quote the same span), after the key [start, end, id].

    `ix_evidence_source_id_start_end_id` yields the evidence in this order, so the query
    reads no further than the page."""
    source = term_by_slug(session, Source, slug)
    position = after()
    counting = sa.select(
        sa.func.count(), sa.func.count(sa.distinct(col(Evidence.exercise_id)))
    ).where(col(Evidence.source_id) == source.id)

    def count() -> tuple[int, int]:
        evidence, exercises = session.execute(counting).one()
        return evidence, exercises

    evidence_total, exercises_total = revision_facts(session).count(f"source|{slug}", count)
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
            col(Evidence.text_quality),
        )
        .join_from(Evidence, Exercise, col(Evidence.exercise_id) == col(Exercise.id))
        .where(col(Evidence.source_id) == planned_with(source.id))
    )
    if position is not None:
        statement = statement.where(sa.tuple_(*key) > sa.tuple_(*parse_key(position, (int,) * 3)))
    rows = session.execute(statement.order_by(*key).limit(planned_with(limit + 1))).all()
    items, next_key = cut_page(
        [SourceEvidenceRow(*row) for row in rows], limit, lambda row: [row.start, row.end, row.id]
    )
    return SourceDetailPage(
        source,
        KeysetPage(items=items, total=evidence_total, next_key=next_key),
        exercises_total=exercises_total,
    )
