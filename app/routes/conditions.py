"""GET /v1/conditions and /v1/conditions/{slug}."""

from typing import Annotated

from fastapi import APIRouter

from app.dependencies import CatalogueReaderDep, DetailPagingDep, ListPagingDep
from app.pagination import Page
from app.queries.conditions import get_condition_detail, list_conditions
from app.routes.common import READ_RESPONSES, RETIRED_RESPONSES, slug_path
from app.schemas import ConditionDetail, ConditionOut

router = APIRouter(prefix="/v1/conditions", responses=READ_RESPONSES, tags=["conditions"])
ConditionSlug = Annotated[str, slug_path("sciatica-nerve-symptoms")]


@router.get("", operation_id="listConditions", summary="List conditions")
async def list_conditions_route(
    reader: CatalogueReaderDep, paging: ListPagingDep
) -> Page[ConditionOut]:
    """Conditions that make some exercises unsafe or call for caution, by slug."""
    return await reader.read_list(list_conditions, paging, ConditionOut.from_row)


@router.get(
    "/{slug}", operation_id="getCondition", responses=RETIRED_RESPONSES, summary="Get one condition"
)
async def get_condition_route(
    slug: ConditionSlug, reader: CatalogueReaderDep, paging: DetailPagingDep
) -> ConditionDetail:
    """One condition with every exercise it affects: those to avoid first, then those
    to use with caution, each by name (then slug) and with its note. The exercises come
    a page at a time: `exercises_total` counts them all, and `next_cursor` (also in the
    `Link` header) fetches the next page."""
    condition = await reader.read(
        get_condition_detail, slug=slug, limit=paging.limit, after=paging.position
    )
    return ConditionDetail.from_page(
        condition, next_cursor=paging.next_cursor(condition.embedded.next_key)
    )
