"""The OpenAPI document, completed with what FastAPI cannot infer from the routes: the
server, who may call each operation, the headers every response carries and the
conditional-request headers the reads honour, and an example problem per status.

Done once, on the generated document, so that every route (the sync endpoints and
any added later) is documented alike without repeating it in each decorator."""

import re
from typing import Any

from fastapi import FastAPI

from app import examples
from app.problems import PROBLEM_JSON
from app.vocabulary import SLUG_PATTERN

SERVERS = [
    {
        "url": "/",
        "description": "This server: the API is served at the root of whatever address "
        "it is reached by.",
    }
]

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id: the client's own `X-Request-ID` when it sent a "
        "well-formed one, else a new one. Quote it when reporting a problem.",
        "schema": {"type": "string"},
    },
    "ETag": {
        "description": "The representation's entity tag: send it back in `If-None-Match` "
        "to get a 304 while it is current.",
        "schema": {"type": "string"},
    },
    "Last-Modified": {
        "description": "When the catalogue last changed (an HTTP date): send it back in "
        "`If-Modified-Since`.",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "`public, max-age=60, stale-while-revalidate=300` for a public "
        "read; `private, no-cache` for a request with `Authorization`.",
        "schema": {"type": "string"},
    },
    "Link": {
        "description": 'The next page (RFC 8288): `<URL>; rel="next"`, the same request '
        "with `cursor` set to `next_cursor`. Absent on the last page.",
        "schema": {"type": "string"},
    },
    "X-Catalogue-Stale": {
        "description": "`true` when the database is unavailable and this is the last "
        "complete revision the server's response cache holds.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "WWW-Authenticate": {
        "description": 'The scheme to authenticate with: `Bearer realm="catalogue"`, '
        'with `error="invalid_token"` when the key sent is unknown or revoked.',
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "The URL of the resource: a new proposal's, or a renamed "
        "resource's under its new slug.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
}

CONDITIONAL_PARAMETERS: dict[str, dict[str, Any]] = {
    "If-None-Match": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "ETags of copies the client holds: 304 (with no body) when one "
        "is the current representation.",
        "schema": {"type": "string"},
        "examples": {"held": {"summary": "An ETag from an earlier answer", "value": '"2e94"'}},
    },
    "If-Modified-Since": {
        "name": "If-Modified-Since",
        "in": "header",
        "required": False,
        "description": "An HTTP date (an earlier `Last-Modified`): 304 when the catalogue "
        "has not changed since. Ignored with `If-None-Match`, and when not a valid date.",
        "schema": {"type": "string"},
        "examples": {
            "held": {
                "summary": "An earlier Last-Modified",
                "value": "Tue, 01 Dec 2026 09:52:58 GMT",
            }
        },
    },
}

_VALIDATORS = ("ETag", "Last-Modified", "Cache-Control")


def install_openapi(app: FastAPI) -> None:
    """Serve `app`'s generated document completed by `complete`."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with servers, security, headers and examples filled in."""
    document["servers"] = SERVERS
    components = document.setdefault("components", {})
    components["headers"] = HEADERS
    for path, item in document["paths"].items():
        for method, operation in item.items():
            _complete_operation(path, method, operation)
    return document


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _complete_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    # The reads are public, and say so (a write names its bearer scheme).
    operation.setdefault("security", [])
    responses: dict[str, Any] = operation["responses"]
    public_read = method == "get" and "304" in responses
    parameters = operation.setdefault("parameters", [])
    if public_read:
        named = {parameter.get("name") for parameter in parameters}
        # Inline, as FastAPI writes the others: clients read each operation's by name.
        parameters.extend(
            dict(parameter)
            for name, parameter in CONDITIONAL_PARAMETERS.items()
            if name not in named
        )
    paged = any(parameter.get("name") == "cursor" for parameter in parameters)
    for status, response in responses.items():
        headers = response.setdefault("headers", {})
        names = ["X-Request-ID"]
        if public_read and status in ("200", "304"):
            names += _VALIDATORS
        if public_read and status == "200":
            names.append("X-Catalogue-Stale")
        if paged and status == "200":
            names.append("Link")
        if status in ("429", "503"):
            names.append("Retry-After")
        names += {"401": ["WWW-Authenticate"], "308": ["Location"], "201": ["Location"]}.get(
            status, []
        )
        for name in names:
            # A route's own description of a header stays.
            if name not in headers:
                headers[name] = _ref("headers", name)
            elif "schema" not in headers[name] and "content" not in headers[name]:
                headers[name] = {**HEADERS[name], **headers[name]}
        _document_problem(path, status, response, parameters)


def _document_problem(
    path: str, status: str, response: dict[str, Any], parameters: list[dict[str, Any]]
) -> None:
    """Errors are served as `application/problem+json`, but FastAPI documents a response
    `model` under the route's `application/json`: move it to the media type actually
    served (so generated clients parse errors into `Problem`), with this status's own
    example."""
    content = response.get("content", {})
    if "application/json" in content and PROBLEM_JSON in content:
        content[PROBLEM_JSON] = content.pop("application/json")
    if PROBLEM_JSON not in content or not status.isdigit():
        return
    names = {parameter.get("name") for parameter in parameters}
    content[PROBLEM_JSON]["example"] = _example_problem(path, int(status), names)


def _example_problem(path: str, status: int, parameters: set[Any]) -> dict[str, Any]:
    """The example problem of `status` at `path`, naming the resource the path is of."""
    kind = re.sub(r"s$", "", path.split("/")[2]) if path.startswith("/v1/") else ""
    instance = path.replace("{slug}", f"no-such-{kind}").replace("{proposal_id}", "7")
    example = {**examples.PROBLEMS[status], "instance": instance}
    if status == 404:
        if "{slug}" in path:
            example["detail"] = f"No {kind} with slug 'no-such-{kind}'."
        elif "{proposal_id}" in path:
            example["detail"] = "No proposal 7."
        else:
            example["detail"] = f"No resource at {instance}."
    if status == 308:
        example["detail"] = f"The {kind} 'no-such-{kind}' is now 'its-new-slug'."
    if status == 410:
        example["detail"] = f"The {kind} 'no-such-{kind}' was removed from the catalogue."
    if status == 422 and "goal" not in parameters:
        # One error of a parameter this operation has: `limit`, else `slug`, else the body.
        if "limit" in parameters:
            error = {"parameter": "limit", "location": "query", "value": "0"}
            error["message"] = "Input should be greater than or equal to 1"
        elif "slug" in parameters:
            error = {"parameter": "slug", "location": "path", "value": "Not_A_Slug"}
            error["message"] = f"String should match pattern '{SLUG_PATTERN}'"
        else:
            error = {"parameter": "reason", "location": "body", "pointer": "/reason"}
            error["message"] = "Field required"
        example["detail"] = f"Invalid value(s) for: {error['parameter']}."
        example["errors"] = [error]
    return example
