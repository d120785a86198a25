"""Scale benchmark (`make bench-scale`): uncached reads over 1k, 10k and 100k exercises.

For each size and database it loads a synthetic catalogue (`bench/synthetic.py`)
through the normal seeding path, serves it with the response cache OFF (so every
request queries and renders), and measures with wrk:

- at 1 connection: a filtered list page (p50, p99), a ranked search (p99), the first
  and last page of a keyset walk over a large filtered list (p50 each, and the median
  over turns of last / first, each turn running the two back to back), and the first
  and last page of a phase's exercises (/v1/phases/rehab, p50 each);
- filter combinations asked for the first time (phase x goal, each once): p50 and
  worst. Their match count is not known yet, so these pay for counting every match;
  repeats (and later pages) reuse the count until the catalogue changes;
- at 32 connections: the filtered list's throughput;
- at 1 connection, /healthz (p50): the server's floor per request at that moment, with
  no database and no rendering. This machine is shared, and its speed drifts by up to
  twice over minutes: the floor tells a slow spell from a slow query.

The 1-connection runs go round in turns (`--repeat`, 5 by default) and each figure is
the median of its turns: on PostgreSQL one 2-second run of the same page drifts from
another by up to 40% while the floor holds steady (seen: 3.3-5.4 ms), as the worker,
its thread and the database backend land on the two cores, and three turns were not
enough to compare a walk's first and last pages. It prints one table and how each
figure grows from the smallest to the largest size.

    python -m bench.scale --sizes 1000,10000,100000 --duration 3
"""

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx2

from bench.run import (
    WORKERS,
    WRK,
    database,
    machine,
    postgres_unreachable,
    run_wrk,
    uncached_server,
)
from bench.synthetic import load

FILTERED_LIST = "/v1/exercises?phase=rehab&goal=strength&limit=20"
SEARCH = "/v1/exercises?q=hamstring+bridge"
WALK = "/v1/exercises?phase=rehab&limit=100"
TERM = "/v1/phases/rehab?limit=100"


@dataclass(frozen=True)
class ScaleRow:
    database: str
    size: int
    load_seconds: float
    list_p50_ms: float
    list_p99_ms: float
    search_p99_ms: float
    first_page_p50_ms: float
    last_page_p50_ms: float
    pages: int
    walk_last_to_first: float
    term_first_p50_ms: float
    term_last_p50_ms: float
    term_pages: int
    fresh_p50_ms: float
    fresh_max_ms: float
    list_rps_32: float
    floor_p50_ms: float

    def markdown(self) -> str:
        return (
            f"| {self.database} | {self.size:,} | {self.load_seconds:.1f} "
            f"| {self.list_p50_ms:.2f} | {self.list_p99_ms:.2f} | {self.search_p99_ms:.2f} "
            f"| {self.first_page_p50_ms:.2f} | {self.last_page_p50_ms:.2f} ({self.pages} pages) "
            f"| x{self.walk_last_to_first:.2f} "
            f"| {self.term_first_p50_ms:.2f} | {self.term_last_p50_ms:.2f} "
            f"({self.term_pages} pages) "
            f"| {self.fresh_p50_ms:.1f} / {self.fresh_max_ms:.1f} "
            f"| {self.list_rps_32:,.0f} | {self.floor_p50_ms:.2f} |"
        )


TABLE_HEADER = (
    "| database | exercises | load s | list p50 ms | list p99 ms | search p99 ms "
    "| walk first p50 ms | walk last p50 ms | walk last / first "
    "| phase first p50 ms | phase last p50 ms "
    "| new filters p50 / max ms | list req/s at 32 | floor p50 ms |"
)


def last_page_url(base_url: str, path: str) -> tuple[str, int]:
    """The URL of the last page of `path`, found by following every cursor."""
    url, pages = base_url + path, 1
    with httpx2.Client(timeout=30) as client:
        while True:
            response = client.get(url)
            response.raise_for_status()
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return url, pages
            url = str(httpx2.URL(base_url + path).copy_merge_params({"cursor": cursor}))
            pages += 1


def new_filter_latencies(base_url: str) -> list[float]:
    """Milliseconds for each phase x goal list asked for once, in turn."""
    with httpx2.Client(base_url=base_url, timeout=30) as client:
        goals = [item["slug"] for item in client.get("/v1/goals?limit=100").json()["items"]]
        latencies = []
        for phase in ("acute", "rehab", "return-to-sport"):
            for goal in goals:
                started = time.perf_counter()
                client.get(
                    "/v1/exercises", params={"phase": phase, "goal": goal}
                ).raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
    return sorted(latencies)


def measure(kind: str, size: int, arguments: argparse.Namespace, workdir: Path) -> ScaleRow:
    with database(kind, workdir) as url:
        load_seconds = load(url, size, progress=sys.stderr.isatty())
        api = uncached_server(url)
        try:
            fresh = new_filter_latencies(api.base_url)
            last, pages = last_page_url(api.base_url, WALK)
            term_last, term_pages = last_page_url(api.base_url, TERM)
            one = {"duration": arguments.duration, "connections": 1}
            # Steady state: every worker has seen each URL (and remembered its count)
            # before it is timed. What a first request costs is `fresh` above.
            for url in (FILTERED_LIST, SEARCH, WALK, TERM):
                run_wrk(api.base_url + url, duration=1, connections=2 * WORKERS)
            for url in (last, term_last):
                run_wrk(url, duration=1, connections=2 * WORKERS)
            # The 1-connection runs go round in turns, `--repeat` times, and each figure
            # is the median of its turns: a spell of this shared machine lasting a few
            # seconds then skews one turn, not the figure.
            latency_urls = {
                "list": api.base_url + FILTERED_LIST,
                "search": api.base_url + SEARCH,
                "walk first page": api.base_url + WALK,
                "walk last page": last,
                "phase": api.base_url + TERM,
                "phase last page": term_last,
                "floor": api.base_url + "/healthz",
            }
            turns = [
                {name: run_wrk(url, **one) for name, url in latency_urls.items()}
                for _ in range(arguments.repeat)
            ]
            many = run_wrk(
                api.base_url + FILTERED_LIST, duration=arguments.duration, connections=32
            )
        finally:
            api.stop()
    runs = [(name, result) for turn in turns for name, result in turn.items()]
    for name, result in [*runs, ("32 connections", many)]:
        if result.failures:
            raise RuntimeError(f"{kind} {size} {name}: {result.failures} failures")

    def median(name: str, percentile: str) -> float:
        return statistics.median(getattr(turn[name], percentile) for turn in turns)

    return ScaleRow(
        database=kind,
        size=size,
        load_seconds=load_seconds,
        list_p50_ms=median("list", "p50_ms"),
        list_p99_ms=median("list", "p99_ms"),
        search_p99_ms=median("search", "p99_ms"),
        first_page_p50_ms=median("walk first page", "p50_ms"),
        last_page_p50_ms=median("walk last page", "p50_ms"),
        pages=pages,
        # Each turn runs the two pages back to back: their ratio, turn by turn, is steadier
        # than either page's own median (a run's p50 drifts by up to 40% from the next).
        walk_last_to_first=statistics.median(
            turn["walk last page"].p50_ms / turn["walk first page"].p50_ms for turn in turns
        ),
        term_first_p50_ms=median("phase", "p50_ms"),
        term_last_p50_ms=median("phase last page", "p50_ms"),
        term_pages=term_pages,
        fresh_p50_ms=fresh[len(fresh) // 2],
        fresh_max_ms=fresh[-1],
        list_rps_32=many.requests_per_second,
        floor_p50_ms=median("floor", "p50_ms"),
    )


def growth(rows: list[ScaleRow]) -> list[str]:
    """How each figure grows from the smallest catalogue to the largest, per database."""
    lines = []
    for kind in dict.fromkeys(row.database for row in rows):
        mine = sorted((row for row in rows if row.database == kind), key=lambda r: r.size)
        small, large = mine[0], mine[-1]
        if small is large:
            continue
        ratios = ", ".join(
            f"{name} x{getattr(large, field) / getattr(small, field):.2f}"
            for name, field in (
                ("list p50", "list_p50_ms"),
                ("list p99", "list_p99_ms"),
                ("search p99", "search_p99_ms"),
                ("walk last-page p50", "last_page_p50_ms"),
                ("phase last-page p50", "term_last_p50_ms"),
                ("new-filter p50", "fresh_p50_ms"),
                ("32-connection req/s", "list_rps_32"),
            )
        )
        lines.append(f"{kind}, {small.size:,} -> {large.size:,} exercises: {ratios}")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--duration", type=float, default=3, help="seconds per wrk run")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--repeat", type=int, default=5, help="turns of the 1-connection runs (median taken)"
    )
    arguments = parser.parse_args(argv)
    if not Path(WRK).exists():
        sys.exit(f"{WRK} is missing: scripts/ensure-debian-package {WRK} wrk installs it")
    print(f"# Scale, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(f"command: python -m bench.scale {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(
        f"response cache off; {WORKERS} workers; wrk -t1 -c1 (latency, median of "
        f"{arguments.repeat} turns), -t2 -c32 (req/s)"
    )
    rows: list[ScaleRow] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as directory:
        for kind in arguments.databases.split(","):
            if kind == "postgresql" and (reason := postgres_unreachable()):
                notes.append(f"postgresql skipped: {reason}")
                continue
            for size in (int(text) for text in arguments.sizes.split(",")):
                rows.append(measure(kind, size, arguments, Path(directory)))
                print(rows[-1].markdown(), file=sys.stderr)
    print()
    print(TABLE_HEADER)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row.markdown())
    print()
    for line in [*growth(rows), *notes]:
        print(f"- {line}")


if __name__ == "__main__":
    main()
