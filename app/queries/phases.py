"""Rehab phases, in order, each with its exercises in progression order."""

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import Exercise, ExercisePhase, Phase
from app.queries.keyset import (
    KeysetPage,
    PagePosition,
    cut_page,
    first_page,
    keyset_page,
    parse_key,
)
from app.queries.plans import planned_with
from app.queries.terms import TermPage, count_links, term_by_slug
from app.vocabulary import PhaseBasis


@dataclass(frozen=True)
class PhaseExerciseRow:
    slug: str
    name: str
    order: int
    caution: bool
    basis: PhaseBasis
    note: str | None


def list_phases(
    session: Session, *, limit: int, after: PagePosition = first_page
) -> KeysetPage[Phase]:
    return keyset_page(session, select(Phase), Phase.order, key_type=int, limit=limit, after=after)


def get_phase_detail(
    session: Session, *, slug: str, limit: int, after: PagePosition = first_page
) -> TermPage[Phase, PhaseExerciseRow]:
    """The phase and a page of its exercises in progression order, then by slug (two can
    share an order), after the key [order, slug].

    `ix_exercise_phase_phase_order` yields the phase's links in progression order, so
    the query reads no further than the page (sorting only exercises that share an order).
    """
    phase = term_by_slug(session, Phase, slug)
    position = after()
    total = count_links(session, col(ExercisePhase.phase_id), phase.id, key=f"phase|{slug}")
    order, exercise_slug = col(ExercisePhase.progression_order), col(Exercise.slug)
    statement: sa.Select[*tuple[Any, ...]] = (
        sa.select(
            exercise_slug,
            col(Exercise.name),
            order.label("order"),
            col(ExercisePhase.caution),
            col(ExercisePhase.basis),
            col(ExercisePhase.note),
        )
        .join_from(ExercisePhase, Exercise, col(ExercisePhase.exercise_id) == col(Exercise.id))
        .where(col(ExercisePhase.phase_id) == planned_with(phase.id))
    )
    if position is not None:
        after_order, after_slug = parse_key(position, (int, str))
        # The first condition bounds the index range; the second is the exact keyset.
        statement = statement.where(
            order >= after_order, sa.or_(order > after_order, exercise_slug > after_slug)
        )
    rows = session.execute(
        statement.order_by(order, exercise_slug).limit(planned_with(limit + 1))
    ).all()
    items, next_key = cut_page(
        [PhaseExerciseRow(*row) for row in rows], limit, lambda row: [row.order, row.slug]
    )
    return TermPage(phase, KeysetPage(items=items, total=total, next_key=next_key))
