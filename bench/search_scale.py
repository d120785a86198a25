"""Search at scale (`python -m bench.search_scale`): ranked search, its fallbacks, hostile
nonsense, /v1/suggest and a list page with four facets over a synthetic catalogue
(`bench/synthetic.py`, 100k exercises by default), on SQLite and PostgreSQL, with the
response cache off and wrk at 1 connection.

Each URL is first asked once (`first ms`: what the first asker pays, counting the
matches, choosing the fallback, building the suggestion index, counting facets, all
remembered per catalogue revision by the app), then measured in steady state (p50,
p99: the median of `--repeat` turns). It also prints the judged set's relevance
(`bench.relevance`, over the real catalogue) beside the latencies.

    python -m bench.search_scale --sizes 10000,100000 --duration 3 --repeat 3

Loading 100k takes minutes per database: `--keep sqlite=URL --keep postgresql=URL`
measures those databases instead of fresh ones, loading one only if it does not hold
the size asked for (one size per kept database), and leaves them for the next run.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx2
import sqlalchemy as sa

from app.database import build_engine
from bench import relevance
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

NONSENSE = " ".join(
    "".join(chr(ord("a") + (i * 7 + j * 3) % 26) for j in range(9)) for i in range(20)
)[:200]
# (name, URL, the p99 target in ms, the `matched` the search must report)
URLS: list[tuple[str, str, float, str | None]] = [
    ("search, all words", "/v1/exercises?q=hamstring+bridge", 30, "all"),
    # bench.run's search, whose p99 the earlier scale runs report.
    ("search, all words (bench.run's)", "/v1/exercises?q=hamstring+stretch", 30, "all"),
    ("search, all words (phrase)", "/v1/exercises?q=knee+pain", 30, "all"),
    ("search, any word", "/v1/exercises?q=doorway+kettlebell+slider", 60, "any"),
    ("search, corrected", "/v1/exercises?q=hamstrng", 60, "corrected"),
    ("search, 200 characters of nonsense", f"/v1/exercises?q={quote(NONSENSE)}", 60, None),
    ("suggest, prefix", "/v1/suggest?q=ham", 10, None),
    ("suggest, two words", "/v1/suggest?q=lying+hamstring+st", 10, None),
    ("suggest, typo", "/v1/suggest?q=hamstrng", 10, None),
    (
        "list with four facets",
        "/v1/exercises?phase=rehab&facets=goal&facets=category&facets=equipment&facets=body_region",
        40,
        None,
    ),
]
HEADER = (
    "| database | exercises | request | matched | total | first ms | p50 ms | p99 ms "
    "| failed | target p99 ms |\n|---|---:|---|---|---:|---:|---:|---:|---:|---|"
)


@contextmanager
def kept_or_fresh(kind: str, kept: dict[str, str], workdir: Path) -> Iterator[str]:
    """The kept database of `kind`, or a fresh one removed afterwards."""
    if kind in kept:
        yield kept[kind]
        return
    with database(kind, workdir) as url:
        yield url


def exercises_held(url: str) -> int:
    """How many exercises a database holds (0 if it has no catalogue yet)."""
    engine = build_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM exercise")).scalar_one())
    except sa.exc.SQLAlchemyError:
        return 0
    finally:
        engine.dispose()


def measure(
    kind: str, size: int, arguments: argparse.Namespace, workdir: Path, kept: dict[str, str]
) -> list[str]:
    lines = []
    with kept_or_fresh(kind, kept, workdir) as url:
        if kind in kept and exercises_held(url) == size:
            print(f"{kind}: the kept database holds {size:,} exercises", file=sys.stderr)
        else:
            load_seconds = load(url, size, progress=sys.stderr.isatty())
            print(f"{kind}: {size:,} exercises loaded in {load_seconds:.1f} s", file=sys.stderr)
        api = uncached_server(url)
        try:
            first: dict[str, tuple[float, str, int | str]] = {}
            with httpx2.Client(base_url=api.base_url, timeout=60) as client:
                for name, path, _, expected in URLS:
                    started = time.perf_counter()
                    response = client.get(path)
                    elapsed = (time.perf_counter() - started) * 1000
                    response.raise_for_status()
                    body = response.json()
                    matched = body.get("search", {}).get("matched", "-")
                    if expected is not None and matched != expected:
                        raise RuntimeError(f"{name}: matched {matched}, expected {expected}")
                    total = body.get("total", len(body.get("items", [])))
                    first[name] = (elapsed, matched, total)
            for _, path, _, _ in URLS:  # every worker has seen every URL
                run_wrk(api.base_url + path, duration=1, connections=2 * WORKERS)
            one = {"duration": arguments.duration, "connections": 1}
            turns = [
                {name: run_wrk(api.base_url + path, **one) for name, path, _, _ in URLS}
                for _ in range(arguments.repeat)
            ]
        finally:
            api.stop()
    for name, _, target, _ in URLS:
        results = [turn[name] for turn in turns]
        # Failed requests (errors, or wrk's 2-second timeout) are counted, not hidden.
        failed = sum(result.failures for result in results)
        p50 = statistics.median(result.p50_ms for result in results)
        p99 = statistics.median(result.p99_ms for result in results)
        elapsed, matched, total = first[name]
        verdict = "met" if p99 <= target and not failed else "NOT met"
        lines.append(
            f"| {kind} | {size:,} | {name} | {matched} | {total:,} | {elapsed:.1f} "
            f"| {p50:.2f} | {p99:.2f} | {failed} | {target:.0f}: {verdict} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated catalogue sizes")
    parser.add_argument("--duration", type=float, default=3, help="seconds per wrk run")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3, help="turns (median taken)")
    parser.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="KIND=URL",
        help="measure (and keep) this database of KIND instead of a fresh one",
    )
    arguments = parser.parse_args(argv)
    kept = dict(item.split("=", 1) for item in arguments.keep)
    if unknown := set(kept) - {"sqlite", "postgresql"}:
        parser.error(f"--keep: unknown database kind {sorted(unknown)}")
    if not Path(WRK).exists():
        sys.exit(f"{WRK} is missing: scripts/ensure-debian-package {WRK} wrk installs it")
    print(f"# Search at scale, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    # The cores may be shared: the load before and after the run says how busy they were.
    print("load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    command = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"command: python -m bench.search_scale {command}")
    print(f"response cache off; {WORKERS} workers; wrk -t1 -c1, median of {arguments.repeat} turns")
    print()
    print(HEADER)
    kinds = [
        kind
        for kind in arguments.databases.split(",")
        if kind != "postgresql" or not postgres_unreachable()
    ]
    with tempfile.TemporaryDirectory(prefix="bench-search-") as directory:
        for kind in kinds:
            for size in (int(text) for text in arguments.sizes.split(",")):
                for line in measure(kind, size, arguments, Path(directory), kept):
                    print(line, flush=True)
    print("load average (1, 5, 15 min) after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print()
    print("Judged query set (tests/judged_queries.py) over the real catalogue:")
    relevance.main([])


if __name__ == "__main__":
    main()
