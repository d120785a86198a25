"""Source documents, with the evidence quoted from each."""

from typing import Any

from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from app.errors import NotFound
from app.models import Evidence, Source
from app.pagination import keyset_page


def list_sources(
    session: Session, *, limit: int, after: list[Any] | None = None
) -> tuple[list[Source], int, list[Any] | None]:
    return keyset_page(session, select(Source), Source.slug, key_type=str, limit=limit, after=after)


def get_source(session: Session, *, slug: str) -> Source:
    statement = (
        select(Source)
        .where(Source.slug == slug)
        .options(selectinload(Source.evidence).joinedload(Evidence.exercise))  # type: ignore[arg-type]
    )
    source = session.exec(statement).first()
    if source is None:
        raise NotFound(f"No source with slug '{slug}'.")
    return source
