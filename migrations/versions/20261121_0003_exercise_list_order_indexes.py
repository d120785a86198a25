"""exercise list order indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

The exercise list pages by (name, id) and by (updated_at, id) descending. Indexes on
both columns give each page in index order, so that a page stops after `limit`
matches and its keyset comparison is an index range. They extend, and so replace, the
indexes on `name` and `updated_at` alone.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_exercise_name_id", "exercise", ["name", "id"], unique=False)
    op.drop_index("ix_exercise_name", table_name="exercise")
    op.create_index("ix_exercise_updated_at_id", "exercise", ["updated_at", "id"], unique=False)
    op.drop_index("ix_exercise_updated_at", table_name="exercise")


def downgrade() -> None:
    op.create_index("ix_exercise_updated_at", "exercise", ["updated_at"], unique=False)
    op.drop_index("ix_exercise_updated_at_id", table_name="exercise")
    op.create_index("ix_exercise_name", "exercise", ["name"], unique=False)
    op.drop_index("ix_exercise_name_id", table_name="exercise")
