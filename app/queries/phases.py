"""Rehab phases, in order, each with its exercises in progression order."""

from typing import Any

from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from app.errors import NotFound
from app.models import ExercisePhase, Phase
from app.pagination import keyset_page


def list_phases(
    session: Session, *, limit: int, after: list[Any] | None = None
) -> tuple[list[Phase], int, list[Any] | None]:
    return keyset_page(session, select(Phase), Phase.order, key_type=int, limit=limit, after=after)


def get_phase(session: Session, *, slug: str) -> Phase:
    statement = (
        select(Phase)
        .where(Phase.slug == slug)
        .options(selectinload(Phase.exercise_links).joinedload(ExercisePhase.exercise))  # type: ignore[arg-type]
    )
    phase = session.exec(statement).first()
    if phase is None:
        raise NotFound(f"No phase with slug '{slug}'.")
    return phase
