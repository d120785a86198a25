"""Load the catalogue from `seed/` into the database: validate everything, then write it
in one transaction, touching only what changed.

Reading (`read_catalogue`) never touches the database and raises `SeedError` naming
the file, the exercise and the field of every problem it finds. Writing
(`seed_catalogue`) is idempotent: an unchanged catalogue changes no row, no
`updated_at` and not the catalogue version.
"""

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, insert, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, col, select

from app.errors import SeedError
from app.models import (
    CatalogueState,
    Condition,
    Contraindication,
    Evidence,
    Exercise,
    ExerciseBodyRegion,
    ExerciseEquipment,
    ExerciseGoal,
    ExercisePhase,
    Goal,
    Phase,
    Progression,
    Source,
)
from app.seed_format import (
    ExerciseEntry,
    PhaseEntry,
    SluggedEntry,
    SourceEntry,
    TermEntry,
)
from app.vocabulary import EvidenceField, PhaseSlug

logger = logging.getLogger(__name__)

Entry = TypeVar("Entry", bound=SluggedEntry)


@dataclass(frozen=True)
class Catalogue:
    """A validated catalogue, ready to write."""

    sources: list[SourceEntry]
    phases: list[PhaseEntry]
    goals: list[TermEntry]
    conditions: list[TermEntry]
    exercises: list[ExerciseEntry]

    def version(self) -> str:
        """A hash of the whole content: equal catalogues have equal versions."""
        return _digest(
            {
                "sources": self.sources,
                "phases": self.phases,
                "goals": self.goals,
                "conditions": self.conditions,
                "exercises": sorted(self.exercises, key=lambda entry: entry.slug),
            }
        )

    def regressions(self) -> dict[str, list[str]]:
        """For each exercise, the easier exercises that lead on to it."""
        easier: dict[str, list[str]] = defaultdict(list)
        for exercise in self.exercises:
            for harder in exercise.progressions:
                easier[harder].append(exercise.slug)
        return {slug: sorted(slugs) for slug, slugs in easier.items()}


@dataclass
class SeedReport:
    version: str
    changed: bool
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


# --- reading -----------------------------------------------------------------------


def read_catalogue(catalogue_dir: Path, documents_dir: Path) -> Catalogue:
    """Read the catalogue files in `catalogue_dir` and check them against the source
    documents in `documents_dir` (in the project: `seed/catalogue/` and `seed/`)."""
    problems: list[str] = []
    sources = _read_list(catalogue_dir / "sources.yaml", SourceEntry, problems)
    phases = _read_list(catalogue_dir / "phases.yaml", PhaseEntry, problems)
    goals = _read_list(catalogue_dir / "goals.yaml", TermEntry, problems)
    conditions = _read_list(catalogue_dir / "conditions.yaml", TermEntry, problems)
    exercise_files = sorted((catalogue_dir / "exercises").glob("*.yaml"))
    if not exercise_files:
        problems.append(f"{catalogue_dir / 'exercises'}: no exercise files (*.yaml)")
    exercises: list[tuple[Path, ExerciseEntry]] = []
    for path in exercise_files:
        entry = _read_one(path, ExerciseEntry, problems)
        if entry is not None:
            if entry.slug != path.stem:
                problems.append(f"{path}: slug '{entry.slug}' must match the file name")
            exercises.append((path, entry))
    if problems:
        raise SeedError(problems)
    catalogue = Catalogue(
        sources=sources,
        phases=phases,
        goals=goals,
        conditions=conditions,
        exercises=[entry for _, entry in exercises],
    )
    documents = _read_documents(documents_dir, catalogue_dir / "sources.yaml", sources, problems)
    problems += check_catalogue(catalogue, exercises, documents)
    if problems:
        raise SeedError(problems)
    return catalogue


def _load_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        problems.append(f"{path}: not valid YAML: {error}")
    return None


def _validation_problems(path: Path, error: ValidationError, prefix: str = "") -> list[str]:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        problems.append(f"{path}: {prefix}{location}: {item['msg']}")
    return problems


def _read_one(path: Path, model: type[Entry], problems: list[str]) -> Entry | None:
    data = _load_yaml(path, problems)
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        slug = data.get("slug", "?") if isinstance(data, dict) else "?"
        problems += _validation_problems(path, error, prefix=f"exercise '{slug}': ")
        return None


def _read_list(path: Path, model: type[Entry], problems: list[str]) -> list[Entry]:
    data = _load_yaml(path, problems)
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(f"{path}: expected a list of entries")
        return []
    entries = []
    for index, item in enumerate(data):
        try:
            entries.append(model.model_validate(item))
        except ValidationError as error:
            problems += _validation_problems(path, error, prefix=f"entry {index}: ")
    _check_unique(path, [entry.slug for entry in entries], problems)
    return entries


def _check_unique(where: Path, slugs: Iterable[str], problems: list[str]) -> None:
    seen: set[str] = set()
    for slug in slugs:
        if slug in seen:
            problems.append(f"{where}: duplicate slug '{slug}'")
        seen.add(slug)


def _read_documents(
    documents_dir: Path, sources_file: Path, sources: list[SourceEntry], problems: list[str]
) -> dict[str, str]:
    """The text of each source document, by source slug, checked against its SHA-256."""
    documents = {}
    for source in sources:
        path = documents_dir / source.file
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            problems.append(f"{sources_file}: source '{source.slug}': file {path} not found")
            continue
        digest = hashlib.sha256(raw).hexdigest()
        if digest != source.sha256:
            problems.append(
                f"{sources_file}: source '{source.slug}': sha256 of {path} is {digest}, "
                f"not {source.sha256} (the document changed: offsets may no longer hold)"
            )
        documents[source.slug] = raw.decode("utf-8")
    return documents


def check_catalogue(
    catalogue: Catalogue,
    exercises: Sequence[tuple[Path, ExerciseEntry]],
    documents: dict[str, str],
) -> list[str]:
    """Checks across files: references resolve, quotes match, progressions are acyclic."""
    problems: list[str] = []
    phase_slugs = sorted(phase.slug for phase in catalogue.phases)
    if phase_slugs != sorted(PhaseSlug):
        problems.append(f"phases.yaml: expected exactly the phases {sorted(PhaseSlug)}")
    goals = {goal.slug for goal in catalogue.goals}
    conditions = {condition.slug for condition in catalogue.conditions}
    exercise_slugs = {entry.slug for _, entry in exercises}
    _check_unique(Path("exercises"), [entry.slug for _, entry in exercises], problems)
    subjects: dict[EvidenceField, set[str]] = {
        EvidenceField.phase: set(phase_slugs),
        EvidenceField.goal: goals,
        EvidenceField.contraindication: conditions,
        EvidenceField.progression: exercise_slugs,
    }

    for path, entry in exercises:
        where = f"{path}: exercise '{entry.slug}'"

        unknown = (
            ("goals", [slug for slug in entry.goals if slug not in goals]),
            (
                "contraindications",
                [c.condition for c in entry.contraindications if c.condition not in conditions],
            ),
            # Not another exercise: a slug nothing has, or the exercise's own. (No set
            # difference per exercise: that is quadratic in the catalogue's size.)
            (
                "progressions",
                [s for s in entry.progressions if s not in exercise_slugs or s == entry.slug],
            ),
        )
        for field_name, values in unknown:
            problems += [f"{where}: {field_name}: unknown slug '{value}'" for value in values]
        listed: tuple[tuple[str, Sequence[str]], ...] = (
            ("goals", entry.goals),
            ("phases", [p.phase for p in entry.phases]),
            ("contraindications", [c.condition for c in entry.contraindications]),
            ("progressions", entry.progressions),
            ("equipment", entry.equipment),
            ("body_regions", entry.body_regions),
        )
        for name, listed_slugs in listed:
            if len(set(listed_slugs)) != len(listed_slugs):
                problems.append(f"{where}: {name}: listed twice")
        if entry.dosage.stated_fields() and not any(
            item.field == EvidenceField.dosage for item in entry.evidence
        ):
            problems.append(f"{where}: dosage: numbers given but no evidence with field 'dosage'")
        for index, item in enumerate(entry.evidence):
            at = f"{where}: evidence[{index}]"
            document = documents.get(item.source)
            if document is None:
                problems.append(f"{at}.source: unknown source '{item.source}'")
            elif document[item.start : item.end] != item.quote:
                found = document.find(item.quote)
                hint = f" (it is at {found}..{found + len(item.quote)})" if found >= 0 else ""
                problems.append(
                    f"{at}.quote: not found verbatim at {item.start}..{item.end} "
                    f"of '{item.source}'{hint}"
                )
            known_subjects = subjects.get(item.field)
            if item.subject and known_subjects is not None and item.subject not in known_subjects:
                problems.append(f"{at}.subject: unknown {item.field} '{item.subject}'")
    problems += _progression_cycles([entry for _, entry in exercises])
    return problems


def _progression_cycles(exercises: list[ExerciseEntry]) -> list[str]:
    harder = {entry.slug: entry.progressions for entry in exercises}
    problems = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(slug: str, path: list[str]) -> None:
        state[slug] = 1
        for following in harder.get(slug, []):
            if state.get(following) == 1:
                cycle = [*path[path.index(following) :], following]
                problems.append(f"progressions: cycle {' -> '.join(cycle)}")
            elif following not in state:
                visit(following, [*path, following])
        state[slug] = 2

    for slug in sorted(harder):
        if slug not in state:
            visit(slug, [slug])
    return problems


# --- writing -----------------------------------------------------------------------


# Exercises are written in chunks: one statement per table per chunk rather than one
# ORM object per row, which at 100k exercises (and ten times as many links) is the
# difference between seconds and many minutes.
CHUNK_SIZE = 1000
LINK_MODELS: tuple[Any, ...] = (
    ExerciseEquipment,
    ExerciseBodyRegion,
    ExercisePhase,
    ExerciseGoal,
    Contraindication,
    Evidence,
)

Progress = Callable[[int, int], None]


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
    the wrong index: 20 ms instead of 0.02 ms at 100,000 exercises. PostgreSQL's
    autovacuum would get there, but not before the first requests."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        # Only the catalogue's tables: a bare ANALYZE would visit (and wait for locks
        # on) every table of every schema in the database.
        quote = dialect.identifier_preparer.quote
        session.execute(text("ANALYZE " + ", ".join(quote(t) for t in SQLModel.metadata.tables)))
    else:
        session.execute(text("ANALYZE"))  # the file holds only the catalogue
    session.commit()


@dataclass(frozen=True)
class _Stored:
    """What the database holds for an exercise: enough to tell if it must be rewritten."""

    id: int
    content_hash: str


def _write(session: Session, catalogue: Catalogue, now: datetime, progress: Progress) -> SeedReport:
    version = catalogue.version()
    total = len(catalogue.exercises)
    state = session.get(CatalogueState, 1)
    report = SeedReport(version=version, changed=state is None or state.version != version)
    if not report.changed:
        progress(total, total)
        return report

    sources = _sync_terms(session, Source, catalogue.sources)
    phases = _sync_terms(session, Phase, catalogue.phases)
    goals = _sync_terms(session, Goal, catalogue.goals)
    conditions = _sync_terms(session, Condition, catalogue.conditions)
    ids = {"source": sources, "phase": phases, "goal": goals, "condition": conditions}

    # Ids and hashes only: loading every exercise as an object would cost more than
    # writing the few that changed.
    stored = {
        slug: _Stored(id, content_hash)
        for id, slug, content_hash in session.execute(
            select(Exercise.id, Exercise.slug, Exercise.content_hash)
        )
    }
    wanted = {entry.slug for entry in catalogue.exercises}
    report.deleted = sorted(set(stored) - wanted)
    _delete_exercises(session, [stored.pop(slug).id for slug in report.deleted])

    regressions = catalogue.regressions()
    for start in range(0, total, CHUNK_SIZE):
        chunk = catalogue.exercises[start : start + CHUNK_SIZE]
        _write_exercises(session, chunk, regressions, stored, ids, now, report)
        progress(start + len(chunk), total)
    _sync_progressions(session, catalogue, {slug: row.id for slug, row in stored.items()})

    if state is None:
        state = CatalogueState(id=1, version=version, updated_at=now)
    else:
        state.version, state.updated_at = version, now
    session.add(state)
    session.flush()
    return report


def _write_exercises(
    session: Session,
    entries: Sequence[ExerciseEntry],
    regressions: dict[str, list[str]],
    stored: dict[str, _Stored],
    ids: dict[str, dict[str, int]],
    now: datetime,
    report: SeedReport,
) -> None:
    """Insert the new exercises among `entries` and rewrite the changed ones, with all
    their links; leave unchanged ones alone. `stored` learns the new exercises' ids."""
    inserted: list[tuple[ExerciseEntry, str]] = []
    updated: list[tuple[ExerciseEntry, str]] = []
    for entry in entries:
        content_hash = _digest({"entry": entry, "regressions": regressions.get(entry.slug, [])})
        row = stored.get(entry.slug)
        if row is None:
            inserted.append((entry, content_hash))
        elif row.content_hash != content_hash:
            updated.append((entry, content_hash))
    if updated:
        updated_ids = [stored[entry.slug].id for entry, _ in updated]
        _delete_links(session, updated_ids)
        session.execute(
            update(Exercise),
            [
                {"id": id, **_exercise_values(entry, content_hash, now, ids)}
                for id, (entry, content_hash) in zip(updated_ids, updated, strict=True)
            ],
        )
        report.updated += [entry.slug for entry, _ in updated]
    if inserted:
        new_ids = session.execute(
            _insert(Exercise).returning(col(Exercise.id), col(Exercise.slug)),
            [
                {"slug": entry.slug, **_exercise_values(entry, content_hash, now, ids)}
                for entry, content_hash in inserted
            ],
        )
        hashes = {entry.slug: content_hash for entry, content_hash in inserted}
        for id, slug in new_ids:
            stored[slug] = _Stored(id, hashes[slug])
        report.inserted += [entry.slug for entry, _ in inserted]

    links: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for entry, _ in (*updated, *inserted):
        for model, rows in _link_rows(entry, stored[entry.slug].id, ids).items():
            links[model] += rows
    for model, rows in links.items():
        if rows:
            session.execute(_insert(model), rows)


def _insert(model: Any) -> Any:
    """An INSERT into `model`'s table, to run with a list of rows. A plain (Core) one:
    the ORM's bulk insert adds per-row bookkeeping, and by leaving NULLs out it splits
    the rows into many small batches."""
    return insert(model.__table__)


def _delete_exercises(session: Session, exercise_ids: list[int]) -> None:
    """Delete exercises and everything that refers to them, without relying on the
    database to cascade (SQLite only does with its foreign keys switched on)."""
    for start in range(0, len(exercise_ids), CHUNK_SIZE):
        chunk = exercise_ids[start : start + CHUNK_SIZE]
        _delete_links(session, chunk)
        session.execute(
            delete(Progression).where(
                col(Progression.easier_id).in_(chunk) | col(Progression.harder_id).in_(chunk)
            )
        )
        session.execute(delete(Exercise).where(col(Exercise.id).in_(chunk)))


def _delete_links(session: Session, exercise_ids: list[int]) -> None:
    for model in LINK_MODELS:
        session.execute(delete(model).where(col(model.exercise_id).in_(exercise_ids)))


def _exercise_values(
    entry: ExerciseEntry, content_hash: str, now: datetime, ids: dict[str, dict[str, int]]
) -> dict[str, Any]:
    """An exercise row's columns (but its id and slug), from its catalogue entry. Its
    phase and goal ids are written with it, as are its links (see `_link_rows`)."""
    return {
        "name": entry.name,
        "summary": entry.summary,
        "category": entry.category,
        "position": entry.position,
        "difficulty": entry.difficulty,
        "instructions": list(entry.instructions),
        "cues": list(entry.cues),
        "dosage": entry.dosage.model_dump(mode="json", exclude_none=True),
        "phase_ids": sorted(ids["phase"][item.phase] for item in entry.phases),
        "goal_ids": sorted(ids["goal"][slug] for slug in entry.goals),
        "content_hash": content_hash,
        "updated_at": now,
    }


def _link_rows(
    entry: ExerciseEntry, exercise_id: int, ids: dict[str, dict[str, int]]
) -> dict[Any, list[dict[str, Any]]]:
    """The rows linking an exercise to its equipment, regions, phases, goals,
    contraindications and evidence, by table."""
    return {
        ExerciseEquipment: [
            {"exercise_id": exercise_id, "equipment": item} for item in entry.equipment
        ],
        ExerciseBodyRegion: [
            {"exercise_id": exercise_id, "body_region": item} for item in entry.body_regions
        ],
        ExercisePhase: [
            {
                "exercise_id": exercise_id,
                "phase_id": ids["phase"][item.phase],
                "progression_order": item.order,
                "caution": item.caution,
                "note": item.note,
            }
            for item in entry.phases
        ],
        ExerciseGoal: [
            {"exercise_id": exercise_id, "goal_id": ids["goal"][slug]} for slug in entry.goals
        ],
        Contraindication: [
            {
                "exercise_id": exercise_id,
                "condition_id": ids["condition"][item.condition],
                "severity": item.severity,
                "note": item.note,
            }
            for item in entry.contraindications
        ],
        Evidence: [
            {
                "exercise_id": exercise_id,
                "source_id": ids["source"][item.source],
                "field": item.field,
                "subject": item.subject,
                "stance": item.stance,
                "quote": item.quote,
                "start": item.start,
                "end": item.end,
            }
            for item in entry.evidence
        ],
    }


def _sync_terms(session: Session, model: Any, entries: Sequence[SluggedEntry]) -> dict[str, int]:
    """Upsert sources, phases, goals or conditions by slug; delete those no longer listed."""
    rows: dict[str, Any] = {row.slug: row for row in session.exec(select(model))}
    wanted = {entry.slug for entry in entries}
    for slug in set(rows) - wanted:
        session.delete(rows.pop(slug))
    session.flush()
    if model is Phase:
        # Phase order is unique: park current rows out of the way before reordering.
        for row in rows.values():
            row.order = -row.id
        session.flush()
    for entry in entries:
        values = entry.model_dump(mode="json")
        row = rows.get(values["slug"])
        if row is None:
            row = model(**values)
            rows[values["slug"]] = row
        else:
            for key, value in values.items():
                if getattr(row, key) != value:
                    setattr(row, key, value)
        session.add(row)
    session.flush()
    return {slug: row.id for slug, row in rows.items()}


def _sync_progressions(
    session: Session, catalogue: Catalogue, exercise_ids: dict[str, int]
) -> None:
    wanted = {
        (exercise_ids[entry.slug], exercise_ids[harder])
        for entry in catalogue.exercises
        for harder in entry.progressions
    }
    current = {
        (easier_id, harder_id)
        for easier_id, harder_id in session.execute(
            select(Progression.easier_id, Progression.harder_id)
        )
    }
    for easier_id, harder_id in current - wanted:
        session.execute(
            delete(Progression).where(
                col(Progression.easier_id) == easier_id,
                col(Progression.harder_id) == harder_id,
            )
        )
    added = [{"easier_id": e, "harder_id": h} for e, h in sorted(wanted - current)]
    if added:
        session.execute(_insert(Progression), added)


def _digest(value: Any) -> str:
    def default(item: Any) -> Any:
        if isinstance(item, BaseModel):
            return item.model_dump(mode="json")
        raise TypeError(f"cannot hash {type(item).__name__}")

    canonical = json.dumps(value, default=default, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
