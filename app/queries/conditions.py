"""Conditions, and the exercises to avoid or use with caution with each."""

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.database import planned_with
from app.errors import NotFound
from app.models import Condition, Contraindication
from app.pagination import (
    cut_page,
    invalid_cursor_key,
    keyset_page,
    parse_key,
)
from app.queries.catalogue import REVISION_MEMO
from app.queries.linked_exercises import exercises_by_name
from app.vocabulary import Severity

# The order of a condition's exercises: every one to avoid, then those needing caution.
SEGMENTS = (Severity.avoid, Severity.caution)


def list_conditions(
    session: Session, *, limit: int, after: list[Any] | None = None
) -> tuple[list[Condition], int, list[Any] | None]:
    return keyset_page(
        session, select(Condition), Condition.slug, key_type=str, limit=limit, after=after
    )


def get_condition(session: Session, *, slug: str) -> Condition:
    """The condition alone; `condition_exercises` reads its exercises a page at a time."""
    condition = session.exec(select(Condition).where(Condition.slug == slug)).first()
    if condition is None:
        raise NotFound(f"No condition with slug '{slug}'.")
    return condition


def count_condition_exercises(session: Session, *, condition: Condition) -> dict[Severity, int]:
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

    # A copy: the memo's own dict is shared with every request.
    return dict(REVISION_MEMO.current(session).count(f"condition|{condition.slug}", count))


def condition_exercises(
    session: Session,
    *,
    condition: Condition,
    limit: int,
    after: list[Any] | None = None,
) -> tuple[list[sa.Row[Any]], list[Any] | None]:
    """A page of the exercises the condition affects, those to avoid first, then those
    needing caution, each segment by name then slug, after the key `after` =
    [severity, name, slug]; and the next page's key, if any. Rows carry `slug`, `name`,
    `note` and `severity`. How many exercises each segment has (remembered per
    revision) picks the cheaper plan for it.

    Each segment is read on its own, so that each can stop after a page: one query
    per page, two for the page where the segments meet."""
    exercise_counts = count_condition_exercises(session, condition=condition)
    first_segment = 0
    if after is not None:
        try:
            first_segment = SEGMENTS.index(Severity(after[0]))
        except (ValueError, IndexError):
            raise invalid_cursor_key() from None
        parse_key(after, (str, str, str))
    rows: list[sa.Row[Any]] = []
    for segment, severity in enumerate(SEGMENTS):
        if segment < first_segment or exercise_counts[severity] == 0:
            continue
        statement = exercises_by_name(
            col(Contraindication.exercise_id),
            [
                col(Contraindication.condition_id) == planned_with(condition.id),
                col(Contraindication.severity) == planned_with(severity),
            ],
            [col(Contraindication.note)],
            linked=exercise_counts[severity],
            limit=limit - len(rows),
            after=after[1:] if after is not None and segment == first_segment else None,
        )
        statement = statement.add_columns(sa.literal(severity.value).label("severity"))
        rows += session.execute(statement).all()
        if len(rows) > limit:
            break
    return cut_page(rows, limit, lambda row: [row.severity, row.name, row.slug])
