"""Response bodies: what clients see. Built from the table models by `from_row`."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from app import examples
from app.models import Condition, Contraindication, Exercise, Goal, Phase, Source
from app.queries.exercises import ListedExercise
from app.vocabulary import (
    Category,
    Difficulty,
    EvidenceField,
    PhaseSlug,
    Position,
    Severity,
    SourceKind,
    Stance,
)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class DoseRange(BaseModel):
    """A dose as stated by the sources: `min == max` for a single number."""

    min: int = Field(examples=[15])
    max: int = Field(examples=[30])


class Dosage(BaseModel):
    """Only what a source states; every field is null where none does."""

    hold_seconds: DoseRange | None = None
    reps: DoseRange | None = None
    sets: DoseRange | None = None
    rest_seconds: DoseRange | None = None
    per_day: DoseRange | None = None
    per_week: DoseRange | None = None
    duration_seconds: DoseRange | None = None
    note: str | None = None


class PhaseMembership(BaseModel):
    phase: PhaseSlug
    order: int = Field(description="Place in the phase's progression (lower comes first).")
    caution: bool = Field(description="Use with caution in this phase.")
    note: str | None


class ContraindicationOut(BaseModel):
    condition: str = Field(description="Condition slug.", examples=["acute-hamstring-strain"])
    severity: Severity
    note: str

    @classmethod
    def from_row(cls, row: Contraindication) -> "ContraindicationOut":
        return cls(condition=row.condition.slug, severity=row.severity, note=row.note)


class EvidenceOut(BaseModel):
    source: str = Field(description="Source slug.")
    field: EvidenceField
    subject: str | None = Field(description="The phase, goal or condition the claim is about.")
    stance: Stance
    quote: str = Field(description="Verbatim: equals the document's text[start:end].")
    start: int
    end: int


class ExerciseBase(BaseModel):
    slug: str = Field(examples=["lying-hamstring-stretch"])
    name: str
    summary: str
    category: Category
    position: Position | None
    difficulty: Difficulty
    equipment: list[str] = Field(examples=[["towel"]])
    goals: list[str] = Field(description="Goal slugs.")
    updated_at: datetime


class ExerciseItem(ExerciseBase):
    """An exercise in a list."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.EXERCISE_ITEM]})

    phases: list[PhaseSlug]
    cautions: list[ContraindicationOut] | None = Field(
        default=None,
        description="With `safe_for`: the cautions for those conditions (empty if none); "
        "null when `safe_for` was not given.",
    )

    @staticmethod
    def from_listings(listed: Sequence[ListedExercise]) -> list["ExerciseItem"]:
        """A page's list items, validated in one call from the listings' attributes
        (their cautions too), about a third faster than building each in Python."""
        return _EXERCISE_ITEMS.validate_python(listed, from_attributes=True)


_EXERCISE_ITEMS = TypeAdapter(list[ExerciseItem])


class ExerciseDetail(ExerciseBase):
    """One exercise in full, with the evidence behind each claim."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.EXERCISE_DETAIL]})

    body_regions: list[str]
    instructions: list[str]
    cues: list[str]
    dosage: Dosage
    phases: list[PhaseMembership]
    contraindications: list[ContraindicationOut]
    progressions: list[str] = Field(description="Slugs of harder exercises this leads on to.")
    regressions: list[str] = Field(description="Slugs of easier exercises that lead to this.")
    evidence: list[EvidenceOut]

    @classmethod
    def from_row(cls, row: Exercise) -> "ExerciseDetail":
        links = sorted(row.phase_links, key=lambda link: link.phase.order)
        return cls(
            **_base_fields(row),
            body_regions=sorted(link.body_region for link in row.body_region_links),
            instructions=row.instructions,
            cues=row.cues,
            dosage=Dosage.model_validate(row.dosage),
            phases=[
                PhaseMembership(
                    phase=PhaseSlug(link.phase.slug),
                    order=link.progression_order,
                    caution=link.caution,
                    note=link.note,
                )
                for link in links
            ],
            contraindications=[
                ContraindicationOut.from_row(item)
                for item in sorted(row.contraindications, key=lambda c: c.condition.slug)
            ],
            progressions=sorted(link.harder.slug for link in row.progression_links),
            regressions=sorted(link.easier.slug for link in row.regression_links),
            evidence=[
                EvidenceOut(
                    source=item.source.slug,
                    field=item.field,
                    subject=item.subject,
                    stance=item.stance,
                    quote=item.quote,
                    start=item.start,
                    end=item.end,
                )
                for item in sorted(row.evidence, key=lambda e: e.id or 0)
            ],
        )


def _base_fields(row: Exercise) -> dict[str, object]:
    return {
        "slug": row.slug,
        "name": row.name,
        "summary": row.summary,
        "category": row.category,
        "position": row.position,
        "difficulty": row.difficulty,
        "equipment": sorted(link.equipment for link in row.equipment_links),
        "goals": sorted(link.goal.slug for link in row.goal_links),
        "updated_at": _utc(row.updated_at),
    }


def _phase_slugs(row: Exercise) -> list[PhaseSlug]:
    links = sorted(row.phase_links, key=lambda link: link.phase.order)
    return [PhaseSlug(link.phase.slug) for link in links]


class ExerciseRef(BaseModel):
    slug: str
    name: str


class PhaseOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PHASE]})

    slug: PhaseSlug
    name: str
    description: str
    order: int
    criteria_to_progress: str

    @classmethod
    def from_row(cls, row: Phase) -> "PhaseOut":
        return cls.model_validate(row, from_attributes=True)


class PhaseExercise(ExerciseRef):
    order: int
    caution: bool
    note: str | None


NEXT_CURSOR = "Pass as `cursor` for the next page of {list}; null on the last page."


class PhaseDetail(PhaseOut):
    """One phase with one page of its exercises."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.PHASE_DETAIL]})

    exercises: list[PhaseExercise] = Field(
        description="One page of the phase's exercises, in progression order (`order`, then slug)."
    )
    exercises_total: int = Field(description="How many exercises the phase has, on all pages.")
    next_cursor: str | None = Field(description=NEXT_CURSOR.format(list="`exercises`"))

    @classmethod
    def from_page(
        cls,
        row: Phase,
        exercises: Sequence[Any],
        *,
        exercises_total: int,
        next_cursor: str | None,
    ) -> "PhaseDetail":
        """From the phase and rows of `app.queries.phases.phase_exercises`."""
        return cls(
            **PhaseOut.from_row(row).model_dump(),
            exercises=[
                PhaseExercise(
                    slug=item.slug,
                    name=item.name,
                    order=item.progression_order,
                    caution=item.caution,
                    note=item.note,
                )
                for item in exercises
            ],
            exercises_total=exercises_total,
            next_cursor=next_cursor,
        )


class GoalOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.GOAL]})

    slug: str
    name: str
    description: str

    @classmethod
    def from_row(cls, row: Goal) -> "GoalOut":
        return cls(slug=row.slug, name=row.name, description=row.description)


class GoalDetail(GoalOut):
    """One goal with one page of the exercises that serve it."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.GOAL_DETAIL]})

    exercises: list[ExerciseRef] = Field(
        description="One page of the exercises serving the goal, by name (then slug)."
    )
    exercises_total: int = Field(description="How many exercises serve the goal, on all pages.")
    next_cursor: str | None = Field(description=NEXT_CURSOR.format(list="`exercises`"))

    @classmethod
    def from_page(
        cls,
        row: Goal,
        exercises: Sequence[Any],
        *,
        exercises_total: int,
        next_cursor: str | None,
    ) -> "GoalDetail":
        """From the goal and rows of `app.queries.goals.goal_exercises`."""
        return cls(
            **GoalOut.from_row(row).model_dump(),
            exercises=[ExerciseRef(slug=item.slug, name=item.name) for item in exercises],
            exercises_total=exercises_total,
            next_cursor=next_cursor,
        )


class ConditionOut(GoalOut):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CONDITION]})

    @classmethod
    def from_row(cls, row: Condition) -> "ConditionOut":  # type: ignore[override]
        return cls(slug=row.slug, name=row.name, description=row.description)


class AffectedExercise(ExerciseRef):
    severity: Severity
    note: str


class ConditionDetail(ConditionOut):
    """One condition with one page of the exercises it affects."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.CONDITION_DETAIL]})

    exercises: list[AffectedExercise] = Field(
        description="One page of the exercises the condition affects: every one to avoid "
        "first, then those needing caution, each by name (then slug)."
    )
    exercises_total: int = Field(
        description="How many exercises the condition affects, on all pages."
    )
    next_cursor: str | None = Field(description=NEXT_CURSOR.format(list="`exercises`"))

    @classmethod
    def from_page(
        cls,
        row: Condition,
        exercises: Sequence[Any],
        *,
        exercises_total: int,
        next_cursor: str | None,
    ) -> "ConditionDetail":
        """From the condition and rows of `app.queries.conditions.condition_exercises`."""
        return cls(
            **ConditionOut.from_row(row).model_dump(),
            exercises=[
                AffectedExercise(
                    slug=item.slug, name=item.name, severity=item.severity, note=item.note
                )
                for item in exercises
            ],
            exercises_total=exercises_total,
            next_cursor=next_cursor,
        )


class SourceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SOURCE]})

    slug: str
    title: str
    kind: SourceKind
    author: str | None
    publisher: str | None
    file: str
    sha256: str
    credibility_notes: list[str]

    @classmethod
    def from_row(cls, row: Source) -> "SourceOut":
        return cls.model_validate(row, from_attributes=True)


class SourceEvidence(BaseModel):
    exercise: str = Field(description="Exercise slug.")
    field: EvidenceField
    subject: str | None
    stance: Stance
    quote: str
    start: int
    end: int


class SourceDetail(SourceOut):
    """One source with one page of the evidence quoted from it."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.SOURCE_DETAIL]})

    evidence: list[SourceEvidence] = Field(
        description="One page of the quotes taken from this source, in document order "
        "(`start`, then `end`; quotes of the same span in the order they were recorded)."
    )
    evidence_total: int = Field(description="How many quotes the source has, on all pages.")
    exercises: list[str] = Field(
        description="Slugs of the exercises this page's `evidence` backs, sorted. "
        "`/v1/exercises?source={slug}` lists every exercise citing the source, with paging."
    )
    exercises_total: int = Field(description="How many exercises cite this source in all.")
    next_cursor: str | None = Field(description=NEXT_CURSOR.format(list="`evidence`"))

    @classmethod
    def from_page(
        cls,
        row: Source,
        evidence: Sequence[Any],
        *,
        evidence_total: int,
        exercises_total: int,
        next_cursor: str | None,
    ) -> "SourceDetail":
        """From the source and rows of `app.queries.sources.source_evidence`."""
        return cls(
            **SourceOut.from_row(row).model_dump(),
            evidence=[
                SourceEvidence(
                    exercise=item.slug,
                    field=item.field,
                    subject=item.subject,
                    stance=item.stance,
                    quote=item.quote,
                    start=item.start,
                    end=item.end,
                )
                for item in evidence
            ],
            evidence_total=evidence_total,
            exercises=sorted({item.slug for item in evidence}),
            exercises_total=exercises_total,
            next_cursor=next_cursor,
        )


class CatalogueCounts(BaseModel):
    exercises: int
    phases: int
    goals: int
    conditions: int
    sources: int
    evidence: int


class CatalogueInfo(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CATALOGUE]})

    version: str = Field(description="Changes whenever the content changes.")
    updated_at: datetime = Field(description="When the content last changed.")
    counts: CatalogueCounts


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.HEALTH]})

    status: str
    checks: dict[str, str] = {}
