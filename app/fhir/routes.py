"""GET /fhir/R4/metadata, /ActivityDefinition, /ActivityDefinition/{id} and
/PlanDefinition/{id}."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from app.dependencies import ResourcesDep
from app.fhir.documents import (
    metadata,
    read_activity_definition,
    read_plan_definition,
    search_activity_definitions,
)
from app.fhir.reading import ActivitySearchDep, FhirReaderDep
from app.vocabulary import SLUG_MAX_LENGTH, SLUG_PATTERN

router = APIRouter()
ResourceId = Annotated[str, Path(pattern=SLUG_PATTERN, max_length=SLUG_MAX_LENGTH)]


@router.get("/metadata")
async def metadata_route(reader: FhirReaderDep) -> Response:
    """The CapabilityStatement: FHIR 4.0.1, JSON, each resource with its interactions
    and search parameters."""
    return await reader.read(metadata)


@router.get("/ActivityDefinition")
async def search_activity_definitions_route(
    request: Request, reader: FhirReaderDep, search: ActivitySearchDep, resources: ResourcesDep
) -> Response:
    """Search the exercises by `name`, `title` and `topic`, `_count` at a time: a
    searchset Bundle with the `total` and a `next` link while there are more."""
    return await reader.read(
        search_activity_definitions,
        search=search,
        cursor_secret=resources.settings.cursor_secret,
        self_url=str(request.url),
    )


@router.get("/ActivityDefinition/{id}")
async def read_activity_definition_route(id: ResourceId, reader: FhirReaderDep) -> Response:
    """One exercise as an ActivityDefinition."""
    return await reader.read(read_activity_definition, slug=id)


@router.get("/PlanDefinition/{id}")
async def read_plan_definition_route(id: ResourceId, reader: FhirReaderDep) -> Response:
    """One rehab phase as a protocol PlanDefinition, its exercises in progression order."""
    return await reader.read(read_plan_definition, slug=id)
