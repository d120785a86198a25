"""Response bodies: what clients see. Built from table models (`from_row`) and from the
typed pages of the query functions (`from_page`, `from_listings`)."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from app import examples
from app.models import (
    CatalogueChange,
    Condition,
    Contraindication,
    Exercise,
    Goal,
    Phase,
    Proposal,
    Source,
)
from app.pagination import CURSOR_SCHEMA, Page
from app.queries.changes import FeedPage
from app.queries.conditions import AffectedExerciseRow
from app.queries.exercise_facets import FacetCount
from app.queries.exercise_search import SearchOutcome
from app.queries.exercises import ListedExercise
from app.queries.goals import ExerciseRefRow
from app.queries.phases import PhaseExerciseRow
from app.queries.sources import SourceDetailPage
from app.queries.suggest import SuggestionRow
from app.queries.terms import TermPage
from app.vocabulary import (
    SLUG_MAX_LENGTH,
    SLUG_PATTERN,
    Category,
    ChangeAction,
    ConditionKind,
    Difficulty,
    EvidenceField,
    Facet,
    InstructionsBasis,
    PhaseBasis,
    PhaseSlug,
    Position,
    ProposalAction,
    ProposalStatus,
    ResourceKind,
    SearchMatch,
    Severity,
    SourceKind,
    Stance,
    SuggestionKind,
    TextQuality,
)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class DoseRange(BaseModel):
    """A dose as stated by the sources: `min == max` for a single number."""

    min: int = Field(description="The smallest amount a source states.", examples=[15])
    max: int = Field(description="The largest amount a source states.", examples=[30])


class Dosage(BaseModel):
    """Only what a source states; every field is null where none does."""

    hold_seconds: DoseRange | None = Field(default=None, description="Seconds to hold each rep.")
    reps: DoseRange | None = Field(default=None, description="Repetitions per set.")
    sets: DoseRange | None = Field(default=None, description="Sets per session.")
    rest_seconds: DoseRange | None = Field(default=None, description="Rest between sets.")
    per_day: DoseRange | None = Field(default=None, description="Sessions per day.")
    per_week: DoseRange | None = Field(default=None, description="Sessions per week.")
    duration_seconds: DoseRange | None = Field(
        default=None, description="How long a session lasts, in seconds."
    )
    note: str | None = Field(
        default=None, description="What the sources say of the dose, and what they leave out."
    )


BASIS_DESCRIPTION = (
    "`stated`: a source places the exercise (or its situation) in this phase, and the "
    "evidence with field `phase` quotes it; `inferred`: the editors' reading, which the "
    "note explains."
)


class PhaseMembership(BaseModel):
    """The exercise's place in one rehab phase."""

    phase: PhaseSlug = Field(description="The phase's slug.")
    order: int = Field(description="Place in the phase's progression (lower comes first).")
    caution: bool = Field(description="Use with caution in this phase.")
    basis: PhaseBasis = Field(description=BASIS_DESCRIPTION)
    note: str | None = Field(
        description="Why the exercise is in this phase, or how to use it there."
    )


class ContraindicationOut(BaseModel):
    """What to do about the exercise when a condition is present."""

    condition: str = Field(description="Condition slug.", examples=["acute-hamstring-strain"])
    severity: Severity = Field(
        description="`avoid`: do not do this exercise with the condition; `caution`: may be "
        "done, modified as the note says; `stop`: may be done, but stop at once (and seek "
        "the advice the note names) if the condition appears or worsens during it."
    )
    note: str = Field(description="What to do instead or watch for, as the sources advise.")

    @classmethod
    def from_row(cls, row: Contraindication) -> "ContraindicationOut":
        return cls(condition=row.condition.slug, severity=row.severity, note=row.note)


EVIDENCE_FIELD = "The field of the exercise the quote backs (`phase`, `goal`, `dosage`...)."
STANCE = (
    "How the quote bears on the claim: it `supports` it, `cautions` about it, or `contradicts` it."
)
START = (
    "Where the quote starts in the source document's text: a character index (Python "
    "string index, 0-based, counting Unicode code points, not bytes)."
)
END = "Where the quote ends: the character index just past its last character."


class EvidenceOut(BaseModel):
    """A verbatim quote from a source, and the claim about the exercise it bears on."""

    source: str = Field(description="Source slug.")
    field: EvidenceField = Field(description=EVIDENCE_FIELD)
    subject: str | None = Field(description="The phase, goal or condition the claim is about.")
    stance: Stance = Field(description=STANCE)
    quote: str = Field(description="Verbatim: equals the document's text[start:end].")
    start: int = Field(description=START)
    end: int = Field(description=END)
    text_quality: TextQuality = Field(
        description="`garbled` when the quote lies in a machine-scrambled part of the "
        "document (no claim rests on such a quote alone), else `clear`."
    )


class ExerciseBase(BaseModel):
    slug: str = Field(description="The exercise's URL id.", examples=["lying-hamstring-stretch"])
    name: str = Field(description="The exercise's name.")
    summary: str = Field(description="What the exercise is and what it is for, in brief.")
    category: Category = Field(description="Kind of exercise.")
    position: Position | None = Field(description="Body position; null where none applies.")
    difficulty: Difficulty = Field(description="How hard the exercise is.")
    equipment: list[str] = Field(
        description="Equipment needed, sorted (`none` for none).", examples=[["towel"]]
    )
    goals: list[str] = Field(description="Goal slugs.")
    updated_at: datetime = Field(description="When the exercise last changed (UTC).")
    version: int = Field(description="1 when created, one more on every change.", examples=[1])


class ExerciseItem(ExerciseBase):
    """An exercise in a list."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.EXERCISE_ITEM]})

    phases: list[PhaseSlug] = Field(description="Slugs of the phases it belongs to, in order.")
    cautions: list[ContraindicationOut] | None = Field(
        description="With `safe_for`: the `caution` and `stop` rules for those conditions "
        "(empty if none); null when `safe_for` was not given.",
    )

    @staticmethod
    def from_listings(listed: Sequence[ListedExercise]) -> list["ExerciseItem"]:
        """A page's list items, validated in one call from the listings' attributes
        (their cautions too). perf: faster than building each in Python."""
        return _EXERCISE_ITEMS.validate_python(listed, from_attributes=True)


_EXERCISE_ITEMS = TypeAdapter(list[ExerciseItem])


class ExerciseDetail(ExerciseBase):
    """One exercise in full, with the evidence behind each claim."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.EXERCISE_DETAIL]})

    aliases: list[str] = Field(description="Other names people know the exercise by.")
    body_regions: list[str] = Field(description="Body regions worked, sorted.")
    instructions: list[str] = Field(description="The steps, in order.")
    instructions_basis: InstructionsBasis = Field(
        description="`sourced`: a source describes how to do it (see the `instructions` "
        "evidence); `editorial`: the sources only name it, and the steps are the editors' "
        "standard description, to be checked by a clinician."
    )
    cues: list[str] = Field(description="What to keep in mind while doing it.")
    mistakes: list[str] = Field(description="Technique errors to avoid.")
    dosage: Dosage = Field(description="How much, how long and how often, as sources state.")
    phases: list[PhaseMembership] = Field(description="The phases it belongs to, in order.")
    contraindications: list[ContraindicationOut] = Field(
        description="Conditions under which to avoid it, take care, or stop: by condition slug."
    )
    progressions: list[str] = Field(description="Slugs of harder exercises this leads on to.")
    regressions: list[str] = Field(description="Slugs of easier exercises that lead to this.")
    evidence: list[EvidenceOut] = Field(
        description="The quotes behind the exercise's claims, in the order they were recorded."
    )

    @classmethod
    def from_row(cls, row: Exercise) -> "ExerciseDetail":
        links = sorted(row.phase_links, key=lambda link: link.phase.order)
        return cls(
            **_base_fields(row),
            aliases=row.aliases,
            body_regions=sorted(link.body_region for link in row.body_region_links),
            instructions=row.instructions,
            instructions_basis=row.instructions_basis,
            cues=row.cues,
            mistakes=row.mistakes,
            dosage=Dosage.model_validate(row.dosage),
            phases=[
                PhaseMembership(
                    phase=PhaseSlug(link.phase.slug),
                    order=link.progression_order,
                    caution=link.caution,
                    basis=link.basis,
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
                    text_quality=item.text_quality,
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
        "version": row.version,
    }


def _detail(
    out: type[BaseModel], page: TermPage[Any, Any], *, embedded: str, next_cursor: str | None
) -> dict[str, object]:
    """The fields of a term's detail: the term's own (those `out` shows), one page of
    the list it embeds under the name `embedded`, its total and the next page's cursor."""
    return {
        **{name: getattr(page.term, name) for name in out.model_fields},
        embedded: page.embedded.items,
        f"{embedded}_total": page.embedded.total,
        "next_cursor": next_cursor,
    }


class ExerciseRef(BaseModel):
    """An exercise, by slug and name."""

    slug: str = Field(description="The exercise's slug.")
    name: str = Field(description="The exercise's name.")


class PhaseOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PHASE]})

    slug: PhaseSlug = Field(description="The phase's URL id.")
    name: str = Field(description="The phase's name.")
    description: str = Field(description="What the phase is, and what is done in it.")
    order: int = Field(description="The phase's place in rehab: 1 comes first.")
    criteria_to_progress: str = Field(
        description="When to move on to the next phase, as far as the sources say."
    )
    version: int = Field(description="1 when created, one more on every change.", examples=[1])

    @classmethod
    def from_row(cls, row: Phase) -> "PhaseOut":
        return cls.model_validate(row, from_attributes=True)


class PhaseExercise(ExerciseRef):
    """An exercise of a phase, with its place in the phase."""

    order: int = Field(description="Place in the phase's progression (lower comes first).")
    caution: bool = Field(description="Use with caution in this phase.")
    basis: PhaseBasis = Field(description=BASIS_DESCRIPTION)
    note: str | None = Field(
        description="Why the exercise is in this phase, or how to use it there."
    )


NEXT_CURSOR = "Pass as `cursor` for the next page of {list}; null on the last page."


class PhaseDetail(PhaseOut):
    """One phase with one page of its exercises."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.PHASE_DETAIL]})

    exercises: list[PhaseExercise] = Field(
        description="One page of the phase's exercises, in progression order (`order`, then slug)."
    )
    exercises_total: int = Field(description="How many exercises the phase has, on all pages.")
    next_cursor: str | None = Field(
        description=NEXT_CURSOR.format(list="`exercises`"), json_schema_extra=CURSOR_SCHEMA
    )

    @classmethod
    def from_page(
        cls, page: TermPage[Phase, PhaseExerciseRow], *, next_cursor: str | None
    ) -> "PhaseDetail":
        fields = _detail(PhaseOut, page, embedded="exercises", next_cursor=next_cursor)
        return cls.model_validate(fields, from_attributes=True)


class _Term(BaseModel):
    """What a goal and a condition both have."""

    slug: str = Field(description="URL id.")
    name: str = Field(description="Name.")
    description: str = Field(description="What it means in this catalogue.")
    version: int = Field(description="1 when created, one more on every change.", examples=[1])


class GoalOut(_Term):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.GOAL]})

    @classmethod
    def from_row(cls, row: Goal) -> "GoalOut":
        return cls.model_validate(row, from_attributes=True)


class GoalDetail(GoalOut):
    """One goal with one page of the exercises that serve it."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.GOAL_DETAIL]})

    exercises: list[ExerciseRef] = Field(
        description="One page of the exercises serving the goal, by name (then slug)."
    )
    exercises_total: int = Field(description="How many exercises serve the goal, on all pages.")
    next_cursor: str | None = Field(
        description=NEXT_CURSOR.format(list="`exercises`"), json_schema_extra=CURSOR_SCHEMA
    )

    @classmethod
    def from_page(
        cls, page: TermPage[Goal, ExerciseRefRow], *, next_cursor: str | None
    ) -> "GoalDetail":
        fields = _detail(GoalOut, page, embedded="exercises", next_cursor=next_cursor)
        return cls.model_validate(fields, from_attributes=True)


class ConditionOut(_Term):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CONDITION]})

    kind: ConditionKind = Field(
        description="`diagnosis` (e.g. an acute strain), `finding` (e.g. a pelvic tilt) or "
        "`symptom` (e.g. nerve pain down the leg, severe pain)."
    )

    @classmethod
    def from_row(cls, row: Condition) -> "ConditionOut":
        return cls.model_validate(row, from_attributes=True)


class AffectedExercise(ExerciseRef):
    """An exercise a condition affects, and how."""

    severity: Severity = Field(
        description="`avoid` it with the condition, do it with `caution`, or `stop` at once "
        "if the condition appears."
    )
    note: str = Field(description="What to do instead or watch for, as the sources advise.")


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
    next_cursor: str | None = Field(
        description=NEXT_CURSOR.format(list="`exercises`"), json_schema_extra=CURSOR_SCHEMA
    )

    @classmethod
    def from_page(
        cls, page: TermPage[Condition, AffectedExerciseRow], *, next_cursor: str | None
    ) -> "ConditionDetail":
        fields = _detail(ConditionOut, page, embedded="exercises", next_cursor=next_cursor)
        return cls.model_validate(fields, from_attributes=True)


class SourceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SOURCE]})

    slug: str = Field(description="The source's URL id.")
    title: str = Field(description="The document's title.")
    kind: SourceKind = Field(description="What sort of document it is.")
    author: str | None = Field(description="Who wrote it, as the document names them.")
    publisher: str | None = Field(description="Who published it.")
    file: str = Field(description="The document's file name in the catalogue's sources.")
    sha256: str = Field(description="SHA-256 of the document's text, as UTF-8 (hex).")
    credibility_notes: list[str] = Field(
        description="The editors' notes on how far to trust the source, and why."
    )
    garbled_regions: list[Annotated[list[int], Field(min_length=2, max_length=2)]] = Field(
        description="[start, end) character ranges (Python string indices, as for evidence) "
        "where the scraped text is machine-scrambled."
    )
    version: int = Field(description="1 when created, one more on every change.", examples=[1])

    @classmethod
    def from_row(cls, row: Source) -> "SourceOut":
        return cls.model_validate(row, from_attributes=True)


class SourceEvidence(BaseModel):
    """A quote from this source, and the exercise and claim it bears on."""

    exercise: str = Field(description="Exercise slug.")
    field: EvidenceField = Field(description=EVIDENCE_FIELD)
    subject: str | None = Field(description="The phase, goal or condition the claim is about.")
    stance: Stance = Field(description=STANCE)
    quote: str = Field(description="Verbatim: equals the document's text[start:end].")
    start: int = Field(description=START)
    end: int = Field(description=END)
    text_quality: TextQuality = Field(
        description="`garbled` when the quote lies in a machine-scrambled part of the "
        "document, else `clear`."
    )


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
    next_cursor: str | None = Field(
        description=NEXT_CURSOR.format(list="`evidence`"), json_schema_extra=CURSOR_SCHEMA
    )

    @classmethod
    def from_page(cls, page: SourceDetailPage, *, next_cursor: str | None) -> "SourceDetail":
        fields = _detail(SourceOut, page, embedded="evidence", next_cursor=next_cursor)
        fields["exercises"] = sorted({item.exercise for item in page.embedded.items})
        fields["exercises_total"] = page.exercises_total
        return cls.model_validate(fields, from_attributes=True)


class HistoryEntry(BaseModel):
    """One change to a resource, as the change log records it."""

    version: int = Field(description="The version the change left the resource at.")
    action: ChangeAction = Field(description="`created`, `updated` or `deleted`.")
    changed_at: datetime = Field(description="When (UTC).")
    author: str = Field(
        description="Who made the change: the name of the proposing key, or `seed` for "
        "the catalogue files."
    )
    reviewer: str | None = Field(description="The name of the key that approved it.")
    reason: str | None = Field(description="Why, as the proposal says.")
    proposal: int | None = Field(description="The proposal's id; null for seeding.")

    @classmethod
    def from_row(cls, row: CatalogueChange) -> "HistoryEntry":
        return cls(
            version=row.version,
            action=row.action,
            changed_at=_utc(row.changed_at),
            author=row.author,
            reviewer=row.reviewer,
            reason=row.reason,
            proposal=row.proposal_id,
        )


class ChangeOut(BaseModel):
    """One change in the change feed."""

    seq: int = Field(description="The change's place in the log: ascending, unique.")
    kind: ResourceKind = Field(description="What kind of resource changed.")
    slug: str = Field(description="The resource's slug.")
    action: ChangeAction = Field(
        description="`created`, `updated` or `deleted`; a deletion stays in the feed "
        "as a tombstone. A slug deleted and created again has both."
    )
    version: int = Field(description="The version the change left the resource at.")
    changed_at: datetime = Field(description="When (UTC).")


class ChangeFeed(Page[ChangeOut]):
    """One page of the change feed, oldest change first."""

    total: int = Field(description="How many changes the log holds, on all pages.")
    resume_cursor: str = Field(
        description="Always present: pass as `cursor` later to get only the changes made "
        "after this page (on the last page, poll with it).",
        json_schema_extra=CURSOR_SCHEMA,
    )

    @classmethod
    def from_page(
        cls, page: FeedPage, *, limit: int, next_cursor: str | None, resume_cursor: str
    ) -> "ChangeFeed":
        # Validated in one call, the entries read by attribute: every poll builds one.
        return cls.model_validate(
            {
                "items": page.items,
                "total": page.total,
                "limit": limit,
                "next_cursor": next_cursor,
                "resume_cursor": resume_cursor,
            },
            from_attributes=True,
        )


class ExportHeader(BaseModel):
    """The first line of an export."""

    kind: Literal["catalogue"] = Field(default="catalogue", description="Always `catalogue`.")
    version: str = Field(description="The catalogue version the export is a copy of.")
    updated_at: datetime = Field(description="When that version was made (UTC).")
    resume_cursor: str = Field(
        description="Pass as `cursor` to `GET /v1/changes` for the changes made after this export.",
        json_schema_extra=CURSOR_SCHEMA,
    )


class ProposalIn(BaseModel):
    """A change to propose: the resource's kind and slug, what to do, the version it
    was made against, the resource in the seed format, and why."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.PROPOSAL_IN]}
    )

    kind: ResourceKind = Field(description="What kind of resource to change.")
    action: ProposalAction = Field(description="`create`, `update` or `delete` it.")
    slug: str = Field(
        pattern=SLUG_PATTERN, max_length=SLUG_MAX_LENGTH, description="The resource's slug."
    )
    base_version: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="The resource's `version` the change was made against: required to "
        "update or delete (a stale one is a 409), absent to create.",
    )
    data: dict[str, Any] | None = Field(
        default=None,
        description="The whole resource in the seed format (see the seed README), as "
        "JSON; for a source, also its `document_text` (at most 1 MiB of UTF-8). Null to "
        "delete.",
    )
    reason: str = Field(min_length=1, max_length=2000, description="Why: for the reviewer.")


class DecisionIn(BaseModel):
    """A reviewer's decision: why (required to reject)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None, min_length=1, max_length=2000, description="Why, for the author."
    )


class RejectionIn(DecisionIn):
    """A reviewer's rejection: why is required."""

    reason: str = Field(min_length=1, max_length=2000, description="Why, for the author.")


class ProposalOut(BaseModel):
    """A proposal and, once decided, its decision."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.PROPOSAL]})

    id: int = Field(description="The proposal's id.")
    kind: ResourceKind = Field(description="What kind of resource it changes.")
    action: ProposalAction = Field(description="`create`, `update` or `delete`.")
    slug: str = Field(description="The resource's slug.")
    base_version: int | None = Field(
        description="The resource's version it was made against; null to create."
    )
    data: dict[str, Any] | None = Field(
        description="The proposed resource in the seed format (a source's document text "
        "is left out: see `document_sha256`)."
    )
    document_sha256: str | None = Field(
        default=None, description="A proposed source's document's SHA-256."
    )
    reason: str = Field(description="Why, as its author says.")
    status: ProposalStatus = Field(
        description="`open` until a reviewer approves or rejects it, or its author withdraws it."
    )
    author: str = Field(description="The name of the key that proposed it.")
    created_at: datetime = Field(description="When it was proposed (UTC).")
    decided_by: str | None = Field(description="The name of the key that decided it.")
    decided_at: datetime | None = Field(description="When it was decided (UTC).")
    decision_reason: str | None = Field(description="Why, as the reviewer says.")

    @classmethod
    def from_row(cls, row: Proposal) -> "ProposalOut":
        return cls(
            id=row.id or 0,
            kind=row.kind,
            action=row.action,
            slug=row.slug,
            base_version=row.base_version,
            data=row.data,
            document_sha256=row.document_sha256,
            reason=row.reason,
            status=row.status,
            author=row.author,
            created_at=_utc(row.created_at),
            decided_by=row.decided_by,
            decided_at=_utc(row.decided_at) if row.decided_at else None,
            decision_reason=row.decision_reason,
        )


class ProposalDetail(ProposalOut):
    """A proposal, with a new or changed source's document text for its reviewer."""

    document_text: str | None = Field(
        default=None,
        description="A proposed source's document (what its quotes are checked against).",
    )

    @classmethod
    def from_row(cls, row: Proposal) -> "ProposalDetail":
        return cls(**ProposalOut.from_row(row).model_dump(), document_text=row.document_text)


class CatalogueCounts(BaseModel):
    """How many of each thing the catalogue holds."""

    exercises: int = Field(description="Exercises.")
    phases: int = Field(description="Rehab phases.")
    goals: int = Field(description="Goals.")
    conditions: int = Field(description="Conditions.")
    sources: int = Field(description="Source documents.")
    evidence: int = Field(description="Quotes from the sources, over all exercises.")


class CatalogueInfo(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CATALOGUE]})

    version: str = Field(description="Changes whenever the content changes.")
    updated_at: datetime = Field(description="When the content last changed.")
    counts: CatalogueCounts = Field(description="How many of each thing it holds.")


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.HEALTH]})

    status: str = Field(description="`ok`.")
    checks: dict[str, str] = Field(
        default={},
        description="For readiness: each check and its result (`database`, and the "
        "`migrations` revision the database is at).",
    )


class SearchInfo(BaseModel):
    """How `q` was searched."""

    query: str = Field(description="`q` as given.")
    matched: SearchMatch = Field(
        description="`all`: every word matched; `any`: nothing had every word, so items "
        "with any of them, most words first; `corrected`: nothing had any, so misspelt "
        "words were corrected against the catalogue's vocabulary and searched again."
    )
    corrected_query: str | None = Field(
        description="With `corrected`: the words searched for instead; otherwise null."
    )

    @staticmethod
    def from_outcome(outcome: SearchOutcome | None) -> "SearchInfo | None":
        if outcome is None:
            return None
        return SearchInfo(
            query=outcome.query,
            matched=outcome.matched,
            corrected_query=outcome.corrected_query,
        )


class FacetValue(BaseModel):
    value: str = Field(description="A slug or vocabulary value of the field.")
    count: int = Field(description="Exercises of the list with this value.")


def _absent(value: Any) -> bool:
    return value is None


class ExercisePage(Page[ExerciseItem]):
    """The exercise list's envelope: with `q` its `search`, with `facets` their counts."""

    # Present only when asked for (`exclude_if`), so a list without them is unchanged.
    search: SearchInfo | None = Field(
        default=None,
        exclude_if=_absent,
        description="With `q`: how it was searched. Absent without `q`.",
    )
    facets: dict[Facet, list[FacetValue]] | None = Field(
        default=None,
        exclude_if=_absent,
        description="With `facets`: per field asked for, the count of each value over the "
        "whole list, ignoring that field's own filter (disjunctive). Absent without.",
    )

    @staticmethod
    def facets_of(counted: dict[Facet, list[FacetCount]] | None) -> Any:
        if counted is None:
            return None
        return {
            facet: [FacetValue(value=c.value, count=c.count) for c in counts]
            for facet, counts in counted.items()
        }


class Suggestion(BaseModel):
    text: str = Field(description="What to show and, once chosen, to search for.")
    kind: SuggestionKind = Field(description="What it names.")
    slug: str = Field(description="The slug of what it names (an exercise's, for an alias).")


class SuggestionList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SUGGESTIONS]})

    items: list[Suggestion] = Field(description="The completions, best first.")

    @staticmethod
    def from_rows(rows: Sequence[SuggestionRow]) -> "SuggestionList":
        return SuggestionList(
            items=[Suggestion(text=row.text, kind=row.kind, slug=row.slug) for row in rows]
        )
