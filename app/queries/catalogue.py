"""The catalogue as a whole: its version and counts, and readiness of the database."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlmodel import Session, SQLModel, select

from app.errors import DatabaseNotReady
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
    """Raise `DatabaseNotReady` unless the database is migrated to head and seeded (an
    unreachable one raises the driver's error, answered as `DatabaseUnavailable`)."""
    # Asked first: selecting from a missing table is an error, and on PostgreSQL one
    # that aborts the transaction.
    if not sa.inspect(session.connection()).has_table("alembic_version"):
        raise DatabaseNotReady(
            f"The database answers but is not migrated: no migration has been applied "
            f"(head is {expected_revision}; run `catalogue migrate`)."
        )
    current = session.exec(sa.text("SELECT version_num FROM alembic_version")).first()  # type: ignore[call-overload]
    if current is None or current[0] != expected_revision:
        found = current[0] if current else "none"
        raise DatabaseNotReady(
            f"The database answers but its migrations are not at head ({found} != "
            f"{expected_revision}; run `catalogue migrate`)."
        )
    get_revision(session)
