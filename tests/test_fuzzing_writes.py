"""Property-based fuzzing of the curation operations, authenticated, against a database
of their own (approvals change the catalogue): no server error, a documented status
and content type, and a body that conforms to the documented schema, for valid and
invalid requests alike. Operations needing no key are fuzzed in `test_fuzzing.py`."""

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import hypothesis
import pytest
import schemathesis
import sqlalchemy as sa
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlmodel import Session

from app.database import build_engine, write_engine
from app.dependencies import get_primary_session, get_session, get_write_session
from app.keys import hash_secret
from app.main import create_app
from app.models import ApiKey
from app.seeding.writing import seed_catalogue
from app.settings import Settings
from app.vocabulary import KeyRole
from tests.conftest import TemporaryDatabases, make_keys, migrate
from tests.test_fuzzing import RequestCounter

EXAMPLES_PER_OPERATION = 100
MINIMUM_REQUESTS = 500

APP = create_app(Settings(curation_writes_per_hour=10**6))
COUNTER = RequestCounter(APP)
schema = schemathesis.openapi.from_asgi("/openapi.json", COUNTER).include(tag="proposals")
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES_PER_OPERATION,
    deterministic=True,
)
rejection = schema.config.checks.negative_data_rejection
rejection.expected_statuses = [*rejection.expected_statuses, "413", "414", "415"]
# The reviewer's key, fixed before collection: schemathesis may ask for it (and keep
# it) before the database that holds it exists.
LOOKUP, SECRET = secrets.token_hex(6), secrets.token_urlsafe(32)
AUTHORIZATION = {"Authorization": f"Bearer eck_{LOOKUP}_{SECRET}"}


@schema.auth(refresh_interval=None)
class ReviewerKey:
    """A reviewer's key on every request (schemathesis leaves it off the requests that
    test what happens without one)."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return AUTHORIZATION["Authorization"]

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = data


@pytest.fixture(scope="module", autouse=True)
def curation_database(
    databases: TemporaryDatabases, database_kind: str, catalogue
) -> Iterator[None]:
    """A seeded database with keys, that the app reads and writes with its real session
    handling (a write commits, or rolls back on any error)."""
    engine = build_engine(databases.create(database_kind))
    migrate(engine)
    with Session(engine) as session:
        seed_catalogue(session, catalogue)
        make_keys(session)  # an author, whose proposals the reviewer may decide
        session.add(
            ApiKey(
                name="fuzzer",
                role=KeyRole.reviewer,
                lookup=LOOKUP,
                secret_hash=hash_secret(SECRET),
                created_at=datetime.now(UTC),
            )
        )
        session.commit()

    def read_session() -> Iterator[Session]:
        with Session(engine, expire_on_commit=False) as session:
            yield session

    def write_session() -> Iterator[Session]:
        session = Session(write_engine(engine), expire_on_commit=False)
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        else:
            session.commit()
        finally:
            session.close()

    APP.dependency_overrides[get_session] = read_session
    APP.dependency_overrides[get_primary_session] = read_session
    APP.dependency_overrides[get_write_session] = write_session
    COUNTER.requests = 0
    yield
    APP.dependency_overrides.clear()
    with Session(engine) as session:
        written = session.execute(sa.text("SELECT count(*) FROM proposal")).scalar_one()
    engine.dispose()
    assert COUNTER.requests >= MINIMUM_REQUESTS, f"only {COUNTER.requests} requests were made"
    # The key was used: writes got past authentication, the schema's example among them.
    assert written > 0


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_every_curation_operation_conforms_to_its_schema(case: schemathesis.Case) -> None:
    # A schema-valid proposal may still be refused for what it says (422), for the
    # catalogue's state (409) or for a decided or unknown proposal (404, 409).
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
