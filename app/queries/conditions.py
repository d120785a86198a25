"""Conditions, and the exercises to avoid or use with caution with each."""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.errors import invalid_cursor_key
from app.models import Condition, Contraindication
from app.queries.keyset import (
    KeysetPage,
    PagePosition,
    cut_page,
    first_page,
    keyset_page,
    parse_key,
)
from app.queries.plans import exercises_linked_by_name, planned_with
from app.queries.revision import revision_facts
from app.queries.terms import TermPage, term_by_slug
from app.vocabulary import Severity

# The order of a condition's exercises: every one to avoid, then those to stop at once
# if the condition appears, then those needing caution.
SEGMENTS = (Severity.avoid, Severity.stop, Severity.caution)


@dataclass(frozen=True)
class AffectedExerciseRow:
    slug: str
    name: str
    severity: Severity
    note: str


def list_conditions(
    session: Session, *, limit: int, after: PagePosition = first_page
) -> KeysetPage[Condition]:
    return keyset_page(
        session, select(Condition), Condition.slug, key_type=str, limit=limit, after=after
    )


def _count_by_severity(session: Session, condition: Condition) -> dict[Severity, int]:
    """How many exercises the condition affects, by severity (every severity present),
    counted once per catalogue revision."""
    statement = (
        sa.select(col(Contraindication.severity), sa.func.count())
        .where(col(Contraindication.condition_id) == condition.id)
        .group_by(col(Contraindication.severity))
    )

    def count() -> dict[Severity, int]:
        counts = {severity: 0 for severity in SEGMENTS}
        counts.update({Severity(severity): n for severity, n in session.execute(statement)})
        return counts

    # A copy: the remembered dict is shared with every request.
    return dict(revision_facts(session).count(f"condition|{condition.slug}", count))


def get_condition_detail(
    session: Session, *, slug: str, limit: int, after: PagePosition = first_page
) -> TermPage[Condition, AffectedExerciseRow]:
    """The condition and a page of the exercises it affects, those to avoid first, then
    those needing caution, each segment by name then slug, after the key
    [severity, name, slug]. How many exercises each segment has (remembered per
    revision) picks the cheaper plan for it.

    Each segment is read on its own, so that each can stop after a page: one query
    per page, two for the page where the segments meet."""
    condition = term_by_slug(session, Condition, slug)
    position = after()
    counts = _count_by_severity(session, condition)
    first_segment = 0
    if position is not None:
        try:
            first_segment = SEGMENTS.index(Severity(position[0]))
        except (ValueError, IndexError):
            raise invalid_cursor_key() from None
        parse_key(position, (str, str, str))
    rows: list[AffectedExerciseRow] = []
    for segment, severity in enumerate(SEGMENTS):
        if segment < first_segment or counts[severity] == 0:
            continue
        statement = exercises_linked_by_name(
            col(Contraindication.exercise_id),
            [
                col(Contraindication.condition_id) == planned_with(condition.id),
                col(Contraindication.severity) == planned_with(severity),
            ],
            [col(Contraindication.note)],
            linked=counts[severity],
            limit=limit - len(rows),
            after=position[1:] if position is not None and segment == first_segment else None,
        )
        rows += [
            AffectedExerciseRow(row.slug, row.name, severity, row.note)
            for row in session.execute(statement)
        ]
        if len(rows) > limit:
            break
    items, next_key = cut_page(rows, limit, lambda row: [row.severity.value, row.name, row.slug])
    return TermPage(
        condition, KeysetPage(items=items, total=sum(counts.values()), next_key=next_key)
    )
