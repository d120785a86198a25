"""GET /v1/phases and /v1/phases/{slug}."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.caching import CatalogueReadDep, catalogue_validators
from app.pagination import DETAIL_DEFAULT_LIMIT, Page, query_fingerprint
from app.queries.phases import count_phase_exercises, get_phase, list_phases, phase_exercises
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
from app.schemas import PhaseDetail, PhaseOut

router = APIRouter(
    prefix="/v1/phases",
    responses=READ_RESPONSES,
    tags=["phases"],
)
FINGERPRINT = query_fingerprint({"list": "phases"})


@router.get("", operation_id="listPhases", summary="List rehab phases")
async def list_phases_route(
    request: Request,
    response: Response,
    read_catalogue: CatalogueReadDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[PhaseOut]:
    """The rehab phases in order (acute, rehab, return-to-sport), with what each is for
    and the criteria for moving on."""
    after = read_cursor(cursor, FINGERPRINT)
    rows, total, next_key = await read_catalogue(list_phases, limit=limit, after=after)
    items = [PhaseOut.from_row(row) for row in rows]
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
    operation_id="getPhase",
    summary="Get one phase",
    dependencies=[Depends(catalogue_validators)],
)
def get_phase_route(
    request: Request,
    response: Response,
    slug: Annotated[str, slug_path("acute")],
    session: SessionDep,
    limit: DetailLimit = DETAIL_DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> PhaseDetail:
    """One phase with its exercises in the order a clinician progresses through them
    (`order`, then slug), each with its caution flag and note. The exercises come a page
    at a time: `exercises_total` counts them all, and `next_cursor` (also in the `Link`
    header) fetches the next page."""
    phase = get_phase(session, slug=slug)
    fingerprint = query_fingerprint({"detail": "phases", "slug": slug})
    after = read_cursor(cursor, fingerprint)
    total = count_phase_exercises(session, phase=phase)
    rows, next_key = phase_exercises(session, phase=phase, limit=limit, after=after)
    return PhaseDetail.from_page(
        phase,
        rows,
        exercises_total=total,
        next_cursor=next_page(request, response, fingerprint, next_key),
    )
