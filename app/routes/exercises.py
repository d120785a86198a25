"""GET /v1/exercises and /v1/exercises/{slug}."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from app.caching import CatalogueReadDep
from app.pagination import (
    DEFAULT_LIMIT,
    MAX_CURSOR_LENGTH,
    MAX_LIMIT,
    Page,
    query_fingerprint,
)
from app.queries.exercises import ExerciseFilters, get_exercise, list_exercises
from app.routes.common import READ_RESPONSES, envelope, read_cursor, slug_path
from app.schemas import ExerciseDetail, ExerciseItem
from app.vocabulary import ExerciseSort

router = APIRouter(
    prefix="/v1/exercises",
    responses=READ_RESPONSES,
    tags=["exercises"],
)


class ExerciseListParameters(ExerciseFilters):
    sort: ExerciseSort | None = Field(
        default=None,
        description="`name` (default), `-updated_at`, or `phase_order` with exactly one "
        "`phase`. With `q` the default is relevance.",
        examples=["phase_order"],
    )
    limit: int = Field(
        default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size.", examples=[20]
    )
    cursor: str | None = Field(
        default=None,
        max_length=MAX_CURSOR_LENGTH,
        description="`next_cursor` of the previous page.",
    )


@router.get("", operation_id="listExercises", summary="List exercises")
async def list_exercises_route(
    request: Request,
    response: Response,
    read_catalogue: CatalogueReadDep,
    parameters: Annotated[ExerciseListParameters, Query()],
) -> Page[ExerciseItem]:
    """Exercises matching every filter given (a repeated filter matches any of its
    values), one page at a time. Use `safe_for` to leave out exercises to avoid with a
    condition and see the cautions on those kept."""
    filters = ExerciseFilters.model_validate(
        parameters.model_dump(include=set(ExerciseFilters.model_fields))
    )
    fingerprint = query_fingerprint(parameters.model_dump(mode="json", exclude={"limit", "cursor"}))
    page = await read_catalogue(
        list_exercises,
        filters=filters,
        sort=parameters.sort,
        limit=parameters.limit,
        after=read_cursor(parameters.cursor, fingerprint),
    )
    items = ExerciseItem.from_listings(page.items)
    return envelope(
        request,
        response,
        items=items,
        total=page.total,
        limit=parameters.limit,
        fingerprint=fingerprint,
        next_key=page.next_key,
    )


@router.get("/{slug}", operation_id="getExercise", summary="Get one exercise")
async def get_exercise_route(
    slug: Annotated[str, slug_path("sitting-heel-dig")], read_catalogue: CatalogueReadDep
) -> ExerciseDetail:
    """One exercise in full: instructions, dosage, phases, goals, contraindications,
    progressions and regressions, and the verbatim evidence behind each claim."""
    return ExerciseDetail.from_row(await read_catalogue(get_exercise, slug=slug))
