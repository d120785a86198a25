"""initial catalogue schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalogue_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalogue_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_state")),
    )
    op.create_table(
        "condition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_condition")),
        sa.UniqueConstraint("slug", name=op.f("uq_condition_slug")),
    )
    op.create_table(
        "exercise",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "stretch",
                "strengthening",
                "activation",
                "mobility",
                "soft-tissue",
                "modality",
                name="category",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "position",
            sa.Enum(
                "lying",
                "sitting",
                "standing",
                "kneeling",
                name="position",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "difficulty",
            sa.Enum(
                "beginner",
                "intermediate",
                "advanced",
                name="difficulty",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("instructions", sa.JSON(), nullable=False),
        sa.Column("cues", sa.JSON(), nullable=False),
        sa.Column("dosage", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise")),
        sa.UniqueConstraint("slug", name=op.f("uq_exercise_slug")),
    )
    op.create_index(op.f("ix_exercise_category"), "exercise", ["category"], unique=False)
    op.create_index(op.f("ix_exercise_difficulty"), "exercise", ["difficulty"], unique=False)
    op.create_index(op.f("ix_exercise_name"), "exercise", ["name"], unique=False)
    op.create_index(op.f("ix_exercise_position"), "exercise", ["position"], unique=False)
    op.create_index(op.f("ix_exercise_updated_at"), "exercise", ["updated_at"], unique=False)

    op.create_table(
        "goal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal")),
        sa.UniqueConstraint("slug", name=op.f("uq_goal_slug")),
    )
    op.create_table(
        "phase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("criteria_to_progress", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phase")),
        sa.UniqueConstraint("order", name=op.f("uq_phase_order")),
        sa.UniqueConstraint("slug", name=op.f("uq_phase_slug")),
    )
    op.create_table(
        "source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "article",
                "clinic-blog",
                "aggregated-web-text",
                "instructor-handout",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("publisher", sa.String(), nullable=True),
        sa.Column("file", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("credibility_notes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source")),
        sa.UniqueConstraint("slug", name=op.f("uq_source_slug")),
    )
    op.create_table(
        "contraindication",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("condition_id", sa.Integer(), nullable=False),
        sa.Column(
            "severity",
            sa.Enum(
                "avoid",
                "caution",
                name="severity",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["condition_id"],
            ["condition.id"],
            name=op.f("fk_contraindication_condition_id_condition"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercise.id"],
            name=op.f("fk_contraindication_exercise_id_exercise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exercise_id", "condition_id", name=op.f("pk_contraindication")),
    )
    op.create_index(
        "ix_contraindication_condition_severity",
        "contraindication",
        ["condition_id", "severity"],
        unique=False,
    )

    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column(
            "field",
            sa.Enum(
                "summary",
                "instructions",
                "dosage",
                "phase",
                "goal",
                "contraindication",
                "progression",
                name="field",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=100), nullable=True),
        sa.Column(
            "stance",
            sa.Enum(
                "supports",
                "cautions",
                "contradicts",
                name="stance",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("quote", sa.String(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.CheckConstraint('"start" < "end"', name=op.f("ck_evidence_span")),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercise.id"],
            name=op.f("fk_evidence_exercise_id_exercise"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_evidence_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    op.create_index(op.f("ix_evidence_exercise_id"), "evidence", ["exercise_id"], unique=False)
    op.create_index(op.f("ix_evidence_source_id"), "evidence", ["source_id"], unique=False)

    op.create_table(
        "exercise_body_region",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("body_region", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercise.id"],
            name=op.f("fk_exercise_body_region_exercise_id_exercise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exercise_id", "body_region", name=op.f("pk_exercise_body_region")),
    )
    op.create_index(
        op.f("ix_exercise_body_region_body_region"),
        "exercise_body_region",
        ["body_region"],
        unique=False,
    )

    op.create_table(
        "exercise_equipment",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("equipment", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercise.id"],
            name=op.f("fk_exercise_equipment_exercise_id_exercise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exercise_id", "equipment", name=op.f("pk_exercise_equipment")),
    )
    op.create_index(
        op.f("ix_exercise_equipment_equipment"),
        "exercise_equipment",
        ["equipment"],
        unique=False,
    )

    op.create_table(
        "exercise_goal",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercise.id"],
            name=op.f("fk_exercise_goal_exercise_id_exercise"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"],
            ["goal.id"],
            name=op.f("fk_exercise_goal_goal_id_goal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exercise_id", "goal_id", name=op.f("pk_exercise_goal")),
    )
    op.create_index(op.f("ix_exercise_goal_goal_id"), "exercise_goal", ["goal_id"], unique=False)

    op.create_table(
        "exercise_phase",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column("progression_order", sa.Integer(), nullable=False),
        sa.Column("caution", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercise.id"],
            name=op.f("fk_exercise_phase_exercise_id_exercise"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["phase.id"],
            name=op.f("fk_exercise_phase_phase_id_phase"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exercise_id", "phase_id", name=op.f("pk_exercise_phase")),
    )
    op.create_index(
        "ix_exercise_phase_phase_order",
        "exercise_phase",
        ["phase_id", "progression_order", "exercise_id"],
        unique=False,
    )

    op.create_table(
        "progression",
        sa.Column("easier_id", sa.Integer(), nullable=False),
        sa.Column("harder_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("easier_id <> harder_id", name=op.f("ck_progression_not_self")),
        sa.ForeignKeyConstraint(
            ["easier_id"],
            ["exercise.id"],
            name=op.f("fk_progression_easier_id_exercise"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["harder_id"],
            ["exercise.id"],
            name=op.f("fk_progression_harder_id_exercise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("easier_id", "harder_id", name=op.f("pk_progression")),
    )
    op.create_index(op.f("ix_progression_harder_id"), "progression", ["harder_id"], unique=False)
    create_search()


def downgrade() -> None:
    drop_search()
    op.drop_table("progression")
    op.drop_table("exercise_phase")
    op.drop_table("exercise_goal")
    op.drop_table("exercise_equipment")
    op.drop_table("exercise_body_region")
    op.drop_table("evidence")
    op.drop_table("contraindication")
    op.drop_table("source")
    op.drop_table("phase")
    op.drop_table("goal")
    op.drop_table("exercise")
    op.drop_table("condition")
    op.drop_table("catalogue_state")


# Full-text search over name (weighted most), summary and instructions. Each database
# has its own machinery; `app.queries.exercise_search` queries whichever is there.
SQLITE_FTS_COLUMNS = "name, summary, instructions"


def create_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # External-content FTS5 index kept in step with `exercise` by triggers. A later
        # migration that rebuilds `exercise` in batch mode must recreate these triggers.
        op.execute(
            f"CREATE VIRTUAL TABLE exercise_fts USING fts5({SQLITE_FTS_COLUMNS}, "
            "content='exercise', content_rowid='id', "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        new = "new.id, new.name, new.summary, new.instructions"
        old = "'delete', old.id, old.name, old.summary, old.instructions"
        insert_new = f"INSERT INTO exercise_fts(rowid, {SQLITE_FTS_COLUMNS}) VALUES ({new});"
        delete_old = (
            f"INSERT INTO exercise_fts(exercise_fts, rowid, {SQLITE_FTS_COLUMNS}) VALUES ({old});"
        )
        op.execute(
            f"CREATE TRIGGER exercise_fts_ai AFTER INSERT ON exercise BEGIN {insert_new} END"
        )
        op.execute(
            f"CREATE TRIGGER exercise_fts_ad AFTER DELETE ON exercise BEGIN {delete_old} END"
        )
        op.execute(
            f"CREATE TRIGGER exercise_fts_au AFTER UPDATE ON exercise "
            f"BEGIN {delete_old} {insert_new} END"
        )
    else:
        op.execute(
            "ALTER TABLE exercise ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', name), 'A') || "
            "setweight(to_tsvector('english', summary), 'B') || "
            "setweight(to_tsvector('english', instructions::text), 'C')) STORED"
        )
        op.execute("CREATE INDEX ix_exercise_search_vector ON exercise USING gin (search_vector)")


def drop_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("exercise_fts_ai", "exercise_fts_ad", "exercise_fts_au"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE exercise_fts")
    else:
        op.execute("DROP INDEX ix_exercise_search_vector")
        op.execute("ALTER TABLE exercise DROP COLUMN search_vector")
