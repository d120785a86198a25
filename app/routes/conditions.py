"""GET /v1/conditions and /v1/conditions/{slug}."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.caching import CatalogueReadDep, catalogue_validators
from app.pagination import DETAIL_DEFAULT_LIMIT, Page, query_fingerprint
from app.queries.conditions import (
    condition_exercises,
    count_condition_exercises,
    get_condition,
    list_conditions,
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
from app.schemas import ConditionDetail, ConditionOut

router = APIRouter(
    prefix="/v1/conditions",
    responses=READ_RESPONSES,
    tags=["conditions"],
)
FINGERPRINT = query_fingerprint({"list": "conditions"})


@router.get("", operation_id="listConditions", summary="List conditions")
async def list_conditions_route(
    request: Request,
    response: Response,
    read_catalogue: CatalogueReadDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[ConditionOut]:
    """Conditions that make some exercises unsafe or call for caution, by slug."""
    after = read_cursor(cursor, FINGERPRINT)
    rows, total, next_key = await read_catalogue(list_conditions, limit=limit, after=after)
    items = [ConditionOut.from_row(row) for row in rows]
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
    operation_id="getCondition",
    summary="Get one condition",
    dependencies=[Depends(catalogue_validators)],
)
def get_condition_route(
    request: Request,
    response: Response,
    slug: Annotated[str, slug_path("sciatica-nerve-symptoms")],
    session: SessionDep,
    limit: DetailLimit = DETAIL_DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ConditionDetail:
    """One condition with every exercise it affects: those to avoid first, then those
    to use with caution, each by name (then slug) and with its note. The exercises come
    a page at a time: `exercises_total` counts them all, and `next_cursor` (also in the
    `Link` header) fetches the next page."""
    condition = get_condition(session, slug=slug)
    fingerprint = query_fingerprint({"detail": "conditions", "slug": slug})
    after = read_cursor(cursor, fingerprint)
    counts = count_condition_exercises(session, condition=condition)
    rows, next_key = condition_exercises(session, condition=condition, limit=limit, after=after)
    return ConditionDetail.from_page(
        condition,
        rows,
        exercises_total=sum(counts.values()),
        next_cursor=next_page(request, response, fingerprint, next_key),
    )
