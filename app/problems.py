"""RFC 9457 problem+json: the document, and the handlers that render every error of
`app.errors` (and the framework's own) as one."""

import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import examples
from app.errors import (
    CatalogueError,
    DatabaseNotReady,
    DatabaseUnavailable,
    FieldError,
    Gone,
    InvalidParameters,
    NotModified,
    Renamed,
    TooManyRequests,
    Unauthorized,
)
from app.seeding.checking import dotted

logger = logging.getLogger("app")

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://exercise-catalogue.example/problems/"


class ParameterError(BaseModel):
    """One bad input: which parameter, what is wrong, and what would be accepted."""

    parameter: str = Field(
        description="The parameter's name; for a body field, its dotted path (`data.name`)."
    )
    location: str = Field(default="query", description="`query`, `path`, `header` or `body`.")
    pointer: str | None = Field(
        default=None, description="For a body field: its JSON Pointer (RFC 6901) in the body."
    )
    message: str = Field(description="What is wrong with it.")
    value: Any = Field(default=None, description="The value sent, when it can be shown back.")
    allowed: list[str] | None = Field(
        default=None, description="The values that would be accepted, where there is a list."
    )


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.PROBLEM]})

    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="The kind of problem, in words: the same for every one.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request.")
    instance: str | None = Field(default=None, description="The path the request was for.")
    errors: list[ParameterError] | None = Field(
        default=None, description="With 422: every bad parameter or body field, at once."
    )
    deleted_at: datetime | None = Field(
        default=None, description="With 410: when the resource was deleted, if known."
    )


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    instance: str | None = None,
    errors: Sequence[ParameterError] | None = None,
    headers: dict[str, str] | None = None,
    deleted_at: datetime | None = None,
) -> JSONResponse:
    problem = Problem(
        type=PROBLEM_BASE + slug,
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        errors=list(errors) if errors is not None else None,
        deleted_at=deleted_at,
    )
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _located(request: Request, errors: Sequence[FieldError]) -> list[ParameterError]:
    """Field errors as the client sent the fields: a path parameter, a body field (named
    by its JSON Pointer), or else a query parameter."""

    def location(field: str) -> str:
        if field in request.path_params:
            return "path"
        return "body" if field.startswith("/") else "query"

    return [
        ParameterError(
            parameter=dotted(error.field) if error.field.startswith("/") else error.field,
            location=location(error.field),
            pointer=error.field if error.field.startswith("/") else None,
            message=error.message,
            value=error.value,
            allowed=error.allowed,
        )
        for error in errors
    ]


_QUOTED = re.compile(r"'([^']*)'")


def _validation_errors(error: RequestValidationError) -> list[ParameterError]:
    errors = []
    for item in error.errors():
        location, *path = item.get("loc", ("query",))
        pointer = None
        if item.get("type") == "json_invalid":
            parameter = "body"
        elif location == "body":
            pointer = "".join(f"/{part}" for part in path)
            parameter = dotted(pointer) or "body"
        else:
            # `phase.0` is the first `phase` value: clients know the parameter as `phase`.
            named = [str(part) for part in path if not isinstance(part, int)]
            parameter = ".".join(named) or str(location)
        allowed = None
        expected = (item.get("ctx") or {}).get("expected")
        if item.get("type") in ("enum", "literal_error") and isinstance(expected, str):
            allowed = _QUOTED.findall(expected)
        value = item.get("input")
        if item.get("type") == "extra_forbidden":
            message = "unknown parameter"
        else:
            message = item.get("msg", "invalid")
        errors.append(
            ParameterError(
                parameter=parameter,
                location=str(location),
                pointer=pointer,
                message=message,
                value=value if _echoable(value) else None,
                allowed=allowed,
            )
        )
    return errors


def query_field_errors(errors: Sequence[Any]) -> list[FieldError]:
    """Pydantic's errors of a model of query parameters, as field errors worded as the
    framework's own validation errors are (for a 422 that also names other problems)."""
    located = RequestValidationError([{**item, "loc": ("query", *item["loc"])} for item in errors])
    return [
        FieldError(
            field=error.parameter, message=error.message, value=error.value, allowed=error.allowed
        )
        for error in _validation_errors(located)
    ]


def _echoable(value: Any) -> bool:
    """Whether a rejected value can be shown back: a scalar that is valid UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    return isinstance(value, int | float | bool)


# What else a request that failed validation can be found wrong with: checks that need
# the app (a cursor's signature needs its secret), so that every problem of a request
# is reported in the one 422 (`app.main` passes `pagination.cursor_problems`).
MoreProblems = Callable[[Request], Sequence[FieldError]]


def install_error_handlers(app: FastAPI, *, more_problems: MoreProblems | None = None) -> None:

    @app.exception_handler(CatalogueError)
    async def catalogue_error(request: Request, error: CatalogueError) -> JSONResponse:
        if error.status >= 500 and error.status != 503:
            logger.error("unhandled catalogue error: %s", error.detail)
            return _internal_error(request)
        headers = {"Retry-After": "5"} if error.status == 503 else None
        if isinstance(error, TooManyRequests):
            headers = {"Retry-After": str(error.retry_after)}
        if isinstance(error, Unauthorized):
            challenge = 'Bearer realm="catalogue"'
            if error.key_sent:
                challenge += ', error="invalid_token"'
            headers = {"WWW-Authenticate": challenge}
        if isinstance(error, Renamed):
            # The same URL with the successor's slug in place of the last path segment.
            path = request.url.path.rsplit("/", 1)[0] + "/" + error.successor
            headers = {"Location": str(request.url.replace(path=path))}
        return problem_response(
            error.status,
            error.title,
            error.detail,
            slug=error.slug,
            instance=request.url.path,
            errors=_located(request, error.errors) if error.errors is not None else None,
            headers=headers,
            deleted_at=error.deleted_at if isinstance(error, Gone) else None,
        )

    @app.exception_handler(NotModified)
    async def not_modified(request: Request, outcome: NotModified) -> Response:
        return Response(status_code=304, headers=outcome.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(error)
        if more_problems is not None:
            named = {item.parameter for item in errors}
            more = [item for item in more_problems(request) if item.field not in named]
            errors += _located(request, more)
        names = ", ".join(sorted({item.parameter for item in errors}))
        return problem_response(
            422,
            InvalidParameters.title,
            f"Invalid value(s) for: {names}.",
            slug=InvalidParameters.slug,
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 406: "Not acceptable"}
        title = titles.get(error.status_code, "HTTP error")
        detail = str(error.detail)
        if error.status_code == 404 and detail == "Not Found":
            detail = f"No resource at {request.url.path}."
        headers = dict(error.headers) if error.headers else {}
        if error.status_code == 405:
            # Starlette names the methods of the first route with this path; a path can
            # have several (GET and POST /v1/proposals), and HEAD is answered as GET.
            headers["Allow"] = ", ".join(_allowed_methods(request))
            detail = f"{request.method} is not allowed here; allowed: {headers['Allow']}."
        return problem_response(
            error.status_code,
            title,
            detail,
            slug=title.lower().replace(" ", "-"),
            instance=request.url.path,
            headers=headers or None,
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(ProgrammingError)
    @app.exception_handler(PoolTimeoutError)
    async def database_error(request: Request, error: Exception) -> JSONResponse:
        if _missing_table(error):
            # The database answered: it is there, but not migrated.
            logger.warning("database not migrated: %s", type(error).__name__)
            return problem_response(
                503,
                DatabaseNotReady.title,
                "The catalogue database answers but is not migrated; try again once it is.",
                slug=DatabaseNotReady.slug,
                instance=request.url.path,
                headers={"Retry-After": "5"},
            )
        if isinstance(error, ProgrammingError):
            return _internal_error(request, logged=True)  # our SQL, not the database
        logger.warning("database unavailable: %s", type(error).__name__)
        return problem_response(
            503,
            DatabaseUnavailable.title,
            "The catalogue database cannot be reached; try again shortly.",
            slug=DatabaseUnavailable.slug,
            instance=request.url.path,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
        # Only reached for errors outside UnexpectedErrorMiddleware (in middlewares).
        return _internal_error(request, logged=True)


# PostgreSQL's `undefined_table`; SQLite says it in words.
_UNDEFINED_TABLE = "42P01"


def _missing_table(error: Exception) -> bool:
    """Whether the database answered that a table the catalogue needs does not exist."""
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) == _UNDEFINED_TABLE:
        return True
    return isinstance(error, OperationalError) and str(original).startswith("no such table")


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route answers at this request's path (HEAD wherever GET is)."""
    methods = []
    # As the app's router saw the request: a mount (the docs' static files) has since
    # moved its prefix into `root_path`.
    root_path = request.scope.get("app_root_path", request.scope.get("root_path", ""))
    for method in ("DELETE", "GET", "PATCH", "POST", "PUT"):
        scope = {**request.scope, "method": method, "root_path": root_path}
        for route in request.app.router.routes:
            if route.matches(scope)[0] != Match.FULL:
                continue
            # A mount matches every method; static files answer GET (and HEAD) only.
            if not isinstance(route, Mount) or (
                isinstance(route.app, StaticFiles) and method == "GET"
            ):
                methods.append(method)
                break
    if "GET" in methods:
        methods.append("HEAD")
    return sorted(methods)


class UnexpectedErrorMiddleware:
    """Render an unexpected exception as the generic 500 problem *inside* the middleware
    stack, so the answer still gets its request id, security and CORS headers (Starlette
    would otherwise handle it outermost, after all of them). `render` makes the answer
    (the FHIR app's is an OperationOutcome); the error is logged first."""

    def __init__(self, app: ASGIApp, *, render: Callable[[Request], Response] | None = None):
        self.app = app
        self.render = render or (lambda request: _internal_error(request))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:
                raise  # too late for a problem document; the server closes the connection
            request = Request(scope)
            log_unexpected_error(request)
            await self.render(request)(scope, receive, send)


def log_unexpected_error(request: Request) -> None:
    """The details of an unexpected error go to the log (with the request id), never out."""
    logger.exception(
        "unhandled error on %s %s (request id %s)",
        request.method,
        request.url.path,
        correlation_id.get(),
    )


def _internal_error(request: Request, *, logged: bool = False) -> JSONResponse:
    """The generic 500."""
    if logged:
        log_unexpected_error(request)
    return problem_response(
        500,
        CatalogueError.title,
        "Something went wrong on our side; it has been logged.",
        slug=CatalogueError.slug,
        instance=request.url.path,
    )
