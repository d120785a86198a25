"""GET /v1/export: the whole catalogue in one streamed response."""

from typing import Any

from fastapi import APIRouter, Response

from app.dependencies import CatalogueExportDep
from app.ndjson_export import MEDIA_TYPE
from app.routes.common import READ_RESPONSES

# The body is a sequence of JSON documents, one a line, which JSON Schema cannot type
# as a whole: the lines are described, and generated clients get bytes.
_LINES = {
    "type": "string",
    "format": "binary",
    "description": "One JSON object a line. First `{kind: catalogue, version, updated_at, "
    "resume_cursor}`; then `{kind, data}` with `kind` one of source, phase, goal, "
    "condition, exercise and `data` the resource as its detail endpoint serves it (an "
    "exercise in full, `ExerciseDetail`; a source, phase, goal or condition as "
    "`SourceOut`, `PhaseOut`, `GoalOut`, `ConditionOut`, without its embedded page).",
}

EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Newline-delimited JSON: the header line `{kind: catalogue, version, "
        "updated_at, resume_cursor}`, then every source, phase, goal, condition and "
        "exercise, each kind in slug order. `ETag` is the catalogue version (weak).",
        "content": {MEDIA_TYPE: {"schema": _LINES}},
    },
    **{status: READ_RESPONSES[status] for status in (304, 406, 414)},
    503: {
        **READ_RESPONSES[503],
        "description": "The database is unavailable, or this server is already streaming "
        "as many exports as it serves at once; retry after `Retry-After` seconds.",
    },
}

router = APIRouter(prefix="/v1/export", tags=["sync"])


@router.get(
    "",
    operation_id="exportCatalogue",
    summary="Export the whole catalogue",
    response_class=Response,
    responses=EXPORT_RESPONSES,
)
async def export_catalogue_route(export: CatalogueExportDep) -> Response:
    """The whole catalogue as `application/x-ndjson`, streamed from one consistent
    snapshot (a change committed meanwhile is wholly in it or wholly not), compressed
    when asked. Keep a copy with it, then follow `GET /v1/changes` from the header's
    `resume_cursor`. `If-None-Match` with the ETag answers 304 while the catalogue
    version is unchanged."""
    head, headers = await export.start()
    return export.response(head, headers)
