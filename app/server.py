"""The HTTP/1.1 edge `catalogue serve` runs: uvicorn's httptools protocol with bounded
request heads and idle connections, and the options uvicorn is started with.

uvicorn with httptools reads a request head of any size and any number of headers, for
as long as the client takes to send it, and holds a connection that never sends a byte
forever; its `limit_concurrency` answers a plain-text 503. `BoundedHTTPProtocol` adds
what is missing, per connection and without a task of its own:

- a head (request line and headers) larger than `MAX_REQUEST_HEAD_BYTES` gets a 431
  (414 when the request target alone is), one with more than `MAX_REQUEST_HEADERS`
  headers a 431, and the connection is closed;
- a head not complete `REQUEST_HEAD_TIMEOUT_SECONDS` after the connection opened (or
  after the previous response) gets a 408 and the connection is closed, however
  steadily its bytes trickle in;
- a connection idle for `KEEP_ALIVE_TIMEOUT_SECONDS`, before its first request as well
  as between requests, is closed;
- beyond `MAX_CONNECTIONS` connections (or requests in progress) a worker answers a
  503 problem with `Retry-After` and closes the connection.

It subclasses uvicorn's protocol (pinned in `requirements.lock`), relying on its
parser callbacks and per-connection attributes; `tests/test_server_limits.py` runs a
real server against each bound.

`run_server` is `uvicorn.run` with a supervisor that tells the metrics of each worker
it replaces or stops (`MetricsSupervisor`).
"""

import asyncio
import contextlib
import json
from typing import Any

import uvicorn
from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState
from uvicorn.supervisors import Multiprocess

from app import metrics
from app.problems import PROBLEM_BASE, PROBLEM_JSON
from app.settings import Settings, get_settings

# What a refused connection is told to wait before trying again.
RETRY_AFTER_SECONDS = 1


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `uvicorn.run` that bound connections (the rest are the
    command line's): this module's protocol, the connection cap, trusted proxies."""
    trusted = settings.forwarded_allow_ips.strip()
    return {
        "http": BoundedHTTPProtocol,
        # No WebSocket routes: an upgrade request is an ordinary (refused) request.
        "ws": "none",
        "limit_concurrency": settings.max_connections,
        # Whole seconds in uvicorn's signature; the protocol applies the exact value.
        "timeout_keep_alive": max(1, round(settings.keep_alive_timeout_seconds)),
        # Without trusted addresses the proxy headers are not read at all.
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
    }


class MetricsSupervisor(Multiprocess):
    """uvicorn's supervisor of worker processes, marking each worker it finds dead (and
    replaces), restarts or stops dead for prometheus-client, whose live gauges (requests
    in progress, cache entries, connections) would otherwise go on counting it."""

    def _pids(self) -> set[int]:
        return {process.pid for process in self.processes if process.pid is not None}

    def _mark_gone(self, before: set[int]) -> None:
        for pid in before - self._pids():
            metrics.mark_process_dead(pid)

    def keep_subprocess_alive(self) -> None:
        before = self._pids()
        super().keep_subprocess_alive()
        self._mark_gone(before)

    def restart_all(self) -> None:
        before = self._pids()
        super().restart_all()
        self._mark_gone(before)

    def run(self) -> None:
        try:
            super().run()
        finally:
            for pid in self._pids():
                metrics.mark_process_dead(pid)


def run_server(app: str, *, workers: int, **options: Any) -> None:
    """`uvicorn.run(app, workers=workers, **options)`, with `MetricsSupervisor` over
    several workers."""
    if workers <= 1:
        uvicorn.run(app, workers=workers, **options)
        return
    config = Config(app, workers=workers, **options)
    socket = config.bind_socket()
    with contextlib.suppress(KeyboardInterrupt):
        MetricsSupervisor(config, sockets=[socket]).run()


def _problem(status: int, slug: str, title: str, detail: str) -> bytes:
    return json.dumps(
        {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail},
        separators=(",", ":"),
    ).encode()


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a head that is over a bound."""


class BoundedHTTPProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds described in the module docstring."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = get_settings()
        self.max_head_bytes = settings.max_request_head_bytes
        self.max_headers = settings.max_request_headers
        self.head_timeout = settings.request_head_timeout_seconds
        self.timeout_keep_alive = settings.keep_alive_timeout_seconds  # type: ignore[assignment]
        # The cap is checked here, so that the refusal is a problem like every other.
        self.max_connections = config.limit_concurrency
        self.limit_concurrency = None
        self.application = self.app
        # Bytes of the head being read, counted from chunks that hold nothing else.
        self.head_bytes = 0
        self.reading_head = True
        self.head_begun = False
        self.heads_read = 0
        self.head_deadline: asyncio.TimerHandle | None = None
        self.refusal: tuple[int, bytes] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # uvicorn arms its keep-alive timer only after a response: a connection that
        # never sends a byte would be held forever.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        whole_chunk_is_head = self.reading_head
        heads_read = self.heads_read
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self.heads_read != heads_read:
            self.head_bytes = 0
        elif whole_chunk_is_head and self.reading_head:
            # A chunk in which a head started after a body is not counted: the bound
            # may be passed by up to one read, never reached by bytes of a body.
            self.head_bytes += len(data)
            if self.head_bytes > self.max_head_bytes:
                self._refuse(
                    431,
                    "request-head-too-large",
                    "Request header fields too large",
                    f"The request line and headers may take at most {self.max_head_bytes} bytes.",
                )

    # Parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_begun = True

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_head_bytes:
            self.refusal = self._refusal(
                414,
                "uri-too-long",
                "URI too long",
                f"The request target is over {self.max_head_bytes} bytes.",
            )
            raise _Refused

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= self.max_headers:
            self.refusal = self._refusal(
                431,
                "request-head-too-large",
                "Request header fields too large",
                f"A request may have at most {self.max_headers} header fields.",
            )
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_head_deadline()
        self.reading_head = False
        self.head_begun = False
        self.heads_read += 1
        cap = self.max_connections
        # This connection is among `connections`; this request is not yet among `tasks`.
        over = cap is not None and (len(self.connections) > cap or len(self.tasks) >= cap)
        self.app = _over_capacity if over else self.application
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.reading_head = True

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def send_400_response(self, msg: str) -> None:
        # A parser error: ours (a bound passed in a callback) or a malformed request.
        if self.refusal is None:
            super().send_400_response(msg)
        else:
            self._send_and_close(*self.refusal)

    # Bounds
    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self.head_deadline = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm_head_deadline(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _head_timed_out(self) -> None:
        self.head_deadline = None
        if self.transport.is_closing() or not self.reading_head:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a pipelined head behind a response in progress: it has its turn next
        if not self.head_begun:
            self.transport.close()  # idle: nothing to answer
            return
        self._refuse(
            408,
            "request-timeout",
            "Request timeout",
            f"The request line and headers must arrive within {self.head_timeout:g} seconds.",
        )

    def _refusal(self, status: int, slug: str, title: str, detail: str) -> tuple[int, bytes]:
        return status, _problem(status, slug, title, detail)

    def _refuse(self, status: int, slug: str, title: str, detail: str) -> None:
        self._send_and_close(*self._refusal(status, slug, title, detail))

    def _send_and_close(self, status: int, body: bytes) -> None:
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: ",
            PROBLEM_JSON.encode(),
            b"\r\ncontent-length: ",
            str(len(body)).encode(),
            b"\r\nconnection: close\r\n\r\n",
        ]
        self.transport.write(b"".join([*head, body]))
        self.transport.close()


async def _over_capacity(
    scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    """The answer beyond the connection cap (in place of uvicorn's plain-text one)."""
    body = _problem(
        503,
        "over-capacity",
        "Over capacity",
        "This server holds as many connections as it may; try again shortly.",
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
