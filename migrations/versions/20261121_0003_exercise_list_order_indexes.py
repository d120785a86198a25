"""exercise list order indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

The exercise list pages by (name, id) and by (updated_at, id) descending. Indexes on
both columns give each page in index order, so that a page stops after `limit`
matches and its keyset comparison is an index range. They extend, and so replace, the
indexes on `name` and `updated_at` alone.

It ends by gathering planner statistics (seeding does too, whenever content changes):
a database upgraded under an unchanged catalogue would otherwise have none on SQLite,
whose planner then drives small lookups from the wrong index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATALOGUE_TABLES = (
    "source",
    "phase",
    "goal",
    "condition",
    "exercise",
    "exercise_equipment",
    "exercise_body_region",
    "exercise_phase",
    "exercise_goal",
    "contraindication",
    "progression",
    "evidence",
    "catalogue_state",
)


def upgrade() -> None:
    op.create_index("ix_exercise_name_id", "exercise", ["name", "id"], unique=False)
    op.drop_index("ix_exercise_name", table_name="exercise")
    op.create_index("ix_exercise_updated_at_id", "exercise", ["updated_at", "id"], unique=False)
    op.drop_index("ix_exercise_updated_at", table_name="exercise")
    if op.get_bind().dialect.name == "postgresql":
        # Only these tables: a bare ANALYZE would wait on locks held in other schemas.
        op.execute("ANALYZE " + ", ".join(CATALOGUE_TABLES))
    else:
        op.execute("ANALYZE")


def downgrade() -> None:
    op.create_index("ix_exercise_updated_at", "exercise", ["updated_at"], unique=False)
    op.drop_index("ix_exercise_updated_at_id", table_name="exercise")
    op.create_index("ix_exercise_name", "exercise", ["name"], unique=False)
    op.drop_index("ix_exercise_name_id", table_name="exercise")
