"""Offline-sync benchmark (`make bench-sync`): the export and the change feed at scale.

For each database it loads a synthetic catalogue (`bench/synthetic.py`, 100k exercises
by default) through the normal seeding path, so the change log holds one entry per
resource, serves it with one worker (`catalogue serve`), and measures:

- a full `GET /v1/export`, uncompressed and with gzip: seconds, bytes on the wire,
  lines per second, and the worker's peak RSS (VmHWM) after each;
- `GET /v1/changes` walked from the start over the whole log at 1 connection, three
  times (`limit` 100, 99 and 98, so that each page is a first request: the response
  cache has never seen its cursor), p50 and p99: the median walk's, and their range;
- the reference client (`app/sync_client.py`): its first sync (a full export into a
  local SQLite file), then, after `--changes` approved proposals, its delta sync, end to
  end; the copy is then checked against a fresh export, byte for byte.

Timings are taken by the client around each request or sync.

    python -m bench.sync --size 100000 --changes 100
"""

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx2

from app.sync_client import OfflineCatalogue
from bench.run import (
    Server,
    approve_edit,
    curation_server,
    database,
    machine,
    postgres_unreachable,
    prepare_edits,
)
from bench.synthetic import build_catalogue, seed_database

TABLE_HEADER = (
    "| database | exercises | export s | export MB | lines/s | gzip s | gzip MB "
    "| worker peak RSS MiB | changes p50 ms | changes p99 ms | first sync s "
    "| delta sync s (N changes) |"
)


@dataclass(frozen=True)
class Export:
    seconds: float
    wire_bytes: int
    lines: int
    peak_rss_mib: float


@dataclass(frozen=True)
class SyncRow:
    database: str
    exercises: int
    plain: Export
    gzip: Export
    changes: list[list[float]]  # one walk of the feed each, at page sizes WALK_LIMITS
    first_sync_seconds: float
    delta_sync_seconds: float
    delta_changes: int

    def cells(self) -> str:
        def p(q: int) -> str:
            # The median walk's, and the range over the walks.
            each = sorted(statistics.quantiles(walk, n=100)[q - 1] * 1000 for walk in self.changes)
            return f"{statistics.median(each):.2f} ({each[0]:.2f}-{each[-1]:.2f})"

        return (
            f"| {self.database} | {self.exercises:,} | {self.plain.seconds:.1f} "
            f"| {self.plain.wire_bytes / 1e6:.0f} "
            f"| {self.plain.lines / self.plain.seconds:,.0f} | {self.gzip.seconds:.1f} "
            f"| {self.gzip.wire_bytes / 1e6:.0f} "
            f"| {max(self.plain.peak_rss_mib, self.gzip.peak_rss_mib):.0f} | {p(50)} | {p(99)} "
            f"| {self.first_sync_seconds:.1f} "
            f"| {self.delta_sync_seconds:.2f} ({self.delta_changes}) |"
        )


def worker_peak_rss_mib(server: Server) -> float:
    return max(server.peak_rss_mib_per_worker())


def export(client: httpx2.Client, server: Server, encoding: str) -> Export:
    """One full export as it comes over the wire (`encoding` asked for), timed."""
    started = time.perf_counter()
    wire = lines = 0
    with client.stream("GET", "/v1/export", headers={"Accept-Encoding": encoding}) as response:
        response.raise_for_status()
        if encoding == "identity":
            for chunk in response.iter_raw():
                wire += len(chunk)
                lines += chunk.count(b"\n")
        else:
            # Counted as they arrive (decompressed by httpx), and sized on the wire.
            for chunk in response.iter_bytes():
                lines += chunk.count(b"\n")
            wire = response.num_bytes_downloaded
    return Export(time.perf_counter() - started, wire, lines, worker_peak_rss_mib(server))


# Three walks of the whole feed, each page a first request: a page size of its own
# gives each walk its own cursors, which the response cache has not seen.
WALK_LIMITS = (100, 99, 98)


def walk_changes(client: httpx2.Client, limit: int) -> list[float]:
    timings, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        started = time.perf_counter()
        response = client.get("/v1/changes", params=params)
        timings.append(time.perf_counter() - started)
        response.raise_for_status()
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return timings


def make_changes(client: httpx2.Client, url: str, count: int) -> None:
    """`count` approved proposals, each editing a different exercise's summary."""
    edits = prepare_edits(url, count=count)
    for index, data in enumerate(edits.entries):
        data = data | {"summary": f"Synced edit {index}."}
        approve_edit(client, curator=edits.curator, reviewer=edits.reviewer, data=data, version=1)


def measure(kind: str, size: int, changes: int, workdir: Path) -> SyncRow:
    catalogue = build_catalogue(size)
    with database(kind, workdir) as url:
        seed_database(url, catalogue, progress=sys.stderr.isatty())
        del catalogue
        api = curation_server(url, writes=changes)
        try:
            with httpx2.Client(base_url=api.base_url, timeout=600) as client:
                plain = export(client, api, "identity")
                gzipped = export(client, api, "gzip")
                timings = [walk_changes(client, limit) for limit in WALK_LIMITS]
                copy_path = workdir / f"copy-{kind}.db"
                copy = OfflineCatalogue(copy_path, api.base_url)
                try:
                    started = time.perf_counter()
                    copy.sync()
                    first = time.perf_counter() - started
                    make_changes(client, url, changes)
                    time.sleep(2.5)  # past the response cache's revalidation
                    started = time.perf_counter()
                    report = copy.sync()
                    delta = time.perf_counter() - started
                    fresh = client.get("/v1/export").content
                    if b"".join(copy.lines()) != fresh:
                        raise RuntimeError("the synced copy differs from a fresh export")
                finally:
                    copy.close()
                    copy_path.unlink()
        finally:
            api.stop()
    return SyncRow(kind, size, plain, gzipped, timings, first, delta, report.changes)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__)
    parser.add_argument("--size", type=int, default=100_000, help="exercises (default 100k)")
    parser.add_argument("--changes", type=int, default=100, help="changes in the delta sync")
    parser.add_argument("--databases", default="sqlite,postgresql")
    arguments = parser.parse_args(argv)
    kinds = arguments.databases.split(",")
    if "postgresql" in kinds and (reason := postgres_unreachable()) is not None:
        print(f"skipping PostgreSQL: {reason}", file=sys.stderr)
        kinds.remove("postgresql")
    print(machine())
    print(f"command: python -m bench.sync {' '.join(argv or sys.argv[1:])}")
    print(TABLE_HEADER)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as directory:
        for kind in kinds:
            row = measure(kind, arguments.size, arguments.changes, Path(directory))
            print(row.cells(), flush=True)


if __name__ == "__main__":
    main()
