"""GET /v1/catalogue, /healthz, /readyz, and errors outside any resource."""

from sqlalchemy import text

from app.queries.catalogue import head_revision
from app.seeding.reading import Catalogue
from tests.helpers import assert_problem


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
        assert "older" in body["detail"]


class TestUnknownRoutes:
    def test_unknown_path_is_a_404_problem(self, client):
        assert_problem(client.get("/v2/everything"), 404)

    def test_wrong_method_is_a_405_problem(self, client):
        response = client.post("/v1/exercises", json={})
        assert_problem(response, 405)
        assert response.headers["allow"] == "GET"
