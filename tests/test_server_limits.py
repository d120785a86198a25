"""The connection edge of a real `catalogue serve`: request heads bounded in size, count
and time, idle connections closed, a connection cap, and proxy headers believed only
from configured addresses (`app/server.py`).

Each server is one worker process on a seeded SQLite file, with deadlines of a second or
two (set through the settings) so that the module takes seconds. Clients are raw
sockets, for what an HTTP client library would not send, and httpx for normal clients.
"""

import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest
from sqlmodel import Session

from app.database import build_engine
from app.problems import PROBLEM_BASE, PROBLEM_JSON
from app.seeding.reading import read_catalogue
from app.seeding.writing import seed_catalogue
from app.settings import PROJECT_ROOT, Settings
from tests.conftest import DOCUMENTS, FIXTURE_CATALOGUE, TemporaryDatabases, migrate
from tests.helpers import free_port, wait_until_ready

CATALOGUE = str(Path(sys.executable).parent / "catalogue")
KEEP_ALIVE_SECONDS = 1.0
HEAD_TIMEOUT_SECONDS = 2.0
MAX_HEAD_BYTES = 16384
MAX_HEADERS = 100
# What a close may take beyond its deadline on a busy two-core machine.
MARGIN_SECONDS = 1.0
# How long a normal client may wait while another connection misbehaves.
NORMAL_SECONDS = 1.0
EDGE_SETTINGS = [
    "max_request_head_bytes",
    "max_request_headers",
    "request_head_timeout_seconds",
    "keep_alive_timeout_seconds",
    "max_connections",
    "forwarded_allow_ips",
]
# How much of an endless header a client sends before giving up on being cut.
STREAM_LIMIT = 16 << 20


@dataclass
class Server:
    host: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connect(self) -> socket.socket:
        connection = socket.create_connection((self.host, self.port), timeout=10)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection


@pytest.fixture(scope="module")
def database_url(databases: TemporaryDatabases) -> str:
    url = databases.create("sqlite")
    engine = build_engine(url)
    migrate(engine)
    with Session(engine) as session:
        seed_catalogue(session, read_catalogue(FIXTURE_CATALOGUE, DOCUMENTS))
    engine.dispose()
    return url


def start(database_url: str, **settings: str) -> Iterator[Server]:
    port = free_port()
    process = subprocess.Popen(
        [CATALOGUE, "serve", "--no-setup", "--port", str(port), "--no-access-log"],
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "WEB_CONCURRENCY": "1",
            "KEEP_ALIVE_TIMEOUT_SECONDS": str(KEEP_ALIVE_SECONDS),
            "REQUEST_HEAD_TIMEOUT_SECONDS": str(HEAD_TIMEOUT_SECONDS),
            **settings,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server("127.0.0.1", port, process)
    try:
        wait_until_ready(server.base_url, process)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    """The defaults but for short deadlines: no proxy trusted, 512 connections."""
    yield from start(database_url)


@pytest.fixture(scope="module")
def capped_server(database_url: str) -> Iterator[Server]:
    """Four connections at most, idle ones kept long; loopback a trusted proxy."""
    yield from start(
        database_url,
        MAX_CONNECTIONS="4",
        KEEP_ALIVE_TIMEOUT_SECONDS="30",
        REQUEST_HEAD_TIMEOUT_SECONDS="30",
        FORWARDED_ALLOW_IPS="127.0.0.1",
    )


@dataclass
class NormalClient:
    """Reads an exercise list over and over on a connection of its own (in a thread),
    recording how long each answer took and any that was not a 200."""

    base_url: str
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx2.Client(base_url=self.base_url, timeout=5) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    response = client.get("/v1/exercises", params={"limit": 2})
                    if response.status_code != 200:
                        self.failures.append(f"{response.status_code}: {response.text}")
                except httpx2.HTTPError as error:
                    self.failures.append(repr(error))
                self.seconds.append(time.monotonic() - started)
                time.sleep(0.05)


@contextmanager
def served_meanwhile(server: Server) -> Iterator[NormalClient]:
    """A `NormalClient` reading for the duration of a `with` block."""
    client = NormalClient(server.base_url)
    thread = threading.Thread(target=client.run)
    thread.start()
    try:
        yield client
    finally:
        client.stop.set()
        thread.join(timeout=10)


def assert_served_promptly(client: NormalClient) -> None:
    assert client.failures == []
    assert len(client.seconds) >= 5, "the normal client made too few requests to tell"
    assert max(client.seconds) < NORMAL_SECONDS, f"slowest {max(client.seconds):.2f} s"


def read_answer(connection: socket.socket, seconds: float) -> bytes | None:
    """Everything the server sends until it closes the connection (b"" for a close with
    nothing said); `None` if it is still open after `seconds`."""
    connection.settimeout(seconds)
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        return None
    return received


def read_response(connection: socket.socket) -> bytes:
    """One whole response (head and `Content-Length` body) from a connection kept open."""
    connection.settimeout(5)
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    while len(body) < length:
        body += connection.recv(65536)
    return received


def assert_refusal(answer: bytes | None, status: int, slug: str, **headers: str) -> None:
    """A problem+json refusal with `status` that closes the connection."""
    assert answer is not None, "the connection is still open"
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} "), answer[:200]
    fields = dict(line.lower().split(": ", 1) for line in lines[1:])
    assert fields["content-type"] == PROBLEM_JSON
    assert fields["connection"] == "close"
    for name, value in headers.items():
        assert fields[name.replace("_", "-")] == value
    assert f'"type":"{PROBLEM_BASE}{slug}"'.encode() in body
    assert f'"status":{status}'.encode() in body


def stream_until_cut(connection: socket.socket, start: bytes, chunk: bytes, limit: int) -> int:
    """Send `start`, then `chunk` after `chunk` until the server answers or closes, or
    `limit` bytes are sent; the bytes sent."""
    connection.sendall(start)
    sent = len(start)
    while sent < limit:
        if select.select([connection], [], [], 0)[0]:
            break  # the server answered
        try:
            connection.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(chunk)
    return sent


class TestRequestHeadSize:
    def test_a_streamed_endless_header_is_cut_and_others_are_served(self, server: Server):
        with served_meanwhile(server) as normal, server.connect() as attacker:
            started = time.monotonic()
            sent = stream_until_cut(
                attacker,
                b"GET /v1/exercises HTTP/1.1\r\nHost: x\r\nX-Endless: ",
                b"a" * 1024,
                limit=STREAM_LIMIT,
            )
            answer = read_answer(attacker, 5)
            time.sleep(0.5)  # the normal client keeps reading after the cut too
        # The cut comes at the bound, but the client learns of it only once the bytes
        # in flight (the sockets' buffers: about 1 MiB on loopback) are spent.
        assert sent < STREAM_LIMIT, f"{sent} bytes sent without a cut"
        assert time.monotonic() - started < 5
        assert answer is not None, "the connection is still open"
        if answer:  # the answer is lost if the reset overtakes it
            assert_refusal(answer, 431, "request-head-too-large")
        assert_served_promptly(normal)

    def test_too_many_header_fields_is_a_431(self, server: Server):
        fields = b"".join(b"x-%d: 1\r\n" % number for number in range(MAX_HEADERS + 1))
        with server.connect() as connection:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
            assert_refusal(read_answer(connection, 5), 431, "request-head-too-large")

    def test_a_request_target_over_the_bound_is_a_414(self, server: Server):
        with server.connect() as connection:
            connection.sendall(b"GET /v1/exercises?q=" + b"a" * MAX_HEAD_BYTES + b" HTTP/1.1\r\n")
            assert_refusal(read_answer(connection, 5), 414, "uri-too-long")

    def test_a_large_head_within_the_bounds_is_served(self, server: Server):
        headers = {f"x-field-{number}": "v" * 100 for number in range(MAX_HEADERS - 10)}
        response = httpx2.get(f"{server.base_url}/v1/exercises", headers=headers, timeout=5)
        assert response.status_code == 200


class TestIdleConnections:
    def test_idle_and_trickling_connections_are_closed_and_others_served(self, server: Server):
        with served_meanwhile(server) as normal:
            started = time.monotonic()
            silent = [server.connect() for _ in range(20)]
            # Bytes keep coming, each well within the keep-alive deadline, but the head
            # is never finished.
            trickling = [server.connect() for _ in range(5)]
            for connection in trickling:
                connection.sendall(b"GET /v1/exercises HTTP/1.1\r\n")
            while time.monotonic() - started < HEAD_TIMEOUT_SECONDS + MARGIN_SECONDS:
                for connection in trickling:
                    with suppress(BrokenPipeError, ConnectionResetError):
                        connection.sendall(b"x")
                time.sleep(0.1)
            silent_answers = [read_answer(connection, 0.1) for connection in silent]
            trickling_answers = [read_answer(connection, 0.1) for connection in trickling]
        for connection in silent + trickling:
            connection.close()
        # Closed with nothing said (by the keep-alive deadline), where `None` would
        # mean still open.
        assert silent_answers == [b""] * len(silent)
        for answer in trickling_answers:
            assert answer is not None, "a trickling connection is still open"
            if answer:  # the answer is lost if the reset overtakes it
                assert_refusal(answer, 408, "request-timeout")
        assert_served_promptly(normal)

    def test_a_silent_connection_is_closed_at_the_keep_alive_deadline(self, server: Server):
        with server.connect() as connection:
            started = time.monotonic()
            assert read_answer(connection, KEEP_ALIVE_SECONDS + 5) == b""
            waited = time.monotonic() - started
        assert KEEP_ALIVE_SECONDS - 0.1 <= waited < KEEP_ALIVE_SECONDS + MARGIN_SECONDS

    def test_a_trickled_head_gets_a_408_at_the_head_deadline(self, server: Server):
        with server.connect() as connection:
            started = time.monotonic()
            connection.sendall(b"GET /v1/exercises HTTP/1.1\r\n")
            while not select.select([connection], [], [], 0.2)[0]:
                connection.sendall(b"X")  # well within the keep-alive deadline each time
                assert time.monotonic() - started < HEAD_TIMEOUT_SECONDS + 5
            waited = time.monotonic() - started
            assert_refusal(read_answer(connection, 5), 408, "request-timeout")
        assert HEAD_TIMEOUT_SECONDS - 0.1 <= waited < HEAD_TIMEOUT_SECONDS + MARGIN_SECONDS

    def test_a_kept_alive_connection_is_closed_after_the_deadline(self, server: Server):
        with server.connect() as connection:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(connection).startswith(b"HTTP/1.1 200 ")
            started = time.monotonic()
            assert read_answer(connection, KEEP_ALIVE_SECONDS + 5) == b""
            waited = time.monotonic() - started
        assert waited < KEEP_ALIVE_SECONDS + MARGIN_SECONDS


class TestConnectionCap:
    def test_beyond_the_cap_a_503_problem(self, capped_server: Server):
        held = [capped_server.connect() for _ in range(4)]
        try:
            # Every held connection is open (the cap counts idle ones too): the next
            # connection's request is refused, and its connection closed.
            with capped_server.connect() as connection:
                connection.sendall(b"GET /v1/exercises HTTP/1.1\r\nHost: x\r\n\r\n")
                assert_refusal(read_answer(connection, 5), 503, "over-capacity", retry_after="1")
            # A held connection is within the cap: served.
            held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(held[0]).startswith(b"HTTP/1.1 200 ")
        finally:
            for connection in held:
                connection.close()
        time.sleep(0.2)  # the server sees the closes
        response = httpx2.get(f"{capped_server.base_url}/healthz", timeout=5)
        assert response.status_code == 200


class TestProxyHeaders:
    HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}

    def test_ignored_from_an_address_not_configured(self, server: Server):
        response = httpx2.get(
            f"{server.base_url}/v1/exercises", params={"limit": 1}, headers=self.HEADERS
        )
        assert response.status_code == 200
        assert response.headers["link"].startswith(f"<{server.base_url}/v1/exercises?")

    def test_believed_from_a_configured_proxy(self, capped_server: Server):
        response = httpx2.get(
            f"{capped_server.base_url}/v1/exercises", params={"limit": 1}, headers=self.HEADERS
        )
        assert response.status_code == 200
        assert response.headers["link"].startswith(
            f"<https://127.0.0.1:{capped_server.port}/v1/exercises?"
        )


class TestDockerfile:
    def test_the_image_states_the_edge_settings(self):
        # `catalogue serve` applies the settings; the image names them, with the
        # defaults' values, so that an operator sees what to override.
        text = (PROJECT_ROOT / "Dockerfile").read_text()
        environment = dict(
            re.findall(r"^(?:ENV\s+|\s+)([A-Z_]+)=(\S*?)\s*\\?$", text, flags=re.MULTILINE)
        )
        for name in EDGE_SETTINGS:
            value = environment[name.upper()].strip('"')
            stated = Settings.model_validate({name: value}).model_dump()[name]
            assert stated == Settings.model_fields[name].default, name
