"""What the catalogue routes share: the error responses they document and the `{slug}`
path parameter."""

from typing import Any

from fastapi import Path

from app.problems import PROBLEM_JSON, Problem
from app.vocabulary import SLUG_MAX_LENGTH, SLUG_PATTERN


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


# What a detail route answers for a slug the catalogue retired (`retired.yaml`).
RETIRED_RESPONSES: dict[int | str, dict[str, Any]] = {
    308: _problem("Renamed: `Location` is the address of the resource under its new slug."),
    410: _problem("Removed from the catalogue, with nothing in its place."),
}


def slug_path(example: str) -> Any:
    """The `{slug}` path parameter, with an example of a real slug of that resource."""
    return Path(
        pattern=SLUG_PATTERN,
        max_length=SLUG_MAX_LENGTH,
        description="URL id (slug).",
        examples=[example],
    )


# Responses every curation operation can give, besides its own.
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("The body is not valid JSON."),
    401: _problem("No key, or one that is unknown or revoked (see `WWW-Authenticate`)."),
    403: _problem("The key's role, or who holds it, may not do this."),
    404: _problem("No such proposal."),
    409: _problem("The catalogue's state refuses it: a stale version, a decided proposal."),
    412: _problem("`If-Match` names a version of the proposal that is no longer current."),
    413: _problem("The body is larger than the API accepts."),
    415: _problem("The body is not `application/json`."),
    422: _problem("Invalid body or parameters; `errors` names each field by JSON Pointer."),
    429: _problem("The key's writes for the hour are used up; retry after `Retry-After`."),
    503: _problem("The database is unavailable; retry after `Retry-After` seconds."),
}
