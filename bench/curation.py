"""Curation benchmark (`make bench-curation`): writes at scale.

For each database it loads a synthetic catalogue (`bench/synthetic.py`, 100k
exercises by default) through the normal seeding path, then measures:

- an unchanged reseed of the whole catalogue (seconds): what every `catalogue serve`
  start pays;
- at 1 connection, against a real server: `POST /v1/proposals` (an exercise's summary
  edited, each on a different exercise) and `POST /v1/proposals/{id}/approve` (each of
  those proposals, by a second key), p50 and p99 over `--writes` requests each;
- a reseed after those approvals, which keeps every exercise they changed (seconds).

Timings are taken by the client around each request, so they include HTTP and the
server's own work, as a curation tool sees them.

    python -m bench.curation --size 100000 --writes 200
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
from sqlmodel import Session

from app.database import build_engine
from app.seeding.writing import seed_catalogue
from bench.run import curation_server, database, machine, postgres_unreachable, prepare_edits
from bench.synthetic import LOAD_TIMEOUT_SECONDS, build_catalogue, seed_database

TABLE_HEADER = (
    "| database | exercises | load s | unchanged reseed s | submit p50 ms | submit p99 ms "
    "| approve p50 ms | approve p99 ms | reseed keeping N s |"
)


@dataclass(frozen=True)
class CurationRow:
    database: str
    exercises: int
    load_seconds: float
    reseed_seconds: float
    submit: list[float]
    approve: list[float]
    keeping_seconds: float

    def cells(self) -> str:
        def p(values: list[float], q: int) -> str:
            return f"{statistics.quantiles(values, n=100)[q - 1] * 1000:.2f}"

        return (
            f"| {self.database} | {self.exercises:,} | {self.load_seconds:.1f} "
            f"| {self.reseed_seconds:.1f} | {p(self.submit, 50)} | {p(self.submit, 99)} "
            f"| {p(self.approve, 50)} | {p(self.approve, 99)} | {self.keeping_seconds:.1f} |"
        )


def timed(client: httpx2.Client, method: str, url: str, **arguments: object) -> float:
    started = time.perf_counter()
    response = client.request(method, url, **arguments)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    if response.status_code >= 300:
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:500]}")
    return seconds


def measure(kind: str, size: int, writes: int, workdir: Path) -> CurationRow:
    catalogue = build_catalogue(size)
    with database(kind, workdir) as url:
        load_seconds, _ = seed_database(url, catalogue, progress=sys.stderr.isatty())
        engine = build_engine(url, timeout_seconds=LOAD_TIMEOUT_SECONDS)
        try:
            with Session(engine) as session:
                started = time.perf_counter()
                report = seed_catalogue(session, catalogue)
                reseed_seconds = time.perf_counter() - started
                assert not report.changed, "an unchanged reseed changed the catalogue"
        finally:
            engine.dispose()
        # Exercises spread over the catalogue, each edited once.
        edits = prepare_edits(url, count=writes + 5)
        api = curation_server(url, writes=writes)
        try:
            submit, approve = [], []
            with httpx2.Client(base_url=api.base_url, timeout=30) as client:
                proposal_ids = []
                for index, data in enumerate(edits.entries):
                    data = data | {"summary": f"Edited through the API ({index})."}
                    body = {
                        "kind": "exercise",
                        "action": "update",
                        "slug": data["slug"],
                        "base_version": 1,
                        "data": data,
                        "reason": "Benchmark edit.",
                    }
                    started = time.perf_counter()
                    response = client.post(
                        "/v1/proposals",
                        json=body,
                        headers={"Authorization": f"Bearer {edits.curator}"},
                    )
                    seconds = time.perf_counter() - started
                    if response.status_code != 201:
                        raise RuntimeError(f"propose: {response.status_code} {response.text[:500]}")
                    proposal_ids.append(response.json()["id"])
                    if index >= 5:  # the first few warm the worker and the key's check
                        submit.append(seconds)
                for index, proposal_id in enumerate(proposal_ids):
                    seconds = timed(
                        client,
                        "POST",
                        f"/v1/proposals/{proposal_id}/approve",
                        headers={"Authorization": f"Bearer {edits.reviewer}"},
                    )
                    if index >= 5:
                        approve.append(seconds)
        finally:
            api.stop()
        engine = build_engine(url, timeout_seconds=LOAD_TIMEOUT_SECONDS)
        try:
            with Session(engine) as session:
                started = time.perf_counter()
                report = seed_catalogue(session, catalogue)
                keeping_seconds = time.perf_counter() - started
                assert len(report.kept) == len(edits.entries), report.kept[:5]
        finally:
            engine.dispose()
    return CurationRow(kind, size, load_seconds, reseed_seconds, submit, approve, keeping_seconds)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.curation", description=__doc__)
    parser.add_argument("--size", type=int, default=100_000, help="exercises (default 100k)")
    parser.add_argument("--writes", type=int, default=200, help="proposals and approvals")
    parser.add_argument("--databases", default="sqlite,postgresql")
    arguments = parser.parse_args(argv)
    kinds = arguments.databases.split(",")
    if "postgresql" in kinds and (reason := postgres_unreachable()) is not None:
        print(f"skipping PostgreSQL: {reason}", file=sys.stderr)
        kinds.remove("postgresql")
    print(machine())
    print(TABLE_HEADER)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as directory:
        for kind in kinds:
            row = measure(kind, arguments.size, arguments.writes, Path(directory))
            print(row.cells(), flush=True)


if __name__ == "__main__":
    main()
