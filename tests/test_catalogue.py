"""GET /v1/catalogue, /healthz, /readyz, and errors outside any resource."""

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import Session

from app.database import snapshot_engine
from app.queries.catalogue import head_revision
from app.queries.revision import RevisionMemo
from app.seeding.reading import Catalogue
from app.seeding.writing import seed_catalogue
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
        assert "older" in body["detail"]


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
