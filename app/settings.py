"""Runtime settings, read from the environment (and an optional `.env` file)."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
    cursor_secret: str = Field(
        default="exercise-catalogue-public-cursor-key",
        description="Signs pagination cursors; set the same value on every replica.",
    )
    cors_allow_origins: list[str] = Field(
        default=["*"], description="Origins allowed to read the API from a browser."
    )
    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    return Settings()
