"""curation: versions, the change log, source documents, API keys and proposals

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

- every exercise, phase, goal, condition and source gains `version` (1 for the rows
  there now);
- `catalogue_change` is the change log; each resource there now gets one `created`
  entry by `seed`, so that a feed read from the start describes the whole catalogue;
- `catalogue_state.content_sum` lets a change move the catalogue version without
  reading the whole catalogue (the next seed fills it in), and `last_change` makes
  every change a new revision;
- `source_document` holds each source's text (the next seed fills it in);
- `api_key` and `proposal` hold the curation API's keys and proposals.

Columns are added in place (no table is rebuilt on SQLite: see 0005).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSIONED = ("exercise", "phase", "goal", "condition", "source")


def vocabulary(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


KIND = ("exercise", "phase", "goal", "condition", "source")


def upgrade() -> None:
    for table in VERSIONED:
        op.add_column(
            table, sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
    op.add_column("catalogue_state", sa.Column("content_sum", sa.String(length=64), nullable=True))
    op.add_column("catalogue_state", sa.Column("last_change", sa.Integer(), nullable=True))
    op.create_table(
        "source_document",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_source_document_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_source_document")),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", vocabulary("role", "curator", "reviewer"), nullable=False),
        sa.Column("lookup", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("lookup", name=op.f("uq_api_key_lookup")),
        sa.UniqueConstraint("name", name=op.f("uq_api_key_name")),
    )
    op.create_table(
        "proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", vocabulary("kind", *KIND), nullable=False),
        sa.Column("action", vocabulary("action", "create", "update", "delete"), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("document_text", sa.Text(), nullable=True),
        sa.Column("document_sha256", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column(
            "status",
            vocabulary("status", "open", "approved", "rejected", "withdrawn"),
            nullable=False,
        ),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("author_key_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_key_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_key_id"], ["api_key.id"], name=op.f("fk_proposal_author_key_id_api_key")
        ),
        sa.ForeignKeyConstraint(
            ["decided_key_id"], ["api_key.id"], name=op.f("fk_proposal_decided_key_id_api_key")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal")),
    )
    op.create_index(
        "ix_proposal_author_key_id_created_at", "proposal", ["author_key_id", "created_at"]
    )
    op.create_index(
        "ix_proposal_decided_key_id_decided_at", "proposal", ["decided_key_id", "decided_at"]
    )
    op.create_index("ix_proposal_status_id", "proposal", ["status", "id"])
    op.create_table(
        "catalogue_change",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", vocabulary("kind", *KIND), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("action", vocabulary("action", "created", "updated", "deleted"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("derived", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposal.id"], name=op.f("fk_catalogue_change_proposal_id_proposal")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_catalogue_change")),
    )
    op.create_index(
        "ix_catalogue_change_kind_slug_seq", "catalogue_change", ["kind", "slug", "seq"]
    )
    # What is there now was seeded: one `created` entry each, terms first (as a seed
    # writes them), exercises at their own last change.
    for table in ("source", "phase", "goal", "condition"):
        op.execute(
            "INSERT INTO catalogue_change (kind, slug, action, version, changed_at, author) "
            f"SELECT '{table}', slug, 'created', 1, "
            "(SELECT updated_at FROM catalogue_state WHERE id = 1), 'seed' "
            f"FROM {table} WHERE EXISTS (SELECT 1 FROM catalogue_state) ORDER BY slug"
        )
    op.execute(
        "INSERT INTO catalogue_change (kind, slug, action, version, changed_at, author) "
        "SELECT 'exercise', slug, 'created', 1, updated_at, 'seed' FROM exercise "
        "ORDER BY updated_at, slug"
    )
    op.execute("UPDATE catalogue_state SET last_change = (SELECT max(seq) FROM catalogue_change)")


def downgrade() -> None:
    op.drop_index("ix_catalogue_change_kind_slug_seq", table_name="catalogue_change")
    op.drop_table("catalogue_change")
    op.drop_index("ix_proposal_status_id", table_name="proposal")
    op.drop_index("ix_proposal_decided_key_id_decided_at", table_name="proposal")
    op.drop_index("ix_proposal_author_key_id_created_at", table_name="proposal")
    op.drop_table("proposal")
    op.drop_table("api_key")
    op.drop_table("source_document")
    op.drop_column("catalogue_state", "last_change")
    op.drop_column("catalogue_state", "content_sum")
    for table in VERSIONED:
        op.drop_column(table, "version")
