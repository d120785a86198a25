"""GET /v1/exercises and /v1/exercises/{slug}."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from app.database import read_in_thread
from app.dependencies import CatalogueReaderDep, ResourcesDep, SessionDep
from app.errors import FieldError, InvalidParameters, invalid_parameters
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, Paging, cursor_field
from app.problems import query_field_errors
from app.queries.exercise_filters import FILTER_FIELDS, ExerciseFilters
from app.queries.exercises import filter_value_errors, get_exercise_body, list_exercises
from app.routes.common import READ_RESPONSES, RETIRED_RESPONSES, slug_path
from app.schemas import ExerciseDetail, ExerciseItem, ExercisePage, SearchInfo
from app.vocabulary import (
    SLUG_MAX_LENGTH,
    SLUG_PATTERN,
    Category,
    Difficulty,
    ExerciseSort,
    Facet,
    PhaseBasis,
    PhaseSlug,
    Position,
)

router = APIRouter(prefix="/v1/exercises", responses=READ_RESPONSES, tags=["exercises"])

MAX_VALUES = 20
MAX_QUERY_LENGTH = 200
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

Slug = Annotated[str, Field(pattern=SLUG_PATTERN, max_length=SLUG_MAX_LENGTH)]


def _values(description: str, example: str) -> Any:
    return Field(default=[], max_length=MAX_VALUES, description=description, examples=[[example]])


class ExerciseListParameters(BaseModel):
    """The exercise list's query: filters (repeated values mean any-of; filters combine
    with AND), sort order and page."""

    model_config = ConfigDict(extra="forbid")

    phase: list[PhaseSlug] = _values("Rehab phase.", "acute")
    phase_basis: list[PhaseBasis] = _values(
        "Only `phase` memberships with this basis: `stated` (a source places the exercise "
        "in the phase) or `inferred` (the editors' reading). Without `phase`, memberships "
        "of any phase.",
        "stated",
    )
    goal: list[Slug] = _values("Goal slug, see /v1/goals.", "flexibility")
    category: list[Category] = _values("Kind of exercise.", "stretch")
    equipment: list[Slug] = _values("Equipment needed (`none` for none).", "towel")
    position: list[Position] = _values("Body position.", "lying")
    difficulty: list[Difficulty] = _values("Difficulty.", "beginner")
    body_region: list[Slug] = _values("Body region worked.", "hamstrings")
    source: list[Slug] = _values(
        "Cited by this source, see /v1/sources.", "hamstring-pain-exercises-article"
    )
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_QUERY_LENGTH,
        description="Search: names and aliases (weighted highest); goals, category, body "
        "regions, equipment and position; summary, cues and the conditions listed; "
        "instructions (lowest), with English stemming. Every word must match; if no "
        "exercise has them all, any word (most words first); if none has any, misspelt "
        "words are corrected. Best match first; the envelope's `search` says which.",
        examples=["nordic curl"],
    )
    safe_for: list[Slug] = _values(
        "Condition slug: drop exercises to `avoid` with it; keep those to do with `caution` "
        "or to `stop` at once if it appears, and list those rules in each item's "
        "`cautions`. A retired condition slug stands for its successor.",
        "sciatica-nerve-symptoms",
    )
    updated_since: datetime | None = Field(
        default=None,
        description="Only exercises changed at or after this ISO 8601 time (UTC if no zone).",
        examples=["2026-01-01T00:00:00Z"],
    )
    sort: ExerciseSort | None = Field(
        default=None,
        description="`name` (default), `-updated_at`, or `phase_order` with exactly one "
        "`phase`. With `q` the default is relevance.",
        examples=["phase_order"],
    )
    facets: list[Facet] = Field(
        default=[],
        max_length=len(Facet),
        description="Fields to count values of over the whole list, in the envelope's "
        "`facets`. Each field's counts ignore its own filter (disjunctive facets).",
        examples=[["phase", "goal"]],
    )
    limit: int = Field(
        default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size.", examples=[20]
    )
    cursor: str | None = cursor_field()

    # What was invalid: the parameters above hold the valid ones (see `_keep_the_valid`).
    _invalid: list[ErrorDetails] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_the_valid(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """Every problem of a request is reported at once, unknown slugs included, and
        those take the catalogue to find: so an invalid parameter does not stop
        validation here. The parameters validated are kept, the others left at their
        defaults, and the errors recorded for `exercise_list_query` to report with
        whatever the catalogue finds wrong in the valid ones."""
        try:
            return handler(data)
        except ValidationError as error:
            if not isinstance(data, dict):
                raise
            errors = error.errors(include_url=False)
            invalid = {item["loc"][0] for item in errors if item["loc"]}
            try:
                kept = handler({name: value for name, value in data.items() if name not in invalid})
            except ValidationError:
                raise error from None
            kept._invalid = errors
            return kept

    @property
    def invalid(self) -> list[ErrorDetails]:
        return self._invalid

    @field_validator("updated_since", mode="before")
    @classmethod
    def _iso_8601_only(cls, value: Any) -> Any:
        """Pydantic would read a bare number as a Unix time; the documented format is an
        ISO 8601 date-time, so `updated_since=0.5` is an error, not 1970."""
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            raise ValueError("expected an ISO 8601 date-time such as 2026-01-01T00:00:00Z")
        return value

    @field_validator("updated_since")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """Aware UTC (naive means UTC); times that leave the calendar in UTC are invalid."""
        if value is None:
            return None
        try:
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        except OverflowError:
            raise ValueError("out of range once converted to UTC") from None


@dataclass(frozen=True)
class ExerciseListQuery:
    """The exercise list a request asks for: filters, sort order and paging."""

    filters: ExerciseFilters
    sort: ExerciseSort | None
    facets: list[Facet]
    paging: Paging


async def exercise_list_query(
    request: Request,
    response: Response,
    resources: ResourcesDep,
    session: SessionDep,
    parameters: Annotated[ExerciseListParameters, Query()],
) -> ExerciseListQuery:
    """The list asked for, or one 422 naming every bad parameter: invalid ones, a cursor
    this API did not issue for this query, and slugs the catalogue does not have."""
    filters = ExerciseFilters(**{name: getattr(parameters, name) for name in FILTER_FIELDS})
    errors: list[FieldError] = query_field_errors(parameters.invalid)
    # A cursor belongs to the filters and sort order it was issued for.
    query = parameters.model_dump(mode="json", exclude={"limit", "cursor", "facets"})
    try:
        paging = Paging.of(
            request,
            response,
            cursor_secret=resources.settings.cursor_secret,
            query=query,
            limit=parameters.limit,
            cursor=parameters.cursor,
        )
    except InvalidParameters as error:
        errors += error.errors or []
    if errors:
        # Not through the reader: a request with bad parameters gets no 304.
        errors += await read_in_thread(session, filter_value_errors, filters=filters)
        raise invalid_parameters(errors)
    return ExerciseListQuery(filters, parameters.sort, parameters.facets, paging)


ExerciseListQueryDep = Annotated[ExerciseListQuery, Depends(exercise_list_query)]


@router.get("", operation_id="listExercises", summary="List exercises")
async def list_exercises_route(
    reader: CatalogueReaderDep, query: ExerciseListQueryDep
) -> ExercisePage:
    """Exercises matching every filter given (a repeated filter matches any of its
    values), one page at a time. Use `safe_for` to leave out exercises to avoid with a
    condition and see the cautions on those kept; `q` to search (best match first, and
    how it was matched in `search`); `facets` for the counts of each value of a field
    over the whole list."""
    paging = query.paging
    page = await reader.read(
        list_exercises,
        filters=query.filters,
        sort=query.sort,
        limit=paging.limit,
        after=paging.position,
        facets=query.facets,
    )
    envelope = paging.envelope(ExerciseItem.from_listings(page.items), page)
    return ExercisePage(
        **dict(envelope),
        search=SearchInfo.from_outcome(page.search),
        facets=ExercisePage.facets_of(page.facets),
    )


@router.get(
    "/{slug}",
    operation_id="getExercise",
    response_model=ExerciseDetail,
    responses=RETIRED_RESPONSES,
    summary="Get one exercise",
)
async def get_exercise_route(
    slug: Annotated[str, slug_path("sitting-heel-dig")], reader: CatalogueReaderDep
) -> Response:
    """One exercise in full: instructions, dosage, phases, goals, contraindications,
    progressions and regressions, and the verbatim evidence behind each claim."""
    # The body as the writer stored it (`app.detail_bodies`), with the validators set.
    body = await reader.read(get_exercise_body, slug=slug)
    return Response(body, media_type="application/json", headers=reader.response.headers)
