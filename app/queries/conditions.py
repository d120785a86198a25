"""Conditions, and the exercises to avoid or use with caution with each."""

from typing import Any

from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from app.errors import NotFound
from app.models import Condition, Contraindication
from app.pagination import keyset_page


def list_conditions(
    session: Session, *, limit: int, after: list[Any] | None = None
) -> tuple[list[Condition], int, list[Any] | None]:
    return keyset_page(
        session, select(Condition), Condition.slug, key_type=str, limit=limit, after=after
    )


def get_condition(session: Session, *, slug: str) -> Condition:
    statement = (
        select(Condition)
        .where(Condition.slug == slug)
        .options(
            selectinload(Condition.contraindications).joinedload(Contraindication.exercise)  # type: ignore[arg-type]
        )
    )
    condition = session.exec(statement).first()
    if condition is None:
        raise NotFound(f"No condition with slug '{slug}'.")
    return condition
