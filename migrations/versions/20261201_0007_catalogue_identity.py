"""catalogue identity: a random id per catalogue database, which sync cursors carry

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

`catalogue_state.catalogue_id` names this database's catalogue, so that a change-feed
cursor (which counts change-log entries) issued by one database is refused by another
rather than read as a position in a different log. A database seeded later gets its id
from the writer; one that already holds a catalogue gets a new one here.
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place with a placeholder (SQLite adds a NOT NULL column only with a
    # default), then filled in for the row there is, if any.
    op.add_column(
        "catalogue_state",
        sa.Column("catalogue_id", sa.String(length=32), nullable=False, server_default=""),
    )
    op.execute(
        sa.text("UPDATE catalogue_state SET catalogue_id = :id").bindparams(id=uuid.uuid4().hex)
    )


def downgrade() -> None:
    op.drop_column("catalogue_state", "catalogue_id")
