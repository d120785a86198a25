"""GET /v1/phases and /v1/phases/{slug}."""

from typing import Annotated

from fastapi import APIRouter

from app.dependencies import CatalogueReaderDep, DetailPagingDep, ListPagingDep
from app.pagination import Page
from app.queries.phases import get_phase_detail, list_phases
from app.routes.common import READ_RESPONSES, slug_path
from app.schemas import PhaseDetail, PhaseOut

router = APIRouter(prefix="/v1/phases", responses=READ_RESPONSES, tags=["phases"])
PhaseSlug = Annotated[str, slug_path("acute")]


@router.get("", operation_id="listPhases", summary="List rehab phases")
async def list_phases_route(reader: CatalogueReaderDep, paging: ListPagingDep) -> Page[PhaseOut]:
    """The rehab phases in order (acute, rehab, return-to-sport), with what each is for
    and the criteria for moving on."""
    return await reader.read_list(list_phases, paging, PhaseOut.from_row)


@router.get("/{slug}", operation_id="getPhase", summary="Get one phase")
async def get_phase_route(
    slug: PhaseSlug, reader: CatalogueReaderDep, paging: DetailPagingDep
) -> PhaseDetail:
    """One phase with its exercises in the order a clinician progresses through them
    (`order`, then slug), each with its caution flag and note. The exercises come a page
    at a time: `exercises_total` counts them all, and `next_cursor` (also in the `Link`
    header) fetches the next page."""
    phase = await reader.read(
        get_phase_detail, slug=slug, limit=paging.limit, after=paging.position
    )
    return PhaseDetail.from_page(phase, next_cursor=paging.next_cursor(phase.embedded.next_key))
