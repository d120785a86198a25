"""The exercise list's filters: a plain value object, the check that their slugs
exist, and the WHERE clauses they make."""

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from app.errors import FieldError, InvalidParameters, invalid_parameters, unknown_value_errors
from app.models import (
    Contraindication,
    Evidence,
    Exercise,
    ExerciseBodyRegion,
    ExerciseEquipment,
    ExerciseGoal,
    ExercisePhase,
    UTCDateTime,
)
from app.queries.plans import has_term, planned_with
from app.vocabulary import Category, Difficulty, PhaseBasis, PhaseSlug, Position, Severity


@dataclass(frozen=True)
class TextMatch:
    """A string search as FHIR defines one: `value` at the start of the text, ignoring
    case (`starts`), the whole text (`exact`), or anywhere in it, ignoring case
    (`contains`)."""

    value: str
    how: Literal["starts", "exact", "contains"] = "starts"


@dataclass(frozen=True)
class ExerciseFilters:
    """Filters on the exercise list, already validated in form: several values of one
    filter mean any of them; different filters combine with AND."""

    phase: Sequence[PhaseSlug] = ()
    # The basis of the `phase` memberships wanted (of any phase, without `phase`).
    phase_basis: Sequence[PhaseBasis] = ()
    goal: Sequence[str] = ()
    category: Sequence[Category] = ()
    equipment: Sequence[str] = ()
    position: Sequence[Position] = ()
    difficulty: Sequence[Difficulty] = ()
    body_region: Sequence[str] = ()
    source: Sequence[str] = ()
    q: str | None = None
    # Conditions: drop exercises to avoid with any of them.
    safe_for: Sequence[str] = ()
    updated_since: datetime | None = None
    # The FHIR interface's string searches (any of them): on the exercise's name
    # (`title`), and on its slug without hyphens (the FHIR computable `name`, whose
    # letters are the slug's: `lying-hamstring-stretch` is `LyingHamstringStretch`).
    name_text: Sequence[TextMatch] = ()
    slug_text: Sequence[TextMatch] = ()


# The filters of GET /v1/exercises (the FHIR searches have parameters of their own).
FHIR_FILTER_FIELDS = frozenset({"name_text", "slug_text"})
FILTER_FIELDS = frozenset(field.name for field in fields(ExerciseFilters)) - FHIR_FILTER_FIELDS


def without_retired(
    filters: ExerciseFilters, retired: dict[tuple[str, str], str | None]
) -> ExerciseFilters:
    """`filters` with retired condition slugs in `safe_for` replaced by their successors
    (and dropped where the condition was removed), so old clients' filters keep working."""
    if not any(("condition", slug) in retired for slug in filters.safe_for):
        return filters
    current = [retired.get(("condition", slug), slug) for slug in filters.safe_for]
    return replace(filters, safe_for=list(dict.fromkeys(s for s in current if s is not None)))


def check_known_values(
    session: Session, filters: ExerciseFilters, term_ids: dict[str, dict[str, int]]
) -> None:
    """Unknown slugs in open vocabularies are a 422 listing the allowed values (of every
    filter with one, at once)."""
    errors = unknown_filter_values(session, filters, term_ids)
    if errors:
        fields = list(dict.fromkeys(error.field for error in errors))
        if len(fields) > 1:
            raise invalid_parameters(errors)
        bad = ", ".join(str(error.value) for error in errors)
        raise InvalidParameters(f"Unknown value(s) for '{fields[0]}': {bad}.", errors)


def unknown_filter_values(
    session: Session, filters: ExerciseFilters, term_ids: dict[str, dict[str, int]]
) -> list[FieldError]:
    """An error for each slug of an open vocabulary that the catalogue does not have."""
    errors: list[FieldError] = []
    terms = [
        ("goal", filters.goal, "goal"),
        ("source", filters.source, "source"),
        ("safe_for", filters.safe_for, "condition"),
    ]
    for field, values, kind in terms:
        errors += unknown_value_errors(field, values, list(term_ids[kind]))
    # Equipment and body regions are plain values on the links, not terms with ids.
    link_values = [
        ("equipment", filters.equipment, ExerciseEquipment.equipment),
        ("body_region", filters.body_region, ExerciseBodyRegion.body_region),
    ]
    for field, values, column in link_values:
        if not values:
            continue
        found = set(session.exec(select(column).where(col(column).in_(values)).distinct()).all())
        if found != set(values):
            allowed = session.exec(select(column).distinct()).all()
            errors += unknown_value_errors(field, values, list(allowed))
    return errors


def filter_conditions(
    filters: ExerciseFilters,
    term_ids: dict[str, dict[str, int]],
    *,
    phase_joined: bool,
    id_arrays: bool,
) -> list[ColumnElement[bool]]:
    """WHERE clauses for `filters`. Links are tested per exercise (EXISTS), so that a
    page in index order stops after `limit` matches instead of collecting them all.
    With sort=phase_order the page is joined to its one phase (`phase_joined`): that
    join filters by phase."""

    def ids(kind: str, slugs: Sequence[str]) -> list[int]:
        return [term_ids[kind][slug] for slug in slugs]

    conditions: list[ColumnElement[bool]] = []
    if filters.phase_basis and not phase_joined:
        # The basis is on the membership itself, so the link table is what is tested.
        in_phases = [col(ExercisePhase.phase_id).in_(planned_with(ids("phase", filters.phase)))]
        conditions.append(
            _linked(
                col(ExercisePhase.basis),
                col(ExercisePhase.basis).in_(planned_with(list(filters.phase_basis))),
                *(in_phases if filters.phase else ()),
            )
        )
    # Terms with ids: (slugs wanted, the exercise's copy of its ids, the link table).
    linked_terms = (
        (
            "phase",
            () if phase_joined or filters.phase_basis else filters.phase,
            Exercise.phase_ids,
            ExercisePhase.exercise_id,
            ExercisePhase.phase_id,
        ),
        ("goal", filters.goal, Exercise.goal_ids, ExerciseGoal.exercise_id, ExerciseGoal.goal_id),
    )
    for kind, slugs, ids_column, link_exercise_id, link_term_id in linked_terms:
        if slugs:
            conditions.append(
                has_term(
                    col(ids_column),
                    col(link_exercise_id),
                    col(link_term_id),
                    ids(kind, slugs),
                    id_arrays=id_arrays,
                )
            )
    linked_values = (
        (col(ExerciseEquipment.equipment), filters.equipment),
        (col(ExerciseBodyRegion.body_region), filters.body_region),
        (col(Evidence.source_id), ids("source", filters.source)),
    )
    for link_column, values in linked_values:
        if values:
            conditions.append(_linked(link_column, link_column.in_(planned_with(list(values)))))
    own_values = (
        (col(Exercise.category), filters.category),
        (col(Exercise.position), filters.position),
        (col(Exercise.difficulty), filters.difficulty),
    )
    for column, values in own_values:
        if values:
            conditions.append(column.in_(planned_with(list(values))))
    if filters.safe_for:
        condition_id = col(Contraindication.condition_id)
        conditions.append(
            ~_linked(
                condition_id,
                condition_id.in_(planned_with(ids("condition", filters.safe_for))),
                col(Contraindication.severity) == Severity.avoid,
            )
        )
    if filters.updated_since is not None:
        conditions.append(
            col(Exercise.updated_at) >= planned_with(filters.updated_since, UTCDateTime())
        )
    texts = (
        (col(Exercise.name), filters.name_text),
        (sa.func.replace(col(Exercise.slug), "-", ""), filters.slug_text),
    )
    for text, matches in texts:
        if matches:
            conditions.append(sa.or_(*(_text_matches(text, match) for match in matches)))
    return conditions


def _text_matches(text: Any, match: TextMatch) -> ColumnElement[bool]:
    if match.how == "exact":
        exact: ColumnElement[bool] = text == match.value
        return exact
    # LIKE's wildcards in the value are literal characters, escaped.
    value = match.value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{value}%" if match.how == "contains" else f"{value}%"
    return sa.func.lower(text).like(pattern, escape="\\")


def _linked(link_column: Any, *where: ColumnElement[bool]) -> ColumnElement[bool]:
    """The exercise has a row in the link table of `link_column` matching `where`."""
    link_exercise_id = link_column.table.c.exercise_id
    return sa.exists().where(link_exercise_id == Exercise.id, *where)
