"""GET /v1/goals and /v1/goals/{slug}."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.caching import catalogue_validators
from app.pagination import Page, query_fingerprint
from app.queries.goals import get_goal, list_goals
from app.routes.common import (
    READ_RESPONSES,
    Cursor,
    Limit,
    SessionDep,
    envelope,
    read_cursor,
    slug_path,
)
from app.schemas import GoalDetail, GoalOut

router = APIRouter(
    prefix="/v1/goals",
    dependencies=[Depends(catalogue_validators)],
    responses=READ_RESPONSES,
    tags=["goals"],
)
FINGERPRINT = query_fingerprint({"list": "goals"})


@router.get("", operation_id="listGoals", summary="List goals")
def list_goals_route(
    request: Request,
    response: Response,
    session: SessionDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[GoalOut]:
    """Goals exercises serve (flexibility, pain relief, strength, ...), by slug."""
    after = read_cursor(cursor, FINGERPRINT)
    rows, total, next_key = list_goals(session, limit=limit, after=after)
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


@router.get("/{slug}", operation_id="getGoal", summary="Get one goal")
def get_goal_route(
    slug: Annotated[str, slug_path("flexibility")], session: SessionDep
) -> GoalDetail:
    """One goal with the exercises that serve it, by name."""
    return GoalDetail.from_row(get_goal(session, slug=slug))
