"""Goals an exercise serves (flexibility, pain relief, ...)."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.models import ExerciseGoal, Goal
from app.queries.keyset import (
    KeysetPage,
    PagePosition,
    cut_page,
    first_page,
    keyset_page,
    parse_key,
)
from app.queries.plans import exercises_linked_by_name, planned_with
from app.queries.terms import TermPage, count_links, term_by_slug


@dataclass(frozen=True)
class ExerciseRefRow:
    slug: str
    name: str


def list_goals(
    session: Session, *, limit: int, after: PagePosition = first_page
) -> KeysetPage[Goal]:
    return keyset_page(session, select(Goal), Goal.slug, key_type=str, limit=limit, after=after)


def get_goal_detail(
    session: Session, *, slug: str, limit: int, after: PagePosition = first_page
) -> TermPage[Goal, ExerciseRefRow]:
    """The goal and a page of its exercises by name, then slug, after the key
    [name, slug]. How many exercises the goal has (remembered per revision) picks the
    cheaper plan."""
    goal = term_by_slug(session, Goal, slug)
    position = after()
    total = count_links(session, col(ExerciseGoal.goal_id), goal.id, key=f"goal|{slug}")
    statement = exercises_linked_by_name(
        col(ExerciseGoal.exercise_id),
        [col(ExerciseGoal.goal_id) == planned_with(goal.id)],
        linked=total,
        limit=limit,
        after=parse_key(position, (str, str)) if position is not None else None,
    )
    rows = [ExerciseRefRow(row.slug, row.name) for row in session.execute(statement)]
    items, next_key = cut_page(rows, limit, lambda row: [row.name, row.slug])
    return TermPage(goal, KeysetPage(items=items, total=total, next_key=next_key))
