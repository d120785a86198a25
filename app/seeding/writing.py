"""Load a checked catalogue into the database through the catalogue writer, in one
transaction, touching only what changed: an unchanged catalogue changes no row, no
`updated_at` and not the catalogue version. Every change is logged with author `seed`.

A resource whose latest change came from an approved proposal is kept as it is (and
reported) unless the seed is told to `overwrite`: the catalogue written is the files'
with those resources as the database holds them, checked again as a whole."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel

from app import metrics
from app.database import LockWait
from app.errors import SeedError
from app.models import CatalogueState
from app.seeding.format import ExerciseEntry, digest, exercise_hash
from app.seeding.reading import Catalogue, check_catalogue
from app.seeding.stored import curated, stored_documents, stored_exercises, stored_terms
from app.vocabulary import ChangeAction, RetiredKind
from app.writer import Action, CatalogueWriter, StoredExercise, lock_catalogue

logger = logging.getLogger(__name__)

# Exercises are written this many at a time, a few statements per table per chunk.
CHUNK_SIZE = 1000

Progress = Callable[[int, int], None]


class DeletionRefused(SeedError):
    """The seed would delete exercises that the files neither hold nor retire."""

    def __init__(self, slugs: list[str]):
        self.slugs = slugs
        super().__init__(
            [
                f"exercises/{slug}.yaml: missing, and retired.yaml does not retire "
                f"exercise '{slug}': seeding would delete it"
                for slug in slugs
            ]
        )


@dataclass
class SeedReport:
    version: str
    changed: bool
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # Resources changed through the API that the files would have changed, left as
    # they are: "exercise 'slug'".
    kept: list[str] = field(default_factory=list)


def seed_catalogue(
    session: Session,
    catalogue: Catalogue,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    overwrite: bool = False,
    allow_deletes: bool = True,
    lock_wait: LockWait | None = None,
) -> SeedReport:
    """Write `catalogue` in one transaction; roll everything back on any error.
    Resources last changed through the API are kept unless `overwrite`. Exercises the
    files no longer hold are deleted, unless not `allow_deletes`: then the seed raises
    `SeedError` naming them, and writes nothing.

    `progress`, if given, is called with (exercises done, exercises in the catalogue)
    as the exercises are written, and with (total, total) once they all are.
    `lock_wait` says how long to wait for another catalogue write to finish (by
    default, as long as a statement may run)."""
    now = now or datetime.now(UTC)
    try:
        # Replicas starting together must not seed at the same time, nor seed while an
        # approval is applied.
        lock_catalogue(session, wait=lock_wait)
        kept: list[str] = []
        curated_resources: set[tuple[str, str]] = set()
        if not overwrite:
            catalogue, kept, curated_resources = keep_curated(session, catalogue)
        report = _write(
            session,
            catalogue,
            now,
            progress or (lambda done, total: None),
            curated_resources,
            allow_deletes=allow_deletes,
        )
        report.kept = kept
        session.commit()
    except Exception as error:
        session.rollback()
        metrics.SEEDS.labels("refused" if isinstance(error, SeedError) else "failed").inc()
        raise
    _count(report)
    if report.changed:
        try:
            refresh_planner_statistics(session)
        except SQLAlchemyError:
            # The seed is committed; stale statistics make reads slower, not wrong.
            session.rollback()
            logger.warning("ANALYZE after seeding failed", exc_info=True)
    return report


def _count(report: SeedReport) -> None:
    metrics.SEEDS.labels("changed" if report.changed else "unchanged").inc()
    for action, resources in (
        ("inserted", report.inserted),
        ("updated", report.updated),
        ("deleted", report.deleted),
        ("kept", report.kept),
    ):
        if resources:
            metrics.SEEDED_RESOURCES.labels(action).inc(len(resources))


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


def keep_curated(
    session: Session, catalogue: Catalogue
) -> tuple[Catalogue, list[str], set[tuple[str, str]]]:
    """`catalogue` with each resource last changed through the API as the database
    holds it (or without it, if the API deleted it); those of them the files would have
    changed; and all of them. Raises `SeedError` if the result does not hold together."""
    kept_resources = curated(session)
    if not kept_resources:
        return catalogue, [], set()
    by_kind: dict[str, list[Any]] = {
        "source": list(catalogue.sources),
        "phase": list(catalogue.phases),
        "goal": list(catalogue.goals),
        "condition": list(catalogue.conditions),
        "exercise": list(catalogue.exercises),
    }
    documents = dict(catalogue.documents)
    kept: list[str] = []
    regressions = catalogue.regressions()
    for kind, entries in by_kind.items():
        slugs = sorted(slug for k, slug in kept_resources if k == kind)
        if not slugs:
            continue
        live = [slug for slug in slugs if kept_resources[(kind, slug)] != ChangeAction.deleted]
        stored: dict[str, Any] = (
            stored_exercises(session, live)
            if kind == "exercise"
            else {entry.slug: entry for entry in stored_terms(session, kind, live)}
        )
        in_files = {entry.slug: entry for entry in entries}
        for slug in slugs:
            ours, theirs = stored.get(slug), in_files.get(slug)
            if _content(kind, ours, regressions) != _content(kind, theirs, regressions):
                kept.append(f"{kind} '{slug}'")
        entries[:] = [entry for entry in entries if entry.slug not in set(slugs)]
        entries += stored.values()
        entries.sort(key=lambda entry: entry.slug)
        if kind == "source":
            documents.update(stored_documents(session, live))
    merged = Catalogue(
        sources=by_kind["source"],
        phases=sorted(by_kind["phase"], key=lambda entry: entry.order),
        goals=by_kind["goal"],
        conditions=by_kind["condition"],
        exercises=by_kind["exercise"],
        retired=catalogue.retired,
        documents=documents,
    )
    exercises = [(Path("exercises") / f"{entry.slug}.yaml", entry) for entry in merged.exercises]
    problems = check_catalogue(merged, exercises, documents)
    if problems:
        raise SeedError(
            [
                *problems,
                "(the catalogue files, with the resources changed through the API kept as "
                f"they are: {', '.join(kept) or 'none differ'}; seed with --overwrite to "
                "replace them with the files)",
            ]
        )
    return merged, kept, set(kept_resources)


def _content(kind: str, entry: Any, regressions: dict[str, list[str]]) -> str | None:
    if entry is None:
        return None
    if kind == "exercise":
        return exercise_hash(entry, regressions.get(entry.slug, []))
    return digest(entry)


def _write(
    session: Session,
    catalogue: Catalogue,
    now: datetime,
    progress: Progress,
    curated_resources: set[tuple[str, str]],
    *,
    allow_deletes: bool,
) -> SeedReport:
    version = catalogue.version()
    total = len(catalogue.exercises)
    state = session.get(CatalogueState, 1)
    report = SeedReport(version=version, changed=state is None or state.version != version)
    if not report.changed:
        # A database from before exercise bodies were kept gets them now (not a change).
        CatalogueWriter(session, now=now).store_missing_bodies()
        progress(total, total)
        return report

    writer = CatalogueWriter(session, now=now)
    stored = writer.stored_exercises()
    wanted = {entry.slug for entry in catalogue.exercises}
    gone = sorted(set(stored) - wanted)
    # A slug the files retire is deleted on purpose (renamed or removed); any other
    # may be a file lost by mistake.
    retired = {entry.slug for entry in catalogue.retired if entry.kind == RetiredKind.exercise}
    unannounced = [slug for slug in gone if slug not in retired]
    if unannounced and not allow_deletes:
        raise DeletionRefused(unannounced)
    # What the API changed is written as the database holds it: only what is derived
    # for it from the files (its regressions) can change, and that keeps it curated.
    writer.kept = curated_resources
    writer.sync_terms("source", catalogue.sources)
    writer.sync_documents(catalogue.documents)
    writer.refresh_text_quality(
        [c.slug for c in writer.changes if c.kind == "source" and c.action == Action.updated]
    )
    writer.sync_terms("phase", catalogue.phases)
    writer.sync_terms("goal", catalogue.goals)
    writer.sync_terms("condition", catalogue.conditions)
    writer.sync_retired(catalogue.retired)

    for start in range(0, len(gone), CHUNK_SIZE):
        writer.delete_exercises(
            {slug: stored.pop(slug) for slug in gone[start : start + CHUNK_SIZE]}
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
    report.version = writer.move_revision()
    # A database from before exercise bodies were kept gets them now (not a change).
    writer.store_missing_bodies()

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
    updated: list[tuple[StoredExercise, ExerciseEntry, str]] = []
    rehashed: list[tuple[str, StoredExercise, str]] = []
    for entry in entries:
        entry_regressions = regressions.get(entry.slug, [])
        content_hash = exercise_hash(entry, entry_regressions)
        row = stored.get(entry.slug)
        if row is None:
            inserted.append((entry, content_hash))
        elif row.content_hash == _legacy_hash(entry, entry_regressions):
            rehashed.append((entry.slug, row, content_hash))
        elif row.content_hash != content_hash:
            updated.append((row, entry, content_hash))
    writer.rehash_exercises(rehashed, changed=False)
    writer.update_exercises(updated)
    hashes = {entry.slug: content_hash for entry, content_hash in inserted}
    for slug, id in writer.create_exercises(inserted).items():
        stored[slug] = StoredExercise(id, hashes[slug], 1)


def _legacy_hash(entry: ExerciseEntry, regressions: list[str]) -> str:
    """An exercise's content hash as databases seeded before the change log kept it
    (its entry as written, not in canonical order): unchanged content hashed that way
    only needs its hash brought up to date."""
    return digest({"entry": entry, "regressions": regressions})
