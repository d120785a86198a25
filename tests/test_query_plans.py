"""PostgreSQL plans a repeated read once per connection, not once per request.

psycopg prepares a statement once a connection has run it five times, and PostgreSQL
then keeps its plan, provided that the statement has no parameter whose value could
call for another plan. Planning a list page cost more than running it. These tests read
`pg_prepared_statements` on the app's own pooled connections after repeated requests:
the statements must be there (a request that ended in ROLLBACK would have made psycopg
forget them all), and every use must have run the kept, generic plan (a bound page size
or term id would make PostgreSQL plan each use for its values instead).
"""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.testclient import TestClient

from app.main import create_asgi_app
from app.observability import RequestObserver
from app.settings import Settings

# SQLite keeps no plans between statements: these tests are PostgreSQL's alone.
pytestmark = pytest.mark.parametrize("database_kind", ["postgresql"], indirect=True)

# Enough uses for every pooled connection to pass psycopg's threshold of five.
REPEATS = 20
# The text of a page of /v1/exercises, as LIKE matches it.
LIST_PAGE = "SELECT exercise.id, exercise.slug%AS page ON%"


@pytest.fixture
def postgres_database(database: Engine) -> Engine:
    assert database.dialect.name == "postgresql"
    return database


@pytest.fixture
def served(postgres_database: Engine) -> FastAPI:
    """The app as served, without its response cache: every read reaches the database."""
    served = create_asgi_app(Settings(response_cache_enabled=False))
    assert isinstance(served, RequestObserver)
    assert isinstance(served.app, FastAPI)
    return served.app


@pytest.fixture
def uncached(served: FastAPI) -> Iterator[TestClient]:
    with TestClient(served) as client:
        yield client


@pytest.fixture
def app_engine(served: FastAPI) -> Engine:
    """The engine whose pooled connections the app's reads ran on."""
    engine: Engine = served.state.resources.engine
    return engine


def kept_plans(engine: Engine, pattern: str) -> list[tuple[int, int]]:
    """(generic plans, custom plans) of each prepared statement whose text is LIKE
    `pattern`, on every connection idle in the pool."""
    idle = engine.pool.checkedin()  # type: ignore[attr-defined]
    connections = [engine.connect() for _ in range(idle)]
    try:
        found = []
        for connection in connections:
            rows = connection.execute(
                sa.text(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                    "WHERE statement LIKE :pattern"
                ),
                {"pattern": pattern},
            )
            found += [(generic, custom) for generic, custom in rows]
            connection.rollback()
        return found
    finally:
        for connection in connections:
            connection.close()


class TestListExercisesPlans:
    def test_a_repeated_filtered_page_runs_its_kept_plan(self, uncached, app_engine):
        url = "/v1/exercises?phase=rehab&goal=strength&limit=2"
        bodies = [uncached.get(url) for _ in range(REPEATS)]
        assert {response.status_code for response in bodies} == {200}
        assert all(response.json() == bodies[0].json() for response in bodies)
        plans = kept_plans(app_engine, LIST_PAGE)
        assert plans, "the list page was never prepared"
        assert all(custom == 0 for _, custom in plans), plans
        assert sum(generic for generic, _ in plans) >= REPEATS - 5 * len(plans)

    def test_not_found_and_not_modified_keep_the_plans(self, uncached, app_engine):
        # A 404 or a 304 is an answer, not a failure: its read transaction commits too,
        # where a rollback would have made psycopg forget the prepared statements.
        url = "/v1/exercises?phase=rehab&goal=strength&limit=2"
        etag = uncached.get(url).headers["etag"]
        for _ in range(REPEATS):
            assert uncached.get(url).status_code == 200
            assert uncached.get("/v1/exercises/no-such-exercise").status_code == 404
            assert uncached.get(url, headers={"If-None-Match": etag}).status_code == 304
        plans = kept_plans(app_engine, LIST_PAGE)
        assert plans, "the list page was never prepared"
        assert all(custom == 0 for _, custom in plans), plans

    def test_later_pages_share_one_statement(self, uncached, app_engine):
        # The keyset position stays a parameter: the pages after the first are one
        # prepared statement, not one each.
        # (httpx replaces a URL's query with `params`: every parameter goes in `params`.)
        first = {"limit": 1}
        cursor = uncached.get("/v1/exercises", params=first).json()["next_cursor"]
        for _ in range(REPEATS):
            page = uncached.get("/v1/exercises", params={**first, "cursor": cursor}).json()
            cursor = (
                page["next_cursor"]
                or uncached.get("/v1/exercises", params=first).json()["next_cursor"]
            )
        plans = kept_plans(app_engine, "SELECT exercise.id, exercise.slug%$1%AS page ON%")
        assert len(plans) >= 1, "later pages were never prepared"
        assert sum(generic + custom for generic, custom in plans) >= REPEATS - 5 * len(plans)

    def test_pages_of_different_exercises_share_one_cautions_statement(self, uncached, app_engine):
        # A page's ids are one array parameter: the cautions of every page of the same
        # size are one prepared statement, whichever exercises the page holds.
        first = {"limit": 2, "safe_for": "sciatica-nerve-symptoms"}
        cursor = None
        pages = set()
        for _ in range(REPEATS):
            after: dict[str, str] = {"cursor": cursor} if cursor else {}
            response = uncached.get("/v1/exercises", params={**first, **after})
            assert response.status_code == 200, response.text
            page = response.json()
            assert len(page["items"]) <= 2
            pages.add(tuple(item["slug"] for item in page["items"]))
            cursor = page["next_cursor"]
        assert len(pages) >= 3, "the walk should see several different pages"
        plans = kept_plans(app_engine, "SELECT contraindication.exercise_id%= ANY%")
        assert plans, "the page's cautions were never prepared"
        assert sum(generic + custom for generic, custom in plans) >= REPEATS - 5 * len(plans)


class TestPhaseDetailPlans:
    def test_a_repeated_detail_page_runs_its_kept_plan(self, uncached, app_engine):
        bodies = [uncached.get("/v1/phases/rehab?limit=2") for _ in range(REPEATS)]
        assert {response.status_code for response in bodies} == {200}
        plans = kept_plans(app_engine, "SELECT exercise.slug, exercise.name, exercise_phase.%")
        assert plans, "the phase's page was never prepared"
        assert all(custom == 0 for _, custom in plans), plans
