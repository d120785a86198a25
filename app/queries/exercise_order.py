"""The exercise list's sort orders, and the keyset that pages through each."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement
from sqlmodel import col

from app.errors import FieldError, InvalidParameters
from app.models import Exercise, ExercisePhase
from app.queries.exercise_filters import ExerciseFilters
from app.queries.keyset import KeyType, parse_key
from app.vocabulary import ExerciseSort


@dataclass(frozen=True)
class Ordering:
    """A sort order and the keyset that pages through it. With `join_phase`, the list
    is joined to that phase's links, whose progression order it sorts by."""

    columns: list[Any]
    key_columns: list[Any]
    key_types: tuple[KeyType, ...]
    descending: bool = False
    join_phase: int | None = None

    @classmethod
    def choose(
        cls,
        sort: ExerciseSort | None,
        filters: ExerciseFilters,
        search: Any,
        phase_ids: dict[str, int],
    ) -> "Ordering":
        exercise_id = col(Exercise.id)
        if sort is None and search is not None:
            return cls(
                columns=[search.c.rank, exercise_id],
                key_columns=[search.c.rank, exercise_id],
                key_types=(float, int),
            )
        if sort == ExerciseSort.updated_at_desc:
            updated = col(Exercise.updated_at)
            return cls(
                columns=[updated.desc(), exercise_id.desc()],
                key_columns=[updated, exercise_id],
                key_types=(datetime, int),
                descending=True,
            )
        if sort == ExerciseSort.phase_order:
            if len(filters.phase) != 1:
                raise InvalidParameters(
                    "sort=phase_order needs exactly one phase.",
                    [
                        FieldError(
                            field="sort",
                            message="phase_order needs exactly one `phase` value",
                            value=sort.value,
                        )
                    ],
                )
            # The link's own columns, so the (phase, order, exercise) index serves the page.
            order = col(ExercisePhase.progression_order)
            linked_id = col(ExercisePhase.exercise_id)
            return cls(
                columns=[order, linked_id],
                key_columns=[order, linked_id],
                key_types=(int, int),
                join_phase=phase_ids[filters.phase[0]],
            )
        name = col(Exercise.name)
        return cls(
            columns=[name, exercise_id], key_columns=[name, exercise_id], key_types=(str, int)
        )

    def after(self, key: list[Any]) -> ColumnElement[bool]:
        """Rows beyond the cursor's `key` in this order."""
        values = parse_key(key, self.key_types, _does_not_fit)
        # Bind each value with its column's type (UTC datetimes are stored per database).
        bound = [sa.literal(v, type_=c.type) for v, c in zip(values, self.key_columns, strict=True)]
        if self.descending:
            return sa.tuple_(*self.key_columns) < sa.tuple_(*bound)
        return sa.tuple_(*self.key_columns) > sa.tuple_(*bound)


def _does_not_fit() -> InvalidParameters:
    return InvalidParameters(
        "The cursor does not fit this sort order.",
        [FieldError(field="cursor", message="does not fit this sort order")],
    )


def json_key(value: Any) -> Any:
    """A key value as a cursor carries it (times as ISO 8601 in UTC)."""
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    return value
