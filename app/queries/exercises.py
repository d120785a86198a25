"""Listing, filtering, searching and fetching exercises."""

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from app.database import planned_with
from app.errors import InvalidParameters, NotFound, ParameterError, unknown_values
from app.models import (
    Condition,
    Contraindication,
    Evidence,
    Exercise,
    ExerciseBodyRegion,
    ExerciseEquipment,
    ExerciseGoal,
    ExercisePhase,
    Progression,
    UTCDateTime,
)
from app.pagination import fits_column
from app.queries.catalogue import REVISION_MEMO, Terms
from app.vocabulary import (
    SLUG_MAX_LENGTH,
    SLUG_PATTERN,
    Category,
    Difficulty,
    ExerciseSort,
    PhaseSlug,
    Position,
    Severity,
)

MAX_VALUES = 20
MAX_QUERY_LENGTH = 200
MAX_SEARCH_TERMS = 16
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

Slug = Annotated[str, Field(pattern=SLUG_PATTERN, max_length=SLUG_MAX_LENGTH)]


def _values(description: str, example: str) -> Any:
    return Field(default=[], max_length=MAX_VALUES, description=description, examples=[[example]])


class ExerciseFilters(BaseModel):
    """Filters on the exercise list: repeated values mean any-of; filters combine with AND."""

    model_config = ConfigDict(extra="forbid")

    phase: list[PhaseSlug] = _values("Rehab phase.", "acute")
    goal: list[Slug] = _values("Goal slug, see /v1/goals.", "flexibility")
    category: list[Category] = _values("Kind of exercise.", "stretch")
    equipment: list[Slug] = _values("Equipment needed (`none` for none).", "towel")
    position: list[Position] = _values("Body position.", "lying")
    difficulty: list[Difficulty] = _values("Difficulty.", "beginner")
    body_region: list[Slug] = _values("Body region worked.", "hamstrings")
    source: list[Slug] = _values(
        "Cited by this source, see /v1/sources.", "hamstring-pain-exercises-article"
    )
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_QUERY_LENGTH,
        description="Full-text search over name, summary and instructions; best match first.",
        examples=["nordic"],
    )
    safe_for: list[Slug] = _values(
        "Condition slug: drop exercises to avoid with it; keep those needing caution and "
        "list the cautions on each item.",
        "sciatica-nerve-symptoms",
    )
    updated_since: datetime | None = Field(
        default=None,
        description="Only exercises changed at or after this ISO 8601 time (UTC if no zone).",
        examples=["2026-01-01T00:00:00Z"],
    )

    @field_validator("updated_since", mode="before")
    @classmethod
    def _iso_8601_only(cls, value: Any) -> Any:
        """Pydantic would read a bare number as a Unix time; the documented format is an
        ISO 8601 date-time, so `updated_since=0.5` is an error, not 1970."""
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            raise ValueError("expected an ISO 8601 date-time such as 2026-01-01T00:00:00Z")
        return value

    @field_validator("updated_since")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """Aware UTC (naive means UTC); times that leave the calendar in UTC are invalid."""
        if value is None:
            return None
        try:
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        except OverflowError:
            raise ValueError("out of range once converted to UTC") from None


@dataclass(frozen=True)
class Caution:
    """A `caution` contraindication shown on a list item filtered with `safe_for`."""

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
    equipment: list[str]
    phases: list[str]
    goals: list[str]
    cautions: list[Caution] | None


@dataclass(frozen=True)
class ExercisePage:
    items: list[ListedExercise]
    total: int
    next_key: list[Any] | None


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
    col(Exercise.phase_ids),
    col(Exercise.goal_ids),
    sa.select(sa.func.aggregate_strings(col(ExerciseEquipment.equipment), ","))
    .where(col(ExerciseEquipment.exercise_id) == Exercise.id)
    .scalar_subquery()
    .label("equipment"),
)


def list_exercises(
    session: Session,
    *,
    filters: ExerciseFilters,
    sort: ExerciseSort | None = None,
    limit: int = 20,
    after: list[Any] | None = None,
) -> ExercisePage:
    """One page of exercises matching `filters`, after the keyset position `after`.

    Plain column rows, not ORM objects: building model instances with their
    relationships cost more than all the SQL of a page. A page is a fixed number of
    queries whatever its size: the page with its links, then with `safe_for` the
    page's cautions."""
    memo = REVISION_MEMO.current(session)
    term_ids = memo.terms.ids
    query = f"exercises|{sort}|{filters.model_dump_json()}"
    total = memo.recall(query)
    if total is None:  # a query counted in this revision has had its values checked
        _check_known_values(session, filters, term_ids)
    search = _search(session, filters.q) if filters.q else None
    order = _Ordering.choose(sort, filters, search, term_ids)
    conditions = _conditions(
        filters,
        term_ids,
        phase_joined=order.join_phase is not None,
        id_arrays=session.get_bind().dialect.name == "postgresql",
    )

    # The page's keys first, then its rows: the walk in sort order reads only the sort
    # index and the filters' link indexes, and the wide exercise rows are read for the
    # page alone, not for every row the walk passes over.
    keys = sa.select(
        col(Exercise.id).label("id"),
        *(column.label(f"key_{i}") for i, column in enumerate(order.key_columns)),
    ).where(*conditions)
    if search is not None:
        keys = keys.join(search, search.c.exercise_id == Exercise.id)
    if order.join_phase is not None:
        keys = keys.join(
            ExercisePhase,
            sa.and_(
                col(ExercisePhase.exercise_id) == Exercise.id,
                col(ExercisePhase.phase_id) == planned_with(order.join_phase),
            ),
        )
    if total is None:
        counting = sa.select(sa.func.count()).select_from(keys.subquery())
        total = memo.remember(query, session.execute(counting).scalar_one())
    if after is not None:
        keys = keys.where(order.after(after))
    page = keys.order_by(*order.columns).limit(planned_with(limit + 1)).subquery("page")
    page_keys = [page.c[f"key_{i}"] for i in range(len(order.key_columns))]
    statement = (
        sa.select(*_LISTED_COLUMNS, *page_keys)
        .join_from(Exercise, page, page.c.id == Exercise.id)
        .order_by(*(key.desc() if order.descending else key for key in page_keys))
    )
    rows = list(session.execute(statement).all())
    next_key = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_key = [_json_key(value) for value in rows[-1][len(_LISTED_COLUMNS) :]]
    return ExercisePage(
        items=_listed(session, rows, memo.terms, filters.safe_for), total=total, next_key=next_key
    )


def _in_page(exercise_id: Any, *, as_array: bool) -> ColumnElement[bool]:
    """`exercise_id` is one of the page's ids, bound at execution as `ids`.

    On PostgreSQL the ids are one array, so every page runs the same prepared statement:
    psycopg binds each integer as the smallest type that holds it, so a hundred separate
    ids made a new statement for almost every page, parsed and planned each time (2.5 ms
    a page of 100 at 100,000 exercises). SQLite has no arrays: one expanding parameter."""
    if as_array:
        ids = sa.bindparam("ids", type_=postgresql.ARRAY(sa.Integer))
        in_array: ColumnElement[bool] = exercise_id == sa.any_(ids)
        return in_array
    in_list: ColumnElement[bool] = exercise_id.in_(sa.bindparam("ids", expanding=True))
    return in_list


def _page_cautions(*, as_array: bool) -> sa.Select[*tuple[Any, ...]]:
    """(exercise, condition, severity, note) of the `caution` contraindications of a
    page's exercises with the conditions `safe_for`, by condition."""
    return (
        sa.select(
            col(Contraindication.exercise_id),
            col(Condition.slug),
            col(Contraindication.severity),
            col(Contraindication.note),
        )
        .join(Condition)
        .where(
            _in_page(col(Contraindication.exercise_id), as_array=as_array),
            col(Condition.slug).in_(sa.bindparam("safe_for", expanding=True)),
            col(Contraindication.severity) == Severity.caution,
        )
        .order_by(col(Condition.slug))
    )


# Built once, keyed by whether the database takes the ids as an array (PostgreSQL): a
# page neither rebuilds this statement nor writes its ids into it.
_PAGE_CAUTIONS = {as_array: _page_cautions(as_array=as_array) for as_array in (False, True)}


def _listed(
    session: Session, rows: Sequence[sa.Row[Any]], terms: Terms, safe_for: list[str]
) -> list[ListedExercise]:
    """The page's rows as list items, with `safe_for` their cautions (one more query)."""
    cautions: dict[int, list[Caution]] = {}
    if rows and safe_for:
        as_array = session.get_bind().dialect.name == "postgresql"
        ids = [row.id for row in rows]
        found = session.execute(_PAGE_CAUTIONS[as_array], {"ids": ids, "safe_for": safe_for})
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
            # Sorted here, as the detail view does: a database's collation must not
            # order slugs differently on SQLite and PostgreSQL.
            equipment=sorted(row.equipment.split(",")) if row.equipment else [],
            phases=terms.slugs_of("phase", row.phase_ids),
            goals=terms.slugs_of("goal", row.goal_ids),
            cautions=sorted(cautions.get(row.id, []), key=lambda c: c.condition)
            if safe_for
            else None,
        )
        for row in rows
    ]


def get_exercise(session: Session, *, slug: str) -> Exercise:
    """One exercise with everything the detail view shows."""
    statement = (
        select(Exercise)
        .where(Exercise.slug == slug)
        .options(
            selectinload(Exercise.phase_links).joinedload(ExercisePhase.phase),  # type: ignore[arg-type]
            selectinload(Exercise.goal_links).joinedload(ExerciseGoal.goal),  # type: ignore[arg-type]
            selectinload(Exercise.equipment_links),  # type: ignore[arg-type]
            selectinload(Exercise.body_region_links),  # type: ignore[arg-type]
            selectinload(Exercise.contraindications).joinedload(Contraindication.condition),  # type: ignore[arg-type]
            selectinload(Exercise.evidence).joinedload(Evidence.source),  # type: ignore[arg-type]
            selectinload(Exercise.progression_links).joinedload(Progression.harder),  # type: ignore[arg-type]
            selectinload(Exercise.regression_links).joinedload(Progression.easier),  # type: ignore[arg-type]
        )
    )
    exercise = session.exec(statement).first()
    if exercise is None:
        raise NotFound(f"No exercise with slug '{slug}'.")
    return exercise


# --- filters -----------------------------------------------------------------------


def _check_known_values(
    session: Session, filters: ExerciseFilters, term_ids: dict[str, dict[str, int]]
) -> None:
    """Unknown slugs in open vocabularies are a 422 listing the allowed values."""
    terms = [
        ("goal", filters.goal, "goal"),
        ("source", filters.source, "source"),
        ("safe_for", filters.safe_for, "condition"),
    ]
    for parameter, values, kind in terms:
        if not set(values) <= term_ids[kind].keys():
            raise unknown_values(parameter, values, list(term_ids[kind]))
    # Equipment and body regions are plain values on the links, not terms with ids.
    link_values = [
        ("equipment", filters.equipment, ExerciseEquipment.equipment),
        ("body_region", filters.body_region, ExerciseBodyRegion.body_region),
    ]
    for parameter, values, column in link_values:
        if not values:
            continue
        found = set(session.exec(select(column).where(col(column).in_(values)).distinct()).all())
        if found != set(values):
            allowed = session.exec(select(column).distinct()).all()
            raise unknown_values(parameter, values, list(allowed))


_ID_ARRAY = postgresql.ARRAY(sa.Integer)


def _conditions(
    filters: ExerciseFilters,
    term_ids: dict[str, dict[str, int]],
    *,
    phase_joined: bool,
    id_arrays: bool,
) -> list[ColumnElement[bool]]:
    """WHERE clauses for `filters`. Links are tested per exercise (EXISTS), so that a
    page in index order stops after `limit` matches instead of collecting them all.
    With `id_arrays` (PostgreSQL), phases and goals are tested on the exercise's own
    copies of their ids, which the name index carries."""

    def linked(exercise_id: Any, *where: ColumnElement[bool]) -> ColumnElement[bool]:
        return sa.exists().where(exercise_id == Exercise.id, *where)

    def ids_of(kind: str, slugs: list[str]) -> Any:
        return planned_with([term_ids[kind][slug] for slug in slugs])

    def has_any(ids_column: Any, kind: str, slugs: list[str]) -> ColumnElement[bool]:
        # `&&`: the arrays share an id. The ids are written into the SQL, as
        # `planned_with` does for IN lists.
        ids = sa.literal([term_ids[kind][slug] for slug in slugs], _ID_ARRAY, literal_execute=True)
        overlaps: ColumnElement[bool] = sa.type_coerce(ids_column, _ID_ARRAY).overlap(ids)
        return overlaps

    conditions: list[ColumnElement[bool]] = []
    # With sort=phase_order the page is joined to its one phase: that join filters.
    if filters.phase and not phase_joined:
        if id_arrays:
            conditions.append(has_any(col(Exercise.phase_ids), "phase", list(filters.phase)))
        else:
            conditions.append(
                linked(
                    col(ExercisePhase.exercise_id),
                    col(ExercisePhase.phase_id).in_(ids_of("phase", list(filters.phase))),
                )
            )
    if filters.goal:
        if id_arrays:
            conditions.append(has_any(col(Exercise.goal_ids), "goal", filters.goal))
        else:
            conditions.append(
                linked(
                    col(ExerciseGoal.exercise_id),
                    col(ExerciseGoal.goal_id).in_(ids_of("goal", filters.goal)),
                )
            )
    if filters.equipment:
        conditions.append(
            linked(
                col(ExerciseEquipment.exercise_id),
                col(ExerciseEquipment.equipment).in_(planned_with(filters.equipment)),
            )
        )
    if filters.body_region:
        conditions.append(
            linked(
                col(ExerciseBodyRegion.exercise_id),
                col(ExerciseBodyRegion.body_region).in_(planned_with(filters.body_region)),
            )
        )
    if filters.source:
        conditions.append(
            linked(
                col(Evidence.exercise_id),
                col(Evidence.source_id).in_(ids_of("source", filters.source)),
            )
        )
    if filters.category:
        conditions.append(col(Exercise.category).in_(planned_with(filters.category)))
    if filters.position:
        conditions.append(col(Exercise.position).in_(planned_with(filters.position)))
    if filters.difficulty:
        conditions.append(col(Exercise.difficulty).in_(planned_with(filters.difficulty)))
    if filters.safe_for:
        conditions.append(
            ~linked(
                col(Contraindication.exercise_id),
                col(Contraindication.condition_id).in_(ids_of("condition", filters.safe_for)),
                col(Contraindication.severity) == Severity.avoid,
            )
        )
    if filters.updated_since is not None:
        conditions.append(
            col(Exercise.updated_at) >= planned_with(filters.updated_since, UTCDateTime())
        )
    return conditions


# --- search ------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)


def search_terms(q: str) -> list[str]:
    """The words of a query. Operators and punctuation are dropped, never passed to the
    database's query language, so any string is a safe query."""
    terms = [term for term in _WORD.findall(q.lower()) if term.strip("_")]
    if not terms:
        raise InvalidParameters(
            "The search query has no words to look for.",
            [ParameterError(parameter="q", message="no searchable words", value=q[:64])],
        )
    return terms[:MAX_SEARCH_TERMS]


def _search(session: Session, q: str) -> Any:
    """A subquery of (exercise_id, rank) for the matches of `q`: lower rank is better."""
    terms = search_terms(q)
    if session.get_bind().dialect.name == "sqlite":
        # Each term quoted, so FTS5 reads them as plain words (implicit AND). Column
        # weights: name 10, summary 3, instructions 1; bm25 is lower for better matches.
        match = " ".join(f'"{term}"' for term in terms)
        statement = sa.text(
            "SELECT rowid AS exercise_id, bm25(exercise_fts, 10.0, 3.0, 1.0) AS rank "
            "FROM exercise_fts WHERE exercise_fts MATCH :match"
        ).bindparams(match=match)
    else:
        # Name, summary and instructions are weighted A, B, C in `search_vector`. The
        # words are written into the SQL (see `planned_with`): how many rows match them
        # decides the plan.
        statement = sa.text(
            "SELECT id AS exercise_id, "
            "CAST(-ts_rank_cd(search_vector, plainto_tsquery('english', :terms)) AS float8) "
            "AS rank "
            "FROM exercise WHERE search_vector @@ plainto_tsquery('english', :terms)"
        ).bindparams(sa.bindparam("terms", " ".join(terms), literal_execute=True))
    return statement.columns(exercise_id=sa.Integer, rank=sa.Float).subquery("search")


# --- ordering ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Ordering:
    """A sort order and the keyset that pages through it."""

    columns: list[Any]
    key_columns: list[Any]
    descending: bool = False
    join_phase: Any = None
    key_types: tuple[str, ...] = ()

    @classmethod
    def choose(
        cls,
        sort: ExerciseSort | None,
        filters: ExerciseFilters,
        search: Any,
        term_ids: dict[str, dict[str, int]],
    ) -> "_Ordering":
        exercise_id = col(Exercise.id)
        if sort is None and search is not None:
            return cls(
                columns=[search.c.rank, exercise_id],
                key_columns=[search.c.rank, exercise_id],
                key_types=("float", "int"),
            )
        if sort == ExerciseSort.updated_at_desc:
            updated = col(Exercise.updated_at)
            return cls(
                columns=[updated.desc(), exercise_id.desc()],
                key_columns=[updated, exercise_id],
                descending=True,
                key_types=("datetime", "int"),
            )
        if sort == ExerciseSort.phase_order:
            if len(filters.phase) != 1:
                raise InvalidParameters(
                    "sort=phase_order needs exactly one phase.",
                    [
                        ParameterError(
                            parameter="sort",
                            message="phase_order needs exactly one `phase` value",
                            value=sort.value,
                        )
                    ],
                )
            phase_id = term_ids["phase"][filters.phase[0]]
            # The link's own columns, so the (phase, order, exercise) index serves the page.
            order = col(ExercisePhase.progression_order)
            linked_id = col(ExercisePhase.exercise_id)
            return cls(
                columns=[order, linked_id],
                key_columns=[order, linked_id],
                join_phase=phase_id,
                key_types=("int", "int"),
            )
        name = col(Exercise.name)
        return cls(
            columns=[name, exercise_id],
            key_columns=[name, exercise_id],
            key_types=("str", "int"),
        )

    def after(self, key: list[Any]) -> ColumnElement[bool]:
        values = _parse_key(key, self.key_types)
        # Bind each value with its column's type (UTC datetimes are stored per database).
        bound = [sa.literal(v, type_=c.type) for v, c in zip(values, self.key_columns, strict=True)]
        if self.descending:
            return sa.tuple_(*self.key_columns) < sa.tuple_(*bound)
        return sa.tuple_(*self.key_columns) > sa.tuple_(*bound)


def _json_key(value: Any) -> Any:
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    return value


def _parse_key(key: list[Any], types: tuple[str, ...]) -> list[Any]:
    """Values from a cursor, typed for comparison. Anyone holding the signing secret (a
    public default unless configured) can sign a cursor, so every value is checked."""
    invalid = InvalidParameters(
        "The cursor does not fit this sort order.",
        [ParameterError(parameter="cursor", message="does not fit this sort order")],
    )
    if len(key) != len(types):
        raise invalid
    parsed: list[Any] = []
    for value, kind in zip(key, types, strict=True):
        if kind == "int" and type(value) is int and fits_column(value):
            parsed.append(value)
        elif kind == "float" and type(value) in (int, float) and math.isfinite(value):
            parsed.append(float(value))
        elif kind == "str" and type(value) is str and fits_column(value):
            parsed.append(value)
        elif kind == "datetime" and type(value) is str:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise invalid from None
            if moment.tzinfo is None:  # this API only issues UTC times
                raise invalid
            parsed.append(moment)
        else:
            raise invalid
    return parsed
