"""Runtime settings, read from the environment (and an optional `.env` file)."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
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
        default=5.0, gt=0, description="Connect and statement timeout before a 503."
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
    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    return Settings()
