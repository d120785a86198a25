"""Hot-read benchmark (`make bench`): the API against the ceiling of its own server stack.

For each database (SQLite, and PostgreSQL where reachable) it seeds a fresh database,
starts the API as production runs it (`catalogue serve`, 2 workers, access log off)
and a ceiling app (`bench/ceiling.py`: a raw ASGI callable under the same uvicorn
settings, answering a fixed JSON body as large as the API's list page), then drives
each endpoint with wrk, alternating ceiling and API runs so drift hits both alike. It
prints one table (req/s, p50, worst p99, body bytes, share of the ceiling and its
range), peak RSS per API worker, and the cold start on a fresh SQLite file (migrate +
seed + first 200).

Each endpoint is measured in --repeat pairs (a ceiling run, then an API run). One pair
is not enough on a 2-core machine shared by wrk and the servers: how the kernel happens
to place four busy processes moves a single ratio by 20 points or more either way. The
table gives the median ratio with its range over the pairs, the median req/s and p50,
and the worst p99.

Loopback only; every run is bounded by --duration, and the whole by --repeat.

    python -m bench.run --duration 3 --repeat 3 --connections 32
"""

import argparse
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import psycopg
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.database import build_engine
from app.keys import create_key
from app.seeding.stored import exercise_slugs, stored_exercises
from app.vocabulary import KeyRole
from bench.synthetic import LOAD_TIMEOUT_SECONDS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
WRK = "/usr/bin/wrk"
WORKERS = 2

TABLE_HEADER = (
    "| database | endpoint | req/s | p50 ms | worst p99 ms | body bytes | vs ceiling | range |"
)


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    conditional: bool = False


ENDPOINTS = [
    Endpoint("list by phase", "/v1/exercises?phase=rehab&limit=20"),
    Endpoint("detail", "/v1/exercises/{detail}"),
    Endpoint("search q", "/v1/exercises?q=hamstring+stretch"),
    Endpoint("list safe_for", "/v1/exercises?safe_for=sciatica-nerve-symptoms"),
    Endpoint("catalogue meta", "/v1/catalogue"),
    Endpoint("FHIR ActivityDefinition", "/fhir/R4/ActivityDefinition/{detail}"),
    Endpoint("FHIR PlanDefinition", "/fhir/R4/PlanDefinition/rehab"),
    Endpoint("conditional 304", "/v1/exercises?phase=rehab&limit=20", conditional=True),
]


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    failures: int


@dataclass(frozen=True)
class Row:
    database: str
    endpoint: str
    requests_per_second: float
    p50_ms: float
    worst_p99_ms: float
    body_bytes: int
    ceiling_ratio: float | None
    ratio_range: tuple[float, float] | None

    @classmethod
    def of_runs(
        cls,
        database: str,
        endpoint: str,
        loads: Sequence[Load],
        body_bytes: int,
        ratios: Sequence[float] | None,
    ) -> "Row":
        """One row for repeated runs: median req/s, p50 and ratio, the ratios' range,
        and the worst p99 (a tail seen in any run is a tail clients see)."""
        return cls(
            database=database,
            endpoint=endpoint,
            requests_per_second=statistics.median(load.requests_per_second for load in loads),
            p50_ms=statistics.median(load.p50_ms for load in loads),
            worst_p99_ms=max(load.p99_ms for load in loads),
            body_bytes=body_bytes,
            ceiling_ratio=statistics.median(ratios) if ratios else None,
            ratio_range=(min(ratios), max(ratios)) if ratios else None,
        )

    def markdown(self) -> str:
        ratio = "-" if self.ceiling_ratio is None else f"{self.ceiling_ratio:.0%}"
        spread = "-" if self.ratio_range is None else "{:.0%}-{:.0%}".format(*self.ratio_range)
        return (
            f"| {self.database} | {self.endpoint} | {self.requests_per_second:,.0f} "
            f"| {self.p50_ms:.2f} | {self.worst_p99_ms:.2f} | {self.body_bytes:,} | {ratio} "
            f"| {spread} |"
        )


def parse_table(text: str) -> list[Row]:
    """The rows of a table this script printed (the smoke test reads them back)."""
    rows = []
    lines = text.splitlines()
    start = lines.index(TABLE_HEADER) + 2
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows.append(
            Row(
                database=cells[0],
                endpoint=cells[1],
                requests_per_second=float(cells[2].replace(",", "")),
                p50_ms=float(cells[3]),
                worst_p99_ms=float(cells[4]),
                body_bytes=int(cells[5].replace(",", "")),
                ceiling_ratio=None if cells[6] == "-" else _ratio(cells[6]),
                ratio_range=(
                    None
                    if cells[7] == "-"
                    else (_ratio(cells[7].split("-")[0]), _ratio(cells[7].split("-")[1]))
                ),
            )
        )
    return rows


def _ratio(cell: str) -> float:
    return float(cell.rstrip("%")) / 100


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> Load:
    """Requests per second, latency percentiles and failed responses from `wrk --latency`."""
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, flags=re.MULTILINE))
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, flags=re.MULTILINE)
    failures = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if rate is None or set(percentiles) != {"50", "99"}:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    socket_errors = sum(int(n) for n in errors.groups()) if errors else 0
    return Load(
        requests_per_second=float(rate.group(1)),
        p50_ms=_milliseconds(percentiles["50"]),
        p99_ms=_milliseconds(percentiles["99"]),
        failures=(int(failures.group(1)) if failures else 0) + socket_errors,
    )


def run_wrk(
    url: str, *, duration: float, connections: int, headers: dict[str, str] | None = None
) -> Load:
    command = [
        WRK,
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=duration + 60
    )
    return parse_wrk(result.stdout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A server process on a free loopback port, stopped on exit."""

    def __init__(self, command: list[str], environment: dict[str, str], ready_path: str):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.ready_seconds = wait_for_200(self.base_url + ready_path, self.process)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)

    def peak_rss_mib_per_worker(self) -> list[float]:
        """VmHWM of each worker process (the children of uvicorn's supervisor)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = children.read_text().split() if children.exists() else []
        peaks = []
        for pid in pids or [str(self.process.pid)]:
            status = Path(f"/proc/{pid}/status").read_text()
            match = re.search(r"^VmHWM:\s+(\d+) kB", status, flags=re.MULTILINE)
            if match:
                peaks.append(int(match.group(1)) / 1024)
        return sorted(peaks)


def wait_for_200(url: str, process: subprocess.Popen[bytes], seconds: float = 300) -> float:
    started = time.monotonic()
    while True:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"server exited with {process.returncode}: {error[-2000:]}")
        try:
            if httpx2.get(url, timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx2.TransportError:
            pass
        if time.monotonic() - started > seconds:
            raise RuntimeError(f"{url} did not answer 200 within {seconds} s")
        time.sleep(0.02)


def catalogue_environment(catalogue: str, workdir: Path, database_url: str) -> dict[str, str]:
    """Environment for `catalogue` commands: the full curated catalogue, or the tiny
    test catalogue (for the smoke test)."""
    environment = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    if catalogue == "tiny":
        seed = workdir / "seed"
        if not seed.exists():
            shutil.copytree(
                PROJECT_ROOT / "seed", seed, ignore=shutil.ignore_patterns("catalogue", "*.md")
            )
            shutil.copytree(PROJECT_ROOT / "tests" / "fixtures" / "catalogue", seed / "catalogue")
        environment["SEED_DIR"] = str(seed)
    return environment


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh, empty database of this kind, removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_url(POSTGRES_ADMIN_URL)
    with psycopg.connect(
        admin.set(drivername="postgresql").render_as_string(hide_password=False),
        autocommit=True,
    ) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(
            admin.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
        ) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_unreachable() -> str | None:
    try:
        url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql")
        with psycopg.connect(url.render_as_string(hide_password=False), connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error).splitlines()[0]


def setup(environment: dict[str, str]) -> None:
    for step in ("migrate", "seed"):
        subprocess.run(
            [str(BIN / "catalogue"), step], env=environment, check=True, capture_output=True
        )


def uncached_server(database_url: str) -> Server:
    """`catalogue serve` with `WORKERS` workers over `database_url` and the response
    cache off, so that every request reaches the app and its database."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RESPONSE_CACHE_ENABLED": "false",
        "WEB_CONCURRENCY": str(WORKERS),
        "LOG_LEVEL": "WARNING",
    }
    return Server(
        [str(BIN / "catalogue"), "serve", "--no-setup", "--no-access-log"],
        environment,
        "/readyz",
    )


def curation_server(database_url: str, *, writes: int) -> Server:
    """`catalogue serve` with one worker over `database_url`, allowing each curation key
    some `writes` (and room to spare)."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "WEB_CONCURRENCY": "1",
        "LOG_LEVEL": "WARNING",
        "CURATION_WRITES_PER_HOUR": str(10 * writes + 100),
    }
    return Server(
        [str(BIN / "catalogue"), "serve", "--no-setup", "--no-access-log"],
        environment,
        "/readyz",
    )


@dataclass(frozen=True)
class Edits:
    """What a benchmark's edits need: a curator's key and a reviewer's (the two roles a
    change needs), and the stored entries of the exercises to edit, as JSON."""

    curator: str
    reviewer: str
    entries: list[dict[str, Any]]


def prepare_edits(database_url: str, *, slugs: Sequence[str] = (), count: int = 0) -> Edits:
    """Two new keys, and the entries of `slugs`, or else of `count` exercises spread
    evenly over the catalogue (in slug order)."""
    if not slugs and count < 1:
        raise ValueError("prepare_edits needs the slugs to edit, or how many")
    engine = build_engine(database_url, timeout_seconds=LOAD_TIMEOUT_SECONDS)
    try:
        with Session(engine) as session:
            now = datetime.now(UTC)
            curator = create_key(session, name="bench-curator", role=KeyRole.curator, now=now)
            reviewer = create_key(session, name="bench-reviewer", role=KeyRole.reviewer, now=now)
            if not slugs:
                every = [slug for chunk in exercise_slugs(session) for slug in chunk]
                slugs = every[:: max(1, len(every) // count)][:count]
            entries = stored_exercises(session, slugs)
    finally:
        engine.dispose()
    return Edits(curator, reviewer, [entries[slug].model_dump(mode="json") for slug in slugs])


def approve_edit(
    client: httpx2.Client, *, curator: str, reviewer: str, data: dict[str, Any], version: int
) -> None:
    """Propose `data` as the new entry of the exercise it names (at `version`), and
    approve it with the other key."""
    body = {
        "kind": "exercise",
        "action": "update",
        "slug": data["slug"],
        "base_version": version,
        "data": data,
        "reason": "Benchmark edit.",
    }
    proposed = client.post(
        "/v1/proposals", json=body, headers={"Authorization": f"Bearer {curator}"}
    )
    if proposed.status_code != 201:
        raise RuntimeError(f"propose: {proposed.status_code} {proposed.text[:300]}")
    approved = client.post(
        f"/v1/proposals/{proposed.json()['id']}/approve",
        headers={"Authorization": f"Bearer {reviewer}"},
    )
    if approved.status_code != 200:
        raise RuntimeError(f"approve: {approved.status_code} {approved.text[:300]}")


class BackgroundWrites:
    """Approved changes at a steady rate while the reads are measured: each one a
    proposal editing one exercise's summary, approved by a second key, so every worker's
    cached responses go stale once per write."""

    def __init__(self, base_url: str, database_url: str, slug: str, per_second: float):
        edits = prepare_edits(database_url, slugs=[slug])
        self.curator, self.reviewer, (self.data,) = edits.curator, edits.reviewer, edits.entries
        self.base_url, self.slug, self.interval = base_url, slug, 1 / per_second
        self.done = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        # Writes run only while active: the reads are measured with and without them,
        # turn about, so that the machine's drift hits both alike.
        self.active = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "BackgroundWrites":
        self.started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self.active.set()
        self._thread.join(timeout=30)

    @contextmanager
    def running(self) -> Iterator[None]:
        """Writes at the rate asked for, while inside."""
        started = time.monotonic()
        self.active.set()
        try:
            yield
        finally:
            self.active.clear()
            self.seconds += time.monotonic() - started

    seconds = 0.0

    def _run(self) -> None:
        with httpx2.Client(base_url=self.base_url, timeout=30) as client:
            while not self._stop.is_set():
                self.active.wait()
                next_at = time.monotonic()
                while self.active.is_set() and not self._stop.is_set():
                    try:
                        self._write(client)
                    except (httpx2.HTTPError, RuntimeError) as error:
                        self.errors.append(str(error)[:200])
                    next_at += self.interval
                    self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _write(self, client: httpx2.Client) -> None:
        # With a key the read bypasses the response cache, which may be a write behind.
        version = client.get(
            f"/v1/exercises/{self.slug}", headers={"Authorization": f"Bearer {self.curator}"}
        ).json()["version"]
        data = {**self.data, "summary": f"{self.data['summary']} (edit {self.done})"}
        approve_edit(
            client, curator=self.curator, reviewer=self.reviewer, data=data, version=version
        )
        self.done += 1


def measure_database(
    kind: str, arguments: argparse.Namespace, workdir: Path, failures: list[str]
) -> tuple[list[Row], list[float]]:
    """The table rows for one database, and the API workers' peak RSS in MiB; failed
    responses are reported in `failures` (and printed under the table)."""
    rows = []
    with database(kind, workdir) as url:
        environment = catalogue_environment(arguments.catalogue, workdir, url)
        if not arguments.response_cache:
            environment["RESPONSE_CACHE_ENABLED"] = "false"
        if arguments.writes_per_second:
            environment["CURATION_WRITES_PER_HOUR"] = "1000000"
        setup(environment)
        api = Server(
            [str(BIN / "catalogue"), "serve", "--no-setup", "--no-access-log"],
            {**environment, "WEB_CONCURRENCY": str(WORKERS)},
            "/readyz",
        )
        try:
            listing = httpx2.get(api.base_url + ENDPOINTS[0].path)
            detail = listing.json()["items"][0]["slug"]
            ceiling = Server(
                [
                    str(BIN / "uvicorn"),
                    "bench.ceiling:app",
                    "--workers",
                    str(WORKERS),
                    "--no-access-log",
                    "--no-server-header",
                    "--loop",
                    "uvloop",
                    "--http",
                    "httptools",
                ],
                {**environment, "CEILING_BODY_BYTES": str(len(listing.content))},
                "/",
            )
            writes = (
                BackgroundWrites(api.base_url, url, detail, arguments.writes_per_second)
                if arguments.writes_per_second
                else nullcontext()
            )
            try:
                with writes:
                    for server in (ceiling, api):  # warm both up before measuring
                        run_wrk(
                            server.base_url + "/", duration=1, connections=arguments.connections
                        )
                    ceiling_loads: list[Load] = []
                    for endpoint in ENDPOINTS:
                        path = endpoint.path.format(detail=detail)
                        first = httpx2.get(api.base_url + path)
                        first.raise_for_status()
                        headers = (
                            {"If-None-Match": first.headers["etag"]} if endpoint.conditional else {}
                        )
                        # Hot reads: every worker has answered this URL before it is measured
                        # (as many connections as measured: with 4, all could land on one).
                        run_wrk(
                            api.base_url + path,
                            duration=1,
                            connections=arguments.connections,
                            headers=headers,
                        )
                        loads: list[Load] = []
                        ratios: list[float] = []
                        written: list[Load] = []
                        written_ratios: list[float] = []
                        for _ in range(arguments.repeat):
                            top = run_wrk(
                                ceiling.base_url + "/",
                                duration=arguments.duration,
                                connections=arguments.connections,
                            )
                            load = run_wrk(
                                api.base_url + path,
                                duration=arguments.duration,
                                connections=arguments.connections,
                                headers=headers,
                            )
                            runs = [(load, loads, ratios)]
                            if isinstance(writes, BackgroundWrites):
                                with writes.running():
                                    during = run_wrk(
                                        api.base_url + path,
                                        duration=arguments.duration,
                                        connections=arguments.connections,
                                        headers=headers,
                                    )
                                runs.append((during, written, written_ratios))
                            for run, kept, kept_ratios in runs:
                                # A 200 where a 304 was asked for is a success to wrk.
                                if run.failures:
                                    failures.append(
                                        f"{kind} {endpoint.name}: {run.failures} failed "
                                        "responses (non-2xx/3xx or socket errors)"
                                    )
                                kept.append(run)
                                kept_ratios.append(
                                    run.requests_per_second / top.requests_per_second
                                )
                            ceiling_loads.append(top)
                        body_bytes = 0 if endpoint.conditional else len(first.content)
                        rows.append(
                            Row.of_runs(
                                kind, endpoint.name, loads, body_bytes=body_bytes, ratios=ratios
                            )
                        )
                        if written:
                            rows.append(
                                Row.of_runs(
                                    kind,
                                    f"{endpoint.name}, {arguments.writes_per_second:g} write/s",
                                    written,
                                    body_bytes=body_bytes,
                                    ratios=written_ratios,
                                )
                            )
                    rows.append(
                        Row.of_runs(
                            kind,
                            "ceiling (raw ASGI)",
                            ceiling_loads,
                            body_bytes=len(listing.content),
                            ratios=None,
                        )
                    )
            finally:
                ceiling.stop()
            if isinstance(writes, BackgroundWrites):
                failures.append(
                    f"{kind}: {writes.done} approved writes in {writes.seconds:.0f} s "
                    f"({writes.done / writes.seconds:.2f}/s), {len(writes.errors)} failed"
                    + (f": {writes.errors[0]}" if writes.errors else "")
                )
            peaks = api.peak_rss_mib_per_worker()
        finally:
            api.stop()
    return rows, peaks


def cold_start(arguments: argparse.Namespace, workdir: Path) -> float:
    """Seconds from `catalogue serve` on a fresh SQLite file to the first 200 of a list."""
    with database("sqlite", workdir) as url:
        environment = catalogue_environment(arguments.catalogue, workdir, url)
        server = Server(
            [str(BIN / "catalogue"), "serve", "--no-access-log"],
            environment,
            ENDPOINTS[0].path,
        )
        server.stop()
        return server.ready_seconds


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), flags=re.MULTILINE)
        cpu = match.group(1) if match else cpu
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def _at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3, help="seconds per wrk run")
    parser.add_argument(
        "--repeat", type=_at_least_one, default=3, help="ceiling-then-API pairs per endpoint"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--catalogue", choices=["full", "tiny"], default="full")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql"
    )
    parser.add_argument(
        "--no-response-cache",
        dest="response_cache",
        action="store_false",
        help="run the API with its response cache off",
    )
    parser.add_argument(
        "--writes-per-second",
        type=float,
        default=0,
        help="approved proposals a second during the reads (0: none)",
    )
    arguments = parser.parse_args(argv)
    if not Path(WRK).exists():
        sys.exit(f"{WRK} is missing: scripts/ensure-debian-package {WRK} wrk installs it")

    print(f"# Hot reads, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(f"command: python -m bench.run {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(
        f"wrk -t2 -c{arguments.connections} -d{arguments.duration:g}s, "
        f"{arguments.repeat} ceiling-then-API pairs per endpoint; {WORKERS} workers each; "
        f"response cache {'on' if arguments.response_cache else 'off'}; "
        f"catalogue {arguments.catalogue}"
        + (
            f"; each API run also made with {arguments.writes_per_second:g} approved "
            "writes a second, right after the run without"
            if arguments.writes_per_second
            else ""
        )
    )
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as directory:
        workdir = Path(directory)
        for kind in arguments.databases.split(","):
            if kind == "postgresql" and (reason := postgres_unreachable()):
                notes.append(f"postgresql skipped: {reason}")
                continue
            database_rows, peaks = measure_database(kind, arguments, workdir, notes)
            rows += database_rows
            notes.append(
                f"{kind}: peak RSS per API worker {', '.join(f'{p:.0f}' for p in peaks)} MiB"
            )
        cold = cold_start(arguments, workdir)
        notes.append(f"cold start (fresh SQLite: migrate + seed + first 200): {cold:.2f} s")
    print()
    print(TABLE_HEADER)
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row.markdown())
    print()
    for note in notes:
        print(f"- {note}")


if __name__ == "__main__":
    main()
