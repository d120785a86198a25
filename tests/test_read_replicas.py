"""Public reads on a PostgreSQL streaming replica (`DATABASE_REPLICA_URLS`).

The suite makes a throwaway primary and a hot standby of it (`initdb`, `pg_basebackup
-R`, `pg_ctl`, as the `postgres` user: `tests/helpers.py::throwaway_cluster`), and a real
`catalogue serve` pointed at both. With the standby's WAL replay paused, the standby
is a catalogue behind the primary's, so where an answer came from shows in what it
says: public reads answer from the standby, while writes, readiness and requests with
`Authorization` answer from the primary; once replay resumes, the response cache
serves the new revision. Stopping the standby sends reads to the primary at once, and
they come back to it once it is up again.

Skipped, saying why, where no PostgreSQL server binaries exist; required under CI=true.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from app.database import build_engine
from app.seeding.reading import Catalogue
from tests.conftest import Keys, make_keys
from tests.helpers import (
    ThrowawayCluster,
    approve,
    create_catalogue_database,
    free_port,
    propose_summary,
    throwaway_cluster,
    wait_until_ready,
)

pytestmark = pytest.mark.postgresql

CATALOGUE = str(Path(sys.executable).parent / "catalogue")
DATABASE_TIMEOUT_SECONDS = 2
# How long a failed replica is left out before reads are sent to it again.
RETRY_SECONDS = 1
REVALIDATE_SECONDS = 0.2
# What an answer may take beyond the database timeout on a busy two-core machine.
MARGIN_SECONDS = 3
EXERCISE = "/v1/exercises/moist-heat"
NEW_SUMMARY = "Written on the primary."


@dataclass
class Deployment:
    primary: ThrowawayCluster
    standby: ThrowawayCluster
    base_url: str
    process: subprocess.Popen[bytes]
    keys: Keys

    def scrape(self) -> dict[tuple[str, str], float]:
        """Each read counter of `/metrics`, by name and database."""
        text = httpx2.get(f"{self.base_url}/metrics", timeout=10).text
        return {
            (sample.name, sample.labels["database"]): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name.startswith("catalogue_database_read")
        }


def replayed(primary: ThrowawayCluster, standby: ThrowawayCluster, seconds: float = 20) -> None:
    """Wait until the standby has replayed everything the primary has written."""
    target = primary.execute("SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + seconds
    while standby.execute(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") is not True:
        assert time.monotonic() < deadline, "the standby did not catch up"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def deployment(
    catalogue: Catalogue, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with throwaway_cluster("catalogue-replicas-") as primary:
        create_catalogue_database(primary, catalogue)
        engine = build_engine(primary.url())
        try:
            with Session(engine) as session:
                keys = make_keys(session)
        finally:
            engine.dispose()
        standby = primary.standby()
        replayed(primary, standby)
        assert standby.execute("SELECT pg_is_in_recovery()") is True
        port = free_port()
        environment = {
            **os.environ,
            "DATABASE_URL": primary.url(),
            "DATABASE_REPLICA_URLS": standby.url(),
            "DATABASE_TIMEOUT_SECONDS": str(DATABASE_TIMEOUT_SECONDS),
            "DATABASE_REPLICA_RETRY_SECONDS": str(RETRY_SECONDS),
            "RESPONSE_CACHE_REVALIDATE_SECONDS": str(REVALIDATE_SECONDS),
        }
        log = tmp_path_factory.mktemp("replicas") / "server.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [CATALOGUE, "serve", "--no-setup", "--port", str(port)],
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_until_ready(base_url, process)
            yield Deployment(primary, standby, base_url, process, keys)
        finally:
            process.terminate()
            process.wait(timeout=20)
        assert "Traceback" not in log.read_text()


_CLIENTS = count()


def uncached(deployment: Deployment, path: str, **headers: str) -> httpx2.Response:
    """GET `path` as a client the response cache has never answered (an `Origin` of
    its own), so that it reaches the app and a database."""
    origin = f"https://client-{next(_CLIENTS)}.example"
    return httpx2.get(
        f"{deployment.base_url}{path}", headers={"Origin": origin, **headers}, timeout=10
    )


def summary(response: httpx2.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["summary"])


class TestReadsGoToTheReplica:
    def test_public_reads_answer_from_the_standby_and_the_rest_from_the_primary(
        self, deployment: Deployment
    ):
        before = summary(uncached(deployment, EXERCISE))
        cached = httpx2.get(f"{deployment.base_url}{EXERCISE}")
        reads = deployment.scrape()
        deployment.standby.execute("SELECT pg_wal_replay_pause()")
        try:
            with httpx2.Client(base_url=deployment.base_url, timeout=10) as client:
                # A write, with replicas configured: on the primary (a standby refuses).
                proposal = propose_summary(client, deployment.keys, NEW_SUMMARY)
                approved = approve(client, deployment.keys.reviewer, proposal["id"])
                assert approved.status_code == 200, approved.text
                # The same request with a key: the primary, which has the change.
                with_key = client.get(EXERCISE, headers=deployment.keys.curator)
                assert summary(with_key) == NEW_SUMMARY
                assert client.get(
                    f"/v1/proposals/{proposal['id']}", headers=deployment.keys.curator
                ).json()["status"] == ("approved")
            time.sleep(REVALIDATE_SECONDS * 3)
            # Without one: the standby, still at the revision before the change, and
            # the response cache with it.
            assert summary(uncached(deployment, EXERCISE)) == before
            again = httpx2.get(f"{deployment.base_url}{EXERCISE}")
            assert (summary(again), again.headers["etag"]) == (before, cached.headers["etag"])
            assert (
                deployment.scrape()[("catalogue_database_reads_total", "replica-1")]
                > (reads[("catalogue_database_reads_total", "replica-1")])
            )

            # Readiness judges the primary's migrations, not the standby's.
            version = deployment.primary.execute(
                "SELECT version_num FROM alembic_version", "catalogue"
            )
            deployment.primary.execute("UPDATE alembic_version SET version_num = 'x'", "catalogue")
            try:
                assert httpx2.get(f"{deployment.base_url}/readyz").status_code == 503
            finally:
                deployment.primary.execute(
                    f"UPDATE alembic_version SET version_num = '{version}'", "catalogue"
                )
            assert httpx2.get(f"{deployment.base_url}/readyz").status_code == 200
        finally:
            deployment.standby.execute("SELECT pg_wal_replay_resume()")

        # The response cache notices the new revision once it reaches the standby.
        replayed(deployment.primary, deployment.standby)
        deadline = time.monotonic() + 3 * REVALIDATE_SECONDS + MARGIN_SECONDS
        while summary(response := httpx2.get(f"{deployment.base_url}{EXERCISE}")) == before:
            assert time.monotonic() < deadline, "the cache kept the old revision"
            time.sleep(0.05)
        assert summary(response) == NEW_SUMMARY
        assert response.headers["etag"] != cached.headers["etag"]
        assert summary(uncached(deployment, EXERCISE)) == NEW_SUMMARY


class TestStoppedReplica:
    def test_reads_fall_back_to_the_primary_and_return(self, deployment: Deployment):
        expected = summary(uncached(deployment, EXERCISE))
        before = deployment.scrape()
        deployment.standby.stop("fast")
        try:
            # The first read meets the standby's dead pooled connections; each answers,
            # from the primary, within the database timeout.
            for _ in range(5):
                started = time.monotonic()
                response = uncached(deployment, EXERCISE)
                elapsed = time.monotonic() - started
                assert summary(response) == expected
                assert elapsed < DATABASE_TIMEOUT_SECONDS + MARGIN_SECONDS
            assert httpx2.get(f"{deployment.base_url}/readyz").status_code == 200
            during = deployment.scrape()
            fallbacks = ("catalogue_database_read_fallbacks_total", "replica-1")
            assert during.get(fallbacks, 0) - before.get(fallbacks, 0) >= 1
            primary = ("catalogue_database_reads_total", "primary")
            assert during[primary] - before.get(primary, 0) >= 5
        finally:
            deployment.standby.start()
        # Back on the standby once it answers and the retry interval has passed.
        replica = ("catalogue_database_reads_total", "replica-1")
        deadline = time.monotonic() + RETRY_SECONDS + MARGIN_SECONDS + 5
        while True:
            counted = deployment.scrape()[replica]
            assert summary(uncached(deployment, EXERCISE)) == expected
            if deployment.scrape()[replica] > counted:
                break
            assert time.monotonic() < deadline, "reads never went back to the standby"
            time.sleep(0.2)
