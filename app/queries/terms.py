"""What the term queries (phases, goals, conditions, sources) share: finding a term by
its slug, counting what it links once per revision, and the page of a term's detail."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from app.errors import NotFound
from app.queries.keyset import KeysetPage
from app.queries.revision import revision_facts

Term = TypeVar("Term", bound=SQLModel)
Row = TypeVar("Row")
Counted = TypeVar("Counted")


@dataclass(frozen=True)
class TermPage(Generic[Term, Row]):
    """A term, and one page of the list its detail embeds (its exercises; a source's
    evidence)."""

    term: Term
    embedded: KeysetPage[Row]


def term_by_slug(session: Session, model: type[Term], slug: str) -> Term:
    """The term of `model` with `slug`, or `NotFound`."""
    term = session.exec(select(model).where(col(model.slug) == slug)).first()  # type: ignore[attr-defined]
    if term is None:
        raise NotFound(f"No {model.__name__.lower()} with slug '{slug}'.")
    return term


def counted_once(session: Session, key: str, count: Callable[[], Counted]) -> Counted:
    """`count()`, done once per catalogue revision for `key` and then remembered:
    counting every exercise of a large term costs more than reading one page."""
    return revision_facts(session).count(key, count)


def count_links(session: Session, link_term_id: Any, term_id: int | None, *, key: str) -> int:
    """How many rows of a link table point at the term (counted once per revision)."""
    statement = (
        sa.select(sa.func.count()).select_from(link_term_id.table).where(link_term_id == term_id)
    )

    def count() -> int:
        linked: int = session.execute(statement).scalar_one()
        return linked

    return counted_once(session, key, count)
