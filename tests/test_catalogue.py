"""GET /v1/catalogue, /healthz, /readyz, and errors outside any resource."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import Session
from starlette.testclient import TestClient

from app.database import snapshot_engine
from app.main import create_app
from app.queries.catalogue import head_revision
from app.queries.revision import RevisionMemo
from app.seeding.reading import Catalogue
from app.seeding.writing import seed_catalogue
from app.settings import get_settings
from tests.helpers import assert_problem

LATER = datetime(2031, 1, 1, tzinfo=UTC)


class TestGetCatalogue:
    def test_version_counts_and_last_update(self, client, catalogue: Catalogue):
        body = client.get("/v1/catalogue").json()
        assert body["version"] == catalogue.version()
        assert body["counts"] == {
            "exercises": len(catalogue.exercises),
            "phases": 3,
            "goals": len(catalogue.goals),
            "conditions": len(catalogue.conditions),
            "sources": len(catalogue.sources),
            "evidence": sum(len(e.evidence) for e in catalogue.exercises),
        }
        assert body["updated_at"].endswith("Z")


class TestHealthz:
    def test_alive(self, client):
        response = client.get("/healthz")
        assert response.json() == {"status": "ok", "checks": {}}
        assert response.headers["cache-control"] == "no-store"


class TestReadyz:
    def test_ready_when_migrated_and_seeded(self, client):
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {
            "status": "ok",
            "checks": {"database": "ok", "migrations": head_revision()},
        }

    def test_not_ready_when_migrations_are_behind(self, client, session):
        session.execute(text("UPDATE alembic_version SET version_num = 'older'"))
        body = assert_problem(client.get("/readyz"), 503)
        assert body["title"] == "Database not ready"
        assert body["detail"] == (
            "The database answers but its migrations are not at head "
            f"(older != {head_revision()}; run `catalogue migrate`)."
        )


class TestUnmigratedDatabase:
    """A database that answers but holds no schema is not said to be unreachable."""

    @pytest.fixture
    def unmigrated(self, databases, database_kind, monkeypatch) -> Iterator[TestClient]:
        monkeypatch.setenv("DATABASE_URL", databases.create(database_kind))
        get_settings.cache_clear()
        app = create_app()
        with TestClient(app) as client:
            yield client
        app.state.resources.engine.dispose()
        get_settings.cache_clear()

    def test_readiness_says_it_is_not_migrated(self, unmigrated):
        response = unmigrated.get("/readyz")
        body = assert_problem(response, 503)
        assert body["type"].endswith("/database-not-ready")
        assert body["detail"] == (
            "The database answers but is not migrated: no migration has been applied "
            f"(head is {head_revision()}; run `catalogue migrate`)."
        )
        assert response.headers["retry-after"] == "5"

    def test_a_read_says_it_is_not_migrated(self, unmigrated):
        body = assert_problem(unmigrated.get("/v1/catalogue"), 503)
        assert body["title"] == "Database not ready"
        assert body["detail"] == (
            "The catalogue database answers but is not migrated; try again once it is."
        )


class TestUnknownRoutes:
    def test_unknown_path_is_a_404_problem(self, client):
        assert_problem(client.get("/v2/everything"), 404)

    def test_wrong_method_is_a_405_problem(self, client):
        response = client.post("/v1/exercises", json={})
        assert_problem(response, 405)
        assert response.headers["allow"] == "GET, HEAD"

    def test_a_path_with_several_methods_names_them_all(self, client):
        response = client.put("/v1/proposals", json={})
        assert_problem(response, 405)
        assert response.headers["allow"] == "GET, HEAD, POST"
        assert client.patch("/v1/proposals/7").headers["allow"] == "DELETE, GET, HEAD"

    @pytest.mark.parametrize(
        "path",
        [
            "/openapi.json",
            "/docs",
            "/redoc",
            "/healthz",
            "/static-offline-docs/redoc.standalone.js",
        ],
    )
    def test_the_docs_and_their_files_answer_get_and_head(self, client, path):
        response = client.post(path)
        body = assert_problem(response, 405)
        assert response.headers["allow"] == "GET, HEAD"
        assert body["detail"] == "POST is not allowed here; allowed: GET, HEAD."


class TestRevisionMemo:
    def test_an_older_snapshot_gets_facts_of_its_own_and_leaves_the_newer(
        self, database, catalogue: Catalogue
    ):
        memo = RevisionMemo()
        older = Session(snapshot_engine(database), expire_on_commit=False)
        try:
            first = memo.current(older)  # its snapshot is held until it ends
            changed = replace(
                catalogue,
                exercises=[
                    catalogue.exercises[0].model_copy(update={"summary": "Changed."}),
                    *catalogue.exercises[1:],
                ],
            )
            with Session(database) as writing:
                seed_catalogue(writing, changed, now=LATER)
            with Session(snapshot_engine(database)) as newer:
                latest = memo.current(newer)
                assert latest.revision.updated_at == LATER
                assert memo.current(newer) is latest
            again = memo.current(older)
            assert again.revision == first.revision != latest.revision
            assert again is not latest
            assert memo.facts is latest  # the older revision's facts were not kept
        finally:
            older.close()
