"""Alembic migrations on SQLite and PostgreSQL: up, down, up again, and no drift."""

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, SQLModel

from app.cli import alembic_config
from app.database import build_engine
from app.seeding.reading import read_catalogue
from app.seeding.writing import seed_catalogue
from migrations.autogenerate import include_object
from tests.conftest import DOCUMENTS, FIXTURE_CATALOGUE, migrate
from tests.helpers import copied_term_ids, linked_term_ids


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
        assert {"exercise_search", "search_word"} <= table_names(engine)
        if database_kind == "sqlite":
            assert "exercise_search_fts" in table_names(engine)
        else:
            columns = {c["name"] for c in sa.inspect(engine).get_columns("exercise_search")}
            assert "document" in columns
        # Down to 0008: the first edition's index is back.
        migrate(engine, "0008", down=True)
        assert not {"exercise_search", "exercise_search_fts", "search_word"} & table_names(engine)
        if database_kind == "sqlite":
            assert "exercise_fts" in table_names(engine)
        else:
            columns = {c["name"] for c in sa.inspect(engine).get_columns("exercise")}
            assert "search_vector" in columns
        migrate(engine, "base", down=True)
        assert "exercise_fts" not in table_names(engine)
        engine.dispose()

    def test_0009_indexes_the_exercises_already_stored(self, databases, database_kind):
        engine = build_engine(databases.create(database_kind))
        try:
            migrate(engine)
            with Session(engine) as session:
                seed_catalogue(session, read_catalogue(FIXTURE_CATALOGUE, DOCUMENTS))
            index = (
                "SELECT exercise_id, names, terms, body, instructions FROM exercise_search "
                "ORDER BY exercise_id"
            )
            words = "SELECT word, documents FROM search_word ORDER BY word"
            with engine.connect() as connection:
                seeded = [tuple(r) for r in connection.execute(sa.text(index))]
                seeded_words = [tuple(r) for r in connection.execute(sa.text(words))]
            migrate(engine, "0008", down=True)
            migrate(engine)
            with engine.connect() as connection:
                assert [tuple(r) for r in connection.execute(sa.text(index))] == seeded
                assert [tuple(r) for r in connection.execute(sa.text(words))] == seeded_words
                exercises = connection.execute(sa.text("SELECT count(*) FROM exercise")).scalar()
                assert len(seeded) == exercises
                # The database's own index answers from the migrated rows.
                if database_kind == "sqlite":
                    found = "SELECT count(*) FROM exercise_search_fts WHERE exercise_search_fts MATCH 'towel'"
                else:
                    found = "SELECT count(*) FROM exercise_search WHERE document @@ plainto_tsquery('english', 'towel')"
                assert connection.execute(sa.text(found)).scalar() == 1
        finally:
            engine.dispose()

    def test_0004_copies_each_exercises_phase_and_goal_ids_from_its_links(
        self, databases, database_kind
    ):
        engine = build_engine(databases.create(database_kind))
        try:
            migrate(engine)
            with Session(engine) as session:
                seed_catalogue(session, read_catalogue(FIXTURE_CATALOGUE, DOCUMENTS))
            migrate(engine, "0003", down=True)
            migrate(engine)
            with Session(engine) as session:
                copied = copied_term_ids(session)
                assert copied == linked_term_ids(session)
                assert all(phases for phases, _ in copied.values())
        finally:
            engine.dispose()

    def test_0005_keeps_the_first_editions_data(self, databases, database_kind):
        # First-edition rows (down to 0004, which has no column for the new fields) come
        # back through 0005 whole, with the most careful value for each new column.
        engine = build_engine(databases.create(database_kind))
        try:
            migrate(engine)
            with Session(engine) as session:
                seed_catalogue(session, read_catalogue(FIXTURE_CATALOGUE, DOCUMENTS))
            # What the first edition can hold: all but the evidence for `mistakes`.
            counts = {
                "exercise": "SELECT count(*) FROM exercise",
                "exercise_phase": "SELECT count(*) FROM exercise_phase",
                "contraindication": "SELECT count(*) FROM contraindication",
                "evidence": "SELECT count(*) FROM evidence WHERE field <> 'mistakes'",
            }
            with engine.connect() as connection:
                before = {
                    name: connection.execute(sa.text(sql)).scalar() for name, sql in counts.items()
                }
                assert connection.execute(
                    sa.text("SELECT count(*) FROM evidence WHERE field = 'mistakes'")
                ).scalar()
            migrate(engine, "0004", down=True)
            migrate(engine)
            with engine.connect() as connection:

                def rows(sql: str) -> list[tuple]:
                    return [tuple(row) for row in connection.execute(sa.text(sql))]

                after = {name: rows(sql)[0][0] for name, sql in counts.items()}
                assert after == before
                assert rows("SELECT DISTINCT basis FROM exercise_phase") == [("inferred",)]
                assert rows("SELECT DISTINCT instructions_basis FROM exercise") == [("editorial",)]
                assert rows("SELECT DISTINCT text_quality FROM evidence") == [("clear",)]
                assert rows("SELECT slug, kind FROM condition ORDER BY slug") == [
                    ("acute-hamstring-strain", "diagnosis"),
                    ("sciatica-nerve-symptoms", "symptom"),
                    ("severe-pain", "symptom"),
                ]
                # The first edition had no `stop`: the downgrade made it a caution.
                assert rows("SELECT DISTINCT severity FROM contraindication ORDER BY 1") == [
                    ("avoid",),
                    ("caution",),
                ]
                assert rows("SELECT count(*) FROM retired_slug") == [(0,)]
        finally:
            engine.dispose()

    def test_0006_logs_what_is_there_as_created_by_seed(self, databases, database_kind):
        engine = build_engine(databases.create(database_kind))
        try:
            migrate(engine)
            catalogue = read_catalogue(FIXTURE_CATALOGUE, DOCUMENTS)
            with Session(engine) as session:
                seed_catalogue(session, catalogue)
            migrate(engine, "0005", down=True)
            migrate(engine)
            with engine.connect() as connection:

                def rows(sql: str) -> list[tuple]:
                    return [tuple(row) for row in connection.execute(sa.text(sql))]

                resources = len(catalogue.exercises) + sum(
                    len(terms)
                    for terms in (
                        catalogue.sources,
                        catalogue.phases,
                        catalogue.goals,
                        catalogue.conditions,
                    )
                )
                assert rows(
                    "SELECT count(*), min(version), max(version) FROM catalogue_change "
                    "WHERE action = 'created' AND author = 'seed' AND proposal_id IS NULL"
                ) == [(resources, 1, 1)]
                assert rows("SELECT DISTINCT version FROM exercise") == [(1,)]
                assert rows("SELECT last_change FROM catalogue_state") == [(resources,)]
        finally:
            engine.dispose()

    # SQLite has no statement timeout.
    @pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True)
    def test_migrations_are_not_bound_by_the_request_timeout(self, databases, database_kind):
        # The app's engine cancels any statement after its database timeout, but a data
        # migration over a large catalogue must run for as long as it takes.
        engine = build_engine(databases.create(database_kind), timeout_seconds=5)
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["configure_logging"] = False
        try:
            with engine.begin() as connection:
                timeout = "SHOW statement_timeout"
                assert connection.exec_driver_sql(timeout).scalar() == "5s"
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                assert connection.exec_driver_sql(timeout).scalar() == "0"
            assert "exercise" in table_names(engine)
        finally:
            engine.dispose()
