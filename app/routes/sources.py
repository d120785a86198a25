"""GET /v1/sources and /v1/sources/{slug}."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.caching import catalogue_validators
from app.pagination import Page, query_fingerprint
from app.queries.sources import get_source, list_sources
from app.routes.common import (
    READ_RESPONSES,
    Cursor,
    Limit,
    SessionDep,
    envelope,
    read_cursor,
    slug_path,
)
from app.schemas import SourceDetail, SourceOut

router = APIRouter(
    prefix="/v1/sources",
    dependencies=[Depends(catalogue_validators)],
    responses=READ_RESPONSES,
    tags=["sources"],
)
FINGERPRINT = query_fingerprint({"list": "sources"})


@router.get("", operation_id="listSources", summary="List sources")
def list_sources_route(
    request: Request,
    response: Response,
    session: SessionDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[SourceOut]:
    """The source documents the catalogue is built from, with what each says about its
    own credibility."""
    after = read_cursor(cursor, FINGERPRINT)
    rows, total, next_key = list_sources(session, limit=limit, after=after)
    items = [SourceOut.from_row(row) for row in rows]
    return envelope(
        request,
        response,
        items=items,
        total=total,
        limit=limit,
        fingerprint=FINGERPRINT,
        next_key=next_key,
    )


@router.get("/{slug}", operation_id="getSource", summary="Get one source")
def get_source_route(
    slug: Annotated[str, slug_path("hamstring-pain-exercises-article")], session: SessionDep
) -> SourceDetail:
    """One source with every evidence quote taken from it (in document order) and the
    exercises citing it."""
    return SourceDetail.from_row(get_source(session, slug=slug))
