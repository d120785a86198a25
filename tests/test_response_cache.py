"""The in-memory response cache answers exactly what the app would answer uncached.

Two apps share one committed database: one with the response cache (checking the
revision on every request, or rarely), one without. Every endpoint, every encoding and
conditional requests must get the same status, headers and body from both, before and
after the catalogue changes.
"""

import asyncio
import shutil
import threading
import time
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy import Engine, event
from sqlmodel import Session
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from app.database import ReadDatabases
from app.main import create_app, create_asgi_app
from app.observability import RequestObserver
from app.response_cache import CHECK_PATIENCE_SECONDS, ResponseCache, read_current_revision
from app.seeding.reading import read_catalogue
from app.seeding.writing import seed_catalogue
from app.settings import Settings, get_settings
from tests.conftest import DOCUMENTS, FIXTURE_CATALOGUE
from tests.test_http import CATALOGUE_READS, MINTED_REQUEST_ID

URLS = [
    *CATALOGUE_READS,
    "/v1/exercises?phase=rehab&sort=phase_order",
    "/v1/exercises?q=stretch",
    "/v1/exercises?safe_for=acute-hamstring-strain",
    "/v1/exercises?goal=strength&goal=flexibility",
    "/v1/exercises/no-such-exercise",
    "/v1/exercises?phase=recovery",
    "/healthz",
]
ENCODINGS = [None, "gzip", "br", "zstd, br, gzip"]
ORIGINS = [None, "https://clinic.example"]
PER_REQUEST = {"x-request-id", "date"}
STALE = "x-catalogue-stale"


def comparable(response) -> tuple[int, dict[str, str], bytes]:
    headers = {name: value for name, value in response.headers.items() if name not in PER_REQUEST}
    return response.status_code, headers, response.content


def client(**settings) -> TestClient:
    return TestClient(create_asgi_app(Settings(**settings)))


def engine_of(app: ASGIApp) -> Engine:
    """The engine an app built by `create_asgi_app` reads with."""
    inner = app.app if isinstance(app, RequestObserver) else app
    inner = inner.app if isinstance(inner, ResponseCache) else inner
    assert isinstance(inner, FastAPI)
    engine: Engine = inner.state.resources.engine
    return engine


def concurrently(app: ASGIApp, url: str, times: int) -> list[httpx2.Response]:
    """`times` requests for `url`, all in flight at once."""

    async def fetch() -> list[httpx2.Response]:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return list(await asyncio.gather(*(c.get(url) for _ in range(times))))

    return asyncio.run(fetch())


def statements(engine: Engine) -> list[str]:
    """SQL statements run on `engine` from now on."""
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


class TestCachedAnswersEqualUncached:
    @pytest.mark.parametrize("origin", ORIGINS)
    @pytest.mark.parametrize("encoding", ENCODINGS)
    def test_every_endpoint_encoding_and_origin(self, database, encoding, origin):
        cached = client(response_cache_revalidate_seconds=0)
        uncached = client(response_cache_enabled=False)
        headers = {"Accept-Encoding": encoding or "identity"}
        if origin:
            headers["Origin"] = origin
        for url in URLS:
            expected = comparable(uncached.get(url, headers=headers))
            assert comparable(cached.get(url, headers=headers)) == expected, url  # miss
            assert comparable(cached.get(url, headers=headers)) == expected, url  # hit

    def test_conditional_requests(self, database):
        cached = client(response_cache_revalidate_seconds=0)
        uncached = client(response_cache_enabled=False)
        for url in URLS[:7]:
            etag = uncached.get(url).headers["etag"]
            for if_none_match in (etag, f'"other", W/{etag}', '"stale"', "*"):
                headers = {"If-None-Match": if_none_match, "Origin": "https://a.example"}
                expected = comparable(uncached.get(url, headers=headers))
                cached.get(url)
                assert comparable(cached.get(url, headers=headers)) == expected, url

    def test_other_accept_headers_are_kept_apart(self, database):
        cached = client(response_cache_revalidate_seconds=0)
        assert cached.get("/v1/phases").status_code == 200
        assert cached.get("/v1/phases", headers={"Accept": "text/html"}).status_code == 406
        assert cached.get("/v1/phases", headers={"Accept": "application/json"}).status_code == 200

    def test_after_a_reseed_with_changes(self, database, tmp_path: Path):
        cached = client(response_cache_revalidate_seconds=0)
        uncached = client(response_cache_enabled=False)
        before = {url: comparable(cached.get(url)) for url in URLS}

        edited = shutil.copytree(FIXTURE_CATALOGUE, tmp_path / "catalogue")
        path = edited / "exercises" / "lying-hamstring-stretch.yaml"
        path.write_text(path.read_text().replace("summary: ", "summary: Edited. ", 1))
        with Session(database) as session:
            seed_catalogue(session, read_catalogue(edited, DOCUMENTS))

        for url in URLS:
            expected = comparable(uncached.get(url))
            assert comparable(cached.get(url)) == expected, url
        changed = "/v1/exercises/lying-hamstring-stretch"
        assert comparable(cached.get(changed)) != before[changed]


class TestCacheKeys:
    def test_a_forged_host_does_not_reach_other_clients(self, database):
        cached = client(response_cache_revalidate_seconds=3600)
        forged = cached.get("/v1/exercises?limit=1", headers={"Host": "evil.example"})
        assert forged.headers["link"].startswith("<http://evil.example/")
        honest = cached.get("/v1/exercises?limit=1")
        assert honest.headers["link"].startswith("<http://testserver/v1/exercises?")

    def test_a_request_with_authorization_is_never_served_from_the_cache(self, database):
        cached = client(response_cache_revalidate_seconds=3600)
        key = {"Authorization": "Bearer eck_000000000000_none"}
        assert cached.get("/v1/phases", headers=key).headers["cache-control"] == (
            "private, no-cache"
        )
        public = cached.get("/v1/phases")
        assert public.headers["cache-control"].startswith("public")
        assert cached.get("/v1/phases").headers["cache-control"] == public.headers["cache-control"]
        # Cached now; still the app's own private answer for a request with a key.
        assert cached.get("/v1/phases", headers=key).headers["cache-control"] == (
            "private, no-cache"
        )


class TestCacheHits:
    def test_a_repeat_runs_no_sql_at_all(self, database):
        cached = client(response_cache_revalidate_seconds=3600)
        first = cached.get("/v1/exercises?phase=acute")
        executed = statements(engine_of(cached.app))
        again = cached.get("/v1/exercises?phase=acute")
        assert executed == []
        assert again.content == first.content
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["x-request-id"] != first.headers["x-request-id"]
        assert MINTED_REQUEST_ID.fullmatch(again.headers["x-request-id"])
        echoed = cached.get("/v1/exercises?phase=acute", headers={"X-Request-ID": "mine-1"})
        assert echoed.headers["x-request-id"] == "mine-1"
        assert echoed.headers.get_list("x-request-id") == ["mine-1"]

    def test_within_the_interval_the_previous_revision_is_served_whole(
        self, database, tmp_path: Path
    ):
        # (A list, which reads the summary from the exercise's row: the detail serves
        # the body the writer stored, and this change goes round the writer.)
        url = "/v1/exercises?limit=1"
        cached = client(response_cache_revalidate_seconds=3600)
        first = cached.get(url)
        with Session(database) as session:
            session.execute(sa.text("UPDATE exercise SET summary = 'Changed.'"))
            session.execute(sa.text("UPDATE catalogue_state SET version = 'changed'"))
            session.commit()
        # Within the interval the previous revision is still served, whole and unchanged.
        assert cached.get(url).content == first.content
        uncached = client(response_cache_enabled=False)
        assert uncached.get(url).json()["items"][0]["summary"] == "Changed."

    def test_a_hit_does_not_wait_for_the_revision_check(self, database):
        # Once a revision is known, the periodic check runs in the background: a hit
        # is answered while the check is still waiting on the database (an idle
        # process, whose revision is older, awaits it: TestReadsDuringReseed).
        checks: list[threading.Event] = []
        release = threading.Event()

        def slow_revision() -> str:
            done = threading.Event()
            checks.append(done)
            if len(checks) > 1:
                release.wait(10)
            revision = read_current_revision(ReadDatabases(database, [], retry_seconds=1))
            done.set()
            return revision

        app = ResponseCache(
            create_app(), read_revision=slow_revision, revalidate_seconds=1, max_entries=10
        )
        with TestClient(app) as cached:
            first = cached.get("/v1/exercises?phase=acute")
            time.sleep(1.05)  # due for a check; the known revision is under two intervals old
            started = time.monotonic()
            again = cached.get("/v1/exercises?phase=acute")
            answered_in = time.monotonic() - started
            assert again.content == first.content
            # The check, started in the background (its thread may begin after the hit
            # is answered), is held until `release`: a hit that waited for it would
            # have taken CHECK_PATIENCE_SECONDS at least.
            deadline = time.monotonic() + 5
            while len(checks) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert not checks[-1].is_set(), "the second check should be held"
            assert answered_in < CHECK_PATIENCE_SECONDS, "the hit waited for the revision check"
            more = [cached.get("/v1/exercises?phase=acute") for _ in range(3)]
            assert len(checks) == 2, "one check at a time"
            release.set()
            assert checks[-1].wait(10)
            cached.get("/v1/exercises?phase=acute")  # lets the check's task finish
        assert all(response.content == first.content for response in more)

    def test_while_the_revision_cannot_be_read_hits_are_served_stale(self, database):
        # The database down: every check fails. Hits go on with the last complete
        # revision, marked, until a check succeeds (tests/test_database_faults.py has
        # the real outage, misses included).
        down = threading.Event()

        def revision() -> str:
            if down.is_set():
                raise sa.exc.OperationalError("SELECT", {}, ConnectionRefusedError())
            return read_current_revision(ReadDatabases(database, [], retry_seconds=1))

        def eventually(stale: bool, **headers: str) -> httpx2.Response:
            deadline = time.monotonic() + 5
            while True:
                response = cached.get(url, headers=headers)
                if (STALE in response.headers) == stale:
                    return response
                assert time.monotonic() < deadline, f"never {'stale' if stale else 'fresh'}"
                time.sleep(0.02)

        url = "/v1/exercises?phase=acute"
        app = ResponseCache(
            create_app(), read_revision=revision, revalidate_seconds=0, max_entries=10
        )
        with TestClient(app) as cached:
            fresh = cached.get(url)
            assert fresh.status_code == 200
            assert STALE not in fresh.headers
            down.set()
            stale = eventually(stale=True)
            assert stale.headers[STALE] == "true"
            assert comparable(stale) == (
                200,
                {**comparable(fresh)[1], STALE: "true"},
                fresh.content,
            )
            not_modified = eventually(stale=True, **{"If-None-Match": fresh.headers["etag"]})
            assert not_modified.status_code == 304
            assert not_modified.headers[STALE] == "true"
            down.clear()
            assert comparable(eventually(stale=False)) == comparable(fresh)

    def test_a_revision_check_that_hangs_counts_as_failed(self, database):
        # The database frozen: the check never answers. Hits wait for it at most
        # CHECK_PATIENCE_SECONDS, then go on, marked stale; the check itself is given up
        # at its deadline, and the next one that answers clears the mark.
        frozen = threading.Event()
        thawed = threading.Event()

        def revision() -> str:
            if frozen.is_set():
                thawed.wait(30)
            return read_current_revision(ReadDatabases(database, [], retry_seconds=1))

        url = "/v1/exercises?phase=acute"
        app = ResponseCache(
            create_app(),
            read_revision=revision,
            revalidate_seconds=0,
            max_entries=10,
            check_seconds=1,
        )
        try:
            with TestClient(app) as cached:
                fresh = cached.get(url)
                assert STALE not in fresh.headers
                frozen.set()
                started = time.monotonic()
                first = cached.get(url)
                assert time.monotonic() - started < CHECK_PATIENCE_SECONDS + 0.4
                assert comparable(first) == (
                    200,
                    {**comparable(fresh)[1], STALE: "true"},
                    fresh.content,
                )
                # For longer than the check's deadline: no hit waits again.
                until = time.monotonic() + 2
                while time.monotonic() < until:
                    started = time.monotonic()
                    response = cached.get(url)
                    assert time.monotonic() - started < 0.3
                    assert (response.status_code, response.headers[STALE]) == (200, "true")
                frozen.clear()
                thawed.set()
                deadline = time.monotonic() + 5
                while STALE in cached.get(url).headers:
                    assert time.monotonic() < deadline, "never fresh again"
                    time.sleep(0.02)
        finally:
            thawed.set()

    def test_stale_hits_end_after_max_stale_seconds(self, database):
        # Beyond RESPONSE_CACHE_MAX_STALE_SECONDS since the revision was last confirmed,
        # the cache no longer vouches for it: the app answers (here, with the database
        # actually up, 200 and unmarked; in an outage, 503).
        down = threading.Event()
        reached = []

        def revision() -> str:
            if down.is_set():
                raise sa.exc.OperationalError("SELECT", {}, ConnectionRefusedError())
            return read_current_revision(ReadDatabases(database, [], retry_seconds=1))

        inner = create_app()

        async def counting(scope, receive, send):
            if scope["type"] == "http":
                reached.append(scope["path"])
            await inner(scope, receive, send)

        url = "/v1/exercises?phase=acute"
        app = ResponseCache(
            counting,
            read_revision=revision,
            revalidate_seconds=0,
            max_entries=10,
            max_stale_seconds=1,
        )
        with TestClient(app) as cached:
            assert cached.get(url).status_code == 200
            assert len(reached) == 1
            down.set()
            confirmed = time.monotonic()
            stale = cached.get(url)
            assert stale.headers[STALE] == "true"
            assert len(reached) == 1, "a stale hit reached the app"
            time.sleep(max(0.0, confirmed + 1.1 - time.monotonic()))
            beyond = cached.get(url)
            assert beyond.status_code == 200
            assert STALE not in beyond.headers
            assert beyond.content == stale.content
            assert len(reached) == 2

    def test_nothing_is_cached_while_the_catalogue_is_unseeded(self, database):
        cached = client(response_cache_revalidate_seconds=0)
        with Session(database) as session:
            session.execute(sa.text("DELETE FROM catalogue_state"))
            session.commit()
        for _ in range(2):
            response = cached.get("/v1/exercises")
            assert response.status_code == 503
            assert response.headers["content-type"] == "application/problem+json"


class StubRender:
    """An inner app whose first render waits for `release`, answering `status` from
    `revision` with a body that says which render it was (or failing, if asked to)."""

    def __init__(self, *, status: int = 200, revision: str = "r1", first_fails: bool = False):
        self.status = status
        self.revision = revision
        self.first_fails = first_fails
        self.renders = 0
        self.release = asyncio.Event()

    async def __call__(self, scope, receive, send) -> None:
        self.renders += 1
        render = self.renders
        if render == 1:
            await self.release.wait()
            if self.first_fails:
                raise RuntimeError("the first render failed")
        scope.setdefault("state", {})["catalogue_revision"] = self.revision
        headers = [(b"content-type", b"application/json"), (b"etag", b'"tag"')]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"render": %d}' % render})


def during_one_render(stub: StubRender, times: int) -> tuple[list[httpx2.Response], int]:
    """`times` requests for one URL, all arriving while the first render is held; then
    the renders they took, and one request more (which shows whether the answer was kept)."""
    cache = ResponseCache(stub, read_revision=lambda: "r1", revalidate_seconds=3600, max_entries=10)

    async def run() -> tuple[list[httpx2.Response], int]:
        transport = httpx2.ASGITransport(app=cache, raise_app_exceptions=False)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
            pending = [asyncio.ensure_future(c.get("/v1/things")) for _ in range(times)]
            async with asyncio.timeout(10):
                while not cache.rendering or (
                    next(iter(cache.rendering.values())).finished.statistics().tasks_waiting
                    < times - 1
                ):
                    await asyncio.sleep(0.001)
            stub.release.set()
            responses = list(await asyncio.gather(*pending))
            renders = stub.renders
            await c.get("/v1/things")
        return responses, renders

    return asyncio.run(run())


class TestConcurrentMisses:
    def test_requests_for_an_answer_being_rendered_wait_for_it(self, database):
        url = "/v1/exercises?phase=rehab"
        uncached = create_asgi_app(Settings(response_cache_enabled=False))
        concurrently(uncached, url, 1)  # loads what the app keeps per revision
        one_render = statements(engine_of(uncached))
        [single] = concurrently(uncached, url, 1)
        assert one_render
        cached = create_asgi_app(Settings(response_cache_revalidate_seconds=3600))
        # Learns the revision, and loads what the app keeps per revision with the same
        # query asked another way (the cache keys on the URL, the counts on the query).
        concurrently(cached, url + "&limit=20", 1)
        seen = statements(engine_of(cached))
        responses = concurrently(cached, url, 16)
        assert seen == one_render
        assert [comparable(response) for response in responses] == [comparable(single)] * 16

    def test_waiting_requests_share_an_answer_the_cache_does_not_keep(self):
        # Rendered from a revision the cache has not learned yet (just after a reseed):
        # shared with the requests waiting for it, not kept for later ones.
        stub = StubRender(revision="r2")
        responses, renders = during_one_render(stub, 5)
        assert renders == 1
        assert [(r.status_code, r.json()) for r in responses] == [(200, {"render": 1})] * 5
        assert stub.renders == 2

    def test_waiting_requests_render_their_own_when_there_is_nothing_to_share(self):
        stub = StubRender(status=404)
        responses, renders = during_one_render(stub, 5)
        assert renders == 5
        assert sorted(r.json()["render"] for r in responses) == [1, 2, 3, 4, 5]
        assert {r.status_code for r in responses} == {404}

    def test_a_failed_render_lets_the_waiting_requests_render(self):
        stub = StubRender(first_fails=True)
        responses, renders = during_one_render(stub, 5)
        assert renders == 5
        assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 500]
        assert stub.renders == 6  # what they rendered for themselves was not kept


class TestWorkerStartup:
    def test_a_worker_connects_before_its_first_request(self, database):
        served = create_asgi_app(Settings())
        assert isinstance(served, RequestObserver)
        assert isinstance(served.app, ResponseCache)
        assert isinstance(served.app.app, FastAPI)
        assert served.app.app.state.resources.engine.pool.checkedin() == 1

    def test_an_unreachable_database_is_only_logged(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ):
        monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:9/none")
        get_settings.cache_clear()
        try:
            app = create_asgi_app()
            response = TestClient(app).get("/v1/phases")
        finally:
            get_settings.cache_clear()
        assert response.status_code == 503
        warning = "could not connect to the database before serving: OperationalError"
        assert warning in caplog.text
