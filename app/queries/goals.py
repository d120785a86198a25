"""Goals an exercise serves (flexibility, pain relief, ...)."""

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.database import planned_with
from app.errors import NotFound
from app.models import ExerciseGoal, Goal
from app.pagination import cut_page, keyset_page
from app.queries.catalogue import REVISION_MEMO
from app.queries.linked_exercises import exercises_by_name


def list_goals(
    session: Session, *, limit: int, after: list[Any] | None = None
) -> tuple[list[Goal], int, list[Any] | None]:
    return keyset_page(session, select(Goal), Goal.slug, key_type=str, limit=limit, after=after)


def get_goal(session: Session, *, slug: str) -> Goal:
    """The goal alone; `goal_exercises` reads its exercises a page at a time."""
    goal = session.exec(select(Goal).where(Goal.slug == slug)).first()
    if goal is None:
        raise NotFound(f"No goal with slug '{slug}'.")
    return goal


def count_goal_exercises(session: Session, *, goal: Goal) -> int:
    """How many exercises serve the goal (counted once per catalogue revision)."""
    statement = (
        select(sa.func.count())
        .select_from(ExerciseGoal)
        .where(col(ExerciseGoal.goal_id) == goal.id)
    )
    memo = REVISION_MEMO.current(session)
    return memo.count(f"goal|{goal.slug}", lambda: session.exec(statement).one())


def goal_exercises(
    session: Session,
    *,
    goal: Goal,
    limit: int,
    after: list[Any] | None = None,
) -> tuple[list[sa.Row[Any]], list[Any] | None]:
    """A page of the goal's exercises by name, then slug, after the key `after` =
    [name, slug]; and the next page's key, if any. Rows carry `slug` and `name`. How
    many exercises the goal has (remembered per revision) picks the cheaper plan."""
    statement = exercises_by_name(
        col(ExerciseGoal.exercise_id),
        [col(ExerciseGoal.goal_id) == planned_with(goal.id)],
        linked=count_goal_exercises(session, goal=goal),
        limit=limit,
        after=after,
    )
    rows = session.execute(statement).all()
    return cut_page(rows, limit, lambda row: [row.name, row.slug])
