"""What the term queries (phases, goals, conditions, sources) share: finding a term by
its slug (or what became of it), counting its links once per revision (counting every
exercise of a large term costs more than reading one page), and the page of a term's
detail."""

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from app.errors import CatalogueError, Gone, NotFound, Renamed
from app.models import CatalogueChange
from app.queries.keyset import KeysetPage
from app.queries.revision import revision_facts
from app.vocabulary import ChangeAction

Term = TypeVar("Term", bound=SQLModel)
Row = TypeVar("Row")


@dataclass(frozen=True)
class TermPage(Generic[Term, Row]):
    """A term, and one page of the list its detail embeds (its exercises; a source's
    evidence)."""

    term: Term
    embedded: KeysetPage[Row]


def term_by_slug(session: Session, model: type[Term], slug: str) -> Term:
    """The term of `model` with `slug`; or, for none, `not_found` of it."""
    term = session.exec(select(model).where(col(model.slug) == slug)).first()  # type: ignore[attr-defined]
    if term is None:
        raise not_found(session, model.__name__.lower(), slug)
    return term


def not_found(session: Session, kind: str, slug: str) -> CatalogueError:
    """What to answer for a slug of `kind` the catalogue does not hold: its successor's
    address if it was renamed, `Gone` if it was removed, else `NotFound`."""
    retired = revision_facts(session).terms.retired
    successor = retired.get((kind, slug))
    if successor is not None:
        return Renamed(f"The {kind} '{slug}' is now '{successor}'.", successor=successor)
    deleted_at = session.execute(
        sa.select(col(CatalogueChange.changed_at))
        .where(
            col(CatalogueChange.kind) == kind,
            col(CatalogueChange.slug) == slug,
            col(CatalogueChange.action) == ChangeAction.deleted,
        )
        .order_by(col(CatalogueChange.seq).desc())
        .limit(1)
    ).scalar_one_or_none()
    if (kind, slug) in retired or deleted_at is not None:
        return Gone(f"The {kind} '{slug}' was removed from the catalogue.", deleted_at=deleted_at)
    return NotFound(f"No {kind} with slug '{slug}'.")


def count_links(session: Session, link_term_id: Any, term_id: int | None, *, key: str) -> int:
    """How many rows of a link table point at the term (counted once per revision)."""
    statement = (
        sa.select(sa.func.count()).select_from(link_term_id.table).where(link_term_id == term_id)
    )

    def count() -> int:
        linked: int = session.execute(statement).scalar_one()
        return linked

    return revision_facts(session).count(key, count)
