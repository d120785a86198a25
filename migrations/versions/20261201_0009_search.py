"""search: every field that matters, weighted

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

The full-text index moves from the exercise row (name, summary, instructions) to
`exercise_search`, one row per exercise written by the catalogue writer: names and
aliases; goals, category, body regions, equipment and position; summary, cues and the
conditions it lists; instructions. SQLite indexes it with an external-content FTS5 table kept in step
by triggers on `exercise_search` (never on `exercise`, which is not rebuilt: rebuilding
it would cascade deletes); PostgreSQL with a generated tsvector, weighted A to D, and a
GIN index, and another of the heavy fields alone (names A, terms B), also GIN-indexed,
for the best tiers of a broad search. `search_word` holds the index's words (for correcting misspelt ones).

The rows of the exercises already stored are written here, by the same code the writer
uses, so an upgraded database searches as a freshly seeded one does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel import Session

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS_COLUMNS = "names, terms, body, instructions"


def upgrade() -> None:
    op.create_table(
        "exercise_search",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("names", sa.String(), nullable=False),
        sa.Column("terms", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("instructions", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercise.id"],
            name=op.f("fk_exercise_search_exercise_id_exercise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exercise_id", name=op.f("pk_exercise_search")),
    )
    op.create_table(
        "search_word",
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_word")),
    )
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("exercise_fts_ai", "exercise_fts_ad", "exercise_fts_au"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE exercise_fts")
        op.execute(
            f"CREATE VIRTUAL TABLE exercise_search_fts USING fts5({FTS_COLUMNS}, "
            "content='exercise_search', content_rowid='exercise_id', "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        new = "new.exercise_id, new.names, new.terms, new.body, new.instructions"
        old = "'delete', old.exercise_id, old.names, old.terms, old.body, old.instructions"
        insert_new = f"INSERT INTO exercise_search_fts(rowid, {FTS_COLUMNS}) VALUES ({new});"
        delete_old = (
            f"INSERT INTO exercise_search_fts(exercise_search_fts, rowid, {FTS_COLUMNS}) "
            f"VALUES ({old});"
        )
        op.execute(
            "CREATE TRIGGER exercise_search_fts_ai AFTER INSERT ON exercise_search "
            f"BEGIN {insert_new} END"
        )
        op.execute(
            "CREATE TRIGGER exercise_search_fts_ad AFTER DELETE ON exercise_search "
            f"BEGIN {delete_old} END"
        )
        op.execute(
            "CREATE TRIGGER exercise_search_fts_au AFTER UPDATE ON exercise_search "
            f"BEGIN {delete_old} {insert_new} END"
        )
    else:
        op.execute("DROP INDEX ix_exercise_search_vector")
        op.execute("ALTER TABLE exercise DROP COLUMN search_vector")
        op.execute(
            "ALTER TABLE exercise_search ADD COLUMN document tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', names), 'A') || "
            "setweight(to_tsvector('english', terms), 'B') || "
            "setweight(to_tsvector('english', body), 'C') || "
            "setweight(to_tsvector('english', instructions), 'D')) STORED"
        )
        op.execute(
            "CREATE INDEX ix_exercise_search_document ON exercise_search USING gin (document)"
        )
        # The heavy fields alone (names A, terms B: as in `document`, positions and all),
        # indexed too: a broad search's best tiers are read from it (`exercise_search`).
        op.execute(
            "ALTER TABLE exercise_search ADD COLUMN heavy tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', names), 'A') || "
            "setweight(to_tsvector('english', terms), 'B')) STORED"
        )
        op.execute("CREATE INDEX ix_exercise_search_heavy ON exercise_search USING gin (heavy)")
    _index_stored_exercises()


def _index_stored_exercises() -> None:
    from app.search_index import refresh_search_index  # the writer's own code

    session = Session(bind=op.get_bind())
    ids = [id for (id,) in session.execute(sa.text("SELECT id FROM exercise"))]
    refresh_search_index(session, ids)
    session.flush()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in (
            "exercise_search_fts_ai",
            "exercise_search_fts_ad",
            "exercise_search_fts_au",
        ):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE exercise_search_fts")
    else:
        op.execute("DROP INDEX ix_exercise_search_heavy")
        op.execute("DROP INDEX ix_exercise_search_document")
    op.drop_table("search_word")
    op.drop_table("exercise_search")
    # The first edition's index, as migration 0001 made it, rebuilt from the rows.
    if op.get_bind().dialect.name == "sqlite":
        columns = "name, summary, instructions"
        op.execute(
            f"CREATE VIRTUAL TABLE exercise_fts USING fts5({columns}, "
            "content='exercise', content_rowid='id', "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        new = "new.id, new.name, new.summary, new.instructions"
        old = "'delete', old.id, old.name, old.summary, old.instructions"
        insert_new = f"INSERT INTO exercise_fts(rowid, {columns}) VALUES ({new});"
        delete_old = f"INSERT INTO exercise_fts(exercise_fts, rowid, {columns}) VALUES ({old});"
        op.execute(
            f"CREATE TRIGGER exercise_fts_ai AFTER INSERT ON exercise BEGIN {insert_new} END"
        )
        op.execute(
            f"CREATE TRIGGER exercise_fts_ad AFTER DELETE ON exercise BEGIN {delete_old} END"
        )
        op.execute(
            "CREATE TRIGGER exercise_fts_au AFTER UPDATE ON exercise "
            f"BEGIN {delete_old} {insert_new} END"
        )
        op.execute("INSERT INTO exercise_fts(exercise_fts) VALUES ('rebuild')")
    else:
        op.execute(
            "ALTER TABLE exercise ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', name), 'A') || "
            "setweight(to_tsvector('english', summary), 'B') || "
            "setweight(to_tsvector('english', instructions::text), 'C')) STORED"
        )
        op.execute("CREATE INDEX ix_exercise_search_vector ON exercise USING gin (search_vector)")
