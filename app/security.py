"""The HTTP edge: headers that suit a JSON API and its docs pages, the URL length limit,
and HEAD answered as GET without a body."""

import os
import re
from collections.abc import Callable, Mapping

import anyio
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.database import request_deadline
from app.problems import problem_response

DOCS_PATHS = ("/docs", "/redoc")
# Swagger UI and ReDoc run inline bootstrap scripts and ReDoc starts blob: workers;
# everything else must come from this server.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# Where the catalogue is read: the JSON API and the FHIR interface.
CATALOGUE_PATHS = ("/v1/", "/fhir/")
# Streamed for as long as its client reads: it has a limit of its own (see
# `app.dependencies.export_slot`), takes no read slot, and is never kept in memory.
EXPORT_PATH = "/v1/export"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# The longest request target accepted (path plus query): the common default of servers
# and proxies, and room for every list filter at its 20-value limit with this
# catalogue's slugs.
MAX_URL_BYTES = 8192


def is_acceptable_request_id(value: str) -> bool:
    """Take the caller's X-Request-ID when it is short and plain; otherwise mint one."""
    return bool(_REQUEST_ID.match(value))


def new_request_id() -> str:
    """A fresh X-Request-ID: a random (version 4) UUID as 32 hex digits, as
    `uuid.uuid4().hex` gives, so that services checking for one accept it. perf: built
    without the UUID object, a large share of a cache hit's time."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 9562 variant
    return raw.hex()


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = str(scope.get("path", "")).startswith(DOCS_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Content-Security-Policy", DOCS_POLICY if docs else API_POLICY)
                vary = headers.get("Vary")
                if vary is not None:
                    # Compression appends Accept-Encoding to the Vary a route already set.
                    names = dict.fromkeys(name.strip() for name in vary.split(","))
                    headers["Vary"] = ", ".join(names)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class URLLengthLimitMiddleware:
    """Answer 414 (RFC 9110 15.5.15) to request targets longer than `MAX_URL_BYTES`
    before any parsing or routing is done for them: a problem, or under a path prefix
    of `refusals` the answer it makes (the FHIR interface's OperationOutcome) from the
    request's detail."""

    def __init__(
        self, app: ASGIApp, refusals: Mapping[bytes, Callable[[str], Response]] | None = None
    ):
        self.app = app
        self.refusals = dict(refusals or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"")
            path = scope.get("raw_path") or scope["path"].encode()
            length = len(path) + (1 + len(query) if query else 0)  # with the "?"
            if length > MAX_URL_BYTES:
                detail = (
                    f"The request target is {length} bytes; at most {MAX_URL_BYTES} are "
                    "accepted. Send fewer or shorter filter values."
                )
                refuse = next(
                    (make for prefix, make in self.refusals.items() if path.startswith(prefix)),
                    None,
                )
                if refuse is not None:
                    response = refuse(detail)
                else:
                    response = problem_response(414, "URI too long", detail, slug="uri-too-long")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class HeadAsGetMiddleware:
    """Answer HEAD exactly as GET (same status and headers, ETag included) without the
    body, for every GET route, without listing HEAD operations in the OpenAPI document."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET", _HEAD: True}, receive, without_body)


_HEAD = "catalogue.head_request"


def is_head_request(scope: Scope) -> bool:
    """Whether a request the app sees as GET came as HEAD: a route whose body is
    costly to make (the export) need not make it."""
    return bool(scope.get(_HEAD, False))


class ConcurrencyLimitMiddleware:
    """At most `limit` catalogue reads in progress per process; the rest wait their turn
    on the event loop.

    Each read runs in worker threads and holds a database connection. Dozens of them at
    once on two cores do not finish sooner: the threads take turns at the GIL (and at
    SQLite, which gives it up for every row), and throughput at 32 connections fell to
    about half that at 4. Waiting here costs nothing, holds no connection, and keeps
    the work of each admitted request moving."""

    def __init__(self, app: ASGIApp, *, limit: int):
        self.app = app
        self.limit = limit
        self.slots: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not scope["path"].startswith(CATALOGUE_PATHS)
            or scope["path"] == EXPORT_PATH
        ):
            await self.app(scope, receive, send)
            return
        if self.slots is None:  # made in the event loop that serves the requests
            self.slots = anyio.Semaphore(self.limit)
        with request_deadline():
            await self._admitted(self.slots, scope, receive, send)

    async def _admitted(
        self, slots: anyio.Semaphore, scope: Scope, receive: Receive, send: Send
    ) -> None:
        await slots.acquire()
        released = False

        # The slot is for the work, not for the client: it is given back as the
        # response starts, so a client slow to read its body holds no slot.
        async def send_and_release(message: Message) -> None:
            nonlocal released
            if message["type"] == "http.response.start" and not released:
                released = True
                slots.release()
            await send(message)

        try:
            await self.app(scope, receive, send_and_release)
        finally:
            if not released:
                slots.release()


# The largest request body accepted: a new source's document (at most 1 MiB of UTF-8)
# with room for JSON escapes and the rest of the proposal.
MAX_BODY_BYTES = 4 * 1024 * 1024
_JSON_TYPES = ("application/json",)


class RequestBodyMiddleware:
    """For requests that carry a body: 413 (RFC 9110 15.5.14) when it is larger than
    `MAX_BODY_BYTES`, whether announced by `Content-Length` or streamed, and 415 when it
    is not JSON, before the app reads any of it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {name: value for name, value in scope["headers"]}
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(b"", message, receive), send)  # the client left
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
        body = b"".join(chunks)
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        json_like = media_type.decode("latin-1") in _JSON_TYPES or media_type.endswith(b"+json")
        if body and not json_like:
            response = problem_response(
                415,
                "Unsupported media type",
                "Send the body as JSON, with `Content-Type: application/json`.",
                slug="unsupported-media-type",
                headers={"Accept-Post": "application/json"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, None, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "Payload too large",
            f"The request body is larger than {self.max_bytes} bytes, the most accepted.",
            slug="payload-too-large",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _replay(body: bytes, first: Message | None, receive: Receive) -> Receive:
    """A `receive` that gives the app the body already read (or `first`, a message
    that ended it), then hands over to the real one (which tells of a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first or {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
