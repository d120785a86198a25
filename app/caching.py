"""HTTP caching for catalogue reads: strong ETags, Last-Modified and conditional GETs.

The validators come from the catalogue state, not from hashing a rendered body: the
state is read at the start of the request, in the same database snapshot the route
then reads from. A matching `If-None-Match` (or `If-Modified-Since`) is answered with
304 before any content is queried or rendered.
"""

import hashlib
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request, Response

from app.errors import NotModified
from app.models import CatalogueState
from app.queries.catalogue import get_catalogue_state
from app.routes.common import SessionDep

CATALOGUE_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"


def entity_tag(state: CatalogueState, request: Request) -> str:
    """Strong ETag for this representation: catalogue state, URL and `Accept-Encoding`.

    The state is the content hash *and* the time of the last change: bodies carry each
    exercise's `updated_at`, so content reseeded back to an earlier version is new bytes
    and needs a new tag even though its content hash is the old one.

    Compressed and identity bodies differ, so they must not share a tag. Keying on the
    header itself rather than on the encoding it negotiates keeps this true whatever the
    compression middleware picks; the same client always sends the same header."""
    query = "&".join(sorted(f"{key}={value}" for key, value in request.query_params.multi_items()))
    accept_encoding = request.headers.get("accept-encoding", "")
    changed = state.updated_at.isoformat()
    key = f"{state.version}|{changed}|{request.url.path}|{query}|{accept_encoding}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    # If-None-Match uses the weak comparison: W/"x" matches "x".
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in candidates


def _not_modified_since(if_modified_since: str, updated_at: datetime) -> bool:
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False  # an unparseable date is ignored, as RFC 9110 says
    if since.tzinfo is None:
        return False
    return updated_at.replace(microsecond=0) <= since


def catalogue_validators(request: Request, response: Response, session: SessionDep) -> None:
    """Route dependency: set ETag, Last-Modified and Cache-Control, or raise
    `NotModified` when the client already has this version."""
    state = get_catalogue_state(session)
    etag = entity_tag(state, request)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(state.updated_at, usegmt=True),
        "Cache-Control": CATALOGUE_CACHE_CONTROL,
        "Vary": "Accept-Encoding",
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        fresh = _matches(if_none_match, etag)
    else:
        if_modified_since = request.headers.get("if-modified-since")
        fresh = if_modified_since is not None and _not_modified_since(
            if_modified_since, state.updated_at
        )
    if fresh:
        raise NotModified(headers)
    response.headers.update(headers)
