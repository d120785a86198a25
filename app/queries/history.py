"""A resource's history: its entries in the change log, newest first."""

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.models import CatalogueChange
from app.queries.keyset import KeysetPage, PagePosition, cut_page, first_page, parse_key
from app.queries.plans import planned_with


def get_history(
    session: Session, *, kind: str, slug: str, limit: int, after: PagePosition = first_page
) -> KeysetPage[CatalogueChange]:
    """The changes to the resource of `kind` with `slug`, newest first, after the key
    [seq]: found for a deleted resource too (its last entry is the deletion)."""
    mine = (col(CatalogueChange.kind) == kind, col(CatalogueChange.slug) == slug)
    total = session.exec(select(sa.func.count()).where(*mine)).one()
    if total == 0:
        raise NotFound(f"No {kind} with slug '{slug}' has ever been in the catalogue.")
    statement = select(CatalogueChange).where(*mine)
    position = after()
    if position is not None:
        (seq,) = parse_key(position, (int,))
        statement = statement.where(col(CatalogueChange.seq) < seq)
    rows = session.exec(
        statement.order_by(col(CatalogueChange.seq).desc()).limit(planned_with(limit + 1))
    ).all()
    items, next_key = cut_page(rows, limit, lambda row: [row.seq])
    return KeysetPage(items=items, total=total, next_key=next_key)
