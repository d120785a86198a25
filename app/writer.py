"""The one writer of the catalogue. Every change to it (seeding, and approved
proposals) goes through a `CatalogueWriter`, in the caller's transaction: it writes
rows and their links, keeps what is derived from them in step (each resource's
`version`, an exercise's content hash and its copies of its phase and goal ids, the
catalogue's content sum), appends each change to the change log, and moves the
catalogue revision on. The search index (`app.search_index`) is refreshed beside
the change log for every exercise changed and every exercise naming a term renamed or
deleted."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, select

from app.database import LOCK_WAIT, LockWait, catalogue_busy
from app.detail_bodies import exercises_without_body, store_bodies
from app.models import (
    TERM_MODELS,
    CatalogueChange,
    CatalogueState,
    Contraindication,
    Evidence,
    Exercise,
    ExerciseBodyRegion,
    ExerciseEquipment,
    ExerciseGoal,
    ExercisePhase,
    Phase,
    Progression,
    RetiredSlug,
    Source,
    SourceDocument,
)
from app.search_index import drop_from_search_index, linked_exercise_ids, refresh_search_index
from app.seeding.format import (
    TERM_ENTRIES,
    ContentSum,
    ExerciseEntry,
    RetiredEntry,
    SluggedEntry,
    digest,
    retired_resource,
    text_quality,
)
from app.vocabulary import ChangeAction

# The tables that link an exercise to what it has, uses and cites.
LINK_MODELS: tuple[Any, ...] = (
    ExerciseEquipment,
    ExerciseBodyRegion,
    ExercisePhase,
    ExerciseGoal,
    Contraindication,
    Evidence,
)


SEED_AUTHOR = "seed"
# The PostgreSQL advisory lock every catalogue write (a seed, an approval) holds for its
# transaction, so that two never interleave. (SQLite write transactions are serialised
# by the database: see `app.database`.)
CATALOGUE_WRITE_LOCK = 4242001


def lock_catalogue(session: Session, *, wait: LockWait | None = None) -> None:
    """Wait for any other catalogue write to finish; hold the lock until this
    transaction ends. An approval waits only as long as any statement may run (the
    statement timeout); a seed waits `wait.seconds` (and raises `CatalogueBusy` after
    that), calling `wait.waiting()` first if the lock is taken."""
    if session.get_bind().dialect.name != "postgresql":
        # SQLite: a write session's transaction takes the write lock as it begins.
        if wait is not None and not session.in_transaction():
            session.connection(execution_options={LOCK_WAIT: wait})
        return
    arguments = {"lock": CATALOGUE_WRITE_LOCK}
    if wait is None:
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:lock)"), arguments)
        return
    if session.execute(sa.text("SELECT pg_try_advisory_xact_lock(:lock)"), arguments).scalar():
        return
    wait.waiting()
    limits = session.execute(
        sa.text("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
    ).one()
    # The wait is bounded by lock_timeout alone, for this transaction only.
    session.execute(
        sa.text(
            "SELECT set_config('statement_timeout', '0', true), "
            "set_config('lock_timeout', :timeout, true)"
        ),
        {"timeout": f"{max(1, round(wait.seconds * 1000))}ms"},
    )
    try:
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:lock)"), arguments)
    except sa.exc.OperationalError as error:
        if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise catalogue_busy(wait) from None
        raise
    session.execute(
        sa.text(
            "SELECT set_config('statement_timeout', :statement, true), "
            "set_config('lock_timeout', :lock, true)"
        ),
        {"statement": limits[0], "lock": limits[1]},
    )


# PostgreSQL's SQLSTATE for a lock wait that reached lock_timeout.
LOCK_NOT_AVAILABLE = "55P03"


Action = ChangeAction


@dataclass(frozen=True)
class Change:
    """One resource the writer created, updated or deleted, and the version it left."""

    kind: str  # "exercise", or a kind of term: "source", "phase", "goal", "condition"
    slug: str
    action: Action
    version: int
    # Not a change to the resource's own entry, but to what is derived for it from
    # others (its regressions, the text quality of its quotes).
    derived: bool = False


@dataclass(frozen=True)
class StoredExercise:
    """What the database holds for an exercise: enough to tell if it must be rewritten."""

    id: int
    content_hash: str
    version: int


def term_hash(kind: str, fields: dict[str, Any]) -> str:
    """The content hash of a term, from its row's fields (those of its seed entry)."""
    entry = TERM_ENTRIES[kind]
    return digest(entry.model_validate({name: fields[name] for name in entry.model_fields}))


class CatalogueWriter:
    """The writes of one transaction, all stamped `now`. Rows are written with plain
    (Core) statements, one per table per batch: for a large catalogue, one ORM object
    per row is the difference between seconds and minutes."""

    def __init__(
        self,
        session: Session,
        *,
        now: datetime,
        author: str = SEED_AUTHOR,
        reviewer: str | None = None,
        reason: str | None = None,
        proposal_id: int | None = None,
    ):
        self.session = session
        self.now = now
        self.changes: list[Change] = []
        self.term_ids: dict[str, dict[str, int]] = {}
        self._garbled_regions: dict[str, list[list[int]]] | None = None
        self._logged = {
            "author": author,
            "reviewer": reviewer,
            "reason": reason,
            "proposal_id": proposal_id,
        }
        # Read before anything changes: every change adjusts it.
        self.content_sum = self._stored_content_sum()
        # Resources (kind, slug) whose own entries this writer leaves as they are: any
        # change to them is derived (a seed keeping what the API changed).
        self.kept: set[tuple[str, str]] = set()
        # Phases whose place in the order moved: their exercises' details list phases
        # in that order, so they read differently (see `move_revision`).
        self.reordered_phases: set[int] = set()
        # Exercises whose search text names a goal or condition renamed or deleted here
        # (see `move_revision`).
        self.search_stale: set[int] = set()

    def stored_exercises(self, slugs: Sequence[str] | None = None) -> dict[str, StoredExercise]:
        """Every exercise's (or those of `slugs`) id, content hash and version, by slug
        (not the rows: loading every exercise would cost more than writing the few
        that changed)."""
        statement = select(Exercise.id, Exercise.slug, Exercise.content_hash, Exercise.version)
        if slugs is not None:
            statement = statement.where(col(Exercise.slug).in_(slugs))
        rows = self.session.execute(statement)
        return {
            slug: StoredExercise(id, content_hash, version)
            for id, slug, content_hash, version in rows
        }

    def sync_terms(self, kind: str, entries: Sequence[SluggedEntry]) -> None:
        """Make the terms of `kind` exactly `entries`: insert, update (by slug) and
        delete; `term_ids[kind]` then maps every slug to its id."""
        model: Any = TERM_MODELS[kind]
        rows: dict[str, Any] = {row.slug: row for row in self.session.exec(select(model))}
        wanted = {entry.slug for entry in entries}
        for slug in sorted(set(rows) - wanted):
            self._delete_term(kind, rows.pop(slug))
        self.session.flush()
        stored = {slug: term_hash(kind, row.model_dump()) for slug, row in rows.items()}
        orders = {slug: row.order for slug, row in rows.items()} if model is Phase else {}
        if model is Phase:
            # Phase order is unique: park current rows out of the way before reordering.
            for row in rows.values():
                row.order = -row.id
            self.session.flush()
        for entry in entries:
            rows[entry.slug] = self._put_term(
                kind, rows.get(entry.slug), entry, stored.get(entry.slug)
            )
            if entry.slug in orders and orders[entry.slug] != rows[entry.slug].order:
                self.reordered_phases.add(rows[entry.slug].id)
        self.session.flush()
        self.term_ids[kind] = {slug: row.id for slug, row in rows.items()}

    def write_term(self, kind: str, entry: SluggedEntry) -> None:
        """Create the term `entry`, or update the term of `kind` with its slug."""
        model: Any = TERM_MODELS[kind]
        row = self.session.exec(select(model).where(model.slug == entry.slug)).first()
        order = row.order if model is Phase and row is not None else None
        row = self._put_term(kind, row, entry)
        if order is not None and order != row.order:
            self.reordered_phases.add(row.id)
        self.session.flush()
        self.ids_of(kind)[entry.slug] = row.id

    def delete_term(self, kind: str, slug: str) -> None:
        """Delete the term of `kind` with `slug` (its links go with it)."""
        model: Any = TERM_MODELS[kind]
        row = self.session.exec(select(model).where(model.slug == slug)).one()
        self._delete_term(kind, row)
        self.session.flush()
        self.ids_of(kind).pop(slug, None)

    def _put_term(
        self, kind: str, row: Any, entry: SluggedEntry, old_hash: str | None = None
    ) -> Any:
        """Insert `entry` as a row of `kind`, or bring `row` (its stored self, whose
        content hash is `old_hash`) in line with it; record the change, if any."""
        model: Any = TERM_MODELS[kind]
        values = entry.model_dump(mode="json")
        new_hash = digest(entry)
        if row is None:
            version = self._next_versions(kind, [entry.slug])[entry.slug]
            row = model(**values, version=version)
            self.session.add(row)
            self._record(kind, entry.slug, Action.created, version, new_hash=new_hash)
            return row
        old_hash = old_hash or term_hash(kind, row.model_dump())
        if getattr(row, "name", None) != values.get("name"):
            self.search_stale |= linked_exercise_ids(self.session, kind, [row.id])
        for key, value in values.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
        if old_hash != new_hash:
            row.version += 1
            self._record(kind, entry.slug, Action.updated, row.version, old_hash, new_hash)
        self.session.add(row)
        return row

    def _delete_term(self, kind: str, row: Any) -> None:
        self.search_stale |= linked_exercise_ids(self.session, kind, [row.id])
        self._record(
            kind,
            str(row.slug),
            Action.deleted,
            row.version + 1,
            old_hash=term_hash(kind, row.model_dump()),
        )
        # A plain DELETE: the database's ON DELETE CASCADE removes the links (of
        # exercises that no longer have the term, rewritten after it), where the ORM
        # would load them to blank out their keys.
        model: Any = TERM_MODELS[kind]
        self.session.execute(delete(model).where(model.id == row.id))
        self.session.expunge(row)

    def sync_retired(self, entries: Sequence[RetiredEntry]) -> None:
        """Make the retired slugs exactly `entries`."""
        for row in self.session.exec(select(RetiredSlug)):
            self.content_sum.remove(
                *retired_resource(RetiredEntry.model_validate(row.model_dump()))
            )
        self.session.execute(delete(RetiredSlug))
        if entries:
            self.session.execute(
                _insert(RetiredSlug), [entry.model_dump(mode="json") for entry in entries]
            )
        for entry in entries:
            self.content_sum.add(*retired_resource(entry))

    def sync_documents(self, documents: dict[str, str]) -> None:
        """Store each source's document text (by source slug) where it is missing or
        differs. Not a change of the catalogue: the source's SHA-256 says which text
        it quotes."""
        ids = self.ids_of("source")
        stored = dict(
            self.session.execute(select(SourceDocument.source_id, SourceDocument.text)).all()
        )
        for slug, text in documents.items():
            source_id = ids.get(slug)
            if source_id is None or stored.get(source_id) == text:
                continue
            if source_id in stored:
                self.session.execute(
                    update(SourceDocument)
                    .where(col(SourceDocument.source_id) == source_id)
                    .values(text=text)
                )
            else:
                self.session.execute(
                    _insert(SourceDocument), [{"source_id": source_id, "text": text}]
                )

    def refresh_text_quality(self, source_slugs: Sequence[str]) -> None:
        """Derive again the text quality of the evidence quoted from these sources
        (after their garbled regions changed); an exercise whose evidence now reads
        differently is a changed exercise."""
        if not source_slugs:
            return
        self._garbled_regions = None
        regions = self.garbled_regions()
        ids = self.ids_of("source")
        rows = self.session.execute(
            sa.select(
                col(Evidence.id),
                col(Evidence.exercise_id),
                col(Evidence.start),
                col(Evidence.end),
                col(Evidence.text_quality),
                col(Source.slug),
            )
            .join(Source)
            .where(col(Evidence.source_id).in_([ids[slug] for slug in source_slugs]))
        ).all()
        changed = [
            (row.id, row.exercise_id, quality)
            for row in rows
            if (quality := text_quality(row.start, row.end, regions[row.slug])) != row.text_quality
        ]
        for evidence_id, _, quality in changed:
            self.session.execute(
                update(Evidence).where(col(Evidence.id) == evidence_id).values(text_quality=quality)
            )
        exercise_ids = sorted({exercise_id for _, exercise_id, _ in changed})
        if exercise_ids:
            self._touch_exercises(exercise_ids)

    def create_exercises(self, entries: Sequence[tuple[ExerciseEntry, str]]) -> dict[str, int]:
        """Insert exercises (each with its content hash) and their links; their ids by slug."""
        if not entries:
            return {}
        versions = self._next_versions("exercise", [entry.slug for entry, _ in entries])
        created = self.session.execute(
            _insert(Exercise).returning(col(Exercise.id), col(Exercise.slug)),
            [
                {
                    "slug": entry.slug,
                    "version": versions[entry.slug],
                    **self._exercise_values(entry, content_hash),
                }
                for entry, content_hash in entries
            ],
        )
        ids = {slug: id for id, slug in created}
        self._insert_links([(entry, ids[entry.slug]) for entry in (e for e, _ in entries)])
        for entry, content_hash in entries:
            self._record(
                "exercise", entry.slug, Action.created, versions[entry.slug], new_hash=content_hash
            )
        return ids

    def update_exercises(
        self, entries: Sequence[tuple[StoredExercise, ExerciseEntry, str]]
    ) -> None:
        """Rewrite exercises (as stored, new entry, new content hash) with all their links."""
        if not entries:
            return
        ids = [stored.id for stored, _, _ in entries]
        self._delete_links(ids)
        self.session.execute(
            update(Exercise),
            [
                {
                    "id": stored.id,
                    "version": stored.version + 1,
                    **self._exercise_values(entry, content_hash),
                }
                for stored, entry, content_hash in entries
            ],
        )
        self._insert_links([(entry, stored.id) for stored, entry, _ in entries])
        for stored, entry, content_hash in entries:
            self._record(
                "exercise",
                entry.slug,
                Action.updated,
                stored.version + 1,
                stored.content_hash,
                content_hash,
            )

    def rehash_exercises(
        self, exercises: Sequence[tuple[str, StoredExercise, str]], *, changed: bool
    ) -> None:
        """Give exercises (slug, as stored, new content hash) a new content hash:
        `changed`, because what is shown on them changed (their regressions), so they
        are changed exercises; or not, because only the way of hashing them changed."""
        exercises = [item for item in exercises if item[1].content_hash != item[2]]
        if not exercises:
            return
        self.session.execute(
            update(Exercise),
            [
                {"id": stored.id, "content_hash": content_hash}
                | ({"version": stored.version + 1, "updated_at": self.now} if changed else {})
                for _, stored, content_hash in exercises
            ],
        )
        for slug, stored, content_hash in exercises:
            if changed:
                self._record(
                    "exercise",
                    slug,
                    Action.updated,
                    stored.version + 1,
                    stored.content_hash,
                    content_hash,
                    derived=True,
                )
            else:
                self.content_sum.remove("exercise", slug, stored.content_hash)
                self.content_sum.add("exercise", slug, content_hash)

    def delete_exercises(self, exercises: dict[str, StoredExercise]) -> None:
        """Delete exercises (as stored, by slug) and every row that refers to them, one
        statement per table (the foreign keys would cascade too, a row at a time)."""
        ids = [stored.id for stored in exercises.values()]
        if not ids:
            return
        drop_from_search_index(self.session, ids)
        self._delete_links(ids)
        self.session.execute(
            delete(Progression).where(
                col(Progression.easier_id).in_(ids) | col(Progression.harder_id).in_(ids)
            )
        )
        self.session.execute(delete(Exercise).where(col(Exercise.id).in_(ids)))
        for slug, stored in exercises.items():
            self._record(
                "exercise", slug, Action.deleted, stored.version + 1, old_hash=stored.content_hash
            )

    def sync_progressions(self, wanted: set[tuple[int, int]]) -> None:
        """Make the progressions exactly `wanted` (easier id, harder id)."""
        current = {
            (easier_id, harder_id)
            for easier_id, harder_id in self.session.execute(
                select(Progression.easier_id, Progression.harder_id)
            )
        }
        self._change_progressions(current - wanted, wanted - current)

    def set_progressions_of(self, exercise_id: int, harder_ids: set[int]) -> None:
        """Make the exercises one exercise leads on to exactly `harder_ids`."""
        current = {
            (exercise_id, harder_id)
            for (harder_id,) in self.session.execute(
                select(Progression.harder_id).where(col(Progression.easier_id) == exercise_id)
            )
        }
        wanted = {(exercise_id, harder_id) for harder_id in harder_ids}
        self._change_progressions(current - wanted, wanted - current)

    def _change_progressions(
        self, removed: set[tuple[int, int]], added: set[tuple[int, int]]
    ) -> None:
        for easier_id, harder_id in removed:
            self.session.execute(
                delete(Progression).where(
                    col(Progression.easier_id) == easier_id,
                    col(Progression.harder_id) == harder_id,
                )
            )
        if added:
            self.session.execute(
                _insert(Progression),
                [{"easier_id": e, "harder_id": h} for e, h in sorted(added)],
            )

    def move_revision(self) -> str:
        """Append this writer's changes to the change log, and make the catalogue's
        version the one its content now sums to, changed at `now`: what ETags, caches
        and the revision memo key on, so every write ends here. The new version.

        Before that, the exercises whose detail now reads differently get their stored
        body rendered again (`app.detail_bodies`): those changed, and those in a phase
        that moved in the order (a derived change of their own); and their search rows
        are written again."""
        self.session.flush()
        if self.reordered_phases:
            self._touch_phase_members(self.reordered_phases)
        changed = self._changed_exercise_ids()
        store_bodies(self.session, changed)
        # The search index, beside the change log: every exercise changed, and those
        # naming a term renamed or deleted (a deleted exercise's rows went with it).
        refresh_search_index(self.session, {*changed, *self.search_stale})
        if self.changes:
            self.session.execute(
                _insert(CatalogueChange),
                [
                    {
                        "kind": change.kind,
                        "slug": change.slug,
                        "action": change.action,
                        "version": change.version,
                        "derived": change.derived,
                        "changed_at": self.now,
                        **self._logged,
                    }
                    for change in self.changes
                ],
            )
        version = self.content_sum.version()
        state = self.session.get(CatalogueState, 1)
        if state is None:
            state = CatalogueState(
                id=1, version=version, updated_at=self.now, catalogue_id=uuid.uuid4().hex
            )
        elif state.version != version or self.changes:
            state.version, state.updated_at = version, self.now
        state.content_sum = self.content_sum.hex()
        if self.changes:
            state.last_change = self.session.execute(
                sa.select(sa.func.max(CatalogueChange.seq))
            ).scalar_one()
        self.session.add(state)
        self.session.flush()
        return version

    def store_missing_bodies(self) -> None:
        """Render the bodies of exercises stored before bodies were kept."""
        store_bodies(self.session, exercises_without_body(self.session))

    def _changed_exercise_ids(self) -> list[int]:
        slugs = sorted(
            {
                change.slug
                for change in self.changes
                if change.kind == "exercise" and change.action != Action.deleted
            }
        )
        ids: list[int] = []
        for start in range(0, len(slugs), 500):
            chunk = slugs[start : start + 500]
            ids += self.session.execute(
                select(Exercise.id).where(col(Exercise.slug).in_(chunk))
            ).scalars()
        return ids

    def _touch_phase_members(self, phase_ids: set[int]) -> None:
        changed = {change.slug for change in self.changes if change.kind == "exercise"}
        members = self.session.execute(
            select(Exercise.id, Exercise.slug)
            .join(ExercisePhase, col(ExercisePhase.exercise_id) == col(Exercise.id))
            .where(col(ExercisePhase.phase_id).in_(sorted(phase_ids)))
        ).all()
        touched = sorted({row.id for row in members if row.slug not in changed})
        if touched:
            self._touch_exercises(touched)

    def _record(
        self,
        kind: str,
        slug: str,
        action: Action,
        version: int,
        old_hash: str | None = None,
        new_hash: str | None = None,
        *,
        derived: bool = False,
    ) -> None:
        """A change: in `changes` (for the change log) and in the content sum."""
        derived = derived or (kind, slug) in self.kept
        self.changes.append(Change(kind, slug, action, version, derived))
        if old_hash is not None:
            self.content_sum.remove(kind, slug, old_hash)
        if new_hash is not None:
            self.content_sum.add(kind, slug, new_hash)

    def _next_versions(self, kind: str, slugs: Sequence[str]) -> dict[str, int]:
        """The version each of `slugs` gets when created: 1, or on from the version its
        deletion left (a slug's versions never go back, for clients that synced it)."""
        tombstones = dict(
            self.session.execute(
                select(CatalogueChange.slug, sa.func.max(CatalogueChange.version))
                .where(col(CatalogueChange.kind) == kind, col(CatalogueChange.slug).in_(slugs))
                .group_by(col(CatalogueChange.slug))
            ).all()
        )
        return {slug: tombstones.get(slug, 0) + 1 for slug in slugs}

    def _stored_content_sum(self) -> ContentSum:
        """The content sum the database holds, or (not yet kept: a database from before
        it was) the sum of what it holds."""
        kept = self.session.execute(
            select(CatalogueState.content_sum).where(col(CatalogueState.id) == 1)
        ).scalar_one_or_none()
        if kept is not None:
            return ContentSum.parse(kept)
        total = ContentSum()
        for slug, content_hash in self.session.execute(
            select(Exercise.slug, Exercise.content_hash)
        ):
            total.add("exercise", slug, content_hash)
        for kind, model in TERM_MODELS.items():
            for row in self.session.exec(select(model)):
                fields = row.model_dump()
                total.add(kind, fields["slug"], term_hash(kind, fields))
        for row in self.session.exec(select(RetiredSlug)):
            total.add(*retired_resource(RetiredEntry.model_validate(row.model_dump())))
        return total

    def _touch_exercises(self, exercise_ids: Sequence[int]) -> None:
        """Record exercises as changed whose rows did not change but whose detail reads
        differently (an evidence quote's text quality)."""
        rows = self.session.execute(
            select(Exercise.id, Exercise.slug, Exercise.version).where(
                col(Exercise.id).in_(exercise_ids)
            )
        ).all()
        self.session.execute(
            update(Exercise),
            [{"id": row.id, "version": row.version + 1, "updated_at": self.now} for row in rows],
        )
        for row in rows:
            self._record("exercise", row.slug, Action.updated, row.version + 1, derived=True)

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
