"""Property-based fuzzing of every operation in the served OpenAPI document.

Schemathesis generates valid and invalid requests (bad enums, out-of-range limits,
hostile strings, unknown parameters...) and runs all its default checks on each
response: no server error, a documented status code and content type, a body that
conforms to the documented schema. It runs in-process against the ASGI app over the
real, seeded catalogue, on SQLite and PostgreSQL, derandomised so CI sees the same
requests every run.
"""

from collections.abc import Iterator

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from app.dependencies import get_export_session, get_primary_session, get_session
from app.main import create_app

EXAMPLES_PER_OPERATION = 100
MINIMUM_REQUESTS = 1500
# Constraints OpenAPI cannot express: slugs of goals, equipment, regions, sources and
# conditions must exist in the catalogue (a typo is a 422 naming the parameter, so it
# never silently empties or widens a clinical query), a cursor must carry this API's
# signature, `sort=phase_order` needs exactly one `phase`, and `q` must hold a word (a
# pattern would not say the same in every regex engine: Python's `\w` takes "½", the
# Rust one pydantic uses does not). Every other schema-valid request must be accepted.
NOT_IN_SCHEMA = {"goal", "equipment", "body_region", "source", "safe_for", "cursor", "sort", "q"}


def valid_requests_are_accepted(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """Schemathesis's `positive_data_acceptance`, except for a 422 whose every error is
    about a constraint the schema cannot state."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    status = response.status_code
    if status < 400 or status in (404, 406):
        return  # 404: no such slug; 406: the generated Accept header rules out JSON
    assert status == 422, f"schema-valid request got {status}: {response.text}"
    rejected = {error["parameter"] for error in response.json()["errors"]}
    assert rejected <= NOT_IN_SCHEMA, f"schema-valid request rejected: {response.text}"


class RequestCounter:
    """Counts the requests that reach the app, to prove the run is as big as claimed."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != "/openapi.json":
            self.requests += 1
        await self.app(scope, receive, send)


# Loaded once at import: the schema is the app's own `/openapi.json`. (Schemathesis's
# fixture-based loader relies on a pytest internal that pytest 9.2 removed.)
APP = create_app()
COUNTER = RequestCounter(APP)
# The curation operations need a key, and change the catalogue: fuzzed with one, on a
# database of their own, in `test_fuzzing_writes.py`.
schema = schemathesis.openapi.from_asgi("/openapi.json", COUNTER).exclude(tag="proposals")
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES_PER_OPERATION,
    deterministic=True,
)
# Invalid data may also be refused for its size: a request target over 8192 bytes is a
# 414 before any parameter is read (`app/security.py::URLLengthLimitMiddleware`).
rejection = schema.config.checks.negative_data_rejection
rejection.expected_statuses = [*rejection.expected_statuses, "414"]


@pytest.fixture(scope="module", autouse=True)
def seeded_catalogue(full_engine: Engine) -> Iterator[None]:
    """Point the app at the real catalogue in this run's database, and check afterwards
    that the run was as large as promised."""

    def read_only_session() -> Iterator[Session]:
        with Session(full_engine) as session:
            yield session

    APP.dependency_overrides[get_session] = read_only_session
    APP.dependency_overrides[get_primary_session] = read_only_session
    APP.dependency_overrides[get_export_session] = read_only_session
    COUNTER.requests = 0
    yield
    APP.dependency_overrides.clear()
    assert COUNTER.requests >= MINIMUM_REQUESTS, f"only {COUNTER.requests} requests were made"


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_every_operation_conforms_to_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(
        excluded_checks=[positive_data_acceptance],
        additional_checks=[valid_requests_are_accepted],
    )
