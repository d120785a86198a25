"""The `catalogue` command as operators run it: a real process on a fresh database."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from tests.conftest import DOCUMENTS, FIXTURE_CATALOGUE

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
