"""Goals an exercise serves (flexibility, pain relief, ...)."""

from typing import Any

from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from app.errors import NotFound
from app.models import ExerciseGoal, Goal
from app.pagination import keyset_page


def list_goals(
    session: Session, *, limit: int, after: list[Any] | None = None
) -> tuple[list[Goal], int, list[Any] | None]:
    return keyset_page(session, select(Goal), Goal.slug, key_type=str, limit=limit, after=after)


def get_goal(session: Session, *, slug: str) -> Goal:
    statement = (
        select(Goal)
        .where(Goal.slug == slug)
        .options(selectinload(Goal.exercise_links).joinedload(ExerciseGoal.exercise))  # type: ignore[arg-type]
    )
    goal = session.exec(statement).first()
    if goal is None:
        raise NotFound(f"No goal with slug '{slug}'.")
    return goal
