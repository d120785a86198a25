"""Rehab phases, in order, each with its exercises in progression order."""

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.database import planned_with
from app.errors import NotFound
from app.models import Exercise, ExercisePhase, Phase
from app.pagination import cut_page, keyset_page, parse_key
from app.queries.catalogue import REVISION_MEMO


def list_phases(
    session: Session, *, limit: int, after: list[Any] | None = None
) -> tuple[list[Phase], int, list[Any] | None]:
    return keyset_page(session, select(Phase), Phase.order, key_type=int, limit=limit, after=after)


def get_phase(session: Session, *, slug: str) -> Phase:
    """The phase alone; `phase_exercises` reads its exercises a page at a time."""
    phase = session.exec(select(Phase).where(Phase.slug == slug)).first()
    if phase is None:
        raise NotFound(f"No phase with slug '{slug}'.")
    return phase


def count_phase_exercises(session: Session, *, phase: Phase) -> int:
    """How many exercises the phase has (counted once per catalogue revision)."""
    statement = (
        select(sa.func.count())
        .select_from(ExercisePhase)
        .where(col(ExercisePhase.phase_id) == phase.id)
    )
    memo = REVISION_MEMO.current(session)
    return memo.count(f"phase|{phase.slug}", lambda: session.exec(statement).one())


def phase_exercises(
    session: Session, *, phase: Phase, limit: int, after: list[Any] | None = None
) -> tuple[list[sa.Row[Any]], list[Any] | None]:
    """A page of the phase's exercises in progression order, then by slug (two can share
    an order), after the key `after` = [order, slug]; and the next page's key, if any.
    Rows carry `slug`, `name`, `progression_order`, `caution` and `note`.

    `ix_exercise_phase_phase_order` yields the phase's links in progression order, so
    the query reads no further than the page (sorting only exercises that share an order).
    """
    order, slug = col(ExercisePhase.progression_order), col(Exercise.slug)
    statement = (
        sa.select(
            slug,
            col(Exercise.name),
            order,
            col(ExercisePhase.caution),
            col(ExercisePhase.note),
        )
        .join_from(ExercisePhase, Exercise, col(ExercisePhase.exercise_id) == col(Exercise.id))
        .where(col(ExercisePhase.phase_id) == planned_with(phase.id))
    )
    if after is not None:
        after_order, after_slug = parse_key(after, (int, str))
        # The first condition bounds the index range; the second is the exact keyset.
        statement = statement.where(
            order >= after_order, sa.or_(order > after_order, slug > after_slug)
        )
    rows = session.execute(statement.order_by(order, slug).limit(planned_with(limit + 1))).all()
    return cut_page(rows, limit, lambda row: [row.progression_order, row.slug])
