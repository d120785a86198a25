"""The catalogue as a whole: its version and counts, and readiness of the database."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlmodel import Session, SQLModel, select

from app.errors import DatabaseUnavailable
from app.models import Condition, Evidence, Exercise, Goal, Phase, Source
from app.queries.revision import get_revision
from app.settings import PROJECT_ROOT


@dataclass(frozen=True)
class CatalogueSummary:
    version: str
    updated_at: datetime
    counts: dict[str, int]


_COUNTED: dict[str, type[SQLModel]] = {
    "exercises": Exercise,
    "phases": Phase,
    "goals": Goal,
    "conditions": Condition,
    "sources": Source,
    "evidence": Evidence,
}


def get_catalogue_summary(session: Session) -> CatalogueSummary:
    revision = get_revision(session)
    counts = {
        name: session.exec(select(sa.func.count()).select_from(model)).one()
        for name, model in _COUNTED.items()
    }
    return CatalogueSummary(version=revision.version, updated_at=revision.updated_at, counts=counts)


def head_revision() -> str | None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    return ScriptDirectory.from_config(config).get_current_head()


def check_ready(session: Session, *, expected_revision: str | None) -> None:
    """Raise `DatabaseUnavailable` unless the database answers, is migrated and seeded."""
    current = session.exec(sa.text("SELECT version_num FROM alembic_version")).first()  # type: ignore[call-overload]
    if current is None or current[0] != expected_revision:
        found = current[0] if current else "none"
        raise DatabaseUnavailable(f"Migrations not at head ({found} != {expected_revision}).")
    get_revision(session)
