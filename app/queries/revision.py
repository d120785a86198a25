"""The catalogue revision a session reads, and the facts remembered per revision.

Counting every match of a filter, or every exercise of a large term, costs far more
than fetching one page, and the answer changes only when the catalogue does: walking a
list's pages, or many clients asking the same question, count once per revision.
Filters name phases, goals, conditions and sources by slug; with their ids known, each
filter is a plain index probe instead of a join to the term's table per row.

An app keeps one `RevisionMemo` (see `app.dependencies`), which the sessions it reads
with carry in `session.info`; a session without one (a script's) learns the facts
afresh. Every write to the catalogue moves its revision on (see `app.writer`), which is
what retires a memo's facts."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlmodel import Session, col

from app.errors import DatabaseNotReady
from app.models import CatalogueState, Condition, Goal, Phase, RetiredSlug, Source

Counted = TypeVar("Counted")
_MEMO = "revision_memo"


@dataclass(frozen=True)
class CatalogueRevision:
    """The catalogue's content hash and the time of its last change: what every
    response is rendered from, and what caches key on."""

    version: str
    updated_at: datetime
    last_change: int | None = None
    # The catalogue database's own id, which its copies (replicas, restored backups)
    # share: not part of the tag. Read with the rest for the change feed's cursors, and
    # never defaulted, since databases sharing a made-up id would take each other's.
    catalogue_id: str = field(kw_only=True)

    @property
    def tag(self) -> str:
        return f"{self.version}|{self.updated_at.isoformat()}|{self.last_change}"


# Plain columns, not the ORM object: every catalogue read starts here, and loading a
# mapped instance cost more than the statement.
_STATE = sa.select(
    col(CatalogueState.version),
    col(CatalogueState.updated_at),
    col(CatalogueState.last_change),
    col(CatalogueState.catalogue_id),
).where(col(CatalogueState.id) == 1)


def get_revision(session: Session) -> CatalogueRevision:
    """The revision of the catalogue the session reads. Read once per transaction: that
    is one snapshot, and a request's validators and queries all want it."""
    transaction = session.get_transaction()
    known = session.info.get("catalogue_revision")
    if known is not None and known[0] is transaction:
        return cast(CatalogueRevision, known[1])
    row = session.connection().execute(_STATE).first()
    if row is None:
        raise DatabaseNotReady("The database answers but the catalogue has not been seeded yet.")
    revision = CatalogueRevision(
        version=row.version,
        updated_at=row.updated_at,
        last_change=row.last_change,
        catalogue_id=row.catalogue_id,
    )
    session.info["catalogue_revision"] = (session.get_transaction(), revision)
    return revision


@dataclass(frozen=True)
class Terms:
    """The terms of one catalogue revision: ids by slug, and slugs by id (for phases, in
    phase order), of every kind of term ("phase", "goal", "condition", "source": the
    vocabularies exercises link to)."""

    ids: dict[str, dict[str, int]]
    slugs: dict[str, dict[int, str]]
    # Retired slugs by (kind, slug): the successor's slug, or None if removed outright.
    retired: dict[tuple[str, str], str | None] = field(default_factory=dict)

    def slugs_of(self, kind: str, ids: list[int]) -> list[str]:
        """The slugs of `ids`: phases in phase order, other kinds by slug."""
        slugs = self.slugs[kind]
        if kind == "phase":
            return [slug for term_id, slug in slugs.items() if term_id in ids]
        return sorted(slugs[term_id] for term_id in ids)


@dataclass
class RevisionFacts:
    """Facts about one catalogue revision: its terms, and the counts (how many
    exercises match a filter, how many a term links) asked for so far."""

    revision: CatalogueRevision
    terms: Terms
    max_counts: int
    counts: dict[str, Any] = field(default_factory=dict)
    # Several request threads share these: lookups and evictions must not interleave.
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
    """The facts of the newest revision an app has read, kept until the catalogue
    changes. A request still reading an older snapshot during a write gets facts of its
    own revision, not kept, so facts of two revisions never mix."""

    def __init__(self, max_counts: int = 4096) -> None:
        self.max_counts = max_counts
        self.facts: RevisionFacts | None = None

    def current(self, session: Session) -> RevisionFacts:
        revision = get_revision(session)
        facts = self.facts  # one read: another thread may replace it meanwhile
        if facts is not None and facts.revision == revision:
            return facts
        fresh = RevisionFacts(revision, _read_terms(session), self.max_counts)
        if facts is None or facts.revision.updated_at < revision.updated_at:
            self.facts = fresh
        return fresh


def attach_memo(session: Session, memo: RevisionMemo) -> None:
    """Let the queries run in `session` remember facts in `memo`."""
    session.info[_MEMO] = memo


def revision_facts(session: Session) -> RevisionFacts:
    """The facts of the revision the session reads, remembered where the session
    carries a memo."""
    memo = session.info.get(_MEMO)
    if memo is None:
        memo = session.info[_MEMO] = RevisionMemo()
    return cast(RevisionMemo, memo).current(session)


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
    retired = sa.select(col(RetiredSlug.kind), col(RetiredSlug.slug), col(RetiredSlug.successor))
    for kind, slug, successor in session.execute(retired):
        terms.retired[(str(kind), slug)] = successor
    return terms
