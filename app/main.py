"""The FastAPI application."""

import logging

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.errors import install_error_handlers
from app.routes import catalogue, conditions, exercises, goals, phases, sources
from app.settings import Settings, get_settings

DESCRIPTION = """
A catalogue of rehabilitation exercises (first: hamstring pain, tightness and strain,
and their links to low-back pain and sciatica), with dosage, phases, cautions and a
verbatim quote from a source behind every claim.

Lists share one envelope (`items`, `total`, `limit`, `next_cursor`) and page with
opaque cursors. Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level)
    app = FastAPI(
        title="Exercise Catalogue API",
        version="1.0.0",
        description=DESCRIPTION,
        license_info={"name": "MIT", "identifier": "MIT"},
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allow_origins,
        allow_methods=["GET", "HEAD", "OPTIONS"],
        allow_headers=["If-None-Match", "If-Modified-Since", "X-Request-ID"],
        expose_headers=["ETag", "Link", "X-Request-ID", "Retry-After"],
    )
    install_error_handlers(app)
    for module in (exercises, phases, goals, conditions, sources, catalogue):
        app.include_router(module.router)
    app.include_router(catalogue.health_router)
    return app
