"""What every list route shares: paging parameters and the envelope with its Link header."""

from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Depends, Path, Query, Request, Response
from sqlmodel import Session

from app.database import get_session
from app.errors import PROBLEM_JSON, NotAcceptable, Problem
from app.pagination import (
    DEFAULT_LIMIT,
    DETAIL_DEFAULT_LIMIT,
    MAX_CURSOR_LENGTH,
    MAX_LIMIT,
    Item,
    Page,
    decode_cursor,
    encode_cursor,
)
from app.settings import get_settings
from app.vocabulary import SLUG_MAX_LENGTH, SLUG_PATTERN

# Closed as soon as the route returns (scope="function"): the body is already rendered
# then, and a client slow to read it must not hold a database connection.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {PROBLEM_JSON: {}}}


# Responses every catalogue read can give besides 200, documented once.
READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    304: {
        "description": "Not modified: the `If-None-Match` / `If-Modified-Since` copy is current."
    },
    404: _problem("No such resource."),
    414: _problem("The URL is longer than 8192 bytes."),
    406: _problem("The `Accept` header rules out JSON, the only representation offered."),
    422: _problem("Invalid parameters; `errors` names each one and the allowed values."),
    503: _problem("The database is unavailable; retry after `Retry-After` seconds."),
}


def slug_path(example: str) -> Any:
    """The `{slug}` path parameter, with an example of a real slug of that resource."""
    return Path(
        pattern=SLUG_PATTERN,
        max_length=SLUG_MAX_LENGTH,
        description="URL id (slug).",
        examples=[example],
    )


Limit = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description="Page size, 1..100.", examples=[DEFAULT_LIMIT]),
]
# The page size of the list a term's detail embeds (default 100 rather than 20).
DetailLimit = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_LIMIT,
        description="Page size of the embedded list, 1..100.",
        examples=[DETAIL_DEFAULT_LIMIT],
    ),
]
Cursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page."),
]

# Media ranges under which a JSON body (or a problem+json error) is acceptable.
_JSON_RANGES = {"*/*", "application/*", "application/json", "application/problem+json"}


def accepts_json(accept: str) -> bool:
    """Whether an `Accept` header admits JSON (RFC 9110 12.5.1; `q=0` means "not this")."""
    for item in accept.split(","):
        media_range, *parameters = (part.strip() for part in item.split(";"))
        if media_range.lower() not in _JSON_RANGES:
            continue
        quality = next(
            (value for name, _, value in (p.partition("=") for p in parameters) if name == "q"),
            "1",
        )
        try:
            if float(quality) > 0:
                return True
        except ValueError:
            continue
    return False


async def json_acceptable(request: Request) -> None:
    """Router dependency: answer 406 when the client accepts no JSON at all."""
    accept = request.headers.get("accept")
    if accept and not accepts_json(accept):
        raise NotAcceptable(
            f"This API only serves application/json; the Accept header was {accept!r}."
        )


def read_cursor(cursor: str | None, fingerprint: str) -> list[Any] | None:
    if cursor is None:
        return None
    return decode_cursor(get_settings().cursor_secret, fingerprint, cursor)


def envelope(
    request: Request,
    response: Response,
    *,
    items: Sequence[Item],
    total: int,
    limit: int,
    fingerprint: str,
    next_key: list[Any] | None,
) -> Page[Item]:
    """The list envelope, with the next page's cursor (and `Link` header) if any."""
    return Page[Item](
        items=list(items),
        total=total,
        limit=limit,
        next_cursor=next_page(request, response, fingerprint, next_key),
    )


def next_page(
    request: Request, response: Response, fingerprint: str, next_key: list[Any] | None
) -> str | None:
    """The cursor of the next page, also announced in an RFC 8288 `Link` header."""
    if next_key is None:
        return None
    cursor = encode_cursor(get_settings().cursor_secret, fingerprint, next_key)
    # This request's query with `cursor` replaced: parsed and encoded once, where
    # Starlette's remove_query_params and include_query_params do each twice.
    query = parse_qsl(request.url.query, keep_blank_values=True)
    query = [(name, value) for name, value in query if name != "cursor"] + [("cursor", cursor)]
    url = request.url.replace(query=urlencode(query))
    response.headers["Link"] = f'<{url}>; rel="next"'
    return cursor
