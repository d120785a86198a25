"""The FastAPI application."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp
from starlette_compress import CompressMiddleware, add_compress_type

from app.conditional import FixedDocumentsMiddleware
from app.database import connect_early
from app.dependencies import AppResources, json_acceptable
from app.fhir.application import MOUNT_PATH, create_fhir_app
from app.fhir.outcomes import uri_too_long
from app.logs import configure_logging
from app.ndjson_export import MEDIA_TYPE
from app.observability import RequestObserver, RouteRecorder
from app.openapi import install_openapi
from app.pagination import cursor_problems
from app.problems import UnexpectedErrorMiddleware, install_error_handlers
from app.response_cache import ResponseCache, read_current_revision
from app.routes import (
    catalogue,
    changes,
    conditions,
    exercises,
    export,
    goals,
    history,
    phases,
    proposals,
    sources,
    suggest,
)
from app.security import (
    ConcurrencyLimitMiddleware,
    HeadAsGetMiddleware,
    RequestBodyMiddleware,
    SecurityHeadersMiddleware,
    URLLengthLimitMiddleware,
    is_acceptable_request_id,
    new_request_id,
)
from app.settings import PUBLIC_CURSOR_SECRET, Settings, get_settings

DESCRIPTION = """
A catalogue of rehabilitation exercises (first: hamstring pain, tightness and strain,
and their links to low-back pain and sciatica), with dosage, phases, cautions and a
verbatim quote from a source behind every claim.

Lists share one envelope (`items`, `total`, `limit`, `next_cursor`) and page with
opaque cursors. Errors are RFC 9457 `application/problem+json`.
"""


TAGS = [
    {
        "name": "exercises",
        "description": "The exercises: filter, search, page, and read one in full.",
    },
    {"name": "phases", "description": "Rehab phases (acute, rehab, return-to-sport) in order."},
    {
        "name": "goals",
        "description": "What exercises are for: flexibility, pain relief, strength...",
    },
    {
        "name": "conditions",
        "description": "Conditions that make exercises unsafe or call for caution.",
    },
    {"name": "sources", "description": "The source documents and the evidence quoted from them."},
    {"name": "catalogue", "description": "The catalogue's version, counts and last change."},
    {
        "name": "search",
        "description": "Completions of what is being typed, from names, aliases and the "
        "catalogue's vocabulary (the exercise list's `q` searches).",
    },
    {
        "name": "sync",
        "description": "Keeping an offline copy: the whole catalogue in one export, then "
        "the change feed from the export's `resume_cursor`.",
    },
    {
        "name": "proposals",
        "description": "Curation: a key proposes a change, a reviewer's key (not the "
        "author's) approves or rejects it. Needs `Authorization: Bearer <key>`.",
    },
    {"name": "health", "description": "Liveness and readiness probes."},
]

# The OpenAPI document, Swagger UI, ReDoc and Swagger's OAuth2 page: fixed per process.
DOCUMENT_PATHS = ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API, with its own settings and engine (from the environment by default):
    everything a request reaches is in `app.state.resources` (see `app.dependencies`)."""
    settings = settings or get_settings()
    resources = AppResources.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(resources.warm)
        # perf: the revision's completions, just built, out of the collector's full
        # passes too (as in `create_asgi_app`; refcounting still frees them later).
        gc.collect()
        gc.freeze()
        yield
        resources.dispose()

    configure_logging(settings)
    if settings.cursor_secret == PUBLIC_CURSOR_SECRET:
        logging.getLogger("app").warning(
            "CURSOR_SECRET is the public default: set your own so that only this API "
            "can sign pagination cursors"
        )
    # Docs assets (Swagger UI, ReDoc) are served by this server, never from a CDN, and
    # Swagger's remote validator is off: the docs work inside networks with no internet.
    app = FastAPIOffline(
        openapi_url=DOCUMENT_PATHS[0],
        docs_url=DOCUMENT_PATHS[1],
        redoc_url=DOCUMENT_PATHS[2],
        swagger_ui_oauth2_redirect_url=DOCUMENT_PATHS[3],
        swagger_ui_parameters={"validatorUrl": None},
        title="Exercise Catalogue API",
        version="1.0.0",
        description=DESCRIPTION,
        license_info={"name": "MIT", "identifier": "MIT"},
        contact={"name": "Exercise Catalogue API maintainers"},
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.resources = resources
    # Innermost: the route template a request matched, for its metrics and log line.
    app.add_middleware(RouteRecorder, routes=app.router.routes)
    # Inside compression: the documents' tag is of the body as rendered.
    app.add_middleware(FixedDocumentsMiddleware, paths=DOCUMENT_PATHS)
    app.add_middleware(ConcurrencyLimitMiddleware, limit=settings.max_concurrent_requests)
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(RequestBodyMiddleware)
    app.add_middleware(
        URLLengthLimitMiddleware, refusals={MOUNT_PATH.encode() + b"/": uri_too_long}
    )
    # zstd, then brotli, then gzip, as the client accepts; small bodies go uncompressed.
    add_compress_type(MEDIA_TYPE)  # the export, compressed as it streams
    app.add_middleware(CompressMiddleware, minimum_size=1000)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allow_origins,
        allow_methods=["GET", "HEAD", "OPTIONS", "POST", "DELETE"],
        allow_headers=[
            "If-None-Match",
            "If-Modified-Since",
            "X-Request-ID",
            "Prefer",
            "Authorization",
            "If-Match",
            "Content-Type",
        ],
        expose_headers=[
            "ETag",
            "Link",
            "X-Request-ID",
            "Retry-After",
            "Location",
            "WWW-Authenticate",
            "X-Catalogue-Stale",
        ],
    )
    # Outermost: every response, errors included, carries the request's id.
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name="X-Request-ID",
        generator=new_request_id,
        validator=is_acceptable_request_id,
    )
    install_error_handlers(app, more_problems=cursor_problems)
    for module in (
        exercises,
        history,
        phases,
        goals,
        conditions,
        sources,
        catalogue,
        changes,
        export,
        proposals,
        suggest,
    ):
        # 406 is decided before the conditional-request check: a 304 would be wrong too.
        app.include_router(module.router, dependencies=[Depends(json_acceptable)])
    app.include_router(catalogue.health_router)
    app.mount(MOUNT_PATH, create_fhir_app(resources, app))
    install_openapi(app)
    return app


def create_asgi_app(settings: Settings | None = None) -> ASGIApp:
    """What `catalogue serve` runs: the app behind its response cache (when enabled),
    inside the request observer (metrics, the access log, `/metrics`). The cache sits
    outside the app's middleware, so a repeated read costs none of it."""
    settings = settings or get_settings()
    app = create_app(settings)
    resources: AppResources = app.state.resources
    connect_early(resources.engine)  # each worker, before it accepts connections
    # perf: everything built so far lives as long as the process: keep it out of the cyclic
    # garbage collector's full passes, whose pauses would otherwise set the p99.
    gc.collect()
    gc.freeze()
    served: ASGIApp = app
    if settings.response_cache_enabled:
        served = ResponseCache(
            app,
            # Where the app's reads come from: a new revision counts once it is there.
            read_revision=lambda: read_current_revision(resources.reads),
            revalidate_seconds=settings.response_cache_revalidate_seconds,
            max_entries=settings.response_cache_max_entries,
            check_seconds=settings.database_timeout_seconds,
            max_stale_seconds=settings.response_cache_max_stale_seconds,
        )
    return RequestObserver(served, settings=settings)
