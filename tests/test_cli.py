"""The `catalogue` command as operators run it: a real process on a fresh database."""

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx2
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.database import build_engine
from app.seeding.reading import read_catalogue
from app.writer import CATALOGUE_WRITE_LOCK
from tests.conftest import DOCUMENTS, FIXTURE_CATALOGUE
from tests.helpers import wait_until_ready

CATALOGUE = str(Path(sys.executable).parent / "catalogue")


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    """A fresh SQLite database and a seed directory holding the test catalogue."""
    seed = tmp_path / "seed"
    shutil.copytree(DOCUMENTS, seed, ignore=shutil.ignore_patterns("catalogue", "*.md"))
    shutil.copytree(FIXTURE_CATALOGUE, seed / "catalogue")
    return {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SEED_DIR": str(seed)}


def run(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CATALOGUE, *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class TestCatalogueCommand:
    def test_migrate_then_seed_twice(self, environment):
        assert run(environment, "migrate").returncode == 0
        first = run(environment, "seed")
        assert first.returncode == 0, first.stderr
        assert first.stdout.endswith(": 8 inserted, 0 updated, 0 deleted\n")
        second = run(environment, "seed")
        assert second.returncode == 0
        assert second.stdout.endswith("already up to date\n")

    def test_seed_refuses_a_bad_catalogue(self, environment):
        assert run(environment, "migrate").returncode == 0
        path = Path(environment["SEED_DIR"]) / "catalogue" / "exercises" / "moist-heat.yaml"
        path.write_text(path.read_text().replace("goals:\n- pain-relief", "goals:\n- levitation"))
        result = run(environment, "seed")
        assert result.returncode == 1
        assert (
            f"{path}: exercise 'moist-heat': goals[0]: unknown slug 'levitation'" in result.stderr
        )

    def test_verify_sources(self, environment):
        result = run(environment, "verify-sources")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "5 sources and 10 evidence quotes verified\n"

    def test_find_quote_prints_offsets(self, environment):
        document = Path(environment["SEED_DIR"]) / "002_13ae85b7099487a5.txt"
        result = run(environment, "find-quote", str(document), "Late phase, return-to-sport")
        text = document.read_text(encoding="utf-8")
        start = text.index("Late phase, return-to-sport")
        assert result.stdout == (
            f'{{"quote": "Late phase, return-to-sport", "start": {start}, "end": {start + 27}}}\n'
        )
        assert run(environment, "find-quote", str(document), "not in there").returncode == 1

    def test_find_quote_names_a_document_it_cannot_read(self, environment, tmp_path):
        undecodable = tmp_path / "latin-1.txt"
        undecodable.write_bytes(b"caf\xe9")
        result = run(environment, "find-quote", str(undecodable), "caf")
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr == (
            f"{undecodable}: not UTF-8: 'utf-8' codec can't decode byte 0xe9 in position 3: "
            "unexpected end of data\n"
        )
        result = run(environment, "find-quote", str(tmp_path), "caf")
        assert (result.returncode, result.stderr) == (1, f"{tmp_path}: not a file\n")

    def test_serve_migrates_seeds_and_answers(self, environment):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            [CATALOGUE, "serve", "--port", str(port)],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    response = httpx2.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                    if response.status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                assert time.monotonic() < deadline, "server did not become ready"
                time.sleep(0.2)
            listing = httpx2.get(f"http://127.0.0.1:{port}/v1/exercises", params={"phase": "acute"})
            assert listing.json()["total"] == 5
            assert "server" not in listing.headers
        finally:
            server.terminate()
            server.wait(timeout=10)


def free_local_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stored(url: str, query: str) -> list[tuple]:
    engine = build_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(query))]
    finally:
        engine.dispose()


@pytest.fixture
def seed_environment(environment, databases, database_kind) -> dict[str, str]:
    """`environment` on a migrated database of either kind, whose statement (or busy)
    timeout is 1 s: a seed that waits longer waits past it."""
    url = (
        environment["DATABASE_URL"] if database_kind == "sqlite" else databases.create("postgresql")
    )
    seeding = {**environment, "DATABASE_URL": url, "DATABASE_TIMEOUT_SECONDS": "1"}
    assert run(seeding, "migrate").returncode == 0
    return seeding


@contextmanager
def catalogue_write_lock(url: str) -> Iterator[None]:
    """Hold the catalogue's write lock, as a seed or an approval in progress does."""
    if make_url(url).get_backend_name() == "sqlite":
        writer = sqlite3.connect(str(make_url(url).database), isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        return
    engine = build_engine(url)
    with engine.connect() as connection:
        lock = {"lock": CATALOGUE_WRITE_LOCK}
        connection.execute(sa.text("SELECT pg_advisory_lock(:lock)"), lock)
        try:
            yield
        finally:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:lock)"), lock)
    engine.dispose()


def start_seed(environment: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CATALOGUE, "seed"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_line(stream: IO[str] | None) -> str:
    assert stream is not None
    return stream.readline()


WAITING = "waiting for another seed or approval to finish (up to 600 s)\n"


class TestConcurrentSeeds:
    """Replicas starting together each seed: one at a time, each told why it waits."""

    def test_two_seeds_both_finish_one_after_the_other(self, seed_environment):
        url = seed_environment["DATABASE_URL"]
        with catalogue_write_lock(url):
            seeds = [start_seed(seed_environment), start_seed(seed_environment)]
            # Each says it waits (the line is written as its wait begins)...
            assert [first_line(seed.stderr) for seed in seeds] == [WAITING, WAITING]
            # ...and keeps waiting past the 1 s a statement (or SQLite's busy wait) may take.
            time.sleep(1.5)
            assert [seed.poll() for seed in seeds] == [None, None]
        results = [seed.communicate(timeout=60) for seed in seeds]
        assert [seed.returncode for seed in seeds] == [0, 0], results
        assert [stderr for _, stderr in results] == ["", ""]
        # One wrote the catalogue (the files', written once); the other found it done.
        version = read_catalogue(FIXTURE_CATALOGUE, DOCUMENTS).version()
        assert sorted(stdout for stdout, _ in results) == [
            f"catalogue {version[:12]} already up to date\n",
            f"seeded catalogue {version[:12]}: 8 inserted, 0 updated, 0 deleted\n",
        ]
        assert stored(url, "SELECT version FROM catalogue_state") == [(version,)]
        assert stored(
            url,
            "SELECT action, count(*) FROM catalogue_change WHERE kind = 'exercise' GROUP BY action",
        ) == [("created", 8)]

    def test_a_seed_that_waits_too_long_says_so_and_writes_nothing(self, seed_environment):
        url = seed_environment["DATABASE_URL"]
        with catalogue_write_lock(url):
            result = run({**seed_environment, "SEED_LOCK_TIMEOUT_SECONDS": "1"}, "seed")
        assert result.returncode == 1
        assert result.stderr == (
            "waiting for another seed or approval to finish (up to 1 s)\n"
            "Another seed or approval held the catalogue's write lock for more than 1 s; "
            "nothing was written.\n"
        )
        assert stored(url, "SELECT count(*) FROM exercise") == [(0,)]


class TestDeletions:
    """A reseed deletes the exercises whose files are gone, naming them; a server's seed
    at start-up does not, unless told to: a file lost in a deployment would delete its
    exercise at every boot."""

    @pytest.fixture
    def seeded(self, environment) -> dict[str, str]:
        assert run(environment, "migrate").returncode == 0
        assert run(environment, "seed").returncode == 0
        (Path(environment["SEED_DIR"]) / "catalogue" / "exercises" / "moist-heat.yaml").unlink()
        return environment

    def exercises(self, environment: dict[str, str]) -> list[tuple]:
        return stored(environment["DATABASE_URL"], "SELECT slug FROM exercise ORDER BY slug")

    def test_a_reseed_names_what_it_deletes(self, seeded):
        result = run(seeded, "seed")
        assert result.returncode == 0, result.stderr
        version = read_catalogue(Path(seeded["SEED_DIR"]) / "catalogue", DOCUMENTS).version()
        assert result.stdout == (
            "deleted exercise 'moist-heat' (its file is gone)\n"
            f"seeded catalogue {version[:12]}: 0 inserted, 0 updated, 1 deleted\n"
        )
        assert ("moist-heat",) not in self.exercises(seeded)

    def test_serve_refuses_to_delete_at_start_up(self, seeded):
        before = self.exercises(seeded)
        result = run(seeded, "serve", "--port", str(free_local_port()))
        assert result.returncode == 1
        assert result.stderr.endswith(
            "1 problem(s) in the catalogue:\n"
            "exercises/moist-heat.yaml: missing, and retired.yaml does not retire exercise "
            "'moist-heat': seeding would delete it\n"
            "(nothing was written: restore the files, retire the slugs in retired.yaml, or "
            "serve with --allow-deletes or SEED_ALLOW_DELETES=true to delete them)\n"
        ), result.stderr
        assert self.exercises(seeded) == before

    def test_serve_deletes_when_allowed(self, seeded):
        port = free_local_port()
        server = subprocess.Popen(
            [CATALOGUE, "serve", "--port", str(port), "--allow-deletes"],
            env=seeded,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_ready(f"http://127.0.0.1:{port}", server)
            response = httpx2.get(f"http://127.0.0.1:{port}/v1/exercises/moist-heat")
            assert response.status_code == 410
        finally:
            server.terminate()
            server.wait(timeout=10)
        assert ("moist-heat",) not in self.exercises(seeded)


class TestKeysCommand:
    def test_create_list_revoke(self, environment):
        assert run(environment, "migrate").returncode == 0
        created = run(environment, "keys", "create", "alex", "--role", "curator")
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip()
        assert key.startswith("eck_")
        listed = run(environment, "keys", "list")
        assert listed.stdout.startswith("alex  curator  created ")
        assert key.split("_", 2)[2] not in listed.stdout
        assert run(environment, "keys", "create", "alex", "--role", "reviewer").returncode == 1
        assert run(environment, "keys", "revoke", "alex").stdout == "revoked alex\n"
        assert "  revoked " in run(environment, "keys", "list").stdout
        assert run(environment, "keys", "revoke", "nobody").returncode == 1

    def test_an_unknown_role_is_refused(self, environment):
        assert run(environment, "migrate").returncode == 0
        result = run(environment, "keys", "create", "alex", "--role", "admin")
        assert result.returncode == 2
        assert run(environment, "keys", "list").stdout == ""


class TestExportCommand:
    def test_an_export_seeds_to_the_same_catalogue(self, environment, tmp_path):
        assert run(environment, "migrate").returncode == 0
        assert run(environment, "seed").returncode == 0
        exported = run(environment, "export", str(tmp_path / "export"))
        assert exported.stdout == f"exported 8 exercises and 5 documents to {tmp_path / 'export'}\n"
        reseeded = run({**environment, "SEED_DIR": str(tmp_path / "export")}, "seed")
        assert reseeded.returncode == 0, reseeded.stderr
        assert reseeded.stdout.endswith("already up to date\n")
        assert run(environment, "export", str(tmp_path / "export")).returncode == 1
