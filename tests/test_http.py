"""Behaviour on the wire: conditional GETs, compression, CORS, security headers,
request ids, and docs that work offline."""

import asyncio
import gzip
import re
import shutil
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime

import anyio
import brotli  # type: ignore[import-untyped]
import httpx2
import pytest
import yaml
import zstandard
from pydantic import BaseModel
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from app import schemas
from app.dependencies import get_session
from app.main import create_app
from app.problems import Problem
from app.security import MAX_URL_BYTES, ConcurrencyLimitMiddleware
from app.seeding.reading import read_catalogue
from app.seeding.writing import seed_catalogue
from tests.conftest import DOCUMENTS, FIXTURE_CATALOGUE
from tests.helpers import assert_problem

EXAMPLE_MODELS: list[type[BaseModel]] = [
    schemas.ExerciseItem,
    schemas.ExerciseDetail,
    schemas.PhaseOut,
    schemas.GoalOut,
    schemas.ConditionOut,
    schemas.SourceOut,
    schemas.PhaseDetail,
    schemas.GoalDetail,
    schemas.ConditionDetail,
    schemas.SourceDetail,
    schemas.CatalogueInfo,
    schemas.Health,
    schemas.ProposalIn,
    schemas.ProposalOut,
    schemas.ProposalDetail,
    schemas.SuggestionList,
    Problem,
]
# What `uuid.uuid4().hex` gives: the X-Request-ID minted for a request that has none.
MINTED_REQUEST_ID = re.compile(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}")
CATALOGUE_READS = [
    "/v1/exercises",
    "/v1/exercises?phase=acute&limit=2",
    "/v1/exercises/lying-hamstring-stretch",
    "/v1/phases",
    "/v1/phases/acute",
    "/v1/goals",
    "/v1/goals/strength",
    "/v1/conditions",
    "/v1/conditions/acute-hamstring-strain",
    "/v1/sources",
    "/v1/sources/hamstring-pain-exercises",
    "/v1/catalogue",
    "/v1/changes",
    "/v1/exercises/moist-heat/history",
    "/v1/phases/acute/history",
    "/v1/goals/strength/history",
    "/v1/conditions/acute-hamstring-strain/history",
    "/v1/sources/hamstring-pain-exercises/history",
    "/v1/suggest?q=ham",
]


class TestConditionalGet:
    def test_the_catalogue_reads_cover_every_catalogue_route(self):
        """Each route opts into the validators itself, so a new route must be added to
        CATALOGUE_READS (and so to these tests) to be known to send them. The export's
        are its own (a weak ETag, the catalogue version), tested in `test_sync.py`."""
        paths = create_app().openapi()["paths"]
        routes = {
            path
            for path in paths
            if path.startswith("/v1/")
            and path not in ("/v1/proposals", "/v1/export")
            and not path.startswith("/v1/proposals/")
        }
        assert all(set(paths[path]) == {"get"} for path in routes)
        covered = {
            re.sub(r"^(/v1/[a-z]+/)[a-z0-9-]+(/history)?$", r"\1{slug}\2", url.split("?")[0])
            for url in CATALOGUE_READS
        }
        assert covered == routes

    @pytest.mark.parametrize(
        "url",
        [
            "/v1/exercises?limit=1000",
            "/v1/exercises?unknown=1",
            "/v1/exercises?phase=recovery",
            "/v1/exercises?cursor=not-a-cursor",
            "/v1/exercises/Not_A_Slug",
            "/v1/goals?cursor=not-a-cursor",
            "/v1/changes?limit=0",
            "/v1/changes?cursor=not-a-cursor",
        ],
    )
    @pytest.mark.parametrize(
        "condition",
        [{"If-None-Match": "*"}, {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}],
    )
    def test_a_422_wins_over_a_304(self, client, url, condition):
        # Parameters are validated before the validators are checked (SECURITY.md, API8).
        assert_problem(client.get(url, headers=condition), 422)

    @pytest.mark.parametrize("url", CATALOGUE_READS)
    def test_matching_etag_is_a_304_without_body(self, client, url):
        first = client.get(url)
        assert first.status_code == 200
        etag = first.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        assert first.headers["cache-control"] == "public, max-age=60, stale-while-revalidate=300"
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert client.get(url, headers={"If-None-Match": f'W/{etag}, "other"'}).status_code == 304
        assert client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200

    @pytest.mark.parametrize("url", CATALOGUE_READS)
    def test_etag_changes_after_a_reseed_with_an_edit(self, client, session, tmp_path, url):
        etag = client.get(url).headers["etag"]
        edited = shutil.copytree(FIXTURE_CATALOGUE, tmp_path / "catalogue")
        path = edited / "goals.yaml"
        goals = yaml.safe_load(path.read_text())
        goals[0]["description"] = "Edited."
        path.write_text(yaml.safe_dump(goals))
        seed_catalogue(session, read_catalogue(edited, DOCUMENTS))
        response = client.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 200
        assert response.headers["etag"] != etag

    def test_content_seeded_back_to_an_earlier_version_gets_a_new_etag(
        self, client, session, catalogue, tmp_path
    ):
        """The bodies carry `updated_at`, so returning to old content is new bytes."""
        url = "/v1/exercises/lying-hamstring-stretch"
        first = client.get(url)
        edited = shutil.copytree(FIXTURE_CATALOGUE, tmp_path / "catalogue")
        path = edited / "exercises" / "lying-hamstring-stretch.yaml"
        path.write_text(path.read_text().replace("summary: ", "summary: Edited. ", 1))
        seed_catalogue(session, read_catalogue(edited, DOCUMENTS))
        seed_catalogue(session, catalogue)
        again = client.get(url)
        assert again.json()["summary"] == first.json()["summary"]
        assert again.json()["updated_at"] > first.json()["updated_at"]
        assert again.headers["etag"] != first.headers["etag"]

    def test_different_queries_have_different_etags(self, client):
        tags = {client.get(url).headers["etag"] for url in CATALOGUE_READS}
        assert len(tags) == len(CATALOGUE_READS)

    def test_last_modified_and_if_modified_since(self, client):
        response = client.get("/v1/exercises")
        last_modified = response.headers["last-modified"]
        assert (
            client.get("/v1/exercises", headers={"If-Modified-Since": last_modified}).status_code
            == 304
        )
        earlier = format_datetime(
            parsedate_to_datetime(last_modified) - timedelta(seconds=1), usegmt=True
        )
        assert (
            client.get("/v1/exercises", headers={"If-Modified-Since": earlier}).status_code == 200
        )
        assert (
            client.get("/v1/exercises", headers={"If-Modified-Since": "not a date"}).status_code
            == 200
        )

    @pytest.mark.parametrize(
        "since", ["Sat, 01 Jan 99999999999 00:00:00 GMT", "Sat, 32 Jan 2026 00:00:00 GMT"]
    )
    def test_an_if_modified_since_beyond_the_calendar_is_ignored(self, client, since):
        # An unusable date is ignored (RFC 9110 13.1.3): the full answer, not a 500.
        for url in CATALOGUE_READS:
            response = client.get(url, headers={"If-Modified-Since": since})
            assert response.status_code == 200, (url, response.text[:200])

    def test_errors_carry_no_validators(self, client):
        response = client.get("/v1/exercises/no-such-thing")
        assert response.status_code == 404
        assert "etag" not in response.headers

    def test_health_is_never_cached(self, client):
        assert client.get("/healthz").headers["cache-control"] == "no-store"
        assert client.get("/readyz").headers["cache-control"] == "no-store"


class TestCompression:
    def test_gzip_when_accepted(self, client):
        response = client.get("/v1/exercises", headers={"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert "Accept-Encoding" in response.headers["vary"]
        raw = client.get("/v1/exercises", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in raw.headers
        assert response.json() == raw.json()
        assert raw.headers["etag"] != response.headers["etag"]

    @pytest.mark.parametrize(
        ("accept_encoding", "chosen"),
        [("zstd, br, gzip", "zstd"), ("br, gzip", "br"), ("gzip;q=1, br;q=0", "gzip")],
    )
    def test_the_best_accepted_encoding_wins(self, client, accept_encoding, chosen):
        with client.stream(
            "GET", "/v1/exercises", headers={"Accept-Encoding": accept_encoding}
        ) as response:
            compressed = b"".join(response.iter_raw())
        assert response.headers["content-encoding"] == chosen
        identity = client.get("/v1/exercises", headers={"Accept-Encoding": "identity"})
        decoded = {
            "zstd": zstandard.ZstdDecompressor().decompressobj().decompress,
            "br": brotli.decompress,
            "gzip": gzip.decompress,
        }[chosen](compressed)
        assert decoded == identity.content
        assert len(compressed) < len(identity.content)

    def test_small_bodies_are_not_compressed(self, client):
        response = client.get("/v1/phases/acute?x=1", headers={"Accept-Encoding": "gzip"})
        small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
        assert len(small.content) < 1000
        assert "content-encoding" not in small.headers
        assert response.status_code == 200

    def test_the_gzip_body_is_smaller(self, client):
        with client.stream("GET", "/v1/exercises", headers={"Accept-Encoding": "gzip"}) as response:
            compressed = b"".join(response.iter_raw())
        assert len(compressed) < len(gzip.decompress(compressed))


class TestContentNegotiation:
    @pytest.mark.parametrize(
        "accept",
        ["application/json", "*/*", "application/*;q=0.5, text/html", "application/problem+json"],
    )
    def test_json_is_served_to_clients_that_accept_it(self, client, accept):
        response = client.get("/v1/exercises", headers={"Accept": accept})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"

    @pytest.mark.parametrize("accept", ["text/html", "application/xml", "application/json;q=0"])
    def test_other_media_types_are_a_406_problem(self, client, accept):
        response = client.get("/v1/exercises/lying-hamstring-stretch", headers={"Accept": accept})
        assert_problem(response, 406)
        assert response.json()["type"].endswith("/not-acceptable")
        assert response.json()["detail"] == (
            f"This API only serves application/json; the Accept header was {accept!r}."
        )

    def test_a_406_wins_over_a_304(self, client):
        etag = client.get("/v1/phases").headers["etag"]
        response = client.get("/v1/phases", headers={"If-None-Match": etag, "Accept": "text/csv"})
        assert response.status_code == 406


class TestHead:
    @pytest.mark.parametrize("url", CATALOGUE_READS)
    def test_head_is_get_without_a_body(self, client, url):
        get = client.get(url, headers={"Accept-Encoding": "identity"})
        head = client.head(url, headers={"Accept-Encoding": "identity"})
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["etag"] == get.headers["etag"]
        assert head.headers["content-length"] == str(len(get.content))
        assert head.headers["content-type"] == "application/json"

    def test_head_of_a_missing_exercise_is_a_404(self, client):
        response = client.head("/v1/exercises/no-such-exercise")
        assert response.status_code == 404
        assert response.content == b""


class TestUnexpectedErrors:
    def test_a_bug_is_a_generic_500_problem_with_the_usual_headers(
        self, session, monkeypatch, caplog
    ):
        def broken(*args, **kwargs):
            raise RuntimeError("secret internals")

        monkeypatch.setattr("app.routes.goals.list_goals", broken)
        app = create_app()
        app.dependency_overrides[get_session] = lambda: session
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get(
                "/v1/goals", headers={"X-Request-ID": "bug-1", "Origin": "https://a.example"}
            )
        body = assert_problem(response, 500)
        assert body["detail"] == "Something went wrong on our side; it has been logged."
        assert "secret internals" not in response.text
        assert response.headers["x-request-id"] == "bug-1"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["access-control-allow-origin"] == "*"
        logged = [r for r in caplog.records if r.levelname == "ERROR"]
        assert "request id bug-1" in logged[-1].getMessage()
        assert "secret internals" in str(logged[-1].exc_info[1])


class TestUrlLength:
    def test_a_url_over_the_limit_is_a_414_problem(self, client):
        url = "/v1/exercises?q=" + "a" * (MAX_URL_BYTES - len("/v1/exercises?q=") + 1)
        response = client.get(url, headers={"X-Request-ID": "long-url"})
        body = assert_problem(response, 414)
        assert body["detail"] == (
            f"The request target is {MAX_URL_BYTES + 1} bytes; at most {MAX_URL_BYTES} are "
            "accepted. Send fewer or shorter filter values."
        )
        assert response.headers["x-request-id"] == "long-url"
        assert response.headers["x-content-type-options"] == "nosniff"

    def test_a_url_at_the_limit_reaches_the_api(self, client):
        url = "/v1/exercises?q=" + "a" * (MAX_URL_BYTES - len("/v1/exercises?q="))
        assert_problem(client.get(url), 422, "q")  # q itself is too long, but was parsed


class TestCors:
    def test_preflight_from_an_allowed_origin(self, client):
        response = client.options(
            "/v1/exercises",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"

    def test_preflight_of_a_curation_write(self, client):
        response = client.options(
            "/v1/proposals/7/approve",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, if-match, content-type",
            },
        )
        assert response.status_code == 200
        methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
        assert {"POST", "DELETE"} <= methods
        allowed = {
            h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
        }
        assert {"authorization", "if-match", "content-type"} <= allowed

    def test_exposed_headers(self, client):
        response = client.get("/v1/exercises?limit=1", headers={"Origin": "https://app.example"})
        exposed = {
            h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
        }
        assert {"etag", "link", "x-request-id", "x-catalogue-stale"} <= exposed

    def test_restricted_origins(self, session, monkeypatch):
        from starlette.testclient import TestClient

        from app.dependencies import get_session
        from app.main import create_app
        from app.settings import Settings

        app = create_app(Settings(cors_allow_origins=["https://clinic.example"]))
        app.dependency_overrides[get_session] = lambda: session
        client = TestClient(app)
        allowed = client.options(
            "/v1/exercises",
            headers={"Origin": "https://clinic.example", "Access-Control-Request-Method": "GET"},
        )
        assert allowed.headers["access-control-allow-origin"] == "https://clinic.example"
        refused = client.options(
            "/v1/exercises",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers


class TestHeaders:
    def test_security_headers_on_the_api(self, client):
        response = client.get("/v1/phases")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert (
            response.headers["content-security-policy"]
            == "default-src 'none'; frame-ancestors 'none'"
        )
        assert "server" not in response.headers

    def test_request_id_is_echoed_or_minted(self, client):
        assert (
            client.get("/v1/phases", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
            == "abc-123"
        )
        minted = client.get("/v1/phases").headers["x-request-id"]
        assert MINTED_REQUEST_ID.fullmatch(minted)
        replaced = client.get(
            "/v1/phases", headers={"X-Request-ID": "bad id\twith spaces"}
        ).headers["x-request-id"]
        assert replaced != "bad id\twith spaces"

    def test_errors_carry_a_request_id(self, client):
        response = client.get("/nowhere")
        assert_problem(response, 404)
        assert response.headers["x-request-id"]


class TestOfflineDocs:
    @pytest.mark.parametrize("path", ["/docs", "/redoc"])
    def test_docs_pages_reference_no_external_url(self, client, path):
        response = client.get(path)
        assert response.status_code == 200
        assert re.findall(r"https?://", response.text) == []
        assert "'self'" in response.headers["content-security-policy"]
        for asset in re.findall(r'(?:src|href)="([^"]+)"', response.text):
            assert asset.startswith("/static-offline-docs/")
            assert client.get(asset).status_code == 200

    def test_schema_examples_are_valid_responses(self, client):
        """Every example in the OpenAPI document validates against its response model."""
        spec = client.get("/openapi.json").json()
        models = {model.__name__: model for model in EXAMPLE_MODELS}
        checked = set()
        for name, schema in spec["components"]["schemas"].items():
            for example in schema.get("examples", []):
                models[name].model_validate(example)
                checked.add(name)
        assert checked == set(models)

    def test_parameters_have_examples(self, client):
        spec = client.get("/openapi.json").json()
        missing = [
            f"{op['operationId']}:{parameter['name']}"
            for path in spec["paths"].values()
            for op in path.values()
            for parameter in op.get("parameters", [])
            if "examples" not in parameter["schema"] and "examples" not in parameter
        ]
        # A cursor has no meaningful example: it is only ever copied from `next_cursor`.
        assert [name for name in missing if not name.endswith(":cursor")] == []

    @pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc"])
    def test_docs_and_spec_have_validators_and_answer_304(self, client, path):
        first = client.get(path)
        etag = first.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        assert first.headers["cache-control"] == "public, no-cache"
        assert client.get(path).headers["etag"] == etag
        again = client.get(path, headers={"If-None-Match": etag})
        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "public, no-cache"
        assert client.head(path, headers={"If-None-Match": etag}).status_code == 304
        assert client.get(path, headers={"If-None-Match": '"stale"'}).status_code == 200
        # Another encoding is another representation, with a tag of its own.
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        assert plain.headers["etag"] != etag
        assert (
            client.get(
                path, headers={"If-None-Match": etag, "Accept-Encoding": "identity"}
            ).status_code
            == 200
        )

    def test_swagger_validator_is_off(self, client):
        assert '"validatorUrl": null' in client.get("/docs").text

    def test_openapi_lists_every_operation(self, client):
        spec = client.get("/openapi.json").json()
        operation_ids = {
            op["operationId"] for path in spec["paths"].values() for op in path.values()
        }
        assert operation_ids == {
            "listExercises",
            "getSuggestions",
            "getExercise",
            "listPhases",
            "getPhase",
            "listGoals",
            "getGoal",
            "listConditions",
            "getCondition",
            "listSources",
            "getSource",
            "getCatalogue",
            "listChanges",
            "exportCatalogue",
            "getLiveness",
            "getReadiness",
            "getExerciseHistory",
            "getPhaseHistory",
            "getGoalHistory",
            "getConditionHistory",
            "getSourceHistory",
            "createProposal",
            "listProposals",
            "getProposal",
            "approveProposal",
            "rejectProposal",
            "withdrawProposal",
        }

    def test_writes_declare_the_bearer_scheme_and_reads_declare_none(self, client):
        spec = client.get("/openapi.json").json()
        assert spec["components"]["securitySchemes"] == {
            "apiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "A curation key, as `catalogue keys create` prints it: `eck_...`.",
            }
        }
        for path, operations in spec["paths"].items():
            for operation in operations.values():
                expected: list[dict[str, list[str]]] = (
                    [{"apiKey": []}] if path.startswith("/v1/proposals") else []
                )
                assert operation["security"] == expected, operation["operationId"]


class TestConcurrencyLimit:
    """`ConcurrencyLimitMiddleware`, around an app that records what runs at once."""

    @staticmethod
    def recording_app(release: anyio.Event, seen: dict[str, int]) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            seen["running"] += 1
            seen["peak"] = max(seen["peak"], seen["running"])
            if scope["path"].startswith("/v1/"):
                await release.wait()
            seen["running"] -= 1
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": scope["path"].encode()})

        return app

    def test_at_most_the_limit_of_catalogue_reads_run_at_once(self):
        async def scenario() -> tuple[int, list[int]]:
            release, seen = anyio.Event(), {"running": 0, "peak": 0}
            app = ConcurrencyLimitMiddleware(self.recording_app(release, seen), limit=2)
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
                reads = [asyncio.ensure_future(client.get("/v1/exercises")) for _ in range(6)]
                with anyio.fail_after(5):
                    while seen["running"] < 2:
                        await anyio.sleep(0.01)
                await anyio.sleep(0.05)  # room for a third read, were one let in
                # Two reads admitted and waiting; probes are not queued behind them.
                assert (await client.get("/healthz")).status_code == 200
                assert seen["running"] == 2
                release.set()
                statuses = [response.status_code for response in await asyncio.gather(*reads)]
            return seen["peak"], statuses

        peak, statuses = anyio.run(scenario)
        assert statuses == [200] * 6
        assert peak == 2 + 1  # two reads and the probe

    def test_a_slot_is_given_back_once_the_response_starts(self):
        """A client slow to read its body must not hold a slot: with one slot, a second
        read runs while the first is still sending."""

        async def scenario() -> list[int]:
            body_sent = anyio.Event()

            async def app(scope: Scope, receive: Receive, send: Send) -> None:
                await send({"type": "http.response.start", "status": 200, "headers": []})
                if scope["query_string"] == b"slow":
                    await body_sent.wait()  # stands for a client not reading
                await send({"type": "http.response.body", "body": b"done"})

            limited = ConcurrencyLimitMiddleware(app, limit=1)
            transport = httpx2.ASGITransport(app=limited)
            async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
                slow = asyncio.ensure_future(client.get("/v1/exercises?slow"))
                await anyio.sleep(0.05)
                with anyio.fail_after(5):
                    quick = await client.get("/v1/exercises")
                body_sent.set()
                return [quick.status_code, (await slow).status_code]

        assert anyio.run(scenario) == [200, 200]
