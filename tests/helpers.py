"""Helpers the tests share (fixtures live in `conftest.py`)."""

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import httpx2
import psycopg
import pytest
import sqlalchemy as sa
import yaml
from alembic import command
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select
from starlette.testclient import TestClient

from app.cli import alembic_config
from app.database import build_engine
from app.models import Exercise, ExerciseGoal, ExercisePhase
from app.problems import PROBLEM_JSON
from app.seeding.reading import Catalogue
from app.seeding.writing import seed_catalogue
from app.settings import PROJECT_ROOT
from bench.run import free_port

IN_CI = os.environ.get("CI", "").lower() == "true"

__all__ = [
    "IN_CI",
    "UPDATE_REASON",
    "ThrowawayCluster",
    "approve",
    "assert_problem",
    "copied_term_ids",
    "create_catalogue_database",
    "edit",
    "exercise_data",
    "free_port",
    "linked_term_ids",
    "pointers",
    "propose",
    "propose_summary",
    "server_bindir",
    "slugs",
    "snapshot",
    "term_data",
    "throwaway_cluster",
    "unavailable",
    "wait_until_ready",
    "walk",
]


def assert_problem(response: Any, status: int, parameter: str | None = None) -> dict[str, Any]:
    """`response` is an RFC 9457 problem with `status` (naming `parameter`, if given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    assert "Traceback" not in response.text
    if parameter is not None:
        assert parameter in [error["parameter"] for error in body["errors"]]
    return body


def walk(
    client: TestClient, url: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every page of a list, following `next_cursor`, returning the pages' bodies."""
    pages = []
    response = client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages
        response = client.get(url, params={**(params or {}), "cursor": cursor})


def slugs(response_body: dict[str, Any]) -> list[str]:
    return [item["slug"] for item in response_body["items"]]


def linked_term_ids(session: Session) -> dict[str, tuple[list[int], list[int]]]:
    """Each exercise's phase and goal ids as its links give them: what the copies on
    the exercise (`phase_ids`, `goal_ids`) must hold."""
    links: dict[str, tuple[list[int], list[int]]] = {
        slug: ([], []) for slug in session.exec(select(Exercise.slug))
    }
    for slug, phase_id in session.exec(
        select(Exercise.slug, ExercisePhase.phase_id).join(ExercisePhase)
    ):
        links[slug][0].append(phase_id)
    for slug, goal_id in session.exec(
        select(Exercise.slug, ExerciseGoal.goal_id).join(ExerciseGoal)
    ):
        links[slug][1].append(goal_id)
    return {slug: (sorted(phases), sorted(goals)) for slug, (phases, goals) in links.items()}


def copied_term_ids(session: Session) -> dict[str, tuple[list[int], list[int]]]:
    rows = session.exec(select(Exercise.slug, Exercise.phase_ids, Exercise.goal_ids))
    return {slug: (list(phases), list(goals)) for slug, phases, goals in rows}


def wait_until_ready(base_url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, f"server exited with {process.returncode}"
        try:
            if httpx2.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        assert time.monotonic() < deadline, f"{base_url} did not become ready"
        time.sleep(0.2)


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for before/after comparisons."""
    tables = {}
    for table in SQLModel.metadata.sorted_tables:
        rows = session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
        tables[table.name] = [tuple(row) for row in rows]
    return tables


def edit(path: Path, change: Callable[[Any], None]) -> None:
    """Change a catalogue file's YAML data in place."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


# Curation: proposals as a client makes them.

UPDATE_REASON = "Plainer words."
# In-process (the app's test client) or over a socket (a served app).
Client = TestClient | httpx2.Client


def exercise_data(slug: str) -> dict[str, Any]:
    """An exercise of the test catalogue in the seed format, as a proposal's data."""
    path = PROJECT_ROOT / "tests" / "fixtures" / "catalogue" / "exercises" / f"{slug}.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def term_data(kind: str, slug: str) -> dict[str, Any]:
    files = {"goal": "goals", "condition": "conditions", "source": "sources", "phase": "phases"}
    entries = yaml.safe_load(
        (PROJECT_ROOT / "tests" / "fixtures" / "catalogue" / f"{files[kind]}.yaml").read_text()
    )
    return dict(next(entry for entry in entries if entry["slug"] == slug))


def propose(client: Client, headers: dict[str, str], **body: Any) -> Any:
    body.setdefault("reason", UPDATE_REASON)
    return client.post("/v1/proposals", json=body, headers=headers)


def propose_summary(client: Client, keys: Any, summary: str, **extra: Any) -> Any:
    data = exercise_data("moist-heat") | {"summary": summary}
    response = propose(
        client,
        keys.curator,
        kind="exercise",
        action="update",
        slug="moist-heat",
        base_version=1,
        data=data,
        **extra,
    )
    assert response.status_code == 201, response.text
    return response.json()


def approve(client: Client, headers: dict[str, str], proposal_id: int, **body: Any) -> Any:
    return client.post(f"/v1/proposals/{proposal_id}/approve", json=body or None, headers=headers)


def approved(client: Client, keys: Any, **body: Any) -> dict[str, Any]:
    """Propose `body` as the curator and approve it as the reviewer, both asserted to
    succeed: for tests whose subject is what an approved change does, not curation."""
    proposal = propose(client, keys.curator, **body)
    assert proposal.status_code == 201, proposal.text
    decided = approve(client, keys.reviewer, proposal.json()["id"])
    assert decided.status_code == 200, decided.text
    answer: dict[str, Any] = decided.json()
    return answer


def pointers(body: dict[str, Any]) -> list[str]:
    return [error["pointer"] for error in body["errors"]]


# Throwaway PostgreSQL clusters (the database-fault and read-replica tests).

DATABASE = "catalogue"


def migrate(engine: Engine, revision: str = "head", *, down: bool = False) -> None:
    """Run the real migrations on `engine`."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    config.attributes["configure_logging"] = False
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if down:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)


def unavailable(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"CI=true requires the throwaway-cluster tests. {reason}", pytrace=False)
    pytest.skip(reason)


def server_bindir() -> Path | None:
    """The directory holding `initdb`, `pg_ctl` and `postgres` of an installed server."""
    candidates = []
    if pg_config := shutil.which("pg_config"):
        try:
            found = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            candidates.append(Path(found))
        except (OSError, subprocess.SubprocessError):
            pass
    # pg_config may belong to a client-only install; Debian keeps each server version's
    # binaries apart. Newest first.
    versioned = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versioned, key=lambda path: _version(path.parent.name), reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for directory in candidates:
        if all((directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def _version(name: str) -> list[int]:
    return [int(number) for number in re.findall(r"\d+", name)]


class ThrowawayCluster:
    """A PostgreSQL cluster in a directory of its own that tests may stop and start."""

    def __init__(
        self,
        bindir: Path,
        directory: Path,
        port: int,
        run_as: list[str],
        owner: tuple[int, int] | None = None,
    ):
        self.bindir = bindir
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "server.log"
        self.port = port
        self.run_as = run_as
        # The `postgres` account's (uid, gid) when the tests run as root.
        self.owner = owner
        self.running = False
        self.standbys: list[ThrowawayCluster] = []

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *arguments: str) -> None:
        result = subprocess.run(
            [*self.run_as, str(self.bindir / program), *arguments],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{program} {' '.join(arguments)} failed:\n{result.stderr}\n{log}")

    def initialise(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        # TCP on loopback only, and the Unix socket in our own directory, so that nothing
        # clashes with the machine's cluster on 5432. No fsync: the data is thrown away.
        settings = (
            "listen_addresses = '127.0.0.1'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.directory}'\n"
            "fsync = off\n"
        )
        with (self.data / "postgresql.conf").open("a") as config:
            config.write(settings)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "start")
        self.running = True

    def stop(self, mode: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")
        self.running = False

    def standby(self) -> "ThrowawayCluster":
        """A hot standby of this (running) cluster, started: a base backup taken with
        `pg_basebackup -R`, which makes it stream the primary's WAL from then on."""
        port = free_port()
        directory = self.directory / f"standby-{port}"
        directory.mkdir()
        if self.owner is not None:
            os.chown(directory, *self.owner)
        standby = ThrowawayCluster(self.bindir, directory, port, self.run_as, self.owner)
        self._run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast", "--no-sync",
        )  # fmt: skip
        # The primary's settings came with the backup; later lines win.
        with (standby.data / "postgresql.conf").open("a") as config:
            config.write(f"port = {port}\nunix_socket_directories = '{directory}'\n")
        standby.start()
        self.standbys.append(standby)
        return standby

    def processes(self) -> list[int]:
        """The postmaster's process id and its children's (the backends and workers)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            # The parent id is the second field after the command name, which may hold
            # spaces and brackets but ends at the last ")".
            if int(stat.rpartition(")")[2].split()[1]) == postmaster:
                children.append(int(entry.name))
        return [postmaster, *children]

    def execute(self, statement: str, database: str = "postgres") -> Any:
        """Run one statement outside any transaction; return the first column of its first row."""
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as connection:
            cursor = connection.execute(statement)
            row = cursor.fetchone() if cursor.description else None
            return row[0] if row else None


@contextmanager
def throwaway_cluster(prefix: str) -> Iterator[ThrowawayCluster]:
    """A running throwaway cluster (`initdb`/`pg_ctl` of the installed server, in a
    temporary directory, on a free port, as the `postgres` user when run as root, since
    the server refuses to run as root), stopped and removed afterwards with any
    standbys made of it. Skipped, saying why, where no server binaries exist; required
    under CI=true."""
    bindir = server_bindir()
    if bindir is None:
        unavailable("No PostgreSQL server binaries (initdb, pg_ctl) found on this machine")
    # Not pytest's tmp_path: it lies under a directory only root may enter.
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    run_as: list[str] = []
    owner = None
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        account = next((user for user in pwd.getpwall() if user.pw_name == "postgres"), None)
        if runuser is None or account is None:
            directory.rmdir()
            unavailable("Running as root, but there is no `postgres` user or no `runuser`")
        owner = (account.pw_uid, account.pw_gid)
        os.chown(directory, *owner)
        run_as = [runuser, "-u", "postgres", "--"]
    cluster = ThrowawayCluster(bindir, directory, free_port(), run_as, owner)
    try:
        cluster.initialise()
        cluster.start()
        yield cluster
    finally:
        try:
            for server in [*cluster.standbys, cluster]:
                if (server.data / "postmaster.pid").exists():
                    server.stop("immediate")
        finally:
            shutil.rmtree(directory)


def create_catalogue_database(cluster: ThrowawayCluster, catalogue: Catalogue) -> None:
    """The catalogue database in `cluster`, migrated and seeded with `catalogue`."""
    cluster.execute(f'CREATE DATABASE "{DATABASE}"')
    engine = build_engine(cluster.url())
    try:
        migrate(engine)
        with Session(engine) as session:
            seed_catalogue(session, catalogue)
    finally:
        engine.dispose()
