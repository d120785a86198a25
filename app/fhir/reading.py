"""What the FHIR routes depend on: the media type a request is answered in (`Accept`
and `_format`), the ActivityDefinition search's parameters, and the read of one
resource or one page of a search (validators first, then the queries, then the FHIR
resource built, in one worker-thread hop)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session

from app.conditional import check_validators
from app.database import read_in_thread
from app.dependencies import ResourcesDep, SessionDep
from app.errors import FieldError, InvalidParameters, NotAcceptable
from app.fhir.resources import CATEGORY_SYSTEM, FHIR_JSON
from app.pagination import decode_cursor, encode_cursor, query_fingerprint
from app.queries.exercise_filters import ExerciseFilters, TextMatch
from app.queries.revision import CatalogueRevision, attach_memo
from app.vocabulary import Category

JSON = "application/json"
# `_format` values meaning FHIR JSON (FHIR's short form, its media type, the STU3 one).
_FORMATS = {"json": FHIR_JSON, FHIR_JSON: FHIR_JSON, "application/json+fhir": FHIR_JSON, JSON: JSON}
DEFAULT_COUNT = 20
MAX_COUNT = 100
MAX_VALUES = 20


def _acceptable(accept: str) -> dict[str, float]:
    """The media ranges of an `Accept` header with their quality (RFC 9110 12.5.1)."""
    ranges: dict[str, float] = {}
    for item in accept.split(","):
        media_range, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges[media_range.lower()] = max(quality, ranges.get(media_range.lower(), 0.0))
    return ranges


def negotiate(request: Request) -> str:
    """The media type to answer in: `_format` if given, else what `Accept` prefers of
    FHIR JSON and plain JSON (FHIR JSON when it takes either). 406 for anything else,
    such as XML, which this server does not serve."""
    formats = request.query_params.getlist("_format")
    if formats:
        chosen = _FORMATS.get(formats[-1].strip().lower().split(";")[0].strip())
        if chosen is None:
            raise NotAcceptable(
                f"_format={formats[-1]!r} is not served: this server answers JSON only "
                f"(_format=json, {FHIR_JSON} or {JSON})."
            )
        return chosen
    accept = request.headers.get("accept")
    if not accept:
        return FHIR_JSON
    ranges = _acceptable(accept)
    fhir = max(ranges.get(FHIR_JSON, 0.0), ranges.get("application/*", 0.0), ranges.get("*/*", 0.0))
    plain = max(ranges.get(JSON, 0.0), ranges.get("application/*", 0.0), ranges.get("*/*", 0.0))
    if fhir <= 0 and plain <= 0:
        raise NotAcceptable(
            f"This server answers {FHIR_JSON} and {JSON} only; the Accept header was {accept!r}."
        )
    return FHIR_JSON if fhir >= plain else JSON


async def media_type(request: Request) -> str:
    """Router dependency: the negotiated media type, also kept for the error handlers."""
    request.state.fhir_media_type = FHIR_JSON
    chosen = negotiate(request)
    request.state.fhir_media_type = chosen
    return chosen


MediaTypeDep = Annotated[str, Depends(media_type)]


def base_url(request: Request) -> str:
    """The FHIR base of this request (where the interface is mounted), for canonicals."""
    root = request.url.replace(path=request.scope.get("root_path", ""), query="", fragment="")
    return str(root).rstrip("/")


@dataclass(frozen=True)
class FhirReader:
    """One request's read: `await reader.read(build, **arguments)` checks the validators
    (a 304 before any content is read), then runs `build(session, revision=..., base=...,
    **arguments)`, a FHIR resource, and answers it in the negotiated media type."""

    request: Request
    session: Session
    media_type: str

    async def read(self, build: Callable[..., BaseModel], /, **arguments: Any) -> Response:
        headers = Response()
        base = base_url(self.request)

        def checked(session: Session, **arguments: Any) -> bytes:
            # Lenient handling can answer what strict handling refuses: a variant too.
            variant = self.media_type + (";lenient" if _lenient(self.request) else "")
            revision: CatalogueRevision = check_validators(
                self.request, headers, session, variant=variant
            )
            resource = build(session, revision=revision, base=base, **arguments)
            return resource.model_dump_json().encode()

        body = await read_in_thread(self.session, checked, **arguments)
        # The validators' headers only: the holder's own Content-Length is its empty body's.
        validators = {k: v for k, v in headers.headers.items() if k != "content-length"}
        return Response(body, media_type=self.media_type, headers=validators)


async def fhir_reader(
    request: Request, session: SessionDep, resources: ResourcesDep, chosen: MediaTypeDep
) -> FhirReader:
    attach_memo(session, resources.revision_memo)
    return FhirReader(request, session, chosen)


FhirReaderDep = Annotated[FhirReader, Depends(fhir_reader)]


# The ActivityDefinition search: parameter names (with their modifiers) understood.
_STRING_PARAMETERS = {"name": "slug_text", "title": "name_text"}
_MODIFIERS = {"": "starts", ":exact": "exact", ":contains": "contains"}
_CONTROL = {"_count", "_cursor", "_format"}
_CATEGORIES = {category.value for category in Category}


@dataclass(frozen=True)
class ActivitySearch:
    """An ActivityDefinition search: its filters, page size and position, and how to
    write the URL of another page of it."""

    filters: ExerciseFilters
    count: int
    after: list[Any] | None
    fingerprint: str
    parameters: list[tuple[str, str]]
    no_match: bool  # a topic no exercise can have: nothing matches

    def page_url(self, base: str, cursor_secret: str, next_key: list[Any] | None) -> str:
        query = [(name, value) for name, value in self.parameters if name != "_cursor"]
        if next_key is not None:
            query.append(("_cursor", encode_cursor(cursor_secret, self.fingerprint, next_key)))
        return f"{base}/ActivityDefinition" + (f"?{urlencode(query)}" if query else "")


def _bad(parameter: str, message: str, value: str | None = None) -> InvalidParameters:
    return InvalidParameters(
        f"Invalid search parameter {parameter!r}: {message}.",
        [FieldError(field=parameter, message=message, value=value)],
    )


def _lenient(request: Request) -> bool:
    """`Prefer: handling=lenient` asks that unknown parameters be ignored (FHIR 3.1.1.5)."""
    prefer = request.headers.get("prefer", "")
    return any(part.strip().lower() == "handling=lenient" for part in prefer.split(";"))


def activity_search(request: Request, resources: ResourcesDep) -> ActivitySearch:
    """The search's parameters, checked: an unknown one is a 400 (strict handling, the
    default here) unless the client prefers lenient handling; comma-separated values
    mean any of them."""
    strings: dict[str, list[TextMatch]] = {"slug_text": [], "name_text": []}
    categories: list[Category] = []
    no_match = False
    count = DEFAULT_COUNT
    cursor: str | None = None
    kept: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, value in request.query_params.multi_items():
        base, _, modifier = name.partition(":")
        modifier = f":{modifier}" if modifier else ""
        known = (base in _STRING_PARAMETERS and modifier in _MODIFIERS) or (
            name == "topic" or name in _CONTROL
        )
        if not known:
            if _lenient(request):
                continue
            raise _bad(name, "not a search parameter of ActivityDefinition here (see metadata)")
        if name in seen and name != "_format":
            raise _bad(name, "given more than once; separate values with commas for any of them")
        seen.add(name)
        kept.append((name, value))
        values = [part.strip() for part in value.split(",")]
        if name not in _CONTROL and (not all(values) or len(values) > MAX_VALUES):
            raise _bad(name, f"needs 1 to {MAX_VALUES} non-empty comma-separated values", value)
        if base in _STRING_PARAMETERS:
            how = _MODIFIERS[modifier]
            if base == "name":  # the name's letters are the slug's, whatever their case
                values = [part.lower() for part in values]
            strings[_STRING_PARAMETERS[base]] += [TextMatch(part, how) for part in values]  # type: ignore[arg-type]
        elif name == "topic":
            codes = []
            for token in values:
                system, bar, code = token.rpartition("|")
                if bar and system != CATEGORY_SYSTEM:
                    continue  # another code system, or none (`|code`): not a category here
                codes.append(code)
            categories = [Category(code) for code in codes if code in _CATEGORIES]
            no_match = not categories
        elif name == "_count":
            try:
                count = int(value)
            except ValueError:
                raise _bad(name, "must be a whole number", value) from None
            if count < 0:
                raise _bad(name, "must be 0 or more", value)
            count = min(count, MAX_COUNT)  # a server may return fewer than asked
        elif name == "_cursor":
            cursor = value
    filters = ExerciseFilters(
        category=categories, slug_text=strings["slug_text"], name_text=strings["name_text"]
    )
    fingerprint = query_fingerprint(
        {"fhir": "ActivityDefinition", "filters": repr(filters), "no_match": no_match}
    )
    after = None
    if cursor is not None:
        try:
            after = decode_cursor(resources.settings.cursor_secret, fingerprint, cursor)
        except InvalidParameters as error:
            raise _bad("_cursor", error.errors[0].message if error.errors else "invalid") from None
    return ActivitySearch(filters, count, after, fingerprint, kept, no_match)


ActivitySearchDep = Annotated[ActivitySearch, Depends(activity_search)]
