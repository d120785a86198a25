"""Watching the service: each request measured and logged once, and `/metrics`.

`RequestObserver` wraps everything `catalogue serve` runs, the response cache included:
it times each request to its last byte, counts it by method, route template and status
(`app.metrics`), logs it (`app.logs`), and answers `/metrics` itself, so that the
metrics never pass through the API's CORS, caching or documents, and only the addresses
of `METRICS_ALLOW_IPS` may read them.

The route template (`/v1/exercises/{slug}`, never the URL) is learnt inside the app:
`RouteRecorder`, the innermost middleware, reads it from the route that matched and
writes it into a holder the observer put in the request's scope; the response cache
keeps it with each answer, for the hits that never reach the app.
"""

import logging
import time
from collections.abc import Sequence
from ipaddress import ip_address
from typing import Any

import anyio
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.logs import ACCESS_LOGGER
from app.problems import problem_response
from app.settings import Network, Settings, allowed_networks

METRICS_PATH = "/metrics"
_ROUTE = "catalogue.route"
# Paths are logged, query strings never; a path is cut at this length.
MAX_LOGGED_PATH = 256
access_logger = logging.getLogger(ACCESS_LOGGER)


class _RouteHolder:
    __slots__ = ("template",)

    def __init__(self) -> None:
        self.template: str | None = None


def route_of(scope: Scope) -> str | None:
    """The route template recorded for this request, if any."""
    holder = scope.get(_ROUTE)
    return holder.template if holder is not None else None


def record_route(scope: Scope, template: str | None) -> None:
    """Record the route template of a request answered outside the app (a cache hit)."""
    holder = scope.get(_ROUTE)
    if holder is not None and template is not None:
        holder.template = template


class RouteRecorder:
    """The innermost middleware: once the router has matched, the template of the route
    (FastAPI's routes name themselves in the scope; the docs' plain routes and mounts
    are found by their endpoint), with the mount's prefix."""

    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute]):
        self.app = app
        # The app's route list, filled in after the middleware is added.
        self.routes = routes
        self.by_endpoint: dict[Any, str] | None = None

    def template(self, scope: Scope) -> str:
        route = scope.get("route")
        path = getattr(route, "path", None)
        if isinstance(path, str):
            return str(scope.get("root_path", "")) + path
        if self.by_endpoint is None:
            self.by_endpoint = {}
            for known in self.routes:
                if isinstance(known, Route):
                    self.by_endpoint[known.endpoint] = known.path
                elif isinstance(known, Mount):
                    self.by_endpoint[known.app] = known.path + "/{path}"
        return self.by_endpoint.get(scope.get("endpoint"), metrics.UNMATCHED)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        holder = scope.get(_ROUTE)
        if holder is None:
            await self.app(scope, receive, send)
            return

        async def send_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Before the response goes out: the response cache keeps it with the answer.
                holder.template = self.template(scope)
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            if holder.template is None:
                holder.template = self.template(scope)


class RequestObserver:
    """The outermost layer: metrics and the access log for every request, and
    `/metrics` (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, settings: Settings):
        self.app = app
        self.metrics = settings.metrics_enabled
        self.allowed: list[Network] | None = allowed_networks(settings.metrics_allow_ips)
        self.access_log = settings.access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        holder = scope[_ROUTE] = _RouteHolder()
        status = 500  # what the server answers if the app fails before responding
        request_id = None

        async def observe(message: Message) -> None:
            nonlocal status, request_id
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"x-request-id":
                        request_id = value.decode("latin-1")
            await send(message)

        if self.metrics:
            metrics.IN_PROGRESS.inc()
        try:
            if self.metrics and scope["path"] == METRICS_PATH:
                holder.template = METRICS_PATH
                await self._serve_metrics(scope, receive, observe)
            else:
                await self.app(scope, receive, observe)
        finally:
            duration = time.perf_counter() - started
            route = holder.template or metrics.UNMATCHED
            method = metrics.method_label(scope["method"])
            if self.metrics:
                metrics.IN_PROGRESS.dec()
                metrics.REQUESTS.labels(method, route, str(status)).inc()
                metrics.DURATION.labels(method, route).observe(duration)
            if self.access_log:
                self._log(scope, method, route, status, duration, request_id)

    def _log(
        self,
        scope: Scope,
        method: str,
        route: str,
        status: int,
        duration: float,
        request_id: str | None,
    ) -> None:
        path = scope["path"][:MAX_LOGGED_PATH]
        client = scope.get("client")
        duration_ms = round(duration * 1000, 3)
        access_logger.info(
            "%s %s %d %.1f ms",
            method,
            path,
            status,
            duration_ms,
            extra={
                "request_id": request_id,
                "method": method,
                "route": route,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
                "client": client[0] if client else None,
            },
        )

    def _may_read_metrics(self, scope: Scope) -> bool:
        if self.allowed is None:
            return True
        client = scope.get("client")
        if not client:
            return False
        try:
            address = ip_address(client[0])
        except ValueError:
            return False
        return any(address in network for network in self.allowed)

    async def _serve_metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response
        if not self._may_read_metrics(scope):
            response = problem_response(
                403,
                "Forbidden",
                "Metrics are served only to the addresses in METRICS_ALLOW_IPS.",
                slug="forbidden",
                instance=METRICS_PATH,
            )
        elif scope["method"] not in ("GET", "HEAD"):
            response = problem_response(
                405,
                "Method not allowed",
                "Read the metrics with GET.",
                slug="method-not-allowed",
                instance=METRICS_PATH,
                headers={"Allow": "GET, HEAD"},
            )
        else:
            # The other workers' files are read from disk: not on the event loop.
            body = await anyio.to_thread.run_sync(metrics.exposition)
            response = Response(
                body,
                media_type=metrics.CONTENT_TYPE,
                headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
            )
        await response(scope, receive, send)
