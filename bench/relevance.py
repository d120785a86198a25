"""Relevance of search (`python -m bench.relevance`): the judged query set
(`tests/judged_queries.py`) over the real catalogue on SQLite and PostgreSQL, through
the app's HTTP API. Prints, per database, how many judgments hold, nDCG@5 (binary
relevance: an exercise is relevant or not) and how often the first result is relevant,
and with `--verbose` each query's top 5.

    python -m bench.relevance [--verbose]
"""

import argparse
import math
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session
from starlette.testclient import TestClient

from app.database import build_engine
from app.dependencies import get_session
from app.main import create_app
from app.seeding.reading import read_catalogue
from app.seeding.writing import seed_catalogue
from app.settings import PROJECT_ROOT
from bench.run import database, postgres_unreachable
from bench.synthetic import migrate
from tests.judged_queries import JUDGED_QUERIES, Judgment

DEPTH = 5


@dataclass(frozen=True)
class Relevance:
    kind: str
    held: int
    judged: int
    ndcg_at_5: float
    first_relevant: float
    failures: list[str]


def ndcg(ranked: Sequence[str], relevant: frozenset[str], depth: int = DEPTH) -> float:
    """Normalised discounted cumulative gain at `depth`, with binary relevance."""
    gain = sum(1 / math.log2(i + 2) for i, slug in enumerate(ranked[:depth]) if slug in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(depth, len(relevant))))
    return gain / ideal


def ranked(client: TestClient, judgment: Judgment) -> tuple[list[str], str]:
    body = client.get("/v1/exercises", params={"q": judgment.query, "limit": DEPTH}).json()
    return [item["slug"] for item in body["items"]], body["search"]["matched"]


def measure(client: TestClient, kind: str, verbose: bool = False) -> Relevance:
    held, gains, firsts, failures = 0, [], 0, []
    for judgment in JUDGED_QUERIES:
        slugs, matched = ranked(client, judgment)
        ok = judgment.holds(slugs) and judgment.matched in (None, matched)
        held += ok
        gains.append(ndcg(slugs, judgment.relevant))
        firsts += bool(slugs) and slugs[0] in judgment.relevant
        if not ok:
            failures.append(f"{judgment.query!r} ({matched}): {', '.join(slugs)}")
        if verbose:
            print(f"  {'ok  ' if ok else 'FAIL'} {judgment.query!r:30} {matched:9} {slugs}")
    count = len(JUDGED_QUERIES)
    return Relevance(kind, held, count, sum(gains) / count, firsts / count, failures)


def catalogue_client(database_url: str) -> Iterator[TestClient]:
    """A client of the app over a fresh database seeded with the real catalogue."""
    engine = build_engine(database_url)
    migrate(database_url)
    seed = PROJECT_ROOT / "seed"
    with Session(engine) as session:
        seed_catalogue(session, read_catalogue(seed / "catalogue", seed))

    def read_session() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    app = create_app()
    app.dependency_overrides[get_session] = read_session
    with TestClient(app) as client:
        yield client
    engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print each query's top 5")
    arguments = parser.parse_args(argv)
    kinds = ["sqlite"] + ([] if postgres_unreachable() else ["postgresql"])
    print("| database | judgments held | nDCG@5 | first result relevant |")
    print("| --- | --- | --- | --- |")
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for kind in kinds:
            with database(kind, Path(directory)) as url:
                for client in catalogue_client(url):
                    if arguments.verbose:
                        print(kind)
                    results.append(measure(client, kind, arguments.verbose))
    for result in results:
        print(
            f"| {result.kind} | {result.held} / {result.judged} | {result.ndcg_at_5:.3f} "
            f"| {result.first_relevant:.0%} |"
        )
    for result in results:
        for failure in result.failures:
            print(f"{result.kind}: does not hold: {failure}")


if __name__ == "__main__":
    main()
