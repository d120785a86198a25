"""The FHIR interface as an application of its own, mounted by `app.main.create_app`
at /fhir/R4: its own routes, media types and error handling (OperationOutcome); the
main app's middleware (request id, CORS, HEAD, security headers, compression, URL
limit) wraps it like every other path."""

from fastapi import Depends, FastAPI

from app.dependencies import AppResources
from app.fhir import routes
from app.fhir.outcomes import install_outcome_handlers, internal_error_outcome
from app.fhir.reading import media_type
from app.problems import UnexpectedErrorMiddleware

MOUNT_PATH = "/fhir/R4"


def create_fhir_app(resources: AppResources, parent: FastAPI) -> FastAPI:
    """The FHIR app over the same resources (engines, revision memo) as `parent`, and
    with its dependency overrides, so that what is overridden there applies here too."""
    app = FastAPI(
        title="Exercise Catalogue API: FHIR R4",
        openapi_url=None,  # described by its CapabilityStatement, GET /fhir/R4/metadata
        docs_url=None,
        redoc_url=None,
    )
    app.state.resources = resources
    app.dependency_overrides = parent.dependency_overrides
    app.add_middleware(UnexpectedErrorMiddleware, render=internal_error_outcome)
    install_outcome_handlers(app)
    # The media type is negotiated first: a 406 comes before any other answer.
    app.include_router(routes.router, dependencies=[Depends(media_type)])
    return app
