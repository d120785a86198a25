"""Facets of the exercise list: for each field asked for, how many exercises of the
filtered list have each value. Disjunctive, as search interfaces expect: a field's
counts ignore that field's own filter (with `goal=strength`, the goal facet still
counts every goal, so a client can offer "or flexibility" with its count), and apply
every other filter and the search."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement
from sqlmodel import col

from app.models import (
    Contraindication,
    Exercise,
    ExerciseBodyRegion,
    ExerciseEquipment,
    ExerciseGoal,
    ExercisePhase,
)
from app.queries.exercise_filters import ExerciseFilters
from app.queries.plans import planned_with
from app.queries.revision import Terms
from app.vocabulary import Facet


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int


# The filter each facet ignores (`condition` has none: `safe_for` leaves exercises out
# by their conditions, and is kept).
_OWN_FILTER = {
    Facet.phase: "phase",
    Facet.goal: "goal",
    Facet.category: "category",
    Facet.equipment: "equipment",
    Facet.position: "position",
    Facet.difficulty: "difficulty",
    Facet.body_region: "body_region",
}


def facet_filters(filters: ExerciseFilters, facet: Facet) -> ExerciseFilters:
    """The filters a facet's counts apply: all but the facet's own field's."""
    own = _OWN_FILTER.get(facet)
    cleared: dict[str, Any] = {own: ()} if own else {}
    return replace(filters, **cleared)


def count_facet(
    facet: Facet,
    matching: Any,
    terms: Terms,
    filters: ExerciseFilters,
    execute: Callable[[Any], Sequence[Any]],
) -> list[FacetCount]:
    """The counts of `facet`'s values over `matching` (a subquery of the ids of the
    exercises the facet's filters select), most common first, then by value."""
    value: Any
    statement: Any
    if facet in (Facet.category, Facet.position, Facet.difficulty):
        value = col(getattr(Exercise, facet.value))
        statement = (
            sa.select(value, sa.func.count())
            .join_from(Exercise, matching, matching.c.id == Exercise.id)
            .where(value.is_not(None))
        )
    else:
        link, value, where = _facet_link(facet, filters)
        statement = (
            sa.select(value, sa.func.count(sa.distinct(link.c.exercise_id)))
            .join_from(link, matching, matching.c.id == link.c.exercise_id)
            .where(*where)
        )
    rows = execute(statement.group_by(value))
    kinds = {Facet.phase: "phase", Facet.goal: "goal", Facet.condition: "condition"}
    counts = [
        FacetCount(
            value=terms.slugs[kinds[facet]][key] if facet in kinds else str(key),
            count=int(n),
        )
        for key, n in rows
    ]
    return sorted(counts, key=lambda c: (-c.count, c.value))


def _facet_link(
    facet: Facet, filters: ExerciseFilters
) -> tuple[Any, Any, list[ColumnElement[bool]]]:
    """The link table that holds `facet`'s values, its value column, and the links to
    count (phase memberships of the basis asked for)."""
    if facet is Facet.phase:
        table: Any = ExercisePhase.__table__  # type: ignore[attr-defined]
        where = []
        if filters.phase_basis:
            where.append(table.c.basis.in_(planned_with(list(filters.phase_basis))))
        return table, table.c.phase_id, where
    table, column = {
        Facet.goal: (ExerciseGoal, "goal_id"),
        Facet.equipment: (ExerciseEquipment, "equipment"),
        Facet.body_region: (ExerciseBodyRegion, "body_region"),
        Facet.condition: (Contraindication, "condition_id"),
    }[facet]
    link = table.__table__
    return link, link.c[column], []
