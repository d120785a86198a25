"""GET /v1/sources and /v1/sources/{slug}."""

from typing import Annotated

from fastapi import APIRouter

from app.dependencies import CatalogueReaderDep, DetailPagingDep, ListPagingDep
from app.pagination import Page
from app.queries.sources import get_source_detail, list_sources
from app.routes.common import READ_RESPONSES, slug_path
from app.schemas import SourceDetail, SourceOut

router = APIRouter(prefix="/v1/sources", responses=READ_RESPONSES, tags=["sources"])
SourceSlug = Annotated[str, slug_path("hamstring-pain-exercises-article")]


@router.get("", operation_id="listSources", summary="List sources")
async def list_sources_route(reader: CatalogueReaderDep, paging: ListPagingDep) -> Page[SourceOut]:
    """The source documents the catalogue is built from, with what each says about its
    own credibility."""
    return await reader.read_list(list_sources, paging, SourceOut.from_row)


@router.get("/{slug}", operation_id="getSource", summary="Get one source")
async def get_source_route(
    slug: SourceSlug, reader: CatalogueReaderDep, paging: DetailPagingDep
) -> SourceDetail:
    """One source with the evidence quoted from it, in document order, and the exercises
    that evidence backs. The evidence comes a page at a time: `evidence_total` counts it
    all, and `next_cursor` (also in the `Link` header) fetches the next page. `exercises`
    lists the exercises this page's evidence backs; `exercises_total` counts every one
    citing the source, and `/v1/exercises?source={slug}` pages through them all."""
    source = await reader.read(
        get_source_detail, slug=slug, limit=paging.limit, after=paging.position
    )
    return SourceDetail.from_page(source, next_cursor=paging.next_cursor(source.embedded.next_key))
