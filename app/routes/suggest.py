"""GET /v1/suggest."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.dependencies import CatalogueReaderDep
from app.queries.suggest import suggest
from app.routes.common import READ_RESPONSES
from app.schemas import SuggestionList

router = APIRouter(prefix="/v1/suggest", responses=READ_RESPONSES, tags=["search"])

MAX_PREFIX_LENGTH = 100
MAX_SUGGESTIONS = 20


@router.get("", operation_id="getSuggestions", summary="Completions for a search box")
async def suggest_route(
    reader: CatalogueReaderDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_PREFIX_LENGTH,
            description="What has been typed so far; its last word may be unfinished.",
            examples=["nordic cu"],
        ),
    ],
    limit: Annotated[
        int,
        Query(ge=1, le=MAX_SUGGESTIONS, description="How many completions, 1..20.", examples=[10]),
    ] = 10,
) -> SuggestionList:
    """Exercise names and aliases, goals, conditions, body regions and equipment whose
    words start with the words typed (from 4 letters on, also near misses), best first:
    names that begin with what was typed, then shorter names. Each has the `kind` and
    `slug` of what it names. Answered from an index built once per catalogue revision."""
    return SuggestionList.from_rows(await reader.read(suggest, q=q, limit=limit))
