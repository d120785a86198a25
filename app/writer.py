"""The one writer of the catalogue. Every change to it (seeding today, approved
proposals next) goes through a `CatalogueWriter`, in the caller's transaction: it
writes rows and their links, keeps the columns derived from them in step (an
exercise's content hash and its copies of its phase and goal ids), moves the catalogue
revision on, and records each change it made (`changes`), which is where the change
log hooks in."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, insert, update
from sqlmodel import Session, SQLModel, col, select

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
    RetiredSlug,
    Source,
)
from app.seeding.format import ExerciseEntry, RetiredEntry, SluggedEntry, digest, text_quality

# The tables that link an exercise to what it has, uses and cites.
LINK_MODELS: tuple[Any, ...] = (
    ExerciseEquipment,
    ExerciseBodyRegion,
    ExercisePhase,
    ExerciseGoal,
    Contraindication,
    Evidence,
)
TERM_MODELS: dict[str, type[SQLModel]] = {
    "source": Source,
    "phase": Phase,
    "goal": Goal,
    "condition": Condition,
}


class Action(StrEnum):
    created = "created"
    updated = "updated"
    deleted = "deleted"


@dataclass(frozen=True)
class Change:
    """One resource the writer created, updated or deleted."""

    kind: str  # "exercise", or a kind of term: "source", "phase", "goal", "condition"
    slug: str
    action: Action


@dataclass(frozen=True)
class StoredExercise:
    """What the database holds for an exercise: enough to tell if it must be rewritten."""

    id: int
    content_hash: str


def exercise_hash(entry: ExerciseEntry, regressions: Sequence[str]) -> str:
    """The content hash of an exercise: its entry, and the easier exercises leading to
    it (shown on it, though recorded on them)."""
    return digest({"entry": entry, "regressions": list(regressions)})


class CatalogueWriter:
    """The writes of one transaction, all stamped `now`. Rows are written with plain
    (Core) statements, one per table per batch: for a large catalogue, one ORM object
    per row is the difference between seconds and minutes."""

    def __init__(self, session: Session, *, now: datetime):
        self.session = session
        self.now = now
        self.changes: list[Change] = []
        self.term_ids: dict[str, dict[str, int]] = {}
        self._garbled_regions: dict[str, list[list[int]]] | None = None

    def stored_exercises(self) -> dict[str, StoredExercise]:
        """Every exercise's id and content hash, by slug (not the rows: loading every
        exercise would cost more than writing the few that changed)."""
        rows = self.session.execute(select(Exercise.id, Exercise.slug, Exercise.content_hash))
        return {slug: StoredExercise(id, content_hash) for id, slug, content_hash in rows}

    def sync_terms(self, kind: str, entries: Sequence[SluggedEntry]) -> None:
        """Make the terms of `kind` exactly `entries`: insert, update (by slug) and
        delete; `term_ids[kind]` then maps every slug to its id."""
        model: Any = TERM_MODELS[kind]
        rows: dict[str, Any] = {row.slug: row for row in self.session.exec(select(model))}
        wanted = {entry.slug for entry in entries}
        for slug in sorted(set(rows) - wanted):
            self.session.delete(rows.pop(slug))
            self.changes.append(Change(kind, str(slug), Action.deleted))
        self.session.flush()
        stored = {slug: row.model_dump() for slug, row in rows.items()}
        if model is Phase:
            # Phase order is unique: park current rows out of the way before reordering.
            for row in rows.values():
                row.order = -row.id
            self.session.flush()
        for entry in entries:
            values = entry.model_dump(mode="json")
            row = rows.get(entry.slug)
            if row is None:
                row = rows[entry.slug] = model(**values)
                self.changes.append(Change(kind, str(entry.slug), Action.created))
            else:
                for key, value in values.items():
                    if getattr(row, key) != value:
                        setattr(row, key, value)
                if any(stored[entry.slug][key] != value for key, value in values.items()):
                    self.changes.append(Change(kind, str(entry.slug), Action.updated))
            self.session.add(row)
        self.session.flush()
        self.term_ids[kind] = {slug: row.id for slug, row in rows.items()}

    def sync_retired(self, entries: Sequence[RetiredEntry]) -> None:
        """Make the retired slugs exactly `entries`."""
        self.session.execute(delete(RetiredSlug))
        if entries:
            self.session.execute(
                _insert(RetiredSlug), [entry.model_dump(mode="json") for entry in entries]
            )

    def create_exercises(self, entries: Sequence[tuple[ExerciseEntry, str]]) -> dict[str, int]:
        """Insert exercises (each with its content hash) and their links; their ids by slug."""
        if not entries:
            return {}
        hashes = {entry.slug: content_hash for entry, content_hash in entries}
        created = self.session.execute(
            _insert(Exercise).returning(col(Exercise.id), col(Exercise.slug)),
            [
                {"slug": entry.slug, **self._exercise_values(entry, content_hash)}
                for entry, content_hash in entries
            ],
        )
        ids = {slug: id for id, slug in created}
        self._insert_links([(entry, ids[entry.slug]) for entry in (e for e, _ in entries)])
        self.changes += [Change("exercise", slug, Action.created) for slug in hashes]
        return ids

    def update_exercises(self, entries: Sequence[tuple[int, ExerciseEntry, str]]) -> None:
        """Rewrite exercises (id, entry, content hash) with all their links."""
        if not entries:
            return
        ids = [id for id, _, _ in entries]
        self._delete_links(ids)
        self.session.execute(
            update(Exercise),
            [
                {"id": id, **self._exercise_values(entry, content_hash)}
                for id, entry, content_hash in entries
            ],
        )
        self._insert_links([(entry, id) for id, entry, _ in entries])
        self.changes += [Change("exercise", entry.slug, Action.updated) for _, entry, _ in entries]

    def delete_exercises(self, exercises: dict[str, int]) -> None:
        """Delete exercises (ids by slug) and every row that refers to them, one
        statement per table (the foreign keys would cascade too, a row at a time)."""
        ids = list(exercises.values())
        if not ids:
            return
        self._delete_links(ids)
        self.session.execute(
            delete(Progression).where(
                col(Progression.easier_id).in_(ids) | col(Progression.harder_id).in_(ids)
            )
        )
        self.session.execute(delete(Exercise).where(col(Exercise.id).in_(ids)))
        self.changes += [Change("exercise", slug, Action.deleted) for slug in exercises]

    def sync_progressions(self, wanted: set[tuple[int, int]]) -> None:
        """Make the progressions exactly `wanted` (easier id, harder id)."""
        current = {
            (easier_id, harder_id)
            for easier_id, harder_id in self.session.execute(
                select(Progression.easier_id, Progression.harder_id)
            )
        }
        for easier_id, harder_id in current - wanted:
            self.session.execute(
                delete(Progression).where(
                    col(Progression.easier_id) == easier_id,
                    col(Progression.harder_id) == harder_id,
                )
            )
        added = [{"easier_id": e, "harder_id": h} for e, h in sorted(wanted - current)]
        if added:
            self.session.execute(_insert(Progression), added)

    def move_revision(self, version: str) -> None:
        """The catalogue is now `version`, changed at `now`: what ETags, caches and the
        revision memo key on, so every write ends here."""
        state = self.session.get(CatalogueState, 1)
        if state is None:
            state = CatalogueState(id=1, version=version, updated_at=self.now)
        else:
            state.version, state.updated_at = version, self.now
        self.session.add(state)
        self.session.flush()

    def ids_of(self, kind: str) -> dict[str, int]:
        """The ids of the terms of `kind` by slug: as synced, or else as stored."""
        if kind not in self.term_ids:
            model: Any = TERM_MODELS[kind]
            rows = self.session.execute(select(model.slug, model.id))
            self.term_ids[kind] = {slug: id for slug, id in rows}
        return self.term_ids[kind]

    def garbled_regions(self) -> dict[str, list[list[int]]]:
        """Each source's garbled regions, by slug: what an evidence quote's text quality
        is derived from (read once per writer, after the sources are written)."""
        if self._garbled_regions is None:
            rows = self.session.execute(select(Source.slug, Source.garbled_regions))
            self._garbled_regions = {slug: regions for slug, regions in rows}
        return self._garbled_regions

    def _exercise_values(self, entry: ExerciseEntry, content_hash: str) -> dict[str, Any]:
        """An exercise row's columns (but its id and slug), from its catalogue entry,
        with the copies of its phase and goal ids that its links are the record of."""
        return {
            "name": entry.name,
            "summary": entry.summary,
            "category": entry.category,
            "position": entry.position,
            "difficulty": entry.difficulty,
            "aliases": list(entry.aliases),
            "instructions_basis": entry.instructions_basis,
            "instructions": list(entry.instructions),
            "cues": list(entry.cues),
            "mistakes": list(entry.mistakes),
            "dosage": entry.dosage.model_dump(mode="json", exclude_none=True),
            "phase_ids": sorted(self.ids_of("phase")[item.phase] for item in entry.phases),
            "goal_ids": sorted(self.ids_of("goal")[slug] for slug in entry.goals),
            "content_hash": content_hash,
            "updated_at": self.now,
        }

    def _insert_links(self, exercises: Sequence[tuple[ExerciseEntry, int]]) -> None:
        rows: dict[Any, list[dict[str, Any]]] = {model: [] for model in LINK_MODELS}
        for entry, exercise_id in exercises:
            for model, links in self._link_rows(entry, exercise_id).items():
                rows[model] += links
        for model, links in rows.items():
            if links:
                self.session.execute(_insert(model), links)

    def _delete_links(self, exercise_ids: list[int]) -> None:
        for model in LINK_MODELS:
            self.session.execute(delete(model).where(col(model.exercise_id).in_(exercise_ids)))

    def _link_rows(self, entry: ExerciseEntry, exercise_id: int) -> dict[Any, list[dict[str, Any]]]:
        """The rows linking an exercise to its equipment, regions, phases, goals,
        contraindications and evidence, by table."""
        ids = {kind: self.ids_of(kind) for kind in TERM_MODELS}
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
                    "basis": item.basis,
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
                    "text_quality": text_quality(
                        item.start, item.end, self.garbled_regions()[item.source]
                    ),
                }
                for item in entry.evidence
            ],
        }


def _insert(model: Any) -> Any:
    """An INSERT into `model`'s table, to run with a list of rows. A plain (Core) one:
    the ORM's bulk insert adds per-row bookkeeping, and by leaving NULLs out it splits
    the rows into many small batches."""
    return insert(model.__table__)
