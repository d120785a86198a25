"""Database faults on PostgreSQL: the API against a database that goes away and comes back.

The shared PostgreSQL server of the other tests cannot be stopped, so this module builds a
throwaway cluster of its own (`initdb`/`pg_ctl` of the installed server, in a temporary
directory, on a free port, run as the `postgres` user because they refuse to run as root).
A real `catalogue serve` process is pointed at it with a short database timeout. Each
outage warms the server's connection pool, stops the cluster (`fast`, a clean shutdown,
and `immediate`, as a crash would), and checks that liveness stays up, readiness and the
API answer 503 problem+json quickly and without internals (reads the response cache
holds go on being served from the last complete revision, marked stale), and that the
same process serves again once the cluster is back.

A frozen database (every process of the cluster stopped by SIGSTOP: its kernel still
accepts connections and acknowledges every byte, as a hung host or a black-holed
failover looks to a client) enforces no timeout of its own: the same is checked
against the app's own deadline, and that the threads and connections stuck on the
frozen database are let go of at that deadline.

Skipped, saying why, where no PostgreSQL server binaries exist; required under CI=true.
"""

import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import httpx2
import pytest

from app.database import build_engine
from app.problems import PROBLEM_BASE, PROBLEM_JSON
from app.seeding.reading import Catalogue
from tests.helpers import (
    ThrowawayCluster,
    create_catalogue_database,
    free_port,
    throwaway_cluster,
    wait_until_ready,
)

pytestmark = pytest.mark.postgresql

CATALOGUE = str(Path(sys.executable).parent / "catalogue")
DATABASE = "catalogue"
# Under the 2 s that libpq and psycopg make the least connect timeout, so that against
# a frozen database the app's deadline, not a connect timeout, gives every 503.
DATABASE_TIMEOUT_SECONDS = 1.5
# What a 503 may take beyond the database timeout: a process switch and an HTTP round trip.
MARGIN_SECONDS = 3
# What it may take with the database frozen: the bound (the deadline and 1 s).
FROZEN_MARGIN_SECONDS = 1
# `MAX_CONCURRENT_REQUESTS`' default: reads beyond it wait for a slot.
READ_SLOTS = 4
# The client gives up a little after the bound, so a hang fails the test instead of stalling.
CLIENT_TIMEOUT_SECONDS = DATABASE_TIMEOUT_SECONDS + MARGIN_SECONDS + 2
# How long the API may take to serve again once the cluster accepts connections.
RECOVERY_SECONDS = 10
# How long after the database stops the response cache may answer from memory before
# it marks its answers stale (it checks the revision about once a second).
STALE_SECONDS = 3
STALE = "x-catalogue-stale"
EXERCISE = "sitting-heel-dig"
API_PATHS = [
    "/v1/exercises",
    "/v1/exercises?phase=acute&limit=2",
    f"/v1/exercises/{EXERCISE}",
    "/v1/catalogue",
]
UNREACHABLE = "The catalogue database cannot be reached; try again shortly."
NO_ANSWER = "The catalogue database did not answer in time; try again shortly."
# Text that would mean a driver's error (or where the database lives) leaked to a client.
LEAKS = ("traceback", "psycopg", "sqlalchemy", "operationalerror", "postgres", "127.0.0.1")


@pytest.fixture(scope="module")
def cluster(catalogue: Catalogue) -> Iterator[ThrowawayCluster]:
    """A running throwaway cluster holding the migrated and seeded test catalogue."""
    with throwaway_cluster("catalogue-db-faults-") as cluster:
        create_catalogue_database(cluster, catalogue)
        yield cluster


@dataclass
class LiveServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, **headers: str) -> tuple[httpx2.Response, float]:
        """GET `path` on a connection of its own, with the seconds it took (from the
        request's connection to its answer: a client made ready beforehand, so that
        concurrent calls do not time each other's TLS set-up)."""
        with httpx2.Client(timeout=CLIENT_TIMEOUT_SECONDS) as client:
            started = time.monotonic()
            response = client.get(
                f"{self.base_url}{path}",
                headers={name.replace("_", "-"): value for name, value in headers.items()},
            )
            return response, time.monotonic() - started


@contextmanager
def serving(database_url: str, directory: Path) -> Iterator[LiveServer]:
    """A `catalogue serve` process on a database that is already migrated and seeded."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_TIMEOUT_SECONDS": str(DATABASE_TIMEOUT_SECONDS),
    }
    log_path = directory / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [CATALOGUE, "serve", "--port", str(port), "--no-setup"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_live(server: LiveServer, seconds: float = 60) -> None:
    """Like `wait_until_ready`, for a server whose database is down: /healthz only."""
    deadline = time.monotonic() + seconds
    while True:
        assert server.process.poll() is None, f"server exited with {server.process.returncode}"
        try:
            if httpx2.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        assert time.monotonic() < deadline, f"{server.base_url} did not come up"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server(
    cluster: ThrowawayCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server process for the whole module: it is never restarted across outages."""
    with serving(cluster.url(), tmp_path_factory.mktemp("db-faults")) as server:
        wait_until_ready(server.base_url, server.process)
        yield server


_CLIENTS = count()


def uncached_get(server: LiveServer, path: str, **headers: str) -> tuple[httpx2.Response, float]:
    """GET `path` as a client the response cache has never answered (an `Origin` of its
    own), so that the request reaches the app and its database."""
    return server.get(path, origin=f"https://client-{next(_CLIENTS)}.example", **headers)


def wait_for_recovery(server: LiveServer, path: str = "/readyz") -> float:
    """Seconds until `path` answers 200 again (from the app, not the response cache);
    fails after RECOVERY_SECONDS."""
    started = time.monotonic()
    while True:
        response, _ = uncached_get(server, path)
        if response.status_code == 200:
            return time.monotonic() - started
        assert response.status_code == 503, response.text
        assert time.monotonic() - started < RECOVERY_SECONDS, f"{path} did not recover"
        time.sleep(0.1)


@dataclass
class Outage:
    stopped_at: float
    # What each API path answered just before the outage, to compare with after it.
    before: dict[str, Any]
    etags: dict[str, str]


def warm_up(cluster: ThrowawayCluster, server: LiveServer) -> Outage:
    """Pooled connections and cached answers, and what each API path answers now (the
    Outage's `stopped_at` is set by whoever then takes the database away)."""
    # Concurrent requests make the pool hold several connections, not just one.
    with ThreadPoolExecutor(max_workers=8) as pool:
        warm = list(pool.map(server.get, ["/readyz", *API_PATHS] * 2))
    assert [response.status_code for response, _ in warm] == [200] * len(warm)
    responses = {path: server.get(path)[0] for path in API_PATHS}
    pooled = cluster.execute(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{DATABASE}'")
    assert pooled >= 1, "the server should hold pooled connections when the database stops"
    return Outage(
        stopped_at=math.nan,
        before={path: response.json() for path, response in responses.items()},
        etags={path: response.headers["etag"] for path, response in responses.items()},
    )


@pytest.fixture(params=["fast", "immediate"])
def outage(
    request: pytest.FixtureRequest, cluster: ThrowawayCluster, server: LiveServer
) -> Iterator[Outage]:
    """The cluster stopped (`fast`: clean shutdown; `immediate`: as in a crash) while the
    server holds pooled connections. Started again afterwards if the test did not."""
    outage = warm_up(cluster, server)
    cluster.stop(str(request.param))
    outage.stopped_at = time.monotonic()
    try:
        yield outage
    finally:
        if not cluster.running:
            cluster.start()
        wait_for_recovery(server)


@dataclass
class Freeze(Outage):
    processes: list[int] = field(default_factory=list)
    frozen: bool = True

    def thaw(self) -> None:
        if self.frozen:
            for pid in self.processes:
                os.kill(pid, signal.SIGCONT)
            self.frozen = False


@pytest.fixture
def frozen(cluster: ThrowawayCluster, server: LiveServer) -> Iterator[Freeze]:
    """Every process of the cluster stopped (SIGSTOP) while the server holds pooled
    connections and cached answers; continued afterwards if the test did not."""
    warm = warm_up(cluster, server)
    processes = cluster.processes()
    for pid in processes:
        os.kill(pid, signal.SIGSTOP)
    freeze = Freeze(time.monotonic(), warm.before, warm.etags, processes)
    try:
        yield freeze
    finally:
        freeze.thaw()
        wait_for_recovery(server)


def threads_of(process: subprocess.Popen[bytes]) -> int:
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)$", status, re.MULTILINE)[1])  # type: ignore[index]


def connections_to(process: subprocess.Popen[bytes], port: int) -> int:
    """How many TCP connections to `port` the process has open (sockets it holds a
    descriptor of, whatever their state)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if int(fields[2].rpartition(":")[2], 16) == port:
                    inodes.add(fields[9])
    held = 0
    for descriptor in Path(f"/proc/{process.pid}/fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except OSError:
            continue  # closed meanwhile
        held += target.startswith("socket:[") and target[8:-1] in inodes
    return held


Timings = Callable[[str, float], None]


@pytest.fixture
def timings(request: pytest.FixtureRequest) -> Timings:
    """Keeps measured seconds with the test's report (`user_properties`), for a look at
    how close to their bounds they come."""

    def keep(name: str, seconds: float) -> None:
        request.node.user_properties.append((name, round(seconds, 4)))

    return keep


def assert_unavailable(
    response: httpx2.Response,
    elapsed: float,
    path: str,
    *,
    detail: str = UNREACHABLE,
    margin: float = MARGIN_SECONDS,
) -> None:
    """A 503 problem that names no internals, answered within the database timeout and
    `margin`."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["retry-after"] == "5"
    assert response.json() == {
        "type": PROBLEM_BASE + "database-unavailable",
        "title": "Database unavailable",
        "status": 503,
        "detail": detail,
        "instance": path.partition("?")[0],
    }
    leaked = [text for text in LEAKS if text in response.text.lower()]
    assert leaked == []
    assert elapsed < DATABASE_TIMEOUT_SECONDS + margin


def assert_no_answer(response: httpx2.Response, elapsed: float, path: str) -> None:
    """The 503 of a frozen database: within the deadline and 1 s."""
    assert_unavailable(response, elapsed, path, detail=NO_ANSWER, margin=FROZEN_MARGIN_SECONDS)


def first_unavailable(
    server: LiveServer, outage: Outage, path: str, **headers: str
) -> tuple[httpx2.Response, float]:
    """The first answer to a catalogue read in this outage that the response cache does
    not hold, with the seconds it took: the app's, which must be a 503."""
    return uncached_get(server, path, **headers)


class TestWithDatabaseUp:
    @pytest.mark.parametrize("path", ["/healthz", "/readyz", *API_PATHS])
    def test_ok(self, server: LiveServer, path: str):
        response, _ = server.get(path)
        assert response.status_code == 200, response.text

    def test_readyz_checks_the_database(self, server: LiveServer):
        response, _ = server.get("/readyz")
        assert response.json()["checks"]["database"] == "ok"

    def test_connections_probe_idle_and_unacknowledged_sockets(self, cluster: ThrowawayCluster):
        # A partition (unlike a frozen process, whose kernel still answers) is noticed
        # by the kernel: keepalive probes on idle connections, and a limit on how long
        # sent data may go unacknowledged, both on the very socket libpq uses.
        engine = build_engine(cluster.url(), timeout_seconds=DATABASE_TIMEOUT_SECONDS)
        try:
            with engine.connect() as connection:
                raw = connection.connection.driver_connection
                assert raw is not None
                own = socket.socket(fileno=os.dup(raw.pgconn.socket))
                with own:
                    options = [
                        own.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                        own.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                        own.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                        own.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                        own.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
                    ]
        finally:
            engine.dispose()
        assert options == [1, 2, 2, 3, 1500]


class TestHealthRoutes:
    def test_healthz_stays_ok(self, server: LiveServer, outage: Outage):
        # Liveness must not fail with the database, or the orchestrator restarts every
        # replica during an outage that a restart cannot fix.
        for _ in range(3):
            response, elapsed = server.get("/healthz")
            assert response.status_code == 200
            assert response.json() == {"status": "ok", "checks": {}}
            assert elapsed < DATABASE_TIMEOUT_SECONDS

    def test_readyz_is_503_at_once(self, server: LiveServer, outage: Outage, timings: Timings):
        # Readiness is never cached: the first request meets the dead pooled connections,
        # the later ones a closed port.
        for attempt in range(3):
            response, elapsed = server.get("/readyz")
            assert_unavailable(response, elapsed, "/readyz")
            timings(f"seconds_{attempt}", elapsed)


class TestExerciseRoutes:
    def test_503_problem(self, server: LiveServer, outage: Outage, timings: Timings):
        paths = [path for path in API_PATHS if path.startswith("/v1/exercises")]
        for path in paths:
            response, elapsed = first_unavailable(server, outage, path)
            if path == paths[0]:
                timings("stop to first 503", time.monotonic() - outage.stopped_at)
            timings(path, elapsed)
            assert_unavailable(response, elapsed, path)
            for _ in range(2):
                assert_unavailable(*uncached_get(server, path), path)

    def test_current_etag_gets_503_from_the_app_and_a_stale_304_from_the_cache(
        self, server: LiveServer, outage: Outage
    ):
        # The version an ETag is checked against lives in the database: the app cannot
        # vouch for it. The cache answers for the revision it holds, and says it may be
        # stale.
        path = f"/v1/exercises/{EXERCISE}"
        etag = outage.etags[path]
        response, elapsed = first_unavailable(server, outage, path, if_none_match=etag)
        assert_unavailable(response, elapsed, path)
        response = eventually_stale(server, outage, path, if_none_match=etag)
        assert response.status_code == 304
        assert response.headers["etag"] == etag


def eventually_stale(
    server: LiveServer, outage: Outage, path: str, **headers: str
) -> httpx2.Response:
    """The response cache's answer to `path` once it is marked stale (within
    STALE_SECONDS of the stop); every answer before it the one from before the outage."""
    while True:
        response, elapsed = server.get(path, **headers)
        assert elapsed < 1, f"{path}: a cache hit took {elapsed:.2f} s"
        if response.status_code == 304:
            assert response.headers["etag"] == outage.etags[path]
        else:
            assert response.status_code == 200, response.text
            assert response.json() == outage.before[path]
            assert response.headers["etag"] == outage.etags[path]
        if response.headers.get(STALE) == "true":
            return response
        assert STALE not in response.headers
        assert time.monotonic() - outage.stopped_at < STALE_SECONDS, f"{path} never stale"
        time.sleep(0.05)


class TestResponseCacheDuringOutage:
    def test_cached_reads_are_served_from_the_last_revision_marked_stale(
        self, server: LiveServer, outage: Outage, timings: Timings
    ):
        for path in API_PATHS:
            eventually_stale(server, outage, path)
        timings("stop to stale", time.monotonic() - outage.stopped_at)
        # And from then on, for as long as the outage lasts (past several checks).
        until = time.monotonic() + 3
        while time.monotonic() < until:
            for path in API_PATHS:
                response, elapsed = server.get(path)
                assert response.status_code == 200, response.text
                assert response.headers[STALE] == "true"
                assert response.json() == outage.before[path]
                assert response.headers["etag"] == outage.etags[path]
                assert elapsed < 1
            time.sleep(0.1)
        # What the cache does not hold still reaches the app: a 503.
        assert_unavailable(*uncached_get(server, API_PATHS[0]), API_PATHS[0])


class TestCatalogueRoute:
    def test_503_problem(self, server: LiveServer, outage: Outage, timings: Timings):
        response, elapsed = first_unavailable(server, outage, "/v1/catalogue")
        timings("seconds", elapsed)
        assert_unavailable(response, elapsed, "/v1/catalogue")
        for _ in range(2):
            assert_unavailable(*uncached_get(server, "/v1/catalogue"), "/v1/catalogue")


class TestRecovery:
    def test_same_process_serves_again(
        self,
        server: LiveServer,
        cluster: ThrowawayCluster,
        outage: Outage,
        timings: Timings,
    ):
        pid = server.process.pid
        for path in API_PATHS:
            assert_unavailable(*first_unavailable(server, outage, path), path)
        cluster.start()
        timings("recovery_seconds", wait_for_recovery(server, API_PATHS[0]))
        # The cache's next revision check clears the stale mark.
        for path in API_PATHS:
            while STALE in server.get(path)[0].headers:
                assert time.monotonic() - outage.stopped_at < RECOVERY_SECONDS + STALE_SECONDS
                time.sleep(0.05)
        # Consistently 200 from then on, with what was served before the outage.
        for _ in range(3):
            for path in ["/readyz", *API_PATHS]:
                response, _ = server.get(path)
                assert response.status_code == 200, response.text
                assert STALE not in response.headers
                if path in outage.before:
                    assert response.json() == outage.before[path]
        assert server.process.poll() is None
        assert server.process.pid == pid
        assert "Traceback" not in server.log.read_text()

    # How the database went away does not matter to a server that never reached it.
    @pytest.mark.parametrize("outage", ["immediate"], indirect=True)
    def test_server_started_while_database_down(
        self, cluster: ThrowawayCluster, outage: Outage, tmp_path: Path
    ):
        # An empty pool and an empty response cache, as when replicas come up before the
        # database does: unavailable from the first request, then serving without a restart.
        with serving(cluster.url(), tmp_path) as server:
            wait_until_live(server)
            for path in ["/readyz", *API_PATHS]:
                assert_unavailable(*server.get(path), path)
            cluster.start()
            wait_for_recovery(server)
            for path in API_PATHS:
                response, _ = server.get(path)
                assert response.status_code == 200, response.text
                assert response.json() == outage.before[path]
            assert server.process.poll() is None
        assert "Traceback" not in server.log.read_text()


class TestFrozenDatabase:
    """The cluster frozen by SIGSTOP: it accepts connections and acknowledges every byte,
    and answers nothing; its statement timeout, enforced by the frozen server, never
    fires. Without a deadline of the app's own, every read hung for as long as the
    freeze lasted, cache hits included."""

    def test_uncached_reads_are_503_within_the_deadline(
        self, server: LiveServer, frozen: Freeze, timings: Timings
    ):
        for path in API_PATHS:
            response, elapsed = uncached_get(server, path)
            timings(path, elapsed)
            assert_no_answer(response, elapsed, path)

    def test_reads_waiting_for_a_slot_are_503_within_the_deadline_too(
        self, server: LiveServer, frozen: Freeze, timings: Timings
    ):
        # Three times as many reads as a worker works on at once: those waiting for a
        # slot behind reads stuck on the database count the wait towards their deadline.
        paths = [API_PATHS[index % len(API_PATHS)] for index in range(3 * READ_SLOTS)]
        with ThreadPoolExecutor(max_workers=len(paths)) as pool:
            for attempt in range(2):
                answers = list(pool.map(lambda path: uncached_get(server, path), paths))
                timings(f"slowest_{attempt}", max(elapsed for _, elapsed in answers))
                for path, (response, elapsed) in zip(paths, answers, strict=True):
                    assert_no_answer(response, elapsed, path)

    def test_cached_reads_go_on_from_the_last_revision_marked_stale(
        self, server: LiveServer, frozen: Freeze, timings: Timings
    ):
        # The revision check is stuck on the frozen database: hits stop waiting for it
        # (response_cache.CHECK_PATIENCE_SECONDS), and it fails at its deadline.
        for path in API_PATHS:
            eventually_stale(server, frozen, path)
        timings("freeze to stale", time.monotonic() - frozen.stopped_at)
        # For several deadlines (several checks, each stuck until its deadline).
        until = time.monotonic() + 3 * DATABASE_TIMEOUT_SECONDS
        slowest = 0.0
        while time.monotonic() < until:
            for path in API_PATHS:
                response, elapsed = server.get(path)
                assert response.status_code == 200, response.text
                assert response.headers[STALE] == "true"
                assert response.json() == frozen.before[path]
                assert response.headers["etag"] == frozen.etags[path]
                slowest = max(slowest, elapsed)
            time.sleep(0.05)
        timings("slowest hit", slowest)
        assert slowest < 1
        etag = frozen.etags[API_PATHS[0]]
        response, elapsed = server.get(API_PATHS[0], if_none_match=etag)
        assert (response.status_code, response.headers[STALE]) == (304, "true")
        assert elapsed < 1

    def test_readyz_is_503_within_the_deadline_and_healthz_stays_ok(
        self, server: LiveServer, frozen: Freeze, timings: Timings
    ):
        for attempt in range(2):
            response, elapsed = server.get("/readyz")
            timings(f"readyz_{attempt}", elapsed)
            assert_no_answer(response, elapsed, "/readyz")
            response, elapsed = server.get("/healthz")
            assert (response.status_code, response.json()) == (200, {"status": "ok", "checks": {}})
            assert elapsed < 1

    def test_stuck_threads_and_connections_are_let_go_at_the_deadline(
        self, server: LiveServer, cluster: ThrowawayCluster, frozen: Freeze, timings: Timings
    ):
        # Four rounds of a dozen reads stuck on the database at once: 48 trips, more
        # than the pool's 40 connections and AnyIO's 40 threads. A thread left blocked
        # in libpq would hold its connection until the freeze ends, and each round would
        # need new ones.
        paths = [API_PATHS[index % len(API_PATHS)] for index in range(3 * READ_SLOTS)]
        idle = connections_to(server.process, cluster.port)  # the pool's, from before
        threads = []
        with ThreadPoolExecutor(max_workers=len(paths)) as pool:
            for _ in range(4):
                answers = list(pool.map(lambda path: uncached_get(server, path), paths))
                assert [response.status_code for response, _ in answers] == [503] * len(paths)
                threads.append(threads_of(server.process))
                time.sleep(0.5)  # past the deadline of every trip of the round
        for index, number in enumerate(threads):
            timings(f"threads after round {index}", number)
        # A round leaving its stuck threads behind would add a slot's worth each time
        # (the first round may start AnyIO's workers).
        assert threads[-1] - threads[1] < READ_SLOTS, threads
        # Beside the pool's idle connections from before the freeze (closed as they are
        # next checked out), only the revision check's trip may hold one, or be
        # connecting. (A connection attempt timed out by psycopg kept its socket open
        # until the garbage collector ran.)
        held = connections_to(server.process, cluster.port)
        timings("connections idle before", idle)
        timings("connections held after", held)
        assert held <= idle + 2
        response, elapsed = server.get("/readyz")
        assert_no_answer(response, elapsed, "/readyz")

    def test_the_same_process_serves_again_after_the_freeze(
        self, server: LiveServer, frozen: Freeze, timings: Timings
    ):
        pid = server.process.pid
        with ThreadPoolExecutor(max_workers=2 * READ_SLOTS) as pool:
            stuck = list(pool.map(lambda path: uncached_get(server, path), API_PATHS * 2))
        assert [response.status_code for response, _ in stuck] == [503] * len(stuck)
        frozen.thaw()
        timings("recovery_seconds", wait_for_recovery(server, API_PATHS[0]))
        for path in API_PATHS:
            while STALE in server.get(path)[0].headers:
                assert time.monotonic() - frozen.stopped_at < 60
                time.sleep(0.05)
        # The pool and the read slots are whole: twenty more reads, each reaching the
        # database, all answered, promptly.
        paths = [API_PATHS[index % len(API_PATHS)] for index in range(20)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda path: uncached_get(server, path), paths))
        assert [response.status_code for response, _ in answers] == [200] * len(paths)
        slowest = max(elapsed for _, elapsed in answers)
        timings("slowest of 20 reads after", slowest)
        assert slowest < 2
        for path in API_PATHS:
            response, _ = server.get(path)
            assert response.status_code == 200, response.text
            assert STALE not in response.headers
            assert response.json() == frozen.before[path]
        assert server.process.poll() is None
        assert server.process.pid == pid
        assert "Traceback" not in server.log.read_text()
