"""The write session: a route's writes are committed when it returns, and rolled back
whole on any error raised after them, a 4xx included (the read session, by contrast,
commits on a 4xx so that PostgreSQL keeps its prepared statements)."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from app.dependencies import WriteSessionDep
from app.errors import FieldError, InvalidParameters
from app.main import create_app
from app.models import Goal
from tests.helpers import assert_problem

SLUG = "written-by-a-test"


@pytest.fixture
def writing_client(database: Engine) -> Iterator[TestClient]:
    """The app over a committed database, with one route that writes a goal, flushes,
    and then fails as asked."""
    app: FastAPI = create_app()

    @app.post("/test/goals")
    def write_a_goal(session: WriteSessionDep, fail: str = "no") -> dict[str, str]:
        """Writes a goal, flushes it, then fails as asked."""
        session.add(Goal(slug=SLUG, name="Written", description="By a test."))
        session.flush()
        if fail == "invalid":
            raise InvalidParameters("Asked to fail.", [FieldError(field="fail", message="asked")])
        if fail == "bug":
            raise RuntimeError("a bug after the flush")
        return {"written": SLUG}

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def written(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(Goal.slug).where(col(Goal.slug) == SLUG)))


class TestWriteSession:
    def test_a_write_is_committed_when_the_route_returns(self, writing_client, database):
        response = writing_client.post("/test/goals")
        assert response.status_code == 200
        assert written(database) == [SLUG]

    def test_a_4xx_after_a_flush_rolls_the_write_back(self, writing_client, database):
        assert_problem(writing_client.post("/test/goals", params={"fail": "invalid"}), 422, "fail")
        assert written(database) == []

    def test_an_unexpected_error_after_a_flush_rolls_the_write_back(self, writing_client, database):
        assert_problem(writing_client.post("/test/goals", params={"fail": "bug"}), 500)
        assert written(database) == []
        # The connection went back to the pool clean: the next write works.
        assert writing_client.post("/test/goals").status_code == 200
        assert written(database) == [SLUG]
