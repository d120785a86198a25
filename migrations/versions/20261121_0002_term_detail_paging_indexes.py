"""term detail paging indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

The term details (GET /v1/{phases,goals,conditions,sources}/{slug}) read their lists a
page at a time. These indexes let a page stop early: a source's evidence in document
order; exercises in name order, with their slug and id; and the exercise ids linked to
a goal or condition (for a condition, by severity), from the index alone. The two link
indexes extend, and so replace, those on `exercise_goal (goal_id)` and
`contraindication (condition_id, severity)`. Counting the exercises a source backs
reads `evidence (source_id, exercise_id)` alone.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_exercise_name_slug_id", "exercise", ["name", "slug", "id"], unique=False)
    op.create_index(
        "ix_evidence_source_id_start_end_id",
        "evidence",
        ["source_id", "start", "end", "id"],
        unique=False,
    )
    op.create_index(
        "ix_evidence_source_id_exercise_id",
        "evidence",
        ["source_id", "exercise_id"],
        unique=False,
    )
    op.create_index(
        "ix_exercise_goal_goal_id_exercise_id",
        "exercise_goal",
        ["goal_id", "exercise_id"],
        unique=False,
    )
    op.drop_index("ix_exercise_goal_goal_id", table_name="exercise_goal")
    op.create_index(
        "ix_contraindication_condition_id_severity_exercise_id",
        "contraindication",
        ["condition_id", "severity", "exercise_id"],
        unique=False,
    )
    op.drop_index("ix_contraindication_condition_severity", table_name="contraindication")


def downgrade() -> None:
    op.create_index(
        "ix_contraindication_condition_severity",
        "contraindication",
        ["condition_id", "severity"],
        unique=False,
    )
    op.drop_index(
        "ix_contraindication_condition_id_severity_exercise_id", table_name="contraindication"
    )
    op.create_index(op.f("ix_exercise_goal_goal_id"), "exercise_goal", ["goal_id"], unique=False)
    op.drop_index("ix_exercise_goal_goal_id_exercise_id", table_name="exercise_goal")
    op.drop_index("ix_evidence_source_id_exercise_id", table_name="evidence")
    op.drop_index("ix_evidence_source_id_start_end_id", table_name="evidence")
    op.drop_index("ix_exercise_name_slug_id", table_name="exercise")
