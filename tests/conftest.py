"""Shared fixtures.

Every API test runs twice: on SQLite and on PostgreSQL. Each database is built once per
run by the real Alembic migrations and seeded with the small test catalogue in
`tests/fixtures/catalogue`; each test then runs inside a transaction that is rolled back,
so tests cannot see each other's writes. The PostgreSQL leg is skipped, saying why,
when no server is reachable, except under CI=true where it must run.
"""

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session
from starlette.testclient import TestClient

from app.database import build_engine
from app.dependencies import (
    AppResources,
    get_export_session,
    get_primary_session,
    get_session,
    get_write_session,
)
from app.keys import create_key
from app.main import create_app
from app.seeding.format import ExerciseEntry
from app.seeding.reading import Catalogue, read_catalogue
from app.seeding.writing import seed_catalogue
from app.settings import PROJECT_ROOT, Settings, get_settings
from app.vocabulary import KeyRole
from tests.helpers import IN_CI, free_port, migrate, wait_until_ready

FIXTURE_CATALOGUE = PROJECT_ROOT / "tests" / "fixtures" / "catalogue"
DOCUMENTS = PROJECT_ROOT / "seed"
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
__all__ = ["IN_CI", "migrate"]  # re-exported: tests import them from here too


def postgres_unavailable_reason() -> str | None:
    engine = build_engine(POSTGRES_ADMIN_URL, timeout_seconds=3)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {str(error).splitlines()[0]}"
    finally:
        engine.dispose()
    return None


def require_postgres() -> None:
    reason = postgres_unavailable_reason()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true requires the PostgreSQL leg. {reason}", pytrace=False)
    pytest.skip(f"{reason} (set TEST_POSTGRES_URL to run this leg)")


class TemporaryDatabases:
    """Creates empty databases of either kind, and removes them at the end of the run."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.postgres_names: list[str] = []

    def create(self, kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{self.directory / f'{uuid.uuid4().hex[:8]}.db'}"
        require_postgres()
        name = f"catalogue_test_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        self.postgres_names.append(name)
        return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for name in self.postgres_names:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @staticmethod
    def _admin(statement: str) -> None:
        # Dropping a database waits for its sessions to end: allow more than the API's 5 s.
        engine = build_engine(POSTGRES_ADMIN_URL, timeout_seconds=60).execution_options(
            isolation_level="AUTOCOMMIT"
        )
        with engine.connect() as connection:
            connection.execute(sa.text(statement))
        engine.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporaryDatabases]:
    databases = TemporaryDatabases(tmp_path_factory.mktemp("databases"))
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    """The test catalogue, as read from its files: the oracle tests compare against."""
    return read_catalogue(FIXTURE_CATALOGUE, DOCUMENTS)


@pytest.fixture(scope="session")
def engine(
    databases: TemporaryDatabases, database_kind: str, catalogue: Catalogue
) -> Iterator[Engine]:
    """A migrated database seeded with the test catalogue, shared by the whole run."""
    engine = build_engine(databases.create(database_kind))
    migrate(engine)
    with Session(engine) as session:
        seed_catalogue(session, catalogue)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose every write, commits included, is rolled back after the test."""
    connection = engine.connect()
    transaction = connection.begin()
    # As the app's read sessions are: what a query returned stays readable after a commit.
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield session
    session.close()
    transaction.rollback()
    connection.close()


@pytest.fixture
def client(session: Session) -> Iterator[TestClient]:
    """The app, reading and writing through the test's session (rolled back after it)."""

    def write_session() -> Iterator[Session]:
        try:
            yield session
        except BaseException:
            session.rollback()  # to the test's savepoint, as a write's error would
            raise

    def export_session() -> Iterator[Session]:
        yield session
        session.commit()  # as an export's own session ends: its snapshot with it

    app = create_app()
    app.dependency_overrides[get_session] = lambda: session
    app.dependency_overrides[get_primary_session] = lambda: session
    app.dependency_overrides[get_export_session] = export_session
    app.dependency_overrides[get_write_session] = write_session
    with TestClient(app) as client:
        yield client


@dataclass(frozen=True)
class Keys:
    """Authorization headers of three keys: a curator and two reviewers."""

    curator: dict[str, str]
    reviewer: dict[str, str]
    other_reviewer: dict[str, str]
    tokens: tuple[str, ...]


def make_keys(session: Session) -> Keys:
    now = datetime.now(UTC)
    tokens = (
        create_key(session, name="alex", role=KeyRole.curator, now=now),
        create_key(session, name="sam", role=KeyRole.reviewer, now=now),
        create_key(session, name="kim", role=KeyRole.reviewer, now=now),
    )
    curator, reviewer, other = ({"Authorization": f"Bearer {token}"} for token in tokens)
    return Keys(curator, reviewer, other, tokens)


@pytest.fixture(scope="session")
def keys(engine: Engine) -> Keys:
    """Keys in the shared test database, made once (each costs a deliberately slow
    scrypt): `alex` (curator), `sam` and `kim` (reviewers). A test that revokes one does
    so in its own rolled-back transaction."""
    with Session(engine) as session:
        return make_keys(session)


@pytest.fixture
def catalogue_dir(tmp_path: Path) -> Path:
    """An editable copy of the test catalogue."""
    return Path(shutil.copytree(FIXTURE_CATALOGUE, tmp_path / "catalogue"))


@pytest.fixture
def expected(catalogue: Catalogue) -> Callable[[Callable[[ExerciseEntry], bool]], list[str]]:
    """Slugs of the test catalogue's exercises matching a predicate, in name order."""

    def matching(predicate: Callable[[ExerciseEntry], bool]) -> list[str]:
        entries = sorted(catalogue.exercises, key=lambda entry: entry.name)
        return [entry.slug for entry in entries if predicate(entry)]

    return matching


@pytest.fixture(scope="session")
def full_catalogue() -> Catalogue:
    """The real catalogue in seed/catalogue, as curated from the five documents."""
    return read_catalogue(DOCUMENTS / "catalogue", DOCUMENTS)


@pytest.fixture(scope="session")
def full_engine(
    databases: TemporaryDatabases, database_kind: str, full_catalogue: Catalogue
) -> Iterator[Engine]:
    engine = build_engine(databases.create(database_kind))
    migrate(engine)
    with Session(engine) as session:
        seed_catalogue(session, full_catalogue)
    yield engine
    engine.dispose()


@pytest.fixture
def full_client(full_engine: Engine) -> Iterator[TestClient]:
    """A client over the real catalogue (read-only tests)."""

    def read_only_session() -> Iterator[Session]:
        with Session(full_engine) as session:
            yield session

    app = create_app()
    app.dependency_overrides[get_session] = read_only_session
    app.dependency_overrides[get_primary_session] = read_only_session
    app.dependency_overrides[get_export_session] = read_only_session
    with TestClient(app) as client:
        yield client


@pytest.fixture
def database(
    databases: TemporaryDatabases, database_kind: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """A fresh, committed, seeded database that apps built from settings reach (through
    `DATABASE_URL`), for tests of the real session handling rather than a rolled-back one."""
    url = databases.create(database_kind)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    # Each app the test builds has an engine of its own; FastAPI keeps apps alive, so
    # their pools are closed here rather than left open for the rest of the run.
    built: list[AppResources] = []
    build = AppResources.from_settings

    def recorded(settings: Settings) -> AppResources:
        built.append(build(settings))
        return built[-1]

    monkeypatch.setattr(AppResources, "from_settings", recorded)
    engine = build_engine(url)
    migrate(engine)
    with Session(engine) as session:
        seed_catalogue(session, read_catalogue(FIXTURE_CATALOGUE, DOCUMENTS))
    yield engine
    engine.dispose()
    for resources in built:
        resources.dispose()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `catalogue serve` process over the real catalogue on a fresh SQLite file,
    for clients that need a socket (a browser, a generated client). Yields its base URL."""
    directory = tmp_path_factory.mktemp("live-server")
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{directory / 'live.db'}"}
    log = (directory / "server.log").open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "catalogue"), "serve", "--port", str(port)],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url, process)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
