"""Alembic migrations on SQLite and PostgreSQL: up, down, up again, and no drift."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from app.database import build_engine
from migrations.autogenerate import include_object
from tests.conftest import migrate


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


class TestMigrations:
    def test_upgrade_downgrade_upgrade(self, databases, database_kind):
        engine = build_engine(databases.create(database_kind))
        migrate(engine)
        created = table_names(engine)
        assert {t.name for t in SQLModel.metadata.sorted_tables} <= created
        migrate(engine, "base", down=True)
        assert table_names(engine) == {"alembic_version"}
        migrate(engine)
        assert table_names(engine) == created
        engine.dispose()

    def test_models_and_migrations_agree(self, databases, database_kind):
        engine = build_engine(databases.create(database_kind))
        migrate(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"include_object": include_object, "compare_type": True},
            )
            assert compare_metadata(context, SQLModel.metadata) == []
        engine.dispose()

    def test_search_is_created_and_removed(self, databases, database_kind):
        engine = build_engine(databases.create(database_kind))
        migrate(engine)
        if database_kind == "sqlite":
            assert "exercise_fts" in table_names(engine)
        else:
            columns = {c["name"] for c in sa.inspect(engine).get_columns("exercise")}
            assert "search_vector" in columns
        migrate(engine, "base", down=True)
        assert "exercise_fts" not in table_names(engine)
        engine.dispose()
