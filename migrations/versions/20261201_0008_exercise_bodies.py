"""exercise bodies: each exercise's detail body as JSON, kept beside it for exports

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

`exercise_body` holds what `GET /v1/exercises/{slug}` serves, rendered by the writer
whenever the exercise changes, so that `GET /v1/export` streams stored bodies. Created
empty: the next seed fills it in, and until then an export renders what is missing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exercise_body",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercise.id"],
            name=op.f("fk_exercise_body_exercise_id_exercise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exercise_id", name=op.f("pk_exercise_body")),
    )


def downgrade() -> None:
    op.drop_table("exercise_body")
