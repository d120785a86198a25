"""Database tables. All of them live here so Alembic's autogenerate sees every one.

Names follow one naming convention so that constraint names are the same on SQLite and
PostgreSQL and migrations can refer to them.
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlmodel import Field, Relationship, SQLModel

from app.vocabulary import (
    Category,
    ChangeAction,
    ConditionKind,
    Difficulty,
    EvidenceField,
    InstructionsBasis,
    KeyRole,
    PhaseBasis,
    Position,
    ProposalAction,
    ProposalStatus,
    ResourceKind,
    RetiredKind,
    Severity,
    SourceKind,
    Stance,
    TextQuality,
)

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# A list of term ids: an integer array on PostgreSQL, whose operators test it, and JSON
# elsewhere.
TermIds = sa.JSON().with_variant(postgresql.ARRAY(sa.Integer), "postgresql")


def vocabulary(enum: Any, name: str) -> sa.Enum:
    """A closed vocabulary stored as its values in a string column with a CHECK."""
    return sa.Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def cascade_fk(target: str) -> Any:
    return sa.ForeignKey(target, ondelete="CASCADE")


class Source(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, unique=True)
    title: str
    kind: SourceKind = Field(sa_type=vocabulary(SourceKind, "kind"))
    author: str | None = None
    publisher: str | None = None
    file: str = Field(max_length=255)
    sha256: str = Field(max_length=64)
    credibility_notes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # [[start, end], ...]: where the scraped text is machine-scrambled.
    garbled_regions: list[list[int]] = Field(default_factory=list, sa_type=sa.JSON)
    # 1 on creation, +1 on every change (see the change log).
    version: int = Field(default=1, sa_column_kwargs={"server_default": sa.text("1")})

    evidence: list["Evidence"] = Relationship(back_populates="source")


class Phase(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, unique=True)
    name: str
    order: int = Field(unique=True)
    description: str
    criteria_to_progress: str
    # 1 on creation, +1 on every change (see the change log).
    version: int = Field(default=1, sa_column_kwargs={"server_default": sa.text("1")})

    exercise_links: list["ExercisePhase"] = Relationship(back_populates="phase")


class Goal(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, unique=True)
    name: str
    description: str
    # 1 on creation, +1 on every change (see the change log).
    version: int = Field(default=1, sa_column_kwargs={"server_default": sa.text("1")})

    exercise_links: list["ExerciseGoal"] = Relationship(back_populates="goal")


class Condition(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, unique=True)
    kind: ConditionKind = Field(sa_type=vocabulary(ConditionKind, "kind"))
    name: str
    description: str
    # 1 on creation, +1 on every change (see the change log).
    version: int = Field(default=1, sa_column_kwargs={"server_default": sa.text("1")})

    contraindications: list["Contraindication"] = Relationship(back_populates="condition")


class Exercise(SQLModel, table=True):
    __table_args__ = (
        # Walked in order by the pages of a goal's or condition's exercises: name, then
        # slug, with the id to test each against the term's links without the table.
        sa.Index("ix_exercise_name_slug_id", "name", "slug", "id"),
        # The exercise list's orders, each page read in index order by its keyset. On
        # PostgreSQL the name order also carries the phase and goal ids, so that a list
        # filtered by them tests each name it walks within the index.
        sa.Index("ix_exercise_name_id", "name", "id", postgresql_include=["phase_ids", "goal_ids"]),
        sa.Index("ix_exercise_updated_at_id", "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, unique=True)
    name: str
    summary: str
    category: Category = Field(sa_type=vocabulary(Category, "category"), index=True)
    position: Position | None = Field(
        default=None, sa_type=vocabulary(Position, "position"), index=True
    )
    difficulty: Difficulty = Field(sa_type=vocabulary(Difficulty, "difficulty"), index=True)
    instructions: list[str] = Field(sa_type=sa.JSON)
    aliases: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    instructions_basis: InstructionsBasis = Field(
        sa_type=vocabulary(InstructionsBasis, "instructions_basis")
    )
    cues: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    mistakes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # {"hold_seconds": {"min": 15, "max": 30}, ..., "note": "..."}: validated by the seed
    # format, never filtered on, so one JSON value rather than fifteen columns.
    dosage: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # Copies of the ids of the exercise's phases and goals (its links are the record),
    # written with the exercise by seeding. They spare PostgreSQL two index probes per
    # exercise walked by a list filtered by phase and goal, three quarters of its work.
    phase_ids: list[int] = Field(default_factory=list, sa_type=TermIds)
    goal_ids: list[int] = Field(default_factory=list, sa_type=TermIds)
    # Hash of the exercise's seed entry: reseeding unchanged content touches nothing.
    content_hash: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # 1 on creation, +1 on every change (see the change log).
    version: int = Field(default=1, sa_column_kwargs={"server_default": sa.text("1")})

    equipment_links: list["ExerciseEquipment"] = Relationship(
        back_populates="exercise", cascade_delete=True
    )
    body_region_links: list["ExerciseBodyRegion"] = Relationship(
        back_populates="exercise", cascade_delete=True
    )
    phase_links: list["ExercisePhase"] = Relationship(
        back_populates="exercise", cascade_delete=True
    )
    goal_links: list["ExerciseGoal"] = Relationship(back_populates="exercise", cascade_delete=True)
    contraindications: list["Contraindication"] = Relationship(
        back_populates="exercise", cascade_delete=True
    )
    evidence: list["Evidence"] = Relationship(back_populates="exercise", cascade_delete=True)
    progression_links: list["Progression"] = Relationship(
        cascade_delete=True,
        sa_relationship_kwargs={"foreign_keys": "[Progression.easier_id]"},
    )
    regression_links: list["Progression"] = Relationship(
        cascade_delete=True,
        sa_relationship_kwargs={"foreign_keys": "[Progression.harder_id]"},
    )


class ExerciseSearch(SQLModel, table=True):
    """An exercise's searchable text by weight, written by the writer with the exercise
    and its links (see `app.search_index`). Each database indexes it its own way,
    written by hand in the migrations: an FTS5 table on SQLite, a weighted tsvector
    column on PostgreSQL."""

    __tablename__ = "exercise_search"

    exercise_id: int = Field(sa_column_args=[cascade_fk("exercise.id")], primary_key=True)
    names: str  # name and aliases (weighted highest)
    terms: str  # goals, category, body regions, equipment and position
    body: str  # summary, cues and the conditions it lists
    instructions: str  # (weighted lowest)


class SearchWord(SQLModel, table=True):
    """A word of the search index and how many exercises' text has it: the vocabulary
    misspelt words are corrected against."""

    __tablename__ = "search_word"

    word: str = Field(max_length=64, primary_key=True)
    documents: int


class ExerciseEquipment(SQLModel, table=True):
    __tablename__ = "exercise_equipment"

    exercise_id: int | None = Field(
        default=None, sa_column_args=[cascade_fk("exercise.id")], primary_key=True
    )
    equipment: str = Field(max_length=100, primary_key=True, index=True)

    exercise: Exercise = Relationship(back_populates="equipment_links")


class ExerciseBodyRegion(SQLModel, table=True):
    __tablename__ = "exercise_body_region"

    exercise_id: int | None = Field(
        default=None, sa_column_args=[cascade_fk("exercise.id")], primary_key=True
    )
    body_region: str = Field(max_length=100, primary_key=True, index=True)

    exercise: Exercise = Relationship(back_populates="body_region_links")


class ExercisePhase(SQLModel, table=True):
    """An exercise's place in a phase: its order in the progression, and any caution."""

    __tablename__ = "exercise_phase"
    __table_args__ = (
        sa.Index(
            "ix_exercise_phase_phase_order",
            "phase_id",
            "progression_order",
            "exercise_id",
        ),
    )

    exercise_id: int | None = Field(
        default=None, sa_column_args=[cascade_fk("exercise.id")], primary_key=True
    )
    phase_id: int = Field(sa_column_args=[cascade_fk("phase.id")], primary_key=True)
    progression_order: int
    caution: bool = False
    basis: PhaseBasis = Field(sa_type=vocabulary(PhaseBasis, "basis"))
    note: str | None = None

    exercise: Exercise = Relationship(back_populates="phase_links")
    phase: Phase = Relationship(back_populates="exercise_links")


class ExerciseGoal(SQLModel, table=True):
    __tablename__ = "exercise_goal"
    __table_args__ = (
        # A goal's exercise ids from the index alone (the set a goal's page walks by).
        sa.Index("ix_exercise_goal_goal_id_exercise_id", "goal_id", "exercise_id"),
    )

    exercise_id: int | None = Field(
        default=None, sa_column_args=[cascade_fk("exercise.id")], primary_key=True
    )
    goal_id: int = Field(sa_column_args=[cascade_fk("goal.id")], primary_key=True)

    exercise: Exercise = Relationship(back_populates="goal_links")
    goal: Goal = Relationship(back_populates="exercise_links")


class Contraindication(SQLModel, table=True):
    __table_args__ = (
        # A condition's exercise ids by severity from the index alone (the set a
        # condition's page walks by).
        sa.Index(
            "ix_contraindication_condition_id_severity_exercise_id",
            "condition_id",
            "severity",
            "exercise_id",
        ),
    )

    exercise_id: int | None = Field(
        default=None, sa_column_args=[cascade_fk("exercise.id")], primary_key=True
    )
    condition_id: int = Field(sa_column_args=[cascade_fk("condition.id")], primary_key=True)
    severity: Severity = Field(sa_type=vocabulary(Severity, "severity"))
    note: str

    exercise: Exercise = Relationship(back_populates="contraindications")
    condition: Condition = Relationship(back_populates="contraindications")


class Progression(SQLModel, table=True):
    """`harder` follows on from `easier`: a progression one way, a regression the other."""

    __table_args__ = (sa.CheckConstraint("easier_id <> harder_id", name="not_self"),)

    easier_id: int = Field(sa_column_args=[cascade_fk("exercise.id")], primary_key=True)
    harder_id: int = Field(sa_column_args=[cascade_fk("exercise.id")], primary_key=True, index=True)

    easier: Exercise = Relationship(
        sa_relationship_kwargs={
            "foreign_keys": "[Progression.easier_id]",
            "viewonly": True,
        }
    )
    harder: Exercise = Relationship(
        sa_relationship_kwargs={
            "foreign_keys": "[Progression.harder_id]",
            "viewonly": True,
        }
    )


class Evidence(SQLModel, table=True):
    """A verbatim quote from a source backing (or disputing) one claim about an exercise."""

    __table_args__ = (
        sa.CheckConstraint('"start" < "end"', name="span"),
        # A source's evidence in document order, read a page at a time by key.
        sa.Index("ix_evidence_source_id_start_end_id", "source_id", "start", "end", "id"),
        # How many exercises a source backs, counted from the index alone.
        sa.Index("ix_evidence_source_id_exercise_id", "source_id", "exercise_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    exercise_id: int | None = Field(
        default=None, nullable=False, sa_column_args=[cascade_fk("exercise.id")], index=True
    )
    source_id: int = Field(sa_column_args=[cascade_fk("source.id")], index=True)
    field: EvidenceField = Field(sa_type=vocabulary(EvidenceField, "field"))
    subject: str | None = Field(default=None, max_length=100)
    stance: Stance = Field(sa_type=vocabulary(Stance, "stance"))
    quote: str
    start: int
    end: int
    # Derived from the source's garbled regions when the evidence is written.
    text_quality: TextQuality = Field(sa_type=vocabulary(TextQuality, "text_quality"))

    exercise: Exercise = Relationship(back_populates="evidence")
    source: Source = Relationship(back_populates="evidence")


class RetiredSlug(SQLModel, table=True):
    """A slug that no longer exists, kept so that old URLs and filters keep working: it
    leads to its successor, or answers that it is gone."""

    __tablename__ = "retired_slug"

    kind: RetiredKind = Field(sa_type=vocabulary(RetiredKind, "kind"), primary_key=True)
    slug: str = Field(max_length=100, primary_key=True)
    successor: str | None = Field(default=None, max_length=100)
    note: str


class CatalogueState(SQLModel, table=True):
    """The single row describing the loaded catalogue: what caches and clients key on."""

    __tablename__ = "catalogue_state"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(default=1, primary_key=True)
    version: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # The sum (mod 2**256, in hex) of one hash per resource, which `version` is the
    # hash of: a change adjusts it without reading the rest of the catalogue.
    content_sum: str | None = Field(default=None, max_length=64)
    # The change log's latest entry: what a revision is, with `version` and
    # `updated_at`, so that a resource's `version` moving on (even back to content the
    # catalogue had before) is always a new revision.
    last_change: int | None = None
    # Names this database's catalogue: a change-feed cursor carries it, so that one
    # database never reads another's cursor as a position in its own change log.
    catalogue_id: str = Field(max_length=32)


class ExerciseBody(SQLModel, table=True):
    """An exercise's detail body as the API serves it (JSON), rendered by the writer
    whenever the exercise changes (`app.detail_bodies`): what an export streams."""

    __tablename__ = "exercise_body"

    exercise_id: int = Field(sa_column_args=[cascade_fk("exercise.id")], primary_key=True)
    body: str = Field(sa_type=sa.Text)


class SourceDocument(SQLModel, table=True):
    """A source's document text, which its evidence quotes verbatim: kept in the
    database so that a proposal's quotes are checked without the seed files."""

    __tablename__ = "source_document"

    source_id: int = Field(sa_column_args=[cascade_fk("source.id")], primary_key=True)
    text: str = Field(sa_type=sa.Text)


class ApiKey(SQLModel, table=True):
    """A curation API key: shown once when created, stored as a salted scrypt hash."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    role: KeyRole = Field(sa_type=vocabulary(KeyRole, "role"))
    # The key's public part, which finds the row; the secret part is only hashed.
    lookup: str = Field(max_length=32, unique=True)
    secret_hash: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Proposal(SQLModel, table=True):
    """A change to the catalogue, proposed by one key and decided by another."""

    __table_args__ = (
        sa.Index("ix_proposal_status_id", "status", "id"),
        # A key's recent writes, counted for its rate limit.
        sa.Index("ix_proposal_author_key_id_created_at", "author_key_id", "created_at"),
        sa.Index("ix_proposal_decided_key_id_decided_at", "decided_key_id", "decided_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: ResourceKind = Field(sa_type=vocabulary(ResourceKind, "kind"))
    action: ProposalAction = Field(sa_type=vocabulary(ProposalAction, "action"))
    slug: str = Field(max_length=100)
    base_version: int | None = None
    # The resource in the seed format (null for a delete); a new source's document
    # text is kept apart from it.
    data: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    document_text: str | None = Field(default=None, sa_type=sa.Text)
    # Its SHA-256, so that listing proposals never reads the text.
    document_sha256: str | None = Field(default=None, max_length=64)
    reason: str
    status: ProposalStatus = Field(sa_type=vocabulary(ProposalStatus, "status"))
    author: str = Field(max_length=100)
    author_key_id: int = Field(foreign_key="api_key.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=100)
    decided_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_reason: str | None = None


class CatalogueChange(SQLModel, table=True):
    """The change log: one row per change to a resource, by seeding or by an approved
    proposal, written in the transaction that made the change. Deletions stay as
    tombstones."""

    __tablename__ = "catalogue_change"
    __table_args__ = (
        # A resource's history, newest first, and its latest change.
        sa.Index("ix_catalogue_change_kind_slug_seq", "kind", "slug", "seq"),
    )

    seq: int | None = Field(default=None, primary_key=True)
    kind: ResourceKind = Field(sa_type=vocabulary(ResourceKind, "kind"))
    slug: str = Field(max_length=100)
    action: ChangeAction = Field(sa_type=vocabulary(ChangeAction, "action"))
    version: int
    changed_at: datetime = Field(sa_type=UTCDateTime)
    author: str = Field(max_length=100)
    reviewer: str | None = Field(default=None, max_length=100)
    reason: str | None = None
    proposal_id: int | None = Field(default=None, foreign_key="proposal.id")
    # Derived from another change (the resource's regressions, its quotes' text
    # quality), not a change to its own entry: it does not make it curated, or not.
    derived: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


# The table of each kind of term (the vocabularies exercises link to), by kind.
TERM_MODELS: dict[str, type[SQLModel]] = {
    "source": Source,
    "phase": Phase,
    "goal": Goal,
    "condition": Condition,
}
