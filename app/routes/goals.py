"""GET /v1/goals and /v1/goals/{slug}."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.caching import CatalogueReadDep, catalogue_validators
from app.pagination import DETAIL_DEFAULT_LIMIT, Page, query_fingerprint
from app.queries.goals import count_goal_exercises, get_goal, goal_exercises, list_goals
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
from app.schemas import GoalDetail, GoalOut

router = APIRouter(
    prefix="/v1/goals",
    responses=READ_RESPONSES,
    tags=["goals"],
)
FINGERPRINT = query_fingerprint({"list": "goals"})


@router.get("", operation_id="listGoals", summary="List goals")
async def list_goals_route(
    request: Request,
    response: Response,
    read_catalogue: CatalogueReadDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[GoalOut]:
    """Goals exercises serve (flexibility, pain relief, strength, ...), by slug."""
    after = read_cursor(cursor, FINGERPRINT)
    rows, total, next_key = await read_catalogue(list_goals, limit=limit, after=after)
    items = [GoalOut.from_row(row) for row in rows]
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
    operation_id="getGoal",
    summary="Get one goal",
    dependencies=[Depends(catalogue_validators)],
)
def get_goal_route(
    request: Request,
    response: Response,
    slug: Annotated[str, slug_path("flexibility")],
    session: SessionDep,
    limit: DetailLimit = DETAIL_DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> GoalDetail:
    """One goal with the exercises that serve it, by name (then slug). The exercises come
    a page at a time: `exercises_total` counts them all, and `next_cursor` (also in the
    `Link` header) fetches the next page."""
    goal = get_goal(session, slug=slug)
    fingerprint = query_fingerprint({"detail": "goals", "slug": slug})
    after = read_cursor(cursor, fingerprint)
    total = count_goal_exercises(session, goal=goal)
    rows, next_key = goal_exercises(session, goal=goal, limit=limit, after=after)
    return GoalDetail.from_page(
        goal,
        rows,
        exercises_total=total,
        next_cursor=next_page(request, response, fingerprint, next_key),
    )
