"""Each exercise's detail body (`GET /v1/exercises/{slug}`) as JSON, kept in the database
beside it (`exercise_body`): the writer renders it whenever the exercise changes, so an
export streams stored bodies instead of building 100,000 of them.

Rendered here from plain-column queries, a fixed number per batch, and serialised as
`schemas.ExerciseDetail` serialises (pydantic's serializer, the fields in the schema's
order). `tests/test_sync.py` holds every stored body to the detail endpoint's bytes."""

from collections.abc import Sequence
from datetime import UTC
from typing import Any

import pydantic_core
import sqlalchemy as sa
from sqlmodel import Session, col

from app.models import (
    TERM_MODELS,
    Contraindication,
    Evidence,
    Exercise,
    ExerciseBody,
    ExerciseBodyRegion,
    ExerciseEquipment,
    ExerciseGoal,
    ExercisePhase,
    Phase,
    Progression,
)
from app.seeding.format import DosageEntry

BATCH_SIZE = 500
_DOSAGE_FIELDS = tuple(DosageEntry.model_fields)


def render_bodies(connection: sa.Connection, exercise_ids: Sequence[int]) -> dict[int, bytes]:
    """The detail bodies of these exercises, by id."""
    terms = _term_slugs(connection)
    bodies: dict[int, bytes] = {}
    for start in range(0, len(exercise_ids), BATCH_SIZE):
        batch = list(exercise_ids[start : start + BATCH_SIZE])
        for exercise_id, fields in _detail_fields(connection, batch, terms).items():
            bodies[exercise_id] = pydantic_core.to_json(fields)
    return bodies


def store_bodies(session: Session, exercise_ids: Sequence[int]) -> None:
    """Render and keep the bodies of these exercises (replacing what they had)."""
    if not exercise_ids:
        return
    connection = session.connection()
    for start in range(0, len(exercise_ids), BATCH_SIZE):
        batch = list(exercise_ids[start : start + BATCH_SIZE])
        bodies = render_bodies(connection, batch)
        connection.execute(sa.delete(ExerciseBody).where(col(ExerciseBody.exercise_id).in_(batch)))
        connection.execute(
            sa.insert(ExerciseBody),
            [{"exercise_id": key, "body": body.decode()} for key, body in bodies.items()],
        )


def exercises_without_body(session: Session) -> list[int]:
    """Exercises that have no stored body (a database from before bodies were kept)."""
    missing = (
        sa.select(col(Exercise.id))
        .outerjoin(ExerciseBody, col(ExerciseBody.exercise_id) == col(Exercise.id))
        .where(col(ExerciseBody.exercise_id).is_(None))
    )
    return list(session.execute(missing).scalars())


def _detail_fields(
    connection: sa.Connection, batch: list[int], terms: dict[str, Any]
) -> dict[int, dict[str, Any]]:
    """The fields of these exercises' detail bodies, in the schema's order."""
    details = _exercise_fields(connection, batch)
    for exercise_id, slug in _links(connection, ExerciseEquipment.equipment, batch):
        details[exercise_id]["equipment"].append(slug)
    for exercise_id, region in _links(connection, ExerciseBodyRegion.body_region, batch):
        details[exercise_id]["body_regions"].append(region)
    for exercise_id, goal_id in _links(connection, ExerciseGoal.goal_id, batch):
        details[exercise_id]["goals"].append(terms["goal"][goal_id])
    _add_listed(connection, batch, details, terms)
    for mine, other, key in (
        (Progression.easier_id, Progression.harder_id, "progressions"),
        (Progression.harder_id, Progression.easier_id, "regressions"),
    ):
        linked = sa.select(col(mine), col(Exercise.slug)).join(Exercise, col(other) == Exercise.id)
        for exercise_id, slug in connection.execute(linked.where(col(mine).in_(batch))):
            details[exercise_id][key].append(slug)
    phase_order = {slug: place for place, slug in enumerate(terms["phase_order"])}
    for detail in details.values():
        for key in ("equipment", "body_regions", "goals", "progressions", "regressions"):
            detail[key].sort()
        detail["phases"].sort(key=lambda phase: phase_order[phase["phase"]])
        detail["contraindications"].sort(key=lambda item: item["condition"])
    return details


# The lists of an exercise's detail that are rows of a table of their own: for each, the
# table, and its fields in the body's order as (name, column, the kind of term whose id
# the column holds, or None), and the order the rows are listed in (None: sorted later).
_LISTED: dict[str, tuple[Any, list[tuple[str, Any, str | None]], Any]] = {
    "phases": (
        ExercisePhase,
        [
            ("phase", ExercisePhase.phase_id, "phase"),
            ("order", ExercisePhase.progression_order, None),
            ("caution", ExercisePhase.caution, None),
            ("basis", ExercisePhase.basis, None),
            ("note", ExercisePhase.note, None),
        ],
        None,
    ),
    "contraindications": (
        Contraindication,
        [
            ("condition", Contraindication.condition_id, "condition"),
            ("severity", Contraindication.severity, None),
            ("note", Contraindication.note, None),
        ],
        None,
    ),
    "evidence": (
        Evidence,
        [
            ("source", Evidence.source_id, "source"),
            ("field", Evidence.field, None),
            ("subject", Evidence.subject, None),
            ("stance", Evidence.stance, None),
            ("quote", Evidence.quote, None),
            ("start", Evidence.start, None),
            ("end", Evidence.end, None),
            ("text_quality", Evidence.text_quality, None),
        ],
        Evidence.id,  # in the order the evidence was recorded
    ),
}


def _add_listed(
    connection: sa.Connection,
    batch: list[int],
    details: dict[int, dict[str, Any]],
    terms: dict[str, Any],
) -> None:
    """Each exercise's phase memberships, contraindications and evidence."""
    for key, (table, fields, order) in _LISTED.items():
        statement = sa.select(
            col(table.exercise_id), *(col(column) for _, column, _ in fields)
        ).where(col(table.exercise_id).in_(batch))
        if order is not None:
            statement = statement.order_by(col(order))
        for exercise_id, *values in connection.execute(statement):
            details[exercise_id][key].append(
                {
                    name: terms[kind][value] if kind is not None else value
                    for (name, _, kind), value in zip(fields, values, strict=True)
                }
            )


def _term_slugs(connection: sa.Connection) -> dict[str, Any]:
    """Each kind of term's slugs by id, and the phases' slugs in phase order."""
    models: dict[str, Any] = TERM_MODELS
    slugs: dict[str, Any] = {
        kind: dict(connection.execute(sa.select(col(model.id), col(model.slug))).all())
        for kind, model in models.items()
    }
    slugs["phase_order"] = list(
        connection.execute(sa.select(col(Phase.slug)).order_by(col(Phase.order))).scalars()
    )
    return slugs


def _links(connection: sa.Connection, column: Any, batch: list[int]) -> Any:
    """(exercise id, value) of a link table's `column`, for the exercises of `chunk`."""
    table = column.class_
    return connection.execute(
        sa.select(col(table.exercise_id), col(column)).where(col(table.exercise_id).in_(batch))
    )


def _exercise_fields(connection: sa.Connection, batch: list[int]) -> dict[int, dict[str, Any]]:
    rows = connection.execute(
        sa.select(
            col(Exercise.id),
            col(Exercise.slug),
            col(Exercise.name),
            col(Exercise.summary),
            col(Exercise.category),
            col(Exercise.position),
            col(Exercise.difficulty),
            col(Exercise.updated_at),
            col(Exercise.version),
            col(Exercise.aliases),
            col(Exercise.instructions),
            col(Exercise.instructions_basis),
            col(Exercise.cues),
            col(Exercise.mistakes),
            col(Exercise.dosage),
        ).where(col(Exercise.id).in_(batch))
    )
    return {
        row.id: {
            "slug": row.slug,
            "name": row.name,
            "summary": row.summary,
            "category": row.category,
            "position": row.position,
            "difficulty": row.difficulty,
            "equipment": [],
            "goals": [],
            "updated_at": row.updated_at
            if row.updated_at.tzinfo
            else row.updated_at.replace(tzinfo=UTC),
            "version": row.version,
            "aliases": row.aliases,
            "body_regions": [],
            "instructions": row.instructions,
            "instructions_basis": row.instructions_basis,
            "cues": row.cues,
            "mistakes": row.mistakes,
            "dosage": {
                name: row.dosage.get(name) if name == "note" else _dose(row.dosage.get(name))
                for name in _DOSAGE_FIELDS
            },
            "phases": [],
            "contraindications": [],
            "progressions": [],
            "regressions": [],
            "evidence": [],
        }
        for row in rows
    }


def _dose(dose: dict[str, int] | None) -> dict[str, int] | None:
    return None if dose is None else {"min": dose["min"], "max": dose["max"]}
