"""The service's Prometheus metrics, defined once, and their multiprocess directory.

`catalogue serve` runs several worker processes: each writes its samples to files in
`PROMETHEUS_MULTIPROC_DIR` (prometheus-client's multiprocess mode), and whichever
worker answers `/metrics` reads them all. `catalogue serve` makes that directory (or
empties the one given) before any worker starts, marks a worker dead when it is
replaced, and removes a directory it made when it stops (`app/server.py`). Without the
variable (an app built in a test, one process) the process's own registry is served.

prometheus-client chooses the mode when it is first imported: the variable must be set
before that, which is why `catalogue serve` sets it (`app.cli`) before importing
anything that imports this module.

Labels are bounded by construction: route templates (never a URL or a query string),
methods from a fixed list, status codes, and names this module lists.
"""

import os
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Methods the API answers; anything else is counted as OTHER, so that a client cannot
# mint label values.
METHODS = frozenset({"GET", "HEAD", "POST", "DELETE", "OPTIONS"})
# The route of a request no route matched (a 404, or a refusal before routing).
UNMATCHED = "unmatched"

REQUESTS = Counter(
    "catalogue_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
DURATION = Histogram(
    "catalogue_http_request_duration_seconds",
    "Time from a request's arrival to its last byte sent, by method and route template.",
    ["method", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
IN_PROGRESS = Gauge(
    "catalogue_http_requests_in_progress",
    "Requests being answered now, over all live workers.",
    multiprocess_mode="livesum",
)
CACHE_REQUESTS = Counter(
    "catalogue_response_cache_requests",
    "Catalogue reads the response cache looked up, by result: hit (served from memory), "
    "shared (a copy of the same answer another request was rendering) or miss (rendered "
    "by the app).",
    ["result"],
)
CACHE_ENTRIES = Gauge(
    "catalogue_response_cache_entries",
    "Answers the response caches hold, over all live workers.",
    multiprocess_mode="livesum",
)
CONNECTIONS_IN_USE = Gauge(
    "catalogue_database_connections_in_use",
    "Database connections checked out of the pools, by database (primary, replica-N).",
    ["database"],
    multiprocess_mode="livesum",
)
CONNECTIONS_OPEN = Gauge(
    "catalogue_database_connections_open",
    "Database connections the pools hold open, in use or idle, by database.",
    ["database"],
    multiprocess_mode="livesum",
)
CONNECTIONS_LIMIT = Gauge(
    "catalogue_database_connections_limit",
    "The most connections the pools may open, by database (pool size and overflow).",
    ["database"],
    multiprocess_mode="livesum",
)
READS = Counter(
    "catalogue_database_reads",
    "Public read sessions begun, by the database they were sent to.",
    ["database"],
)
READ_FALLBACKS = Counter(
    "catalogue_database_read_fallbacks",
    "Reads retried on another database because the one they were sent to failed, by "
    "the database that failed.",
    ["database"],
)
SEEDS = Counter(
    "catalogue_seeds",
    "Seeds run, by outcome: changed, unchanged, refused (the catalogue would not hold "
    "together, or would lose exercises) or failed (the database); nothing is written "
    "by the last two.",
    ["outcome"],
)
SEEDED_RESOURCES = Counter(
    "catalogue_seeded_resources",
    "Resources seeds inserted, updated or deleted, or kept as changed through the API.",
    ["action"],
)
PROPOSALS = Counter(
    "catalogue_proposals",
    "Curation proposals, by event: submitted, approved, rejected, withdrawn.",
    ["event"],
)


def method_label(method: str) -> str:
    return method if method in METHODS else "OTHER"


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def exposition() -> bytes:
    """Every metric in the Prometheus text format: all workers' when in multiprocess
    mode, this process's otherwise."""
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    _multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def mark_process_dead(pid: int) -> None:
    """A worker is gone: drop its live gauges (its counters stay counted)."""
    directory = multiprocess_dir()
    if directory is not None:
        _multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
