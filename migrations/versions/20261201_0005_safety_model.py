"""catalogue second edition: the safety model

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

- contraindication severity gains `stop` (do it, but stop at once if this appears);
- conditions gain `kind` (diagnosis, finding, symptom);
- phase memberships gain `basis` (stated by a source, or inferred by the editors);
- exercises gain `aliases`, `mistakes` and `instructions_basis`;
- sources gain `garbled_regions`; evidence gains `text_quality` and the field `mistakes`;
- `retired_slug` keeps renamed and removed slugs working.

Existing rows keep their data. The new columns start at the most careful value the old
data allows: every membership `inferred` and every set of steps `editorial` until the
next seed says otherwise, evidence `clear` (no region was recorded as garbled), and each
condition's kind by its slug where the first edition's slugs make it plain.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def vocabulary(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


OLD_SEVERITY = vocabulary("severity", "avoid", "caution")
NEW_SEVERITY = vocabulary("severity", "avoid", "caution", "stop")
FIELDS = ("summary", "instructions", "dosage", "phase", "goal", "contraindication")
OLD_FIELD = vocabulary("field", *FIELDS, "progression")
NEW_FIELD = vocabulary("field", *FIELDS, "mistakes", "progression")
# The first edition's conditions whose kind is plain from the slug; the rest are symptoms.
DIAGNOSES = ("acute-hamstring-strain", "sciatica")
FINDINGS = ("anterior-pelvic-tilt",)


def _add_vocabulary_column(table: str, column: str, values: Sequence[str], default: str) -> None:
    """A NOT NULL vocabulary column, `default` for the existing rows, added in place.

    Its CHECK is added on PostgreSQL only. SQLite could add it only by rebuilding the
    table, and dropping the old copy of a table that others refer to (`exercise`,
    `condition`, `source`) deletes their rows through ON DELETE CASCADE; and rebuilding
    `exercise` would drop its full-text triggers. The writer is the only one to set it."""
    op.add_column(
        table,
        sa.Column(
            column, sa.String(length=32), nullable=False, server_default=sa.text(f"'{default}'")
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        allowed = ", ".join(f"'{value}'" for value in values)
        op.create_check_constraint(op.f(f"ck_{table}_{column}"), table, f"{column} IN ({allowed})")


def _drop_vocabulary_column(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f(f"ck_{table}_{column}"), table, type_="check")
    op.drop_column(table, column)


def upgrade() -> None:
    with op.batch_alter_table("contraindication") as batch:
        batch.alter_column("severity", existing_type=OLD_SEVERITY, type_=NEW_SEVERITY)
    with op.batch_alter_table("evidence") as batch:
        batch.alter_column("field", existing_type=OLD_FIELD, type_=NEW_FIELD)
        batch.add_column(
            sa.Column(
                "text_quality",
                vocabulary("text_quality", "clear", "garbled"),
                nullable=False,
                server_default=sa.text("'clear'"),
            )
        )
    _add_vocabulary_column("condition", "kind", ("diagnosis", "finding", "symptom"), "symptom")
    condition = sa.table("condition", sa.column("slug"), sa.column("kind"))
    for kind, slugs in (("diagnosis", DIAGNOSES), ("finding", FINDINGS)):
        op.execute(condition.update().where(condition.c.slug.in_(slugs)).values(kind=kind))
    # Nothing refers to the memberships: rebuilt on SQLite, with its CHECK.
    with op.batch_alter_table("exercise_phase") as batch:
        batch.add_column(
            sa.Column(
                "basis",
                vocabulary("basis", "stated", "inferred"),
                nullable=False,
                server_default=sa.text("'inferred'"),
            )
        )
    op.add_column(
        "source",
        sa.Column("garbled_regions", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    for column in ("aliases", "mistakes"):
        op.add_column(
            "exercise",
            sa.Column(column, sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
        )
    _add_vocabulary_column("exercise", "instructions_basis", ("sourced", "editorial"), "editorial")
    op.create_table(
        "retired_slug",
        sa.Column("kind", vocabulary("kind", "exercise", "goal", "condition"), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("successor", sa.String(length=100), nullable=True),
        sa.Column("note", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "slug", name=op.f("pk_retired_slug")),
    )


def downgrade() -> None:
    op.drop_table("retired_slug")
    _drop_vocabulary_column("exercise", "instructions_basis")
    for column in ("mistakes", "aliases"):
        op.drop_column("exercise", column)
    op.drop_column("source", "garbled_regions")
    with op.batch_alter_table("exercise_phase") as batch:
        batch.drop_constraint(op.f("ck_exercise_phase_basis"), type_="check")
        batch.drop_column("basis")
    _drop_vocabulary_column("condition", "kind")
    # Second-edition content the first cannot hold goes with it.
    op.execute("DELETE FROM evidence WHERE field = 'mistakes'")
    with op.batch_alter_table("evidence") as batch:
        batch.drop_constraint(op.f("ck_evidence_text_quality"), type_="check")
        batch.drop_column("text_quality")
        batch.alter_column("field", existing_type=NEW_FIELD, type_=OLD_FIELD)
    op.execute("UPDATE contraindication SET severity = 'caution' WHERE severity = 'stop'")
    with op.batch_alter_table("contraindication") as batch:
        batch.alter_column("severity", existing_type=NEW_SEVERITY, type_=OLD_SEVERITY)
