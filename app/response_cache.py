"""Responses rendered once per catalogue revision.

`ResponseCache` wraps the whole app: it keeps the finished bytes of successful
catalogue reads in memory, keyed by URL and the headers that select a representation,
and serves repeats without any middleware, routing, querying or rendering. It learns
the current revision from the database at most once per `revalidate_seconds`, in the
background, so after a write a process may keep serving the previous, complete
revision (with that revision's ETag) for up to twice that long.

When that check fails (the database is down), or has not answered for
`CHECK_PATIENCE_SECONDS` (the database is frozen; the check itself gives up at its
deadline), hits go on being served from the last complete revision the cache knows,
marked `X-Catalogue-Stale: true`, until a check succeeds again, for at most
`max_stale_seconds` after the last check that did; what is not in the cache, or is
too old to vouch for, goes to the app, which answers 503.
"""

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.conditional import etag_matches, rendered_from
from app.database import ReadDatabases, run_read, run_within_deadline
from app.observability import record_route, route_of
from app.queries.revision import get_revision
from app.security import CATALOGUE_PATHS, EXPORT_PATH, is_acceptable_request_id, new_request_id


def read_current_revision(reads: ReadDatabases) -> str:
    """The revision in the database now (for `ResponseCache`, outside any request): in
    the database the app's reads come from, the next replica or the primary."""
    with reads.session() as session:
        return run_read(session, lambda session: get_revision(session).tag)


# Headers a 304 repeats from the full response (RFC 9110 15.4.5).
_NOT_MODIFIED_HEADERS = frozenset(
    {
        b"etag",
        b"last-modified",
        b"cache-control",
        b"vary",
        b"x-content-type-options",
        b"referrer-policy",
        b"content-security-policy",
        b"access-control-allow-origin",
        b"access-control-expose-headers",
        b"access-control-allow-credentials",
    }
)
# Headers that change the bytes of a response: the media type and encoding negotiated,
# the origin (CORS headers), and the host, which `Link` URLs are built from (so a
# forged Host header cannot put its URLs into answers for other clients), and FHIR's
# `Prefer` (lenient handling answers a search that strict handling refuses).
_SELECTING_HEADERS = (b"accept", b"accept-encoding", b"host", b"origin", b"prefer")
_REQUEST_ID = b"x-request-id"
# On hits served while the revision cannot be checked.
STALE_HEADER = (b"x-catalogue-stale", b"true")
MAX_ENTRY_BYTES = 1 << 20
# How long a request that must wait for a revision check waits before it takes the
# check for failed (and is served the known revision, marked stale): a check normally
# takes milliseconds, and under load tens of them.
CHECK_PATIENCE_SECONDS = 0.5
logger = logging.getLogger("app")


@dataclass(frozen=True, slots=True)
class _Entry:
    revision: str
    headers: tuple[tuple[bytes, bytes], ...]
    not_modified_headers: tuple[tuple[bytes, bytes], ...]
    etag: str
    body: bytes
    # The template of the route that rendered it (`app.observability`), for its hits.
    route: str | None


@dataclass(slots=True)
class _Rendering:
    """An answer being rendered: requests for the same key wait for it, then share it."""

    finished: anyio.Event = field(default_factory=anyio.Event)
    entry: _Entry | None = None


class ResponseCache:
    """Wraps the app: serve repeated catalogue reads from memory, per revision.

    Everything but the request id is kept; each answer gets the caller's `X-Request-ID`
    (when acceptable) or a new one, as the app's own middleware would give it. An answer
    is rendered once however many requests want it at the same time."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        read_revision: Callable[[], str],
        revalidate_seconds: float,
        max_entries: int,
        check_seconds: float = 5.0,
        max_stale_seconds: float = math.inf,
    ):
        self.app = app
        self.read_revision = read_revision
        self.revalidate_seconds = revalidate_seconds
        self.max_entries = max_entries
        # The deadline of a revision check (a worker thread's trip to the database).
        self.check_seconds = check_seconds
        self.max_stale_seconds = max_stale_seconds
        self.entries: dict[tuple[object, ...], _Entry] = {}
        self.revision: str | None = None
        # The last check of the revision failed, or is taking too long: `revision` may
        # no longer be current.
        self.stale = False
        self.checked_at = -math.inf
        # When the last check that succeeded began: `revision` was current then.
        self.confirmed_at = -math.inf
        self.reading: anyio.Event | None = None
        self.reading_since = -math.inf
        self.background: asyncio.Task[None] | None = None
        self.rendering: dict[tuple[object, ...], _Rendering] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(CATALOGUE_PATHS)
            or scope["path"] == EXPORT_PATH
        ):
            await self.app(scope, receive, send)
            return
        selecting: dict[bytes, bytes] = {}
        if_none_match = None
        request_id = None
        for name, value in scope["headers"]:
            if name == _REQUEST_ID:
                request_id = value
            elif name in _SELECTING_HEADERS:
                if name in selecting:  # repeated: rare enough to leave to the app
                    await self.app(scope, receive, send)
                    return
                selecting[name] = value
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
            elif name == b"authorization":
                # Never answered from a cache shared by everyone (nor kept in it).
                await self.app(scope, receive, send)
                return
            elif name == b"if-modified-since":
                await self.app(scope, receive, send)  # dates are rare; the app knows them
                return
        key = (
            scope["scheme"],
            selecting.get(b"host"),
            scope["path"],
            scope["query_string"],
            selecting.get(b"accept"),
            selecting.get(b"accept-encoding"),
            selecting.get(b"origin"),
            selecting.get(b"prefer"),
        )
        if time.monotonic() - self.checked_at >= self.revalidate_seconds:
            await self._revalidate(hit=key in self.entries)
        entry = self.entries.get(key)
        if entry is None or entry.revision != self.revision:
            rendering = self.rendering.get(key)
            if rendering is None:
                metrics.CACHE_REQUESTS.labels("miss").inc()
                await self._render_and_keep(key, scope, receive, send)
                return
            # Another request is rendering this answer: take a copy of it rather than
            # render it again. Without this, a worker's first requests for a URL (and
            # every URL's after a new revision) all rendered it at once, each in a thread
            # contending for the GIL: a stall for all that worker's clients.
            await rendering.finished.wait()
            if rendering.entry is None:
                # Nothing to share (an error, a 304, an answer too large): render this one.
                metrics.CACHE_REQUESTS.labels("miss").inc()
                await self.app(scope, receive, send)
                return
            # Shared even when not kept (rendered from a revision this cache has not
            # learned yet, or has just left): it is as fresh as a render of our own.
            entry = rendering.entry
            outcome = "shared"
        else:
            outcome = "hit"
        stale = self.stale and entry.revision == self.revision
        if stale and time.monotonic() - self.confirmed_at > self.max_stale_seconds:
            # Too long since the revision was known to be current to vouch for it.
            await self.app(scope, receive, send)
            return
        metrics.CACHE_REQUESTS.labels(outcome).inc()
        record_route(scope, entry.route)
        if request_id is None or not is_acceptable_request_id(request_id.decode("latin-1")):
            request_id = new_request_id().encode()
        marks = [(_REQUEST_ID, request_id)]
        if stale:
            marks.append(STALE_HEADER)
        if if_none_match is not None and etag_matches(if_none_match, entry.etag):
            headers = [*entry.not_modified_headers, *marks]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
        else:
            headers = [*entry.headers, *marks]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": entry.body})

    async def _revalidate(self, *, hit: bool) -> None:
        """Learn the current revision when the known one was read `revalidate_seconds`
        ago or more (the caller checks the age first: most requests need no await).

        The read runs in a task of its own, one at a time, and a request goes on with
        the known revision while it runs, provided that revision was read less than two
        intervals ago: under load the read's worker thread waits its turn at the GIL
        behind the event loop, and a request that awaited it stalled (p99 spikes, and
        timeouts; figures in `bench/RESULTS.md`). Older than that, or with
        `revalidate_seconds` 0, a request the cache may answer (a `hit`) awaits the
        read, unless the last read failed: then the known revision is served, stale,
        without waiting. A miss never waits: the app reads the database itself. Nor
        does any request wait for a read that has been running for
        `CHECK_PATIENCE_SECONDS`: that read counts as failed until it ends (by its
        deadline, `check_seconds`, at the latest)."""
        now = time.monotonic()
        age = now - self.checked_at
        if age < self.revalidate_seconds:
            return
        reading = self.reading
        if reading is None:
            reading = self.reading = anyio.Event()
            self.reading_since = now
            # Kept referenced until done, or the event loop may drop the task.
            self.background = asyncio.get_running_loop().create_task(self._read(reading))
        if self.revision is not None and (
            not hit or age < 2 * self.revalidate_seconds or self.stale
        ):
            return
        # (With no revision known yet, waiting lets the first answers be kept.)
        with anyio.move_on_after(self.reading_since + CHECK_PATIENCE_SECONDS - now):
            await reading.wait()
        if not reading.is_set() and self.revision is not None and not self.stale:
            logger.warning(
                "response cache: the catalogue revision check has not answered for %g s; "
                "serving the last complete revision from memory, marked stale",
                CHECK_PATIENCE_SECONDS,
            )
            self.stale = True

    async def _read(self, reading: anyio.Event) -> None:
        started = time.monotonic()
        try:
            revision: str = await run_within_deadline(
                self.read_revision, seconds=self.check_seconds
            )
        except Exception as error:
            self._check_failed(started, error)
        else:
            self.checked_at = self.confirmed_at = started
            if self.stale:
                logger.info("response cache: the catalogue revision can be read again")
            self.stale = False
            if revision != self.revision:
                self.entries = {}
                self.revision = revision
                metrics.CACHE_ENTRIES.set(0)
        finally:
            self.reading = None
            reading.set()

    def _check_failed(self, started: float, error: Exception) -> None:
        """The database is unreachable (or not seeded). With a revision known, keep
        serving it, stale, and check again in `revalidate_seconds`; with none, cache
        nothing and let the app answer (a 503) until a revision can be read."""
        if self.revision is None:
            self.checked_at = -math.inf
            return
        if not self.stale:
            logger.warning(
                "response cache: the catalogue revision cannot be read (%s); serving the "
                "last complete revision from memory, marked stale",
                type(error).__name__,
            )
        self.stale = True
        self.checked_at = started

    async def _render_and_keep(
        self, key: tuple[object, ...], scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Let the app answer, keep the answer if it may be served again, and share it
        with the requests for the same key that arrive meanwhile."""
        rendering = self.rendering[key] = _Rendering()
        start: Message | None = None
        chunks: list[bytes] = []

        def finish() -> None:
            if not rendering.finished.is_set():
                del self.rendering[key]
                rendering.finished.set()

        async def forward_and_record(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = {**message, "headers": list(message.get("headers", []))}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    # Before the last bytes go out: the waiting requests need not wait
                    # for this client to read them. (The app's answers are one body
                    # message each; a streamed one would make them wait for the
                    # client to take the earlier messages.)
                    rendering.entry = _entry(
                        rendered_from(scope), start, b"".join(chunks), route_of(scope)
                    )
                    self._store(key, rendering.entry)
                    finish()
            await send(message)

        try:
            await self.app(scope, receive, forward_and_record)
        finally:
            finish()

    def _store(self, key: tuple[object, ...], entry: _Entry | None) -> None:
        # Only what the current revision rendered is kept: a request that read an older
        # snapshot just before a reseed must not be served after it.
        if entry is None or entry.revision != self.revision:
            return
        if len(self.entries) >= self.max_entries:
            del self.entries[next(iter(self.entries))]  # the oldest
        self.entries[key] = entry
        metrics.CACHE_ENTRIES.set(len(self.entries))


def _entry(
    revision: str | None, start: Message | None, body: bytes, route: str | None
) -> _Entry | None:
    """A finished answer as it may be served again: a 200 rendered from a known
    `revision`, with an ETag, not too large; `None` for anything else."""
    if start is None or start["status"] != 200 or revision is None:
        return None
    headers = tuple((name, value) for name, value in start["headers"] if name != _REQUEST_ID)
    etag = next((value for name, value in headers if name == b"etag"), None)
    if etag is None or len(body) > MAX_ENTRY_BYTES:
        return None
    return _Entry(
        revision=revision,
        headers=headers,
        not_modified_headers=tuple(
            (name, value) for name, value in headers if name in _NOT_MODIFIED_HEADERS
        ),
        etag=etag.decode("latin-1"),
        body=body,
        route=route,
    )
