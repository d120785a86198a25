"""Property-based fuzzing of every operation in the served OpenAPI document.

Schemathesis generates valid and invalid requests (bad enums, out-of-range limits,
hostile strings, unknown parameters...) and runs all its default checks on each
response: no server error, a documented status code and content type, a body that
conforms to the documented schema. It runs in-process against the ASGI app over the
real, seeded catalogue, on SQLite and PostgreSQL, derandomised so CI sees the same
requests every run.

The headers that select or validate a representation (`If-Modified-Since`,
`If-None-Match`, `Accept`, `Accept-Encoding`) are not declared as parameters in the
OpenAPI document, so schemathesis would never send them: a schema hook
(`conditional_and_negotiation_headers`) adds them to every request, well-formed,
at the edges of what parses (the year 1, the year 9999, a year of eleven digits,
`q=0`, a weak and a list of entity tags) or not at all.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from app.dependencies import get_export_session, get_primary_session, get_session
from app.main import create_app

EXAMPLES_PER_OPERATION = 100
MINIMUM_REQUESTS = 1500
# Constraints OpenAPI cannot express: slugs of goals, equipment, regions, sources and
# conditions must exist in the catalogue (a typo is a 422 naming the parameter, so it
# never silently empties or widens a clinical query), a cursor must carry this API's
# signature, `sort=phase_order` needs exactly one `phase`, and `q` must hold a word (a
# pattern would not say the same in every regex engine: Python's `\w` takes "½", the
# Rust one pydantic uses does not). Every other schema-valid request must be accepted.
NOT_IN_SCHEMA = {"goal", "equipment", "body_region", "source", "safe_for", "cursor", "sort", "q"}


def valid_requests_are_accepted(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """Schemathesis's `positive_data_acceptance`, except for a 422 whose every error is
    about a constraint the schema cannot state."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    status = response.status_code
    if status < 400 or status in (404, 406):
        return  # 404: no such slug; 406: the generated Accept header rules out JSON
    assert status == 422, f"schema-valid request got {status}: {response.text}"
    rejected = {error["parameter"] for error in response.json()["errors"]}
    assert rejected <= NOT_IN_SCHEMA, f"schema-valid request rejected: {response.text}"


FUZZED_HEADERS = (b"if-modified-since", b"if-none-match", b"accept", b"accept-encoding")
# Requests that must carry each of them (a fifth of the minimum).
MINIMUM_WITH_EACH_HEADER = MINIMUM_REQUESTS // 5


class RequestCounter:
    """Counts the requests that reach the app, and those carrying each fuzzed header, to
    prove the run is as big as claimed."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.requests = 0
        self.with_header = dict.fromkeys(FUZZED_HEADERS, 0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != "/openapi.json":
            self.requests += 1
            for name in {name for name, _ in scope["headers"]} & self.with_header.keys():
                self.with_header[name] += 1
        await self.app(scope, receive, send)


# Loaded once at import: the schema is the app's own `/openapi.json`. (Schemathesis's
# fixture-based loader relies on a pytest internal that pytest 9.2 removed.)
APP = create_app()
COUNTER = RequestCounter(APP)
# The curation operations need a key, and change the catalogue: fuzzed with one, on a
# database of their own, in `test_fuzzing_writes.py`.
schema = schemathesis.openapi.from_asgi("/openapi.json", COUNTER).exclude(tag="proposals")
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES_PER_OPERATION,
    deterministic=True,
)
# Invalid data may also be refused for its size: a request target over 8192 bytes is a
# 414 before any parameter is read (`app/security.py::URLLengthLimitMiddleware`).
rejection = schema.config.checks.negative_data_rejection
rejection.expected_statuses = [*rejection.expected_statuses, "414"]

# Text a client could put in a header value: printable ASCII and Latin-1 (a header
# carries no line breaks or other control characters, C1's included, and does not
# start with white space, which HTTP clients refuse to send).
_HEADER_TEXT = st.text(
    st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.characters(min_codepoint=0xA1, max_codepoint=0xFF),
    ),
    max_size=40,
).filter(lambda text: not text[:1].isspace())
_HTTP_DATES = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
        lambda moment: format_datetime(moment.replace(tzinfo=UTC), usegmt=True)
    ),
    st.sampled_from(
        [
            "Sat, 01 Jan 99999999999 00:00:00 GMT",
            "Mon, 01 Jan 0001 00:00:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Thu, 01 Jan 1970 00:00:00 +0000",
            "yesterday",
        ]
    ),
)
_ENTITY_TAG = st.builds(
    lambda weak, tag: ("W/" if weak else "") + f'"{tag}"',
    st.booleans(),
    st.text(st.characters(min_codepoint=0x23, max_codepoint=0x7E), max_size=24),
)
_IF_NONE_MATCH = st.one_of(
    st.just("*"),
    _ENTITY_TAG,
    st.lists(_ENTITY_TAG, min_size=2, max_size=4).map(", ".join),
)
_ACCEPT = st.lists(
    st.builds(
        lambda media, quality: media + quality,
        st.sampled_from(
            ["application/json", "application/problem+json", "application/*", "*/*",
             "text/html", "application/fhir+json", "application/x-ndjson", "image/*"]
        ),
        st.sampled_from(["", ";q=0", ";q=0.5", ";q=1", ";q=abc", ";level=1"]),
    ),
    min_size=1,
    max_size=3,
).map(", ".join)  # fmt: skip
_ACCEPT_ENCODING = st.lists(
    st.sampled_from(["gzip", "br", "zstd", "deflate", "identity", "*", "*;q=0", "gzip;q=0"]),
    min_size=1,
    max_size=4,
).map(", ".join)
_HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "If-Modified-Since": st.one_of(_HTTP_DATES, _HEADER_TEXT),
        "If-None-Match": st.one_of(_IF_NONE_MATCH, _HEADER_TEXT),
        "Accept": st.one_of(_ACCEPT, _HEADER_TEXT),
        "Accept-Encoding": st.one_of(_ACCEPT_ENCODING, _HEADER_TEXT),
    },
)


@schema.hook("flatmap_headers")
def conditional_and_negotiation_headers(
    _context: schemathesis.HookContext, headers: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any]]:
    """The generated headers (none are declared: usually nothing) and any of the four
    that validate or select a representation."""
    return _HEADERS.map(lambda extra: {**(headers or {}), **extra})


@pytest.fixture(scope="module", autouse=True)
def seeded_catalogue(full_engine: Engine) -> Iterator[None]:
    """Point the app at the real catalogue in this run's database, and check afterwards
    that the run was as large as promised."""

    def read_only_session() -> Iterator[Session]:
        with Session(full_engine) as session:
            yield session

    APP.dependency_overrides[get_session] = read_only_session
    APP.dependency_overrides[get_primary_session] = read_only_session
    APP.dependency_overrides[get_export_session] = read_only_session
    COUNTER.requests = 0
    COUNTER.with_header = dict.fromkeys(FUZZED_HEADERS, 0)
    yield
    APP.dependency_overrides.clear()
    assert COUNTER.requests >= MINIMUM_REQUESTS, f"only {COUNTER.requests} requests were made"
    rare = {
        name: sent for name, sent in COUNTER.with_header.items() if sent < MINIMUM_WITH_EACH_HEADER
    }
    assert rare == {}, f"headers sent too rarely: {rare}"


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_every_operation_conforms_to_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(
        excluded_checks=[positive_data_acceptance],
        additional_checks=[valid_requests_are_accepted],
    )
