"""Listing and fetching exercises. Filters, search and ordering have modules of their
own (`exercise_filters`, `exercise_search`, `exercise_order`)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from app.detail_bodies import render_bodies
from app.errors import FieldError
from app.models import (
    Condition,
    Contraindication,
    Evidence,
    Exercise,
    ExerciseBody,
    ExerciseEquipment,
    ExerciseGoal,
    ExercisePhase,
    Progression,
)
from app.queries.exercise_facets import FacetCount, count_facet, facet_filters
from app.queries.exercise_filters import (
    ExerciseFilters,
    check_known_values,
    filter_conditions,
    unknown_filter_values,
    without_retired,
)
from app.queries.exercise_order import Ordering, json_key
from app.queries.exercise_search import SearchMatches, SearchOutcome, choose_search
from app.queries.keyset import KeysetPage, PagePosition, first_page
from app.queries.plans import (
    in_page,
    planned_with,
    uses_id_arrays,
    without_sequential_scans,
)
from app.queries.revision import Terms, revision_facts
from app.queries.terms import not_found
from app.vocabulary import Category, Difficulty, ExerciseSort, Facet, Position, Severity


@dataclass(frozen=True)
class Caution:
    """A `caution` or `stop` contraindication shown on a list item filtered with
    `safe_for` (those to `avoid` leave the list)."""

    condition: str
    severity: Severity
    note: str


@dataclass(frozen=True)
class ListedExercise:
    """An exercise as a list shows it: its own columns and the slugs it links to."""

    slug: str
    name: str
    summary: str
    category: Category
    position: Position | None
    difficulty: Difficulty
    updated_at: datetime
    version: int
    equipment: list[str]
    phases: list[str]
    goals: list[str]
    cautions: list[Caution] | None


# Columns a list item shows: the big JSON columns (instructions, dosage) stay unread.
# Phases and goals come from the exercise's own copies of their ids, equipment from one
# subquery per row: a page is one statement, not one per kind of link.
_LISTED_COLUMNS = (
    col(Exercise.id),
    col(Exercise.slug),
    col(Exercise.name),
    col(Exercise.summary),
    col(Exercise.category),
    col(Exercise.position),
    col(Exercise.difficulty),
    col(Exercise.updated_at),
    col(Exercise.version),
    col(Exercise.phase_ids),
    col(Exercise.goal_ids),
    sa.select(sa.func.aggregate_strings(col(ExerciseEquipment.equipment), ","))
    .where(col(ExerciseEquipment.exercise_id) == Exercise.id)
    .scalar_subquery()
    .label("equipment"),
)


def filter_value_errors(session: Session, *, filters: ExerciseFilters) -> list[FieldError]:
    """The errors `list_exercises` would find in `filters`' slugs, without reading a page:
    for a request whose other parameters are invalid, so one answer names them all."""
    facts = revision_facts(session)
    filters = without_retired(filters, facts.terms.retired)
    return unknown_filter_values(session, filters, facts.terms.ids)


@dataclass(frozen=True)
class ExerciseListPage(KeysetPage[ListedExercise]):
    """A page of the exercise list, with how its search was answered (with `q`) and
    the facets asked for."""

    search: SearchOutcome | None = None
    facets: dict[Facet, list[FacetCount]] | None = None


def list_exercises(
    session: Session,
    *,
    filters: ExerciseFilters,
    sort: ExerciseSort | None = None,
    limit: int = 20,
    after: PagePosition = first_page,
    facets: Sequence[Facet] = (),
) -> ExerciseListPage:
    """One page of exercises matching `filters`, after the keyset position `after`,
    with the counts of each of `facets`' values over the whole list.

    Plain column rows, not ORM objects: building model instances with their
    relationships cost more than all the SQL of a page. A page is a fixed number of
    queries whatever its size: the page with its links, then with `safe_for` the
    page's cautions. Counts (the total, facets, which fallback a search takes) are
    remembered per revision."""
    facts = revision_facts(session)
    term_ids = facts.terms.ids
    with_cautions = bool(filters.safe_for)
    filters = without_retired(filters, facts.terms.retired)
    checked = f"checked|{filters!r}"
    if facts.recall(checked) is None:  # a query checked in this revision has known values
        check_known_values(session, filters, term_ids)
        facts.remember(checked, True)
    id_arrays = uses_id_arrays(session)

    def matching(
        filters: ExerciseFilters, search: Any, *columns: Any, phase_joined: bool = False
    ) -> sa.Select[Any]:
        """The ids (and `columns`) of the exercises `filters` and `search` select."""
        conditions = filter_conditions(
            filters, term_ids, phase_joined=phase_joined, id_arrays=id_arrays
        )
        keys = sa.select(col(Exercise.id).label("id"), *columns).where(*conditions)
        if search is not None:
            keys = keys.join(search, search.c.exercise_id == Exercise.id)
        return keys

    def count(filters: ExerciseFilters, search: Any, searched: SearchOutcome | None) -> int:
        words = (searched.words, searched.any_word) if searched else None
        counted: int = facts.count(
            f"exercises|{filters!r}|{words!r}",
            lambda: session.execute(
                sa.select(sa.func.count()).select_from(matching(filters, search).subquery())
            ).scalar_one(),
        )
        return counted

    outcome: SearchOutcome | None = None
    matches: SearchMatches | None = None
    search: Any = None  # every match, for the counts and facets
    if filters.q:
        outcome, matches, total = choose_search(
            session, facts, filters.q, lambda matches, tried: count(filters, matches, tried)
        )
        search = matches.all
    else:
        total = count(filters, None, None)
    position = after()

    def page_rows(ranked: Any) -> list[sa.Row[Any]]:
        """The page's keys first, then its rows: the walk in sort order reads only the
        sort index and the filters' link indexes, and the wide exercise rows are read
        for the page alone, not for every row the walk passes over."""
        order = Ordering.choose(sort, filters, ranked, term_ids["phase"])
        keys = matching(
            filters,
            ranked,
            *(column.label(f"key_{i}") for i, column in enumerate(order.key_columns)),
            phase_joined=order.join_phase is not None,
        )
        if order.join_phase is not None:
            membership = [
                col(ExercisePhase.exercise_id) == Exercise.id,
                col(ExercisePhase.phase_id) == planned_with(order.join_phase),
            ]
            if filters.phase_basis:
                basis = planned_with(list(filters.phase_basis))
                membership.append(col(ExercisePhase.basis).in_(basis))
            keys = keys.join(ExercisePhase, sa.and_(*membership))
        if position is not None:
            keys = keys.where(order.after(position))
        page = keys.order_by(*order.columns).limit(planned_with(limit + 1)).subquery("page")
        page_keys = [page.c[f"key_{i}"] for i in range(len(order.key_columns))]
        statement = (
            sa.select(*_LISTED_COLUMNS, *page_keys)
            .join_from(Exercise, page, page.c.id == Exercise.id)
            .order_by(*(key.desc() if order.descending else key for key in page_keys))
        )
        return list(session.execute(statement).all())

    if total == 0:
        rows = []  # the count is exact: no page to look for
    elif matches is None:
        rows = page_rows(None)
    elif sort is not None:
        rows = page_rows(matches.all)  # sorted by a column: the search only selects
    elif not matches.bounded:
        rows = page_rows(matches.ranked)
    else:
        with without_sequential_scans(session):
            rows = page_rows(matches.ranked)
            if len(rows) <= limit:
                # Past a broad search's ranked candidates: its other matches, by id.
                rows += page_rows(matches.rest)[: limit + 1 - len(rows)]
    next_key = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_key = [json_key(value) for value in rows[-1][len(_LISTED_COLUMNS) :]]

    counted: dict[Facet, list[FacetCount]] | None = None
    if facets:
        words = (outcome.words, outcome.any_word) if outcome else None
        counted = {}
        for facet in dict.fromkeys(facets):
            own = facet_filters(filters, facet)
            counted[facet] = facts.count(
                f"facet|{facet}|{own!r}|{words!r}",
                lambda facet=facet, own=own: count_facet(  # type: ignore[misc]
                    facet,
                    matching(own, search).subquery("matching"),
                    facts.terms,
                    own,
                    lambda statement: session.execute(statement).all(),
                ),
            )
    return ExerciseListPage(
        items=_listed(session, rows, facts.terms, filters.safe_for, with_cautions=with_cautions),
        total=total,
        next_key=next_key,
        search=outcome,
        facets=counted,
    )


def _page_cautions(*, as_array: bool) -> sa.Select[*tuple[Any, ...]]:
    """(exercise, condition, severity, note) of the `caution` and `stop`
    contraindications of a page's exercises with the conditions `safe_for`, by
    condition."""
    return (
        sa.select(
            col(Contraindication.exercise_id),
            col(Condition.slug),
            col(Contraindication.severity),
            col(Contraindication.note),
        )
        .join(Condition)
        .where(
            in_page(col(Contraindication.exercise_id), as_array=as_array),
            col(Condition.slug).in_(sa.bindparam("safe_for", expanding=True)),
            col(Contraindication.severity).in_([Severity.caution, Severity.stop]),
        )
        .order_by(col(Condition.slug))
    )


# perf: built once per way of binding a page's ids, not per page.
_PAGE_CAUTIONS = {as_array: _page_cautions(as_array=as_array) for as_array in (False, True)}


def _listed(
    session: Session,
    rows: Sequence[sa.Row[Any]],
    terms: Terms,
    safe_for: Sequence[str],
    *,
    with_cautions: bool,
) -> list[ListedExercise]:
    """The page's rows as list items, with `safe_for` their cautions and stop rules (one
    more query; `with_cautions`: the list was asked for with `safe_for`)."""
    cautions: dict[int, list[Caution]] = {}
    if rows and safe_for:
        ids = [row.id for row in rows]
        found = session.execute(
            _PAGE_CAUTIONS[uses_id_arrays(session)], {"ids": ids, "safe_for": list(safe_for)}
        )
        for exercise_id, *caution in found:
            cautions.setdefault(exercise_id, []).append(Caution(*caution))
    return [
        ListedExercise(
            slug=row.slug,
            name=row.name,
            summary=row.summary,
            category=row.category,
            position=row.position,
            difficulty=row.difficulty,
            updated_at=row.updated_at,
            version=row.version,
            # Sorted here, as the detail view does: a database's collation must not
            # order slugs differently on SQLite and PostgreSQL.
            equipment=sorted(row.equipment.split(",")) if row.equipment else [],
            phases=terms.slugs_of("phase", row.phase_ids),
            goals=terms.slugs_of("goal", row.goal_ids),
            cautions=sorted(cautions.get(row.id, []), key=lambda c: c.condition)
            if with_cautions
            else None,
        )
        for row in rows
    ]


# Everything the detail view (and the FHIR ActivityDefinition) shows of an exercise.
_DETAIL_LOADS = (
    selectinload(Exercise.phase_links).joinedload(ExercisePhase.phase),  # type: ignore[arg-type]
    selectinload(Exercise.goal_links).joinedload(ExerciseGoal.goal),  # type: ignore[arg-type]
    selectinload(Exercise.equipment_links),  # type: ignore[arg-type]
    selectinload(Exercise.body_region_links),  # type: ignore[arg-type]
    selectinload(Exercise.contraindications).joinedload(Contraindication.condition),  # type: ignore[arg-type]
    selectinload(Exercise.evidence).joinedload(Evidence.source),  # type: ignore[arg-type]
    selectinload(Exercise.progression_links).joinedload(Progression.harder),  # type: ignore[arg-type]
    selectinload(Exercise.regression_links).joinedload(Progression.easier),  # type: ignore[arg-type]
)


def get_exercise(session: Session, *, slug: str) -> Exercise:
    """One exercise with everything the detail view shows."""
    statement = select(Exercise).where(Exercise.slug == slug).options(*_DETAIL_LOADS)
    exercise = session.exec(statement).first()
    if exercise is None:
        raise not_found(session, "exercise", slug)
    return exercise


def get_exercises(session: Session, *, slugs: Sequence[str]) -> list[Exercise]:
    """The exercises with these slugs, each with everything the detail view shows, in
    the order of `slugs` (a page of a list read in full: a fixed number of queries)."""
    if not slugs:
        return []
    statement = select(Exercise).where(col(Exercise.slug).in_(list(slugs))).options(*_DETAIL_LOADS)
    found = {exercise.slug: exercise for exercise in session.exec(statement)}
    return [found[slug] for slug in slugs if slug in found]


def get_exercise_body(session: Session, *, slug: str) -> bytes:
    """One exercise's detail body (JSON), as the writer stored it: one indexed read
    instead of the detail view's nine. Rendered now for an exercise stored before bodies
    were kept (the next seed stores it)."""
    row = session.execute(
        sa.select(col(Exercise.id), col(ExerciseBody.body))
        .outerjoin(ExerciseBody, col(ExerciseBody.exercise_id) == col(Exercise.id))
        .where(col(Exercise.slug) == slug)
    ).first()
    if row is None:
        raise not_found(session, "exercise", slug)
    if row.body is None:
        return render_bodies(session.connection(), [row.id])[row.id]
    body: str = row.body
    return body.encode()
