"""GET /v1/sources and /v1/sources/{slug}."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.caching import CatalogueReadDep, catalogue_validators
from app.pagination import DETAIL_DEFAULT_LIMIT, Page, query_fingerprint
from app.queries.sources import (
    count_source_citations,
    get_source,
    list_sources,
    source_evidence,
)
from app.routes.common import (
    READ_RESPONSES,
    Cursor,
    DetailLimit,
    Limit,
    SessionDep,
    envelope,
    next_page,
    read_cursor,
    slug_path,
)
from app.schemas import SourceDetail, SourceOut

router = APIRouter(
    prefix="/v1/sources",
    responses=READ_RESPONSES,
    tags=["sources"],
)
FINGERPRINT = query_fingerprint({"list": "sources"})


@router.get("", operation_id="listSources", summary="List sources")
async def list_sources_route(
    request: Request,
    response: Response,
    read_catalogue: CatalogueReadDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[SourceOut]:
    """The source documents the catalogue is built from, with what each says about its
    own credibility."""
    after = read_cursor(cursor, FINGERPRINT)
    rows, total, next_key = await read_catalogue(list_sources, limit=limit, after=after)
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


@router.get(
    "/{slug}",
    operation_id="getSource",
    summary="Get one source",
    dependencies=[Depends(catalogue_validators)],
)
def get_source_route(
    request: Request,
    response: Response,
    slug: Annotated[str, slug_path("hamstring-pain-exercises-article")],
    session: SessionDep,
    limit: DetailLimit = DETAIL_DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> SourceDetail:
    """One source with the evidence quoted from it, in document order, and the exercises
    that evidence backs. The evidence comes a page at a time: `evidence_total` counts it
    all, and `next_cursor` (also in the `Link` header) fetches the next page. `exercises`
    lists the exercises this page's evidence backs; `exercises_total` counts every one
    citing the source, and `/v1/exercises?source={slug}` pages through them all."""
    source = get_source(session, slug=slug)
    fingerprint = query_fingerprint({"detail": "sources", "slug": slug})
    after = read_cursor(cursor, fingerprint)
    evidence_total, exercises_total = count_source_citations(session, source=source)
    rows, next_key = source_evidence(session, source=source, limit=limit, after=after)
    return SourceDetail.from_page(
        source,
        rows,
        evidence_total=evidence_total,
        exercises_total=exercises_total,
        next_cursor=next_page(request, response, fingerprint, next_key),
    )
