"""The one error hierarchy. Query, writing and seeding code raise these without knowing
about HTTP; `app.problems` renders them as RFC 9457 problem+json."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One bad input, by the name of the field it was given as (a filter, a cursor, a
    body field's JSON Pointer): what is wrong, and what would be accepted. Where the
    field came from (query, path, body) is the HTTP layer's to say."""

    field: str
    message: str
    value: Any = None
    allowed: list[str] | None = None


class CatalogueError(Exception):
    status = 500
    slug = "internal-error"
    title = "Internal server error"

    def __init__(self, detail: str, errors: Sequence[FieldError] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors is not None else None


class NotFound(CatalogueError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Gone(CatalogueError):
    """The resource was removed from the catalogue, with nothing in its place."""

    status = 410
    slug = "gone"
    title = "Gone"


class Renamed(CatalogueError):
    """The resource now lives under another slug: answered with a permanent redirect."""

    status = 308
    slug = "renamed"
    title = "Moved permanently"

    def __init__(self, detail: str, *, successor: str):
        super().__init__(detail)
        self.successor = successor


class InvalidParameters(CatalogueError):
    status = 422
    slug = "invalid-parameters"
    title = "Invalid parameters"


class NotAcceptable(CatalogueError):
    status = 406
    slug = "not-acceptable"
    title = "Not acceptable"


class DatabaseUnavailable(CatalogueError):
    status = 503
    slug = "database-unavailable"
    title = "Database unavailable"


class NotModified(Exception):
    """The client's copy is current: answer 304 with these headers."""

    def __init__(self, headers: dict[str, str]):
        super().__init__("not modified")
        self.headers = headers


class SeedError(Exception):
    """The catalogue files are invalid; nothing was written. An operator's error (the
    command line reports it), never an HTTP answer."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        self.detail = f"{len(problems)} problem(s) in the catalogue:\n" + "\n".join(problems)
        super().__init__(self.detail)


def unknown_values(field: str, values: Sequence[str], allowed: Sequence[str]) -> InvalidParameters:
    bad = [value for value in values if value not in set(allowed)]
    return InvalidParameters(
        f"Unknown value(s) for '{field}': {', '.join(bad)}.",
        [
            FieldError(
                field=field,
                message=f"unknown value; allowed: {', '.join(sorted(allowed))}",
                value=value,
                allowed=sorted(allowed),
            )
            for value in bad
        ],
    )


def invalid_cursor_key() -> InvalidParameters:
    """A signed cursor whose position does not fit the list it was sent to."""
    return InvalidParameters(
        "The cursor is not valid: its position does not fit this list.",
        [FieldError(field="cursor", message="position does not fit this list")],
    )
