"""Each FHIR read as one function of the read session: the queries it runs and the
resource it builds from them. Run by `FhirReader` after the validators are checked."""

from typing import Any

from fhir.resources.R4B.activitydefinition import ActivityDefinition
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.plandefinition import PlanDefinition
from sqlmodel import Session

from app.fhir.reading import ActivitySearch
from app.fhir.resources import (
    activity_definition,
    capability_statement,
    plan_definition,
    searchset,
)
from app.pagination import MAX_LIMIT
from app.queries.exercises import get_exercise, get_exercises, list_exercises
from app.queries.keyset import KeysetPage, PagePosition
from app.queries.phases import PhaseExerciseRow, get_phase_detail
from app.queries.revision import CatalogueRevision


def _at(key: list[Any] | None) -> PagePosition:
    """The keyset position `key` (None: the first page)."""
    return lambda: key


def metadata(session: Session, *, revision: CatalogueRevision, base: str) -> CapabilityStatement:
    return capability_statement(base=base, revision=revision)


def read_activity_definition(
    session: Session, *, revision: CatalogueRevision, base: str, slug: str
) -> ActivityDefinition:
    return activity_definition(get_exercise(session, slug=slug), base=base, revision=revision)


def search_activity_definitions(
    session: Session,
    *,
    revision: CatalogueRevision,
    base: str,
    search: ActivitySearch,
    cursor_secret: str,
    self_url: str,
) -> Bundle:
    """One page of the search, in the catalogue's keyset order (by name), each match
    in full: the page's slugs, then its exercises (a fixed number of queries)."""
    if search.no_match:
        return searchset([], total=0, self_url=self_url, next_url=None)
    position = search.after
    page = list_exercises(
        session,
        filters=search.filters,
        limit=max(search.count, 1),
        after=_at(position),
    )
    if search.count == 0:  # the total alone
        return searchset([], total=page.total, self_url=self_url, next_url=None)
    exercises = get_exercises(session, slugs=[item.slug for item in page.items])
    next_url = None
    if page.next_key is not None:
        next_url = search.page_url(base, cursor_secret, page.next_key)
    return searchset(
        [activity_definition(exercise, base=base, revision=revision) for exercise in exercises],
        total=page.total,
        self_url=self_url,
        next_url=next_url,
    )


def read_plan_definition(
    session: Session, *, revision: CatalogueRevision, base: str, slug: str
) -> PlanDefinition:
    """The phase with all its exercises in progression order, read a page at a time."""
    rows: list[PhaseExerciseRow] = []
    next_key: list[Any] | None = None
    while True:
        detail = get_phase_detail(session, slug=slug, limit=MAX_LIMIT, after=_at(next_key))
        phase = detail.term
        page: KeysetPage[PhaseExerciseRow] = detail.embedded
        rows += page.items
        next_key = page.next_key
        if next_key is None:
            return plan_definition(phase, rows, base=base, revision=revision)
