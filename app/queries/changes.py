"""The change log as a feed: every change to the catalogue in the order it was made,
deletions included, for clients that keep a copy of the catalogue and catch up."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col

from app.models import CatalogueChange
from app.queries.keyset import cut_page, parse_key
from app.queries.revision import get_revision, revision_facts
from app.vocabulary import ChangeAction, ResourceKind

# Where a page of the feed starts, given the catalogue database's id (a cursor names
# the database it came from): the key [seq] of the last change already seen, or None
# for the start of the log.
FeedPosition = Callable[[str], list[Any] | None]


def feed_start(_catalogue_id: str) -> None:
    return None


@dataclass(frozen=True)
class FeedEntry:
    seq: int
    kind: ResourceKind
    slug: str
    action: ChangeAction
    version: int
    changed_at: datetime


@dataclass(frozen=True)
class FeedPage:
    """One page of the feed, and where to go on from: `next_key` while more changes
    follow, `resume_key` (the last change seen, on this page or before it) always."""

    items: list[FeedEntry]
    total: int
    catalogue_id: str
    next_key: list[Any] | None
    resume_key: list[Any]


# Built once: SQLAlchemy remembers a statement object's cache key, which it would
# otherwise work out again on every poll. The page size is written into the text (see
# `planned_with`), the position bound.
_PAGE = (
    sa.select(
        col(CatalogueChange.seq),
        col(CatalogueChange.kind),
        col(CatalogueChange.slug),
        col(CatalogueChange.action),
        col(CatalogueChange.version),
        col(CatalogueChange.changed_at),
    )
    .where(col(CatalogueChange.seq) > sa.bindparam("after", type_=sa.Integer))
    .order_by(col(CatalogueChange.seq))
    .limit(sa.bindparam("rows", type_=sa.Integer, literal_execute=True))
)
_COUNT = sa.select(sa.func.count()).select_from(CatalogueChange)


def list_changes(session: Session, *, limit: int, after: FeedPosition = feed_start) -> FeedPage:
    """The changes after the position `after`, oldest first; `total` counts the whole
    log (as every list's `total` counts all its pages), once per revision."""
    facts = revision_facts(session)
    catalogue_id = get_revision(session).catalogue_id  # read with the revision
    position = after(catalogue_id)
    start = 0 if position is None else parse_key(position, (int,))[0]
    # Plain rows through the session's connection: a page is read on every poll of
    # every client, and the ORM's handling of a statement added to each one.
    connection = session.connection()
    total = facts.count("changes", lambda: connection.execute(_COUNT).scalar_one())
    rows = connection.execute(_PAGE, {"after": start, "rows": limit + 1}).all()
    page, next_key = cut_page(rows, limit, lambda row: [row.seq])
    # `seq` is typed optional, as a key the database assigns: every stored row has one.
    items = [
        FeedEntry(cast(int, row.seq), row.kind, row.slug, row.action, row.version, row.changed_at)
        for row in page
    ]
    return FeedPage(
        items=items,
        total=total,
        catalogue_id=catalogue_id,
        next_key=next_key,
        resume_key=[items[-1].seq if items else start],
    )
