"""Many clients reading while the catalogue is reseeded with changed content.

A real server process (two workers) answers 32 client threads that read lists,
details, searches and the catalogue metadata, while this process reseeds the database
back and forth between two versions of the test catalogue. Every response must be
exactly the old or exactly the new catalogue's answer for its URL (never a mixed page,
never an error), but for the resources' `version` numbers, which every reseed moves on;
and one ETag always stands for the same bytes.
"""

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest
import yaml
from sqlmodel import Session

from app.database import build_engine
from app.seeding.reading import Catalogue, read_catalogue
from app.seeding.writing import seed_catalogue
from tests.conftest import DOCUMENTS, FIXTURE_CATALOGUE, TemporaryDatabases, make_keys, migrate
from tests.helpers import approve, free_port, propose_summary, wait_until_ready

# Each version is always written with the same time, so its bytes (which include
# `updated_at`) are the same every time it comes back.
OLD_TIME = datetime(2026, 1, 1, tzinfo=UTC)
NEW_TIME = datetime(2026, 2, 1, tzinfo=UTC)
REVALIDATE_SECONDS = 0.05
# How long a cache may take to learn of a new revision before the test gives up on it.
NEW_REVISION_SECONDS = 10
CLIENTS = 32
READ_SECONDS = 4.0
MIN_RESEEDS = 10
URLS = [
    "/v1/exercises",
    "/v1/exercises?phase=acute&limit=2",
    "/v1/exercises?q=stretch",
    "/v1/exercises?safe_for=acute-hamstring-strain",
    "/v1/exercises/lying-hamstring-stretch",
    "/v1/goals/strength",
    "/v1/catalogue",
]


def revised_catalogue(directory: Path) -> Catalogue:
    """The test catalogue with every exercise summary and one goal reworded."""
    edited = shutil.copytree(FIXTURE_CATALOGUE, directory / "revised")
    for path in (edited / "exercises").glob("*.yaml"):
        entry = yaml.safe_load(path.read_text())
        entry["summary"] = "Revised: " + entry["summary"]
        path.write_text(yaml.safe_dump(entry, allow_unicode=True, sort_keys=False))
    goals_path = edited / "goals.yaml"
    goals = yaml.safe_load(goals_path.read_text())
    for goal in goals:
        if goal["slug"] == "strength":
            goal["description"] = "Revised: " + goal["description"]
    goals_path.write_text(yaml.safe_dump(goals, allow_unicode=True, sort_keys=False))
    return read_catalogue(edited, DOCUMENTS)


_VERSION_NUMBER = re.compile(rb'"version":\d+')


def without_versions(body: bytes) -> bytes:
    """A body with each resource's version number blanked out (the catalogue's own
    `version`, a string, stays)."""
    return _VERSION_NUMBER.sub(b'"version":0', body)


def snapshot(client: httpx2.Client) -> dict[str, tuple[bytes, str]]:
    """Body (without version numbers) and ETag of every URL, read while nothing is
    changing."""
    answers = {}
    for url in URLS:
        response = client.get(url)
        assert response.status_code == 200, response.text
        answers[url] = (without_versions(response.content), response.headers["etag"])
    return answers


@pytest.fixture
def served_database(databases: TemporaryDatabases, database_kind: str, tmp_path: Path):
    """A fresh, seeded database of this run's kind, served by a real two-worker server."""
    url = databases.create(database_kind)
    engine = build_engine(url)
    migrate(engine)
    with Session(engine) as session:
        seed_catalogue(session, read_catalogue(FIXTURE_CATALOGUE, DOCUMENTS), now=OLD_TIME)
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "catalogue"),
            "serve",
            "--no-setup",
            "--port",
            str(port),
        ],
        # The response cache stays on (it is what production runs), checking for a new
        # revision every 50 ms instead of every second to keep the test short.
        env={
            **os.environ,
            "DATABASE_URL": url,
            "WEB_CONCURRENCY": "2",
            "RESPONSE_CACHE_REVALIDATE_SECONDS": str(REVALIDATE_SECONDS),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url, server)
        yield engine, base_url
    finally:
        server.terminate()
        server.wait(timeout=10)
        engine.dispose()


class TestReadsDuringReseed:
    def test_every_answer_is_wholly_old_or_wholly_new(self, served_database, tmp_path):
        engine, base_url = served_database
        original = read_catalogue(FIXTURE_CATALOGUE, DOCUMENTS)
        revised = revised_catalogue(tmp_path)

        with httpx2.Client(base_url=base_url, timeout=10) as client:
            old = snapshot(client)
        with Session(engine) as session:
            seed_catalogue(session, revised, now=NEW_TIME)
        # Each worker's cache learns of the new revision within a few checks; on a busy
        # machine its checking thread may wait its turn, so the test waits for it too.
        deadline = time.monotonic() + NEW_REVISION_SECONDS
        with httpx2.Client(base_url=base_url, timeout=10) as client:
            while True:
                new = snapshot(client)
                if all(new[url][1] != old[url][1] for url in URLS):
                    break
                if time.monotonic() > deadline:
                    break  # the assertions below say which URL is still old
                time.sleep(REVALIDATE_SECONDS)
        for url in URLS:
            assert old[url][0] != new[url][0], f"{url} should differ between the versions"
            assert old[url][1] != new[url][1], f"{url}: a content change must change the ETag"

        seen: Counter[tuple[str, str]] = Counter()
        bytes_of_etag: dict[str, bytes] = {}
        problems: list[str] = []
        stop = threading.Event()

        def read_repeatedly(offset: int) -> None:
            with httpx2.Client(base_url=base_url, timeout=10) as client:
                index = offset
                while not stop.is_set():
                    url = URLS[index % len(URLS)]
                    index += 1
                    try:
                        response = client.get(url)
                    except httpx2.HTTPError as error:
                        problems.append(f"{url}: {error!r}")
                        continue
                    body = without_versions(response.content)
                    etag = response.headers.get("etag", "")
                    if bytes_of_etag.setdefault(etag, response.content) != response.content:
                        problems.append(f"{url}: ETag {etag} stood for other bytes before")
                    if response.status_code != 200:
                        problems.append(f"{url}: {response.status_code} {response.text[:200]}")
                    elif body == old[url][0]:
                        seen[(url, "old")] += 1
                    elif body == new[url][0]:
                        seen[(url, "new")] += 1
                    else:
                        problems.append(f"{url}: neither version: {response.text[:200]}")

        readers = [
            threading.Thread(target=read_repeatedly, args=(offset,)) for offset in range(CLIENTS)
        ]
        for reader in readers:
            reader.start()
        reseeds = 0
        # At least READ_SECONDS and MIN_RESEEDS: under 32 readers a reseed's time varies
        # several-fold with the machine's speed, so a fixed time alone may see too few.
        deadline = time.monotonic() + READ_SECONDS
        give_up = deadline + 60
        try:
            while time.monotonic() < deadline or reseeds < MIN_RESEEDS:
                assert time.monotonic() < give_up, f"only {reseeds} reseeds in a minute"
                with Session(engine) as session:
                    if reseeds % 2 == 0:
                        seed_catalogue(session, original, now=OLD_TIME)
                    else:
                        seed_catalogue(session, revised, now=NEW_TIME)
                reseeds += 1
                time.sleep(0.05)
        finally:
            stop.set()
            for reader in readers:
                reader.join(timeout=30)

        assert problems == []
        # Both versions were really served to the readers, for every URL.
        assert {key for key in seen} == {
            (url, version) for url in URLS for version in ("old", "new")
        }


class TestApprovalReachesEveryWorker:
    def test_every_worker_serves_an_approved_change_within_two_seconds(
        self, databases: TemporaryDatabases, database_kind: str
    ):
        url = databases.create(database_kind)
        engine = build_engine(url)
        migrate(engine)
        with Session(engine) as session:
            seed_catalogue(session, read_catalogue(FIXTURE_CATALOGUE, DOCUMENTS))
            keys = make_keys(session)
        port = free_port()
        # Two workers with the response cache at its production setting.
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "catalogue"),
                "serve",
                "--no-setup",
                "--port",
                str(port),
            ],
            env={**os.environ, "DATABASE_URL": url, "WEB_CONCURRENCY": "2"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(base_url, server)
            with httpx2.Client(base_url=base_url, timeout=10) as client:
                old = {client.get("/v1/exercises/moist-heat").headers["etag"] for _ in range(40)}
                assert len(old) == 1
                proposal = propose_summary(client, keys, "Approved a moment ago.")
                response = approve(client, keys.reviewer, proposal["id"])
                assert response.status_code == 200, response.text
                approved_at = time.monotonic()
                time.sleep(max(0.0, approved_at + 2.0 - time.monotonic()))
                seen = [client.get("/v1/exercises/moist-heat") for _ in range(40)]
            assert {r.json()["summary"] for r in seen} == {"Approved a moment ago."}
            assert {r.headers["etag"] for r in seen}.isdisjoint(old)
        finally:
            server.terminate()
            server.wait(timeout=10)
            engine.dispose()
