"""The whole catalogue read in chunks, for an export: every source, phase, goal,
condition and exercise, each kind in slug order (by code point, whatever the
database's collation, so that a client can put its own copy in the same order).

Read in one transaction, which the caller makes a snapshot (`app.database.
snapshot_engine`): a write committed meanwhile is either wholly in an export or not at
all. Rows are read a chunk at a time and let go once the chunk is handed on, so memory
stays flat whatever the catalogue's size (only the exercise ids, in order, are held
throughout)."""

from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from app.database import read_without_memory_map
from app.detail_bodies import render_bodies
from app.models import TERM_MODELS, Exercise, ExerciseBody
from app.queries.revision import get_revision

Row = TypeVar("Row", bound=SQLModel)

CHUNK_SIZE = 500
# Exercises per chunk: their bodies are held while the chunk goes out.
EXERCISE_CHUNK_SIZE = 200
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
    """The head of an export, read first: it fixes the snapshot the rest is read from."""
    read_without_memory_map(session)
    revision = get_revision(session)
    return ExportHead(
        revision.version, revision.updated_at, revision.catalogue_id, revision.last_change or 0
    )


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


def exercise_chunks(session: Session) -> Iterator[list[bytes]]:
    """Every exercise's detail body (JSON), in chunks: as the writer stored it, or
    rendered now for an exercise stored before bodies were kept."""
    connection = session.connection()
    ids = _exercise_ids_by_slug(connection)
    for start in range(0, len(ids), EXERCISE_CHUNK_SIZE):
        chunk = ids[start : start + EXERCISE_CHUNK_SIZE]
        rows = connection.execute(
            sa.select(col(Exercise.id), _as_bytes(connection).label("body"))
            .outerjoin(ExerciseBody, col(ExerciseBody.exercise_id) == col(Exercise.id))
            .where(col(Exercise.id).in_(chunk.tolist()))
        ).all()
        stored = {row.id: bytes(row.body) for row in rows if row.body is not None}
        if missing := [row.id for row in rows if row.body is None]:
            stored |= render_bodies(connection, missing)
        yield [stored[exercise_id] for exercise_id in chunk]


def _exercise_ids_by_slug(connection: sa.Connection) -> "array[int]":
    """Every exercise's id, in code-point order of the slugs (sorted here, not by the
    database's collation), held as an array of numbers rather than the slugs."""
    pairs = sorted(connection.execute(sa.select(col(Exercise.slug), col(Exercise.id))).all())
    return array("q", (cast(int, exercise_id) for _, exercise_id in pairs))


def _as_bytes(connection: sa.Connection) -> Any:
    """A stored body as its UTF-8 bytes, as it goes out: perf: not decoded into text
    by the driver and encoded again, half a gigabyte each way at 100k exercises."""
    body = col(ExerciseBody.body)
    if connection.dialect.name == "postgresql":
        return sa.func.convert_to(body, "UTF8")
    return sa.cast(body, sa.LargeBinary)
