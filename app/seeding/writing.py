"""Load a checked catalogue into the database through the catalogue writer, in one
transaction, touching only what changed: an unchanged catalogue changes no row, no
`updated_at` and not the catalogue version."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel

from app.models import CatalogueState
from app.seeding.format import ExerciseEntry
from app.seeding.reading import Catalogue
from app.writer import Action, CatalogueWriter, StoredExercise, exercise_hash

logger = logging.getLogger(__name__)

# Exercises are written this many at a time, a few statements per table per chunk.
CHUNK_SIZE = 1000

Progress = Callable[[int, int], None]


@dataclass
class SeedReport:
    version: str
    changed: bool
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def seed_catalogue(
    session: Session,
    catalogue: Catalogue,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> SeedReport:
    """Write `catalogue` in one transaction; roll everything back on any error.

    `progress`, if given, is called with (exercises done, exercises in the catalogue)
    as the exercises are written, and with (total, total) once they all are."""
    now = now or datetime.now(UTC)
    try:
        if session.get_bind().dialect.name == "postgresql":
            # Replicas starting together must not seed at the same time.
            session.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
        report = _write(session, catalogue, now, progress or (lambda done, total: None))
        session.commit()
    except Exception:
        session.rollback()
        raise
    if report.changed:
        try:
            refresh_planner_statistics(session)
        except SQLAlchemyError:
            # The seed is committed; stale statistics make reads slower, not wrong.
            session.rollback()
            logger.warning("ANALYZE after seeding failed", exc_info=True)
    return report


def refresh_planner_statistics(session: Session) -> None:
    """ANALYZE the tables, as after any bulk load. SQLite has no statistics until told
    to gather them, and without them it drives small lookups (a page's cautions) from
    the wrong index. PostgreSQL's autovacuum would get there, but not before the first
    requests."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        # Only the catalogue's tables: a bare ANALYZE would visit (and wait for locks
        # on) every table of every schema in the database.
        quote = dialect.identifier_preparer.quote
        session.execute(text("ANALYZE " + ", ".join(quote(t) for t in SQLModel.metadata.tables)))
    else:
        session.execute(text("ANALYZE"))  # the file holds only the catalogue
    session.commit()


def _write(session: Session, catalogue: Catalogue, now: datetime, progress: Progress) -> SeedReport:
    version = catalogue.version()
    total = len(catalogue.exercises)
    state = session.get(CatalogueState, 1)
    report = SeedReport(version=version, changed=state is None or state.version != version)
    if not report.changed:
        progress(total, total)
        return report

    writer = CatalogueWriter(session, now=now)
    writer.sync_terms("source", catalogue.sources)
    writer.sync_terms("phase", catalogue.phases)
    writer.sync_terms("goal", catalogue.goals)
    writer.sync_terms("condition", catalogue.conditions)
    writer.sync_retired(catalogue.retired)

    stored = writer.stored_exercises()
    wanted = {entry.slug for entry in catalogue.exercises}
    gone = sorted(set(stored) - wanted)
    for start in range(0, len(gone), CHUNK_SIZE):
        writer.delete_exercises(
            {slug: stored.pop(slug).id for slug in gone[start : start + CHUNK_SIZE]}
        )

    regressions = catalogue.regressions()
    for start in range(0, total, CHUNK_SIZE):
        chunk = catalogue.exercises[start : start + CHUNK_SIZE]
        _write_exercises(writer, chunk, regressions, stored)
        progress(start + len(chunk), total)
    ids = {slug: row.id for slug, row in stored.items()}
    writer.sync_progressions(
        {
            (ids[entry.slug], ids[harder])
            for entry in catalogue.exercises
            for harder in entry.progressions
        }
    )
    writer.move_revision(version)

    for change in writer.changes:
        if change.kind == "exercise":
            listed = {
                Action.created: report.inserted,
                Action.updated: report.updated,
                Action.deleted: report.deleted,
            }[change.action]
            listed.append(change.slug)
    return report


def _write_exercises(
    writer: CatalogueWriter,
    entries: list[ExerciseEntry],
    regressions: dict[str, list[str]],
    stored: dict[str, StoredExercise],
) -> None:
    """Insert the new exercises among `entries` and rewrite the changed ones; leave
    unchanged ones alone. `stored` learns the new exercises' ids."""
    inserted: list[tuple[ExerciseEntry, str]] = []
    updated: list[tuple[int, ExerciseEntry, str]] = []
    for entry in entries:
        content_hash = exercise_hash(entry, regressions.get(entry.slug, []))
        row = stored.get(entry.slug)
        if row is None:
            inserted.append((entry, content_hash))
        elif row.content_hash != content_hash:
            updated.append((row.id, entry, content_hash))
    writer.update_exercises(updated)
    hashes = {entry.slug: content_hash for entry, content_hash in inserted}
    for slug, id in writer.create_exercises(inserted).items():
        stored[slug] = StoredExercise(id, hashes[slug])
