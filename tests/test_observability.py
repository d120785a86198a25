"""Metrics and structured logs, as an operator sees them.

One real `catalogue serve` (two workers, `LOG_FORMAT=json`, migrating and seeding a
fresh SQLite file itself) serves the module: its `/metrics` is scraped with
prometheus-client's own parser and its standard error read line by line. The
multiprocess directory is given (`PROMETHEUS_MULTIPROC_DIR`), so the tests can see
which worker wrote what. Who may read `/metrics`, and whether it is served at all, are
checked in-process, where the client's address can be chosen.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from starlette.testclient import TestClient

from app.main import create_asgi_app
from app.settings import PROJECT_ROOT, Settings
from tests.conftest import Keys
from tests.helpers import assert_problem, free_port, propose_summary, wait_until_ready

CATALOGUE = str(Path(sys.executable).parent / "catalogue")
REQUESTS = "catalogue_http_requests_total"
DURATIONS = "catalogue_http_request_duration_seconds_count"
CACHE = "catalogue_response_cache_requests_total"
Series = tuple[str, frozenset[tuple[str, str]]]


@dataclass
class Served:
    base_url: str
    process: subprocess.Popen[bytes]
    metrics_dir: Path
    log: Path
    environment: dict[str, str]

    def scrape(self) -> dict[Series, float]:
        """Every sample of `/metrics`, by name and labels."""
        response = httpx2.get(f"{self.base_url}/metrics", timeout=10)
        assert response.status_code == 200, response.text
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }

    def workers(self) -> set[int]:
        """The worker processes (not multiprocessing's resource tracker beside them)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = {int(pid) for pid in children.read_text().split()}
        return {pid for pid in pids if b"spawn_main" in _cmdline(pid)}

    def log_lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def logged(self, request_id: str, seconds: float = 5) -> dict[str, Any]:
        """The access log record of the request with this id (waiting for it)."""
        deadline = time.monotonic() + seconds
        while True:
            for line in self.log_lines():
                record = json.loads(line)
                if record.get("request_id") == request_id and record["logger"] == "app.access":
                    return dict(record)
            assert time.monotonic() < deadline, f"no access log line for {request_id}"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("observability")
    metrics_dir = directory / "metrics"
    (metrics_dir / "left-by-an-earlier-run.db").parent.mkdir()
    (metrics_dir / "left-by-an-earlier-run.db").write_bytes(b"stale")
    port = free_port()
    log = directory / "server.log"
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{directory / 'catalogue.db'}",
        "WEB_CONCURRENCY": "2",
        "LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    with log.open("wb") as stderr, (directory / "stdout").open("wb") as stdout:
        process = subprocess.Popen(
            [CATALOGUE, "serve", "--port", str(port)],
            env=environment,
            cwd=PROJECT_ROOT,
            stdout=stdout,
            stderr=stderr,
        )
    server = Served(f"http://127.0.0.1:{port}", process, metrics_dir, log, environment)
    try:
        wait_until_ready(server.base_url, process)
        # Ready when one worker is: wait for the other too.
        deadline = time.monotonic() + 60
        while server.log.read_text().count("Application startup complete.") < 2:
            assert time.monotonic() < deadline, "the second worker did not start"
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert (directory / "stdout").read_bytes() == b""
    # A directory that was given is emptied at start, and kept.
    assert not (metrics_dir / "left-by-an-earlier-run.db").exists()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def delta(before: dict[Series, float], after: dict[Series, float], name: str, **labels: str):
    key = (name, frozenset(labels.items()))
    return after.get(key, 0) - before.get(key, 0)


def wrote_samples(served: Served, pid: int) -> bool:
    return (served.metrics_dir / f"counter_{pid}.db").exists()


class TestRequestMetrics:
    def test_counters_move_with_requests_on_every_worker(self, served: Served):
        # A new connection per request, until both workers have answered some: the
        # counts read from either worker are then those of both.
        workers = served.workers()
        assert len(workers) == 2
        before = served.scrape()
        sent = 0
        while sent < 10 or not all(wrote_samples(served, pid) for pid in workers):
            assert sent < 400, "one worker answered every request"
            response = httpx2.get(f"{served.base_url}/v1/goals/strength", timeout=10)
            assert response.status_code == 200
            sent += 1
        after = served.scrape()
        route = {"method": "GET", "route": "/v1/goals/{slug}"}
        assert delta(before, after, REQUESTS, **route, status="200") == sent
        assert delta(before, after, DURATIONS, **route) == sent
        cache = [delta(before, after, CACHE, result=r) for r in ("hit", "miss", "shared")]
        assert sum(cache) == sent
        assert 1 <= cache[1] <= 2  # each worker renders it once, then keeps it
        # A scrape counts itself too, under its own name.
        assert delta(before, after, REQUESTS, method="GET", route="/metrics", status="200") == 1

    def test_cache_hits_and_misses_are_counted(self, served: Served):
        url = "/v1/exercises?phase=rehab&limit=3"
        before = served.scrape()
        with httpx2.Client(base_url=served.base_url, timeout=10) as client:  # one worker
            answers = [client.get(url) for _ in range(6)]
            answers.append(client.get(url, headers={"If-None-Match": answers[0].headers["etag"]}))
        assert [answer.status_code for answer in answers] == [200] * 6 + [304]
        after = served.scrape()
        assert delta(before, after, CACHE, result="miss") == 1
        assert delta(before, after, CACHE, result="hit") == 6
        route = {"method": "GET", "route": "/v1/exercises"}
        assert delta(before, after, REQUESTS, **route, status="200") == 6
        assert delta(before, after, REQUESTS, **route, status="304") == 1
        assert after[("catalogue_response_cache_entries", frozenset())] >= 1

    def test_a_thousand_urls_make_a_handful_of_series(self, served: Served):
        before = served.scrape()
        # Most of them answered before the database is read, to keep the test short.
        kinds = {
            ("GET", "unmatched", "404"): [f"/nowhere/{i}x/at-all" for i in range(250)],
            ("GET", "/v1/goals", "422"): [f"/v1/goals?cursor=bad{i}x" for i in range(250)],
            ("GET", "/v1/exercises/{slug}", "404"): [
                f"/v1/exercises/no-such-{i}x" for i in range(200)
            ],
            ("GET", "/v1/exercises", "200"): [f"/v1/exercises?q=token{i}x" for i in range(150)],
            ("GET", "/fhir/R4/ActivityDefinition/{id}", "404"): [
                f"/fhir/R4/ActivityDefinition/absent-{i}x" for i in range(150)
            ],
        }
        urls = [url for urls in kinds.values() for url in urls]
        assert len(set(urls)) == 1000

        def get_all(urls: list[str]) -> list[int]:
            with httpx2.Client(base_url=served.base_url, timeout=10) as client:
                return [client.get(url).status_code for url in urls]

        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = [
                s for part in pool.map(get_all, [urls[i::4] for i in range(4)]) for s in part
            ]
        assert sorted(set(statuses)) == [200, 404, 422]
        after = served.scrape()
        expected = set(kinds)
        for (method, route, status), sent in kinds.items():
            labels = {"method": method, "route": route, "status": status}
            assert delta(before, after, REQUESTS, **labels) == len(sent)
        new = set(after) - set(before)
        new_requests = {
            (labels["method"], labels["route"], labels["status"])
            for name, frozen in new
            if name == REQUESTS
            for labels in [dict(frozen)]
        }
        assert new_requests <= expected
        # Each new route adds at most its histogram's buckets, sum and count.
        assert len(new) <= len(expected) * 20
        text = httpx2.get(f"{served.base_url}/metrics").text
        for token in ("token", "bad1", "x/at-all", "absent-", "no-such"):
            assert token not in text

    def test_the_seed_at_start_up_and_the_pools_are_counted(self, served: Served):
        scraped = served.scrape()
        # The seed `catalogue serve` ran before its workers started (the test catalogue).
        assert scraped[("catalogue_seeds_total", frozenset({("outcome", "changed")}))] == 1
        inserted = ("catalogue_seeded_resources_total", frozenset({("action", "inserted")}))
        assert scraped[inserted] == 34
        primary = frozenset({("database", "primary")})
        # SQLite's pool: 5 connections and 10 more, per worker.
        assert scraped[("catalogue_database_connections_limit", primary)] == 30
        assert scraped[("catalogue_database_connections_in_use", primary)] == 0
        assert scraped[("catalogue_database_connections_open", primary)] >= 2

    def test_proposals_are_counted(self, served: Served):
        created = subprocess.run(
            [CATALOGUE, "keys", "create", "obs-curator", "--role", "curator"],
            env=served.environment,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        curator = {"Authorization": f"Bearer {created.stdout.strip()}"}
        before = served.scrape()
        with httpx2.Client(base_url=served.base_url, timeout=10) as client:
            proposal = propose_summary(client, Keys(curator, {}, {}, ()), "Counted.")
            withdrawn = client.delete(f"/v1/proposals/{proposal['id']}", headers=curator)
            assert withdrawn.status_code == 200, withdrawn.text
            refused = client.delete(f"/v1/proposals/{proposal['id']}", headers=curator)
            assert refused.status_code == 409
        after = served.scrape()
        events = ["submitted", "approved", "rejected", "withdrawn"]
        counted = [delta(before, after, "catalogue_proposals_total", event=e) for e in events]
        assert counted == [1, 0, 0, 1]

    def test_a_dead_worker_stops_counting_in_live_gauges_not_in_counters(self, served: Served):
        for _ in range(5):
            httpx2.get(f"{served.base_url}/v1/phases", timeout=10)
        before = served.scrape()
        workers = served.workers()
        victim = max(workers)
        assert (served.metrics_dir / f"gauge_livesum_{victim}.db").exists()
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while (served.metrics_dir / f"gauge_livesum_{victim}.db").exists() or len(
            served.workers() - {victim}
        ) < 2:
            assert time.monotonic() < deadline, "the dead worker was neither marked nor replaced"
            time.sleep(0.1)
        wait_until_ready(served.base_url, served.process)
        after = served.scrape()
        # What it counted stays counted.
        assert (served.metrics_dir / f"counter_{victim}.db").exists()
        for series, value in before.items():
            if series[0] == REQUESTS:
                assert after.get(series, 0) >= value, series


class TestMetricsAccess:
    """In-process, where the client's address can be chosen."""

    def client(self, address: str, **settings: Any) -> TestClient:
        return TestClient(create_asgi_app(Settings(**settings)), client=(address, 40000))

    def test_loopback_may_read_them_by_default(self, database):
        response = self.client("127.0.0.1").get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=")
        assert response.headers["cache-control"] == "no-store"
        assert "catalogue_http_requests_total" in response.text

    def test_other_addresses_are_refused(self, database):
        body = assert_problem(self.client("203.0.113.9").get("/metrics"), 403)
        assert body["detail"] == "Metrics are served only to the addresses in METRICS_ALLOW_IPS."

    def test_the_allow_list_is_a_setting(self, database):
        allowed = {"metrics_allow_ips": "203.0.113.0/24, 2001:db8::/32"}
        assert self.client("203.0.113.9", **allowed).get("/metrics").status_code == 200
        assert self.client("2001:db8::7", **allowed).get("/metrics").status_code == 200
        assert_problem(self.client("127.0.0.1", **allowed).get("/metrics"), 403)
        assert self.client("198.51.100.1", metrics_allow_ips="*").get("/metrics").status_code == (
            200
        )

    def test_an_address_that_is_none_is_refused_at_start(self):
        with pytest.raises(ValidationError, match="metrics_allow_ips"):
            Settings(metrics_allow_ips="127.0.0.1, the-office")

    def test_off_when_disabled(self, database):
        assert_problem(self.client("127.0.0.1", metrics_enabled=False).get("/metrics"), 404)

    def test_off_the_cors_surface_and_the_documents(self, database):
        client = self.client("127.0.0.1", cors_allow_origins=["*"])
        response = client.get("/metrics", headers={"Origin": "https://example.org"})
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers
        preflight = client.options(
            "/metrics",
            headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET"},
        )
        assert_problem(preflight, 405)
        assert preflight.headers["allow"] == "GET, HEAD"
        assert "access-control-allow-origin" not in preflight.headers
        assert "/metrics" not in client.get("/openapi.json").json()["paths"]


class TestJsonLogs:
    def test_every_line_is_one_json_object(self, served: Served):
        lines = served.log_lines()
        assert len(lines) > 10
        records = [json.loads(line) for line in lines]
        assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
        loggers = {record["logger"] for record in records}
        # Migrations, the seed and uvicorn included, not only requests.
        assert {"alembic.runtime.migration", "app.cli", "uvicorn.error", "app.access"} <= loggers
        assert not any("color_message" in record for record in records)

    def test_a_request_line_has_its_id_route_status_duration_and_client(self, served: Served):
        response = httpx2.get(
            f"{served.base_url}/v1/exercises/sitting-heel-dig",
            headers={"X-Request-ID": "obs-detail-1"},
        )
        assert response.headers["x-request-id"] == "obs-detail-1"
        record = served.logged("obs-detail-1")
        assert record.keys() == {
            "time",
            "level",
            "logger",
            "message",
            "request_id",
            "method",
            "route",
            "path",
            "status",
            "duration_ms",
            "client",
        }
        assert {key: record[key] for key in ("level", "method", "route", "path", "status")} == {
            "level": "INFO",
            "method": "GET",
            "route": "/v1/exercises/{slug}",
            "path": "/v1/exercises/sitting-heel-dig",
            "status": 200,
        }
        assert record["client"] == "127.0.0.1"
        assert 0 < record["duration_ms"] < 10_000

    def test_a_minted_request_id_is_logged_as_sent(self, served: Served):
        response = httpx2.get(f"{served.base_url}/v1/phases")
        record = served.logged(response.headers["x-request-id"])
        assert record["route"] == "/v1/phases"

    def test_no_cursor_query_or_key_is_logged(self, served: Served):
        query = {"limit": 2}
        first = httpx2.get(f"{served.base_url}/v1/exercises", params=query)
        cursor = first.json()["next_cursor"]
        assert cursor
        paged = httpx2.get(
            f"{served.base_url}/v1/exercises",
            params={**query, "cursor": cursor},
            headers={"X-Request-ID": "obs-cursor-1"},
        )
        assert paged.status_code == 200, paged.text
        searched = httpx2.get(
            f"{served.base_url}/v1/exercises", params={"q": "hamstring secret-words"}
        )
        assert searched.status_code == 200
        key = "eck_never-to-be-logged"
        refused = httpx2.get(
            f"{served.base_url}/v1/proposals",
            headers={"Authorization": f"Bearer {key}", "X-Request-ID": "obs-key-1"},
        )
        assert refused.status_code == 401
        record = served.logged("obs-cursor-1")
        assert record["path"] == "/v1/exercises"
        assert served.logged("obs-key-1")["status"] == 401
        text = served.log.read_text()
        for secret in (cursor, cursor[:16], "secret-words", key, "limit=2"):
            assert secret not in text
