"""GET /v1/catalogue, /healthz and /readyz."""

from fastapi import APIRouter, Response

from app.database import read_in_thread
from app.dependencies import CatalogueReaderDep, PrimarySessionDep
from app.queries.catalogue import check_ready, get_catalogue_summary, head_revision
from app.routes.common import READ_RESPONSES
from app.schemas import CatalogueCounts, CatalogueInfo, Health

router = APIRouter(tags=["catalogue"], responses=READ_RESPONSES)
health_router = APIRouter(tags=["health"])
HEAD_REVISION = head_revision()


@router.get("/v1/catalogue", operation_id="getCatalogue", summary="Catalogue version and counts")
async def get_catalogue_route(reader: CatalogueReaderDep) -> CatalogueInfo:
    """The catalogue's version (it changes whenever any content changes, so clients and
    caches can key on it), when it last changed, and how many of each thing it holds."""
    summary = await reader.read(get_catalogue_summary)
    return CatalogueInfo(
        version=summary.version,
        updated_at=summary.updated_at,
        counts=CatalogueCounts(**summary.counts),
    )


@health_router.get(
    "/healthz",
    operation_id="getLiveness",
    summary="Liveness",
    responses={414: READ_RESPONSES[414]},
)
def healthz(response: Response) -> Health:
    """The process is up. Does not touch the database, so a database outage does not
    get the process restarted."""
    response.headers["Cache-Control"] = "no-store"
    return Health(status="ok")


@health_router.get(
    "/readyz",
    operation_id="getReadiness",
    summary="Readiness",
    responses={
        414: READ_RESPONSES[414],
        503: {
            **READ_RESPONSES[503],
            "description": "Not ready: the database cannot be reached, is not migrated to "
            "head, or holds no catalogue yet (`detail` says which).",
        },
    },
)
async def readyz(response: Response, session: PrimarySessionDep) -> Health:
    """Ready to serve: the database answers, its migrations are at head and the
    catalogue is seeded. 503 problem+json otherwise."""
    # On the primary, whatever the replicas: migrations and writes run there.
    response.headers["Cache-Control"] = "no-store"
    await read_in_thread(session, check_ready, expected_revision=HEAD_REVISION)
    return Health(status="ok", checks={"database": "ok", "migrations": HEAD_REVISION or "none"})
