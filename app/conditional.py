"""Conditional requests for catalogue reads: strong ETags, Last-Modified, and 304.

The validators come from the catalogue revision, not from hashing a rendered body: the
revision is read at the start of the request, in the same database snapshot the route
then reads from. A matching `If-None-Match` (or `If-Modified-Since`) is answered with
304 before any content is queried or rendered."""

import hashlib
from collections.abc import Iterable
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from sqlmodel import Session
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import NotModified
from app.queries.revision import CatalogueRevision, get_revision

CATALOGUE_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"
# For a request with `Authorization`: no shared cache may keep or serve it.
PRIVATE_CACHE_CONTROL = "private, no-cache"
# The request-state key under which a response records the revision it was rendered
# from: `app.response_cache` keeps an answer only when that is the current revision.
_RENDERED_FROM = "catalogue_revision"


def entity_tag(revision: CatalogueRevision, request: Request, variant: str = "") -> str:
    """Strong ETag for this representation: catalogue revision, URL and `Accept-Encoding`.

    The revision is the content hash *and* the time of the last change: bodies carry
    each exercise's `updated_at`, so content reseeded back to an earlier version is new
    bytes and needs a new tag even though its content hash is the old one.

    Compressed and identity bodies differ, so they must not share a tag. Keying on the
    header itself rather than on the encoding it negotiates keeps this true whatever the
    compression middleware picks; the same client always sends the same header.
    `variant` names anything else the representation was chosen by (the FHIR
    interface's media type, negotiated from `Accept`)."""
    query = "&".join(sorted(f"{key}={value}" for key, value in request.query_params.multi_items()))
    accept_encoding = request.headers.get("accept-encoding", "")
    key = f"{revision.tag}|{request.url.path}|{query}|{accept_encoding}"
    if variant:
        key += f"|{variant}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    # If-None-Match uses the weak comparison: W/"x" matches "x".
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in candidates


def _not_modified_since(if_modified_since: str, updated_at: datetime) -> bool:
    # A date that cannot be read, or not compared (beyond the calendar in UTC), is
    # ignored, as RFC 9110 says of an invalid one.
    try:
        since = parsedate_to_datetime(if_modified_since)
        return since.tzinfo is not None and updated_at.replace(microsecond=0) <= since
    except (TypeError, ValueError, IndexError, OverflowError):
        return False


def check_validators(
    request: Request, response: Response, session: Session, *, variant: str = ""
) -> CatalogueRevision:
    """Set ETag, Last-Modified and Cache-Control from the revision of the catalogue the
    session reads (and return it), or raise `NotModified` when the client already has
    this version. With a `variant` (the FHIR interface's), the representation also
    varies with `Accept` and `Prefer`."""
    revision = get_revision(session)
    setattr(request.state, _RENDERED_FROM, revision.tag)
    etag = entity_tag(revision, request, variant)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(revision.updated_at, usegmt=True),
        "Cache-Control": PRIVATE_CACHE_CONTROL
        if "authorization" in request.headers
        else CATALOGUE_CACHE_CONTROL,
        "Vary": "Accept, Accept-Encoding, Prefer" if variant else "Accept-Encoding",
    }
    _answer_if_fresh(request, headers, revision.updated_at)
    response.headers.update(headers)
    return revision


def _answer_if_fresh(request: Request, headers: dict[str, str], updated_at: datetime) -> None:
    """Raise `NotModified` with `headers` if the request's validators match them."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        fresh = etag_matches(if_none_match, headers["ETag"].removeprefix("W/"))
    else:
        if_modified_since = request.headers.get("if-modified-since")
        fresh = if_modified_since is not None and _not_modified_since(if_modified_since, updated_at)
    if fresh:
        raise NotModified(headers)


def export_validators(request: Request, *, version: str, updated_at: datetime) -> dict[str, str]:
    """The headers of an export of catalogue `version`, or `NotModified` when the client
    already has it. Its ETag is the version itself, weak: every export of one version
    holds the same resources, though its header line (the time and the feed position)
    and its compression may differ."""
    headers = {
        "ETag": f'W/"{version}"',
        "Last-Modified": format_datetime(updated_at, usegmt=True),
        "Cache-Control": PRIVATE_CACHE_CONTROL
        if "authorization" in request.headers
        else CATALOGUE_CACHE_CONTROL,
        "Vary": "Accept-Encoding",
    }
    _answer_if_fresh(request, headers, updated_at)
    return headers


def rendered_from(scope: Scope) -> str | None:
    """The revision (tag) a finished request's response was rendered from, if any."""
    revision: str | None = scope.get("state", {}).get(_RENDERED_FROM)
    return revision


# The docs and the OpenAPI document change only with a deploy: a cache may keep them,
# but asks each time whether they are still current (a 304 costs no rendering).
DOCUMENT_CACHE_CONTROL = "public, no-cache"


class FixedDocumentsMiddleware:
    """ETag, Cache-Control and 304 for the responses at `paths`, which are the same for
    the life of the process (the OpenAPI document, the Swagger UI and ReDoc pages): the
    tag is a hash of the body, and of `Accept-Encoding` as for the catalogue's reads."""

    def __init__(self, app: ASGIApp, *, paths: Iterable[str]):
        self.app = app
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, keep)
        assert start is not None
        body = b"".join(chunks)
        headers = MutableHeaders(raw=list(start["headers"]))
        if start["status"] == 200:
            accept_encoding = Headers(scope=scope).get("accept-encoding", "")
            digest = hashlib.sha256(body + b"|" + accept_encoding.encode("latin-1"))
            headers["ETag"] = '"' + digest.hexdigest()[:32] + '"'
            headers["Cache-Control"] = DOCUMENT_CACHE_CONTROL
            headers["Vary"] = "Accept-Encoding"
            if_none_match = Headers(scope=scope).get("if-none-match")
            if if_none_match is not None and etag_matches(if_none_match, headers["ETag"]):
                fresh = Response(status_code=304, headers=_validators_of(headers))
                await fresh(scope, receive, send)
                return
        await send({**start, "headers": headers.raw})
        await send({"type": "http.response.body", "body": body})


def _validators_of(headers: MutableHeaders) -> dict[str, str]:
    return {name: headers[name] for name in ("ETag", "Cache-Control", "Vary")}
