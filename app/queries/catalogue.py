"""The catalogue as a whole: its version, counts, and readiness of the database."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlmodel import Session, SQLModel, col, select

from app.errors import DatabaseUnavailable
from app.models import (
    CatalogueState,
    Condition,
    Evidence,
    Exercise,
    Goal,
    Phase,
    Source,
)
from app.settings import PROJECT_ROOT

Counted = TypeVar("Counted")


@dataclass(frozen=True)
class CatalogueRevision:
    """The catalogue's content hash and the time of its last change: what every
    response is rendered from, and what caches key on."""

    version: str
    updated_at: datetime

    @property
    def tag(self) -> str:
        return f"{self.version}|{self.updated_at.isoformat()}"


@dataclass(frozen=True)
class CatalogueSummary:
    version: str
    updated_at: datetime
    counts: dict[str, int]


# Plain columns, not the ORM object: every catalogue read starts here, and loading a
# mapped instance cost more than the statement.
_STATE = sa.select(col(CatalogueState.version), col(CatalogueState.updated_at)).where(
    col(CatalogueState.id) == 1
)


def get_catalogue_state(session: Session) -> CatalogueRevision:
    """The state of the catalogue the session reads. Read once per transaction: that is
    one snapshot, and a request's validators and queries all want its state."""
    transaction = session.get_transaction()
    known = session.info.get("catalogue_state")
    if known is not None and known[0] is transaction:
        return cast(CatalogueRevision, known[1])
    row = session.connection().execute(_STATE).first()
    if row is None:
        raise DatabaseUnavailable("The catalogue has not been seeded yet.")
    state = CatalogueRevision(version=row.version, updated_at=row.updated_at)
    session.info["catalogue_state"] = (session.get_transaction(), state)
    return state


def get_catalogue_summary(session: Session) -> CatalogueSummary:
    state = get_catalogue_state(session)
    tables: dict[str, type[SQLModel]] = {
        "exercises": Exercise,
        "phases": Phase,
        "goals": Goal,
        "conditions": Condition,
        "sources": Source,
        "evidence": Evidence,
    }
    counts = {
        name: session.exec(select(sa.func.count()).select_from(model)).one()
        for name, model in tables.items()
    }
    return CatalogueSummary(version=state.version, updated_at=state.updated_at, counts=counts)


def head_revision() -> str | None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    return ScriptDirectory.from_config(config).get_current_head()


def check_ready(session: Session, *, expected_revision: str | None) -> None:
    """Raise `DatabaseUnavailable` unless the database answers, is migrated and seeded."""
    current = session.exec(sa.text("SELECT version_num FROM alembic_version")).first()  # type: ignore[call-overload]
    if current is None or current[0] != expected_revision:
        found = current[0] if current else "none"
        raise DatabaseUnavailable(f"Migrations not at head ({found} != {expected_revision}).")
    get_catalogue_state(session)


@dataclass(frozen=True)
class Terms:
    """The terms of one catalogue revision: ids by slug, and slugs by id (for phases, in
    phase order), of every kind ("phase", "goal", "condition", "source")."""

    ids: dict[str, dict[str, int]]
    slugs: dict[str, dict[int, str]]

    def slugs_of(self, kind: str, ids: list[int]) -> list[str]:
        """The slugs of `ids`: phases in phase order, other kinds by slug."""
        slugs = self.slugs[kind]
        if kind == "phase":
            return [slug for term_id, slug in slugs.items() if term_id in ids]
        return sorted(slugs[term_id] for term_id in ids)


@dataclass
class _Memo:
    """Facts about one catalogue revision: its terms, and the counts (how many
    exercises match a filter, how many a term links) asked for so far."""

    revision: tuple[str, datetime]
    terms: Terms
    max_counts: int
    counts: dict[str, Any] = field(default_factory=dict)
    # Several request threads share a memo: lookups and evictions must not interleave.
    lock: threading.Lock = field(default_factory=threading.Lock)

    def recall(self, query: str) -> Any:
        with self.lock:
            return self.counts.get(query)

    def remember(self, query: str, counted: Counted) -> Counted:
        with self.lock:
            if query not in self.counts and len(self.counts) >= self.max_counts:
                del self.counts[next(iter(self.counts))]  # the oldest
            self.counts[query] = counted
        return counted

    def count(self, query: str, count: Callable[[], Counted]) -> Counted:
        """The remembered answer to `query`, or `count()`'s, then remembered."""
        counted = self.recall(query)
        if counted is None:
            counted = self.remember(query, count())
        return cast(Counted, counted)


class RevisionMemo:
    """What queries learn about the current catalogue revision, kept until the
    catalogue changes.

    Counting every match of a filter, or every exercise of a large term, costs far more
    than fetching one page, and the answer changes only when the catalogue does: walking
    a list's pages, or many clients asking the same question, count once per revision.
    Filters name phases, goals, conditions and sources by slug; with their ids known,
    each filter is a plain index probe instead of a join to the term's table per row.

    Every write to the catalogue moves its state on (seeding does), which is what
    retires a memo. A request still reading an older snapshot during a reseed gets a
    memo of its own revision, not kept, so facts of two revisions never mix."""

    def __init__(self, max_counts: int) -> None:
        self.max_counts = max_counts
        self.memo: _Memo | None = None

    def current(self, session: Session) -> _Memo:
        state = get_catalogue_state(session)
        revision = (state.version, state.updated_at)
        memo = self.memo  # one read: another thread may replace it meanwhile
        if memo is not None and memo.revision == revision:
            return memo
        fresh = _Memo(revision, _read_terms(session), self.max_counts)
        if memo is None or memo.revision[1] < revision[1]:
            self.memo = fresh
        return fresh

    def clear(self) -> None:
        self.memo = None


REVISION_MEMO = RevisionMemo(max_counts=4096)

_TERM_TABLES: dict[str, Any] = {
    "phase": Phase,
    "goal": Goal,
    "condition": Condition,
    "source": Source,
}


def _read_terms(session: Session) -> Terms:
    """Every term of every kind, in one query."""
    rows = session.execute(
        sa.union_all(
            *(
                sa.select(
                    sa.literal(kind).label("kind"),
                    col(model.slug).label("slug"),
                    col(model.id).label("id"),
                    (col(Phase.order) if model is Phase else sa.literal(0)).label("place"),
                )
                for kind, model in _TERM_TABLES.items()
            )
        ).order_by(sa.literal_column("place"))
    )
    terms = Terms(
        ids={kind: {} for kind in _TERM_TABLES}, slugs={kind: {} for kind in _TERM_TABLES}
    )
    for kind, slug, term_id, _ in rows:
        terms.ids[kind][slug] = term_id
        terms.slugs[kind][term_id] = slug
    return terms
