"""GET /v1/goals and /v1/goals/{slug}."""

from typing import Annotated

from fastapi import APIRouter

from app.dependencies import CatalogueReaderDep, DetailPagingDep, ListPagingDep
from app.pagination import Page
from app.queries.goals import get_goal_detail, list_goals
from app.routes.common import READ_RESPONSES, RETIRED_RESPONSES, slug_path
from app.schemas import GoalDetail, GoalOut

router = APIRouter(prefix="/v1/goals", responses=READ_RESPONSES, tags=["goals"])
GoalSlug = Annotated[str, slug_path("flexibility")]


@router.get("", operation_id="listGoals", summary="List goals")
async def list_goals_route(reader: CatalogueReaderDep, paging: ListPagingDep) -> Page[GoalOut]:
    """Goals exercises serve (flexibility, pain relief, strength, ...), by slug."""
    return await reader.read_list(list_goals, paging, GoalOut.from_row)


@router.get("/{slug}", operation_id="getGoal", responses=RETIRED_RESPONSES, summary="Get one goal")
async def get_goal_route(
    slug: GoalSlug, reader: CatalogueReaderDep, paging: DetailPagingDep
) -> GoalDetail:
    """One goal with the exercises that serve it, by name (then slug). The exercises come
    a page at a time: `exercises_total` counts them all, and `next_cursor` (also in the
    `Link` header) fetches the next page."""
    goal = await reader.read(get_goal_detail, slug=slug, limit=paging.limit, after=paging.position)
    return GoalDetail.from_page(goal, next_cursor=paging.next_cursor(goal.embedded.next_key))
