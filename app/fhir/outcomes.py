"""The FHIR interface's one set of error handlers: every error of `app.errors` (and the
framework's own) as an OperationOutcome with the status FHIR gives it, in the media
type the client asked for."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import CatalogueError, InvalidParameters, NotModified, Renamed
from app.fhir.resources import FHIR_JSON, operation_outcome
from app.problems import log_unexpected_error

logger = logging.getLogger("app")

# The IssueType code for each status this interface answers with.
_ISSUE_CODES = {
    400: "invalid",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    410: "deleted",
    414: "too-long",
    503: "transient",
}


def outcome_response(
    request: Request | None,
    status: int,
    diagnostics: str,
    *,
    expression: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if status < 400:  # a redirect (a renamed exercise): information, not an error
        outcome = operation_outcome("informational", diagnostics, severity="information")
    else:
        code = _ISSUE_CODES.get(status, "exception")
        outcome = operation_outcome(code, diagnostics, expression=expression)
    media_type = FHIR_JSON
    if request is not None:
        media_type = getattr(request.state, "fhir_media_type", FHIR_JSON)
    return Response(
        outcome.model_dump_json(),
        status_code=status,
        media_type=media_type,
        headers=headers,
    )


def uri_too_long(detail: str) -> Response:
    """The 414 the main app's URL limit answers under /fhir/R4 (before any routing)."""
    return outcome_response(None, 414, detail)


def install_outcome_handlers(app: FastAPI) -> None:
    @app.exception_handler(CatalogueError)
    async def catalogue_error(request: Request, error: CatalogueError) -> Response:
        if error.status >= 500 and error.status != 503:
            logger.error("unhandled catalogue error: %s", error.detail)
            return _internal_error(request)
        headers = {"Retry-After": "5"} if error.status == 503 else None
        if isinstance(error, Renamed):
            path = request.url.path.rsplit("/", 1)[0] + "/" + error.successor
            headers = {"Location": str(request.url.replace(path=path))}
        # A bad search parameter or cursor is a 400 in FHIR, not the JSON API's 422.
        status = 400 if isinstance(error, InvalidParameters) else error.status
        fields = [item.field for item in error.errors or ()]
        detail = error.detail
        for item in error.errors or ():
            if item.message not in detail:
                detail += f" {item.field}: {item.message}."
        return outcome_response(
            request,
            status,
            detail,
            expression=", ".join(fields) or None,
            headers=headers,
        )

    @app.exception_handler(NotModified)
    async def not_modified(request: Request, outcome: NotModified) -> Response:
        return Response(status_code=304, headers=outcome.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        problems = [
            f"{'.'.join(str(part) for part in item.get('loc', ())[1:])}: {item.get('msg')}"
            for item in error.errors()
        ]
        return outcome_response(request, 400, "Invalid request: " + "; ".join(problems) + ".")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        detail = str(error.detail)
        if error.status_code == 404 and detail == "Not Found":
            detail = (
                f"No resource at {request.url.path}: this server has ActivityDefinition, "
                "PlanDefinition and metadata."
            )
        return outcome_response(
            request,
            error.status_code,
            detail,
            headers=dict(error.headers) if error.headers else None,
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeoutError)
    async def database_error(request: Request, error: Exception) -> Response:
        logger.warning("database unavailable: %s", type(error).__name__)
        return outcome_response(
            request,
            503,
            "The catalogue database cannot be reached; try again shortly.",
            headers={"Retry-After": "5"},
        )


def internal_error_outcome(request: Request) -> Response:
    """The generic 500, as an OperationOutcome (the error is logged by the caller)."""
    return outcome_response(None, 500, "Something went wrong on our side; it has been logged.")


def _internal_error(request: Request, *, logged: bool = False) -> Response:
    if logged:
        log_unexpected_error(request)
    return internal_error_outcome(request)
