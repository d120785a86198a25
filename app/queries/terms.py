"""What the term queries (phases, goals, conditions, sources) share: finding a term by
its slug."""

from typing import TypeVar

from sqlmodel import Session, SQLModel, col, select

from app.errors import NotFound

Term = TypeVar("Term", bound=SQLModel)


def term_by_slug(session: Session, model: type[Term], slug: str) -> Term:
    """The term of `model` with `slug`, or `NotFound`."""
    term = session.exec(select(model).where(col(model.slug) == slug)).first()  # type: ignore[attr-defined]
    if term is None:
        raise NotFound(f"No {model.__name__.lower()} with slug '{slug}'.")
    return term
