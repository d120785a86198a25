"""The one error hierarchy. Query, writing and seeding code raise these without knowing
about HTTP; `app.problems` renders them as RFC 9457 problem+json."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
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
    """The resource was removed from the catalogue, with nothing in its place (when,
    if the change log knows)."""

    status = 410
    slug = "gone"
    title = "Gone"

    def __init__(self, detail: str, *, deleted_at: datetime | None = None):
        super().__init__(detail)
        self.deleted_at = deleted_at


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


class Unauthorized(CatalogueError):
    """No API key, or one that is unknown or revoked (RFC 6750: answered with
    `WWW-Authenticate: Bearer`, and `error="invalid_token"` when a key was sent)."""

    status = 401
    slug = "unauthorized"
    title = "Unauthorized"

    def __init__(self, detail: str, *, key_sent: bool):
        super().__init__(detail)
        self.key_sent = key_sent


class Forbidden(CatalogueError):
    """The key is valid, but its role (or who it is) may not do this."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class Conflict(CatalogueError):
    """The request is sound but the catalogue's state refuses it: a stale base version,
    a proposal already decided, a slug already taken or still in use."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class PreconditionFailed(CatalogueError):
    status = 412
    slug = "precondition-failed"
    title = "Precondition failed"


class PayloadTooLarge(CatalogueError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(CatalogueError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class TooManyRequests(CatalogueError):
    """The key has used its writes for now; `retry_after` seconds until the next."""

    status = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


class NotAcceptable(CatalogueError):
    status = 406
    slug = "not-acceptable"
    title = "Not acceptable"


class CatalogueBusy(CatalogueError):
    """Another catalogue write held the write lock for longer than this one would wait."""

    status = 503
    slug = "catalogue-busy"
    title = "Catalogue busy"


class DatabaseUnavailable(CatalogueError):
    status = 503
    slug = "database-unavailable"
    title = "Database unavailable"


class DatabaseTimeout(DatabaseUnavailable):
    """A trip to the database did not end within its deadline (`DATABASE_TIMEOUT_SECONDS`):
    the database is frozen, cut off or overloaded."""


class DatabaseNotReady(DatabaseUnavailable):
    """The database answers, but does not hold a catalogue to serve yet: it is not
    migrated (to head), or not seeded."""

    slug = "database-not-ready"
    title = "Database not ready"


class ExportsBusy(CatalogueError):
    """As many exports as a process serves at once are in progress."""

    status = 503
    slug = "exports-busy"
    title = "Too many exports in progress"


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
        unknown_value_errors(field, values, allowed),
    )


def unknown_value_errors(
    field: str, values: Sequence[str], allowed: Sequence[str]
) -> list[FieldError]:
    """One error per value of `values` that is not among `allowed`."""
    known = set(allowed)
    return [
        FieldError(
            field=field,
            message=f"unknown value; allowed: {', '.join(sorted(allowed))}",
            value=value,
            allowed=sorted(allowed),
        )
        for value in values
        if value not in known
    ]


def invalid_parameters(errors: Sequence[FieldError]) -> InvalidParameters:
    """One 422 naming every bad parameter of a request."""
    names = ", ".join(sorted({error.field for error in errors}))
    return InvalidParameters(f"Invalid value(s) for: {names}.", errors)


def invalid_cursor_key() -> InvalidParameters:
    """A signed cursor whose position does not fit the list it was sent to."""
    return InvalidParameters(
        "The cursor is not valid: its position does not fit this list.",
        [FieldError(field="cursor", message="position does not fit this list")],
    )
