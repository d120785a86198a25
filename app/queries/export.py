"""The whole catalogue read in chunks, for an export: every source, phase, goal,
condition and exercise, each kind in slug order (by code point, whatever the
database's collation, so that a client can put its own copy in the same order).

Read in one transaction, which the caller makes a snapshot (`app.database.
snapshot_engine`): a write committed meanwhile is either wholly in an export or not at
all. Rows are read a chunk at a time and let go once the chunk is handed on, so memory
stays flat whatever the catalogue's size (only the slugs are held throughout)."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from app.models import (
    TERM_MODELS,
    Contraindication,
    Evidence,
    Exercise,
    ExerciseBodyRegion,
    ExerciseEquipment,
    ExerciseGoal,
    ExercisePhase,
    Phase,
    Progression,
)
from app.queries.changes import catalogue_identity
from app.queries.revision import get_revision

Row = TypeVar("Row", bound=SQLModel)

CHUNK_SIZE = 500
# The order of an export: what exercises link to comes before them.
TERM_KINDS = ("source", "phase", "goal", "condition")


@dataclass(frozen=True)
class ExportHead:
    """What an export starts with: the catalogue it is a copy of, and the change log's
    latest entry, from which a client goes on polling the change feed."""

    version: str
    updated_at: datetime
    catalogue_id: str
    last_change: int


def export_head(session: Session) -> ExportHead:
    revision = get_revision(session)
    catalogue_id, last_change = catalogue_identity(session)
    return ExportHead(revision.version, revision.updated_at, catalogue_id, last_change)


def _slugs(session: Session, model: Any) -> list[str]:
    return sorted(session.exec(select(col(model.slug))).all())


def _chunks(slugs: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(slugs), CHUNK_SIZE):
        yield slugs[start : start + CHUNK_SIZE]


def term_chunks(session: Session, kind: str) -> Iterator[list[SQLModel]]:
    """The terms of `kind` ("source", "phase", "goal" or "condition"), in chunks."""
    model: Any = TERM_MODELS[kind]
    for slugs in _chunks(_slugs(session, model)):
        found = {
            row.slug: row for row in session.exec(select(model).where(col(model.slug).in_(slugs)))
        }
        yield [found[slug] for slug in slugs]
        session.expunge_all()


def exercise_chunks(session: Session) -> Iterator[list[dict[str, Any]]]:
    """Every exercise, in chunks, each as the fields of its detail body (what
    `schemas.ExerciseDetail.from_row` makes of an `Exercise` and its links), read with a
    fixed number of plain-column queries per chunk. perf: the detail view's ORM loading
    cost over a millisecond an exercise, most of a 100k export's time."""
    terms = _term_slugs(session)
    phase_order = {slug: place for place, slug in enumerate(terms["phase_order"])}
    ids = dict(session.execute(sa.select(col(Exercise.slug), col(Exercise.id))).all())
    # Plain statements on the session's connection (its transaction): no ORM in between.
    connection = session.connection()
    for slugs in _chunks(sorted(ids)):
        chunk = [ids[slug] for slug in slugs]
        details = _exercise_fields(connection, chunk)
        for exercise_id, slug in _links(connection, ExerciseEquipment.equipment, chunk):
            details[exercise_id]["equipment"].append(slug)
        for exercise_id, region in _links(connection, ExerciseBodyRegion.body_region, chunk):
            details[exercise_id]["body_regions"].append(region)
        for exercise_id, goal_id in _links(connection, ExerciseGoal.goal_id, chunk):
            details[exercise_id]["goals"].append(terms["goal"][goal_id])
        _add_phases(connection, chunk, details, terms)
        _add_contraindications(connection, chunk, details, terms)
        _add_evidence(connection, chunk, details, terms)
        for mine, other, key in (
            (Progression.easier_id, Progression.harder_id, "progressions"),
            (Progression.harder_id, Progression.easier_id, "regressions"),
        ):
            linked = sa.select(col(mine), col(Exercise.slug)).join(
                Exercise, col(other) == Exercise.id
            )
            for exercise_id, slug in connection.execute(linked.where(col(mine).in_(chunk))):
                details[exercise_id][key].append(slug)
        for detail in details.values():
            for key in ("equipment", "body_regions", "goals", "progressions", "regressions"):
                detail[key].sort()
            detail["phases"].sort(key=lambda phase: phase_order[phase["phase"]])
            detail["contraindications"].sort(key=lambda item: item["condition"])
        yield [details[exercise_id] for exercise_id in chunk]


def _add_phases(
    connection: sa.Connection,
    chunk: list[int],
    details: dict[int, dict[str, Any]],
    terms: dict[str, Any],
) -> None:
    """Each exercise's phase memberships."""
    for row in connection.execute(
        sa.select(
            col(ExercisePhase.exercise_id),
            col(ExercisePhase.phase_id),
            col(ExercisePhase.progression_order),
            col(ExercisePhase.caution),
            col(ExercisePhase.basis),
            col(ExercisePhase.note),
        ).where(col(ExercisePhase.exercise_id).in_(chunk))
    ):
        details[row.exercise_id]["phases"].append(
            {
                "phase": terms["phase"][row.phase_id],
                "order": row.progression_order,
                "caution": row.caution,
                "basis": row.basis,
                "note": row.note,
            }
        )


def _add_contraindications(
    connection: sa.Connection,
    chunk: list[int],
    details: dict[int, dict[str, Any]],
    terms: dict[str, Any],
) -> None:
    """Each exercise's contraindications."""
    for row in connection.execute(
        sa.select(
            col(Contraindication.exercise_id),
            col(Contraindication.condition_id),
            col(Contraindication.severity),
            col(Contraindication.note),
        ).where(col(Contraindication.exercise_id).in_(chunk))
    ):
        details[row.exercise_id]["contraindications"].append(
            {
                "condition": terms["condition"][row.condition_id],
                "severity": row.severity,
                "note": row.note,
            }
        )


def _add_evidence(
    connection: sa.Connection,
    chunk: list[int],
    details: dict[int, dict[str, Any]],
    terms: dict[str, Any],
) -> None:
    """Each exercise's evidence, in the order it was recorded."""
    for row in connection.execute(
        sa.select(
            col(Evidence.exercise_id),
            col(Evidence.source_id),
            col(Evidence.field),
            col(Evidence.subject),
            col(Evidence.stance),
            col(Evidence.quote),
            col(Evidence.start),
            col(Evidence.end),
            col(Evidence.text_quality),
        )
        .where(col(Evidence.exercise_id).in_(chunk))
        .order_by(col(Evidence.id))
    ):
        details[row.exercise_id]["evidence"].append(
            {
                "source": terms["source"][row.source_id],
                "field": row.field,
                "subject": row.subject,
                "stance": row.stance,
                "quote": row.quote,
                "start": row.start,
                "end": row.end,
                "text_quality": row.text_quality,
            }
        )


def _term_slugs(session: Session) -> dict[str, Any]:
    """Each kind of term's slugs by id, and the phases' slugs in phase order."""
    models: dict[str, Any] = TERM_MODELS
    slugs: dict[str, Any] = {
        kind: dict(session.execute(sa.select(col(model.id), col(model.slug))).all())
        for kind, model in models.items()
    }
    slugs["phase_order"] = list(
        session.execute(sa.select(col(Phase.slug)).order_by(col(Phase.order))).scalars()
    )
    return slugs


def _links(connection: sa.Connection, column: Any, chunk: list[int]) -> Any:
    """(exercise id, value) of a link table's `column`, for the exercises of `chunk`."""
    table = column.class_
    return connection.execute(
        sa.select(col(table.exercise_id), col(column)).where(col(table.exercise_id).in_(chunk))
    )


def _exercise_fields(connection: sa.Connection, chunk: list[int]) -> dict[int, dict[str, Any]]:
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
        ).where(col(Exercise.id).in_(chunk))
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
            "dosage": row.dosage,
            "phases": [],
            "contraindications": [],
            "progressions": [],
            "regressions": [],
            "evidence": [],
        }
        for row in rows
    }
