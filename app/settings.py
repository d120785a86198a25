"""Runtime settings, read from the environment (and an optional `.env` file)."""

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# Cursors only need to be tamper-evident, but with this public default anyone can sign
# one; deployments set their own (the app warns at start-up when they have not).
PUBLIC_CURSOR_SECRET = "exercise-catalogue-public-cursor-key"  # noqa: S105 (public on purpose)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'catalogue.db'}",
        description="SQLAlchemy URL; SQLite by default, PostgreSQL in production.",
    )
    seed_dir: Path = Field(
        default=PROJECT_ROOT / "seed",
        description="Holds the source documents and, under catalogue/, the catalogue files.",
    )
    database_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Connect and statement timeout, and the deadline of each trip to the "
        "database a request (or the response cache's revision check, or readiness) makes, "
        "enforced by the app however stuck the database is: a 503 beyond it.",
    )
    seed_lock_timeout_seconds: float = Field(
        default=600.0,
        gt=0,
        description="How long a seed waits for another seed (or an approval) to finish "
        "before giving up; not bound by the statement timeout.",
    )
    cursor_secret: str = Field(
        default=PUBLIC_CURSOR_SECRET,
        description="Signs pagination cursors; set the same value on every replica.",
    )
    cors_allow_origins: list[str] = Field(
        default=["*"], description="Origins allowed to read the API from a browser."
    )
    response_cache_enabled: bool = Field(
        default=True, description="Serve repeated catalogue reads from memory."
    )
    response_cache_revalidate_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How often a process checks for a new catalogue revision, in the "
        "background; after a reseed it may serve the previous one for up to twice this long.",
    )
    response_cache_max_stale_seconds: float = Field(
        default=300.0,
        ge=0,
        description="While the catalogue revision cannot be checked (the database is down "
        "or frozen), hits are served from the last complete revision, marked stale, for at "
        "most this long after the last successful check; then reads go to the app (503).",
    )
    response_cache_max_entries: int = Field(
        default=4096, ge=1, description="Responses kept per process (up to 1 MiB each)."
    )
    max_concurrent_requests: int = Field(
        default=4,
        ge=1,
        description="Catalogue reads each worker process works on at once; more wait.",
    )
    curation_writes_per_hour: int = Field(
        default=120,
        ge=1,
        description="Writes (proposals made, decided or withdrawn) each curation key may "
        "make in an hour; more get 429.",
    )
    export_max_concurrent: int = Field(
        default=2,
        ge=1,
        description="Exports (`GET /v1/export`) each worker process streams at once; "
        "more get 503 with Retry-After.",
    )
    max_connections: int = Field(
        default=512,
        ge=1,
        description="Connections each worker process holds at once, idle ones included "
        "(uvicorn's `limit_concurrency`); a request beyond them gets 503 and its "
        "connection is closed. Keep it under the process's file descriptor limit.",
    )
    keep_alive_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="A connection that sends nothing for this long, before its first "
        "request or after a response, is closed.",
    )
    request_head_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="The request line and headers must be complete this long after the "
        "connection opened or the previous response ended, or the connection gets 408 "
        "and is closed (however steadily the bytes trickle in).",
    )
    max_request_head_bytes: int = Field(
        default=16384,
        ge=9216,
        description="Bytes the request line and headers may take; more get 431 (414 for "
        "a request target alone that long) and the connection is closed. At least 9 KiB, "
        "so that a URL just over the app's 8 KiB limit still gets the app's 414.",
    )
    max_request_headers: int = Field(
        default=100, ge=16, description="Header fields a request may have; more get 431."
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated addresses or networks (or `*`) of the proxies whose "
        "`X-Forwarded-Proto` and `X-Forwarded-For` are believed; empty (the default): "
        "none, and the headers are ignored from everyone.",
    )
    database_replica_urls: str = Field(
        default="",
        description="Comma-separated SQLAlchemy URLs of PostgreSQL streaming replicas of "
        "`DATABASE_URL`. Public reads go to them in turn; writes, readiness, and every "
        "request with `Authorization` go to the primary, and so do reads while no "
        "replica answers. Empty (the default): everything goes to the primary.",
    )
    database_replica_retry_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How long a replica that failed a read (refused, dropped or timed "
        "out a connection) is left out before reads are sent to it again.",
    )
    log_level: str = Field(default="INFO", description="The least severe level logged.")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`text`, or `json`: one JSON object per line (time, level, logger, "
        "message, and for each request its id, method, route, path, status, duration "
        "and client). Query strings are never logged.",
    )
    access_log: bool = Field(
        default=True, description="Log every request, one line each (off for benchmarks)."
    )
    metrics_enabled: bool = Field(
        default=True,
        description="Serve Prometheus metrics at `/metrics` (outside the API, its CORS "
        "and its documents).",
    )
    metrics_allow_ips: str = Field(
        default="127.0.0.1,::1",
        description="Comma-separated addresses or networks that may read `/metrics` "
        "(`*`: anyone); others get 403. The client address is the one uvicorn sees, "
        "after `FORWARDED_ALLOW_IPS` is applied.",
    )

    @field_validator("metrics_allow_ips")
    @classmethod
    def _networks(cls, value: str) -> str:
        allowed_networks(value)  # raises on an address that is not one
        return value

    def replica_urls(self) -> list[str]:
        return [url.strip() for url in self.database_replica_urls.split(",") if url.strip()]


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed_networks(value: str) -> list[Network] | None:
    """The networks of a comma-separated allow list; None for `*` (every address)."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    if "*" in items:
        return None
    return [ipaddress.ip_network(item, strict=False) for item in items]


@lru_cache
def get_settings() -> Settings:
    return Settings()
