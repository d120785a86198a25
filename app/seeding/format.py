"""The human-editable catalogue format in `seed/catalogue/`, validated by pydantic.

One YAML file per exercise (so a curator's change touches one file and every error
names it), plus one file each for sources, phases, goals and conditions. Checks that
need more than one file (slugs that must exist, quotes that must match a document)
live in `app.seeding.reading`.
"""

import hashlib
import json
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from app.vocabulary import (
    SLUG_MAX_LENGTH,
    SLUG_PATTERN,
    Category,
    ConditionKind,
    Difficulty,
    EvidenceField,
    InstructionsBasis,
    PhaseBasis,
    PhaseSlug,
    Position,
    RetiredKind,
    Severity,
    SourceKind,
    Stance,
    TextQuality,
)


def digest(value: Any) -> str:
    """SHA-256 of `value` as canonical JSON, entries as their fields: equal content,
    equal digest."""

    def default(item: Any) -> Any:
        if isinstance(item, BaseModel):
            return item.model_dump(mode="json")
        raise TypeError(f"cannot hash {type(item).__name__}")

    canonical = json.dumps(value, default=default, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# The sum a catalogue version is the hash of: one term per resource, added mod 2**256,
# so that a change to one resource moves the version without reading the others, and
# equal content always has an equal version, however it was written.
_SUM_MODULUS = 1 << 256


def resource_term(kind: str, slug: str, content_hash: str) -> int:
    """One resource's share of the catalogue's content sum."""
    hashed = hashlib.sha256(f"{kind}\0{slug}\0{content_hash}".encode()).digest()
    return int.from_bytes(hashed, "big")


class ContentSum:
    """The catalogue's content as a sum of one hash per resource (`resource_term`)."""

    def __init__(self, value: int = 0):
        self.value = value % _SUM_MODULUS

    @classmethod
    def parse(cls, text: str) -> "ContentSum":
        return cls(int(text, 16))

    def add(self, kind: str, slug: str, content_hash: str) -> None:
        self.value = (self.value + resource_term(kind, slug, content_hash)) % _SUM_MODULUS

    def remove(self, kind: str, slug: str, content_hash: str) -> None:
        self.value = (self.value - resource_term(kind, slug, content_hash)) % _SUM_MODULUS

    def hex(self) -> str:
        return f"{self.value:064x}"

    def version(self) -> str:
        """The catalogue version: equal content, equal version."""
        return hashlib.sha256(self.hex().encode()).hexdigest()


def text_quality(start: int, end: int, garbled_regions: Sequence[Sequence[int]]) -> TextQuality:
    """`garbled` when the span [start, end) of a document reaches into one of its
    garbled regions, else `clear`."""
    for region_start, region_end in garbled_regions:
        if start < region_end and end > region_start:
            return TextQuality.garbled
    return TextQuality.clear


Slug = Annotated[str, Field(pattern=SLUG_PATTERN, max_length=SLUG_MAX_LENGTH)]
# Catalogue prose: a summary, a step, a note. Long enough for any, not for a document.
TEXT_MAX_LENGTH = 10_000
Text = Annotated[str, Field(min_length=1, max_length=TEXT_MAX_LENGTH)]
OptionalText = Annotated[str, Field(max_length=TEXT_MAX_LENGTH)] | None
# A name or title. An exercise's name is in btree indexes (with its slug and ids), whose
# rows PostgreSQL caps at about 2.7 kB: 200 characters is at most 800 bytes of UTF-8.
NAME_MAX_LENGTH = 200
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX_LENGTH)]
# What a database integer column holds (PostgreSQL's INTEGER is 32-bit).
MAX_INT = 2**31 - 1

# How many items each list of an entry may hold: many times what any entry needs. Even
# without the bound on a whole exercise below, the name, summary and steps that
# PostgreSQL's search vector holds (at most 1 MiB of words) would stay under it:
# 200 + 10,000 + 20 x 10,000 characters is at most 841 kB of UTF-8.
MAX_STEPS = 20
MAX_ITEMS = 50  # aliases, cues, mistakes, notes, equipment, regions, goals, progressions
MAX_CONTRAINDICATIONS = 100
MAX_EVIDENCE = 500
MAX_GARBLED_REGIONS = 1000
# An exercise entry, as JSON: it is served whole (and responses over 1 MiB are not
# cached), so the whole entry is bounded, not only each of its fields.
MAX_EXERCISE_BYTES = 256 * 1024
# The most a catalogue file (YAML) may hold, checked before it is parsed: an exercise
# file (room for comments around a largest entry), and a list of terms.
MAX_EXERCISE_FILE_BYTES = 1024 * 1024
MAX_LIST_FILE_BYTES = 16 * 1024 * 1024
# How deep a catalogue file may nest (the format needs 5 levels).
MAX_YAML_DEPTH = 20


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SluggedEntry(Strict):
    """An entry other entries refer to by its slug."""

    slug: str


def _range_from_yaml(value: Any) -> Any:
    """Accept `30` (exactly 30) or `[15, 30]` (15 to 30) for a dose."""
    if isinstance(value, bool):
        return value  # let validation reject it: YAML `yes` is not a dose
    if isinstance(value, int):
        return {"min": value, "max": value}
    if isinstance(value, list | tuple) and len(value) == 2:
        return {"min": value[0], "max": value[1]}
    return value


class DoseRange(Strict):
    min: Annotated[int, Field(strict=True, ge=0, le=MAX_INT)]
    max: Annotated[int, Field(strict=True, ge=0, le=MAX_INT)]

    @model_validator(mode="after")
    def _ordered(self) -> "DoseRange":
        if self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


Dose = Annotated[DoseRange | None, BeforeValidator(_range_from_yaml)]


class DosageEntry(Strict):
    hold_seconds: Dose = None
    reps: Dose = None
    sets: Dose = None
    rest_seconds: Dose = None
    per_day: Dose = None
    per_week: Dose = None
    duration_seconds: Dose = None
    note: OptionalText = None

    def stated_fields(self) -> list[str]:
        """Names of the numeric fields the sources state (those that are not null)."""
        return [name for name in DOSE_FIELDS if getattr(self, name) is not None]


DOSE_FIELDS = (
    "hold_seconds",
    "reps",
    "sets",
    "rest_seconds",
    "per_day",
    "per_week",
    "duration_seconds",
)


class PhaseMembershipEntry(Strict):
    phase: PhaseSlug
    order: Annotated[int, Field(strict=True, ge=0, le=MAX_INT)]
    caution: bool = False
    basis: PhaseBasis = Field(
        description="`stated`: a source places this exercise (or its situation) in this "
        "phase, with `phase` evidence; `inferred`: the editors' reading, which the note "
        "explains."
    )
    note: OptionalText = None

    @model_validator(mode="after")
    def _inferred_says_from_what(self) -> "PhaseMembershipEntry":
        if self.basis == PhaseBasis.inferred and not (self.note and self.note.strip()):
            raise ValueError("an inferred phase needs a note saying what it is inferred from")
        return self


class ContraindicationEntry(Strict):
    condition: Slug
    severity: Severity
    note: Text


class EvidenceEntry(Strict):
    source: Slug
    field: EvidenceField
    subject: Slug | None = Field(
        default=None,
        description="The phase, goal or condition slug the claim is about, for those fields.",
    )
    stance: Stance
    quote: Text
    start: Annotated[int, Field(strict=True, ge=0, le=MAX_INT)]
    end: Annotated[int, Field(strict=True, ge=1, le=MAX_INT)]

    @model_validator(mode="after")
    def _span_matches_quote(self) -> "EvidenceEntry":
        if self.end - self.start != len(self.quote):
            raise ValueError(
                f"start {self.start} and end {self.end} span {self.end - self.start} "
                f"characters but the quote has {len(self.quote)}"
            )
        return self


class ExerciseEntry(SluggedEntry):
    slug: Slug
    name: Name
    aliases: list[Name] = Field(
        default=[], max_length=MAX_ITEMS, description="Other names people search by."
    )
    summary: Text
    category: Category
    position: Position | None = None
    equipment: list[Slug] = Field(min_length=1, max_length=MAX_ITEMS)
    body_regions: list[Slug] = Field(min_length=1, max_length=MAX_ITEMS)
    difficulty: Difficulty
    instructions_basis: InstructionsBasis
    instructions: list[Text] = Field(min_length=1, max_length=MAX_STEPS)
    cues: list[Text] = Field(default=[], max_length=MAX_ITEMS)
    mistakes: list[Text] = Field(
        default=[], max_length=MAX_ITEMS, description="Technique errors to avoid."
    )
    dosage: DosageEntry = DosageEntry()
    # Possibly none: when neither a source nor a sound inference places the exercise.
    phases: list[PhaseMembershipEntry] = Field(default=[], max_length=len(PhaseSlug))
    goals: list[Slug] = Field(min_length=1, max_length=MAX_ITEMS)
    contraindications: list[ContraindicationEntry] = Field(
        default=[], max_length=MAX_CONTRAINDICATIONS
    )
    progressions: list[Slug] = Field(
        default=[],
        max_length=MAX_ITEMS,
        description="Slugs of harder exercises this one leads on to.",
    )
    evidence: list[EvidenceEntry] = Field(min_length=1, max_length=MAX_EVIDENCE)

    @model_validator(mode="after")
    def _bounded(self) -> "ExerciseEntry":
        size = len(self.model_dump_json().encode("utf-8"))
        if size > MAX_EXERCISE_BYTES:
            raise ValueError(
                f"the exercise is {size} bytes as JSON; at most {MAX_EXERCISE_BYTES} are accepted"
            )
        return self


def canonical(entry: ExerciseEntry) -> ExerciseEntry:
    """`entry` with its unordered lists (equipment, regions, goals, progressions,
    contraindications, phases) in one order: as the database keeps it, and so as the
    catalogue's export writes it back."""
    phase_order = list(PhaseSlug)
    return entry.model_copy(
        update={
            "equipment": sorted(entry.equipment),
            "body_regions": sorted(entry.body_regions),
            "goals": sorted(entry.goals),
            "progressions": sorted(entry.progressions),
            "contraindications": sorted(entry.contraindications, key=lambda c: c.condition),
            "phases": sorted(entry.phases, key=lambda p: phase_order.index(p.phase)),
        }
    )


class SourceEntry(SluggedEntry):
    slug: Slug
    title: Text
    kind: SourceKind
    author: Annotated[str, Field(max_length=1000)] | None = None
    publisher: Annotated[str, Field(max_length=1000)] | None = None
    file: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")] = Field(
        description="The document's file name beside the catalogue (no directories)."
    )
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    credibility_notes: list[Text] = Field(default=[], max_length=MAX_ITEMS)
    garbled_regions: list[
        tuple[Annotated[int, Field(ge=0, le=MAX_INT)], Annotated[int, Field(ge=1, le=MAX_INT)]]
    ] = Field(
        default=[],
        max_length=MAX_GARBLED_REGIONS,
        description="[start, end) character ranges where the scraped text is scrambled.",
    )

    @model_validator(mode="after")
    def _file_beside_the_catalogue(self) -> "SourceEntry":
        if self.file.lower() == "catalogue":
            raise ValueError("file: 'catalogue' is the catalogue's own directory")
        return self

    @model_validator(mode="after")
    def _regions_in_order(self) -> "SourceEntry":
        previous_end = 0
        for start, end in self.garbled_regions:
            if not previous_end <= start < end:
                raise ValueError(
                    "garbled_regions must be [start, end) ranges, start < end, in order "
                    "and not overlapping"
                )
            previous_end = end
        return self

    def text_quality(self, start: int, end: int) -> TextQuality:
        return text_quality(start, end, self.garbled_regions)


class PhaseEntry(SluggedEntry):
    slug: PhaseSlug
    name: Name
    order: Annotated[int, Field(strict=True, ge=1, le=MAX_INT)]
    description: Text
    criteria_to_progress: Text


class TermEntry(SluggedEntry):
    """A goal (and the fields a condition has too)."""

    slug: Slug
    name: Name
    description: Text


class ConditionEntry(TermEntry):
    kind: ConditionKind


class RetiredEntry(Strict):
    """A slug that no longer exists: renamed (to its successor) or removed."""

    kind: RetiredKind
    slug: Slug
    successor: Slug | None = None
    note: Text


def exercise_hash(entry: ExerciseEntry, regressions: Sequence[str]) -> str:
    """The content hash of an exercise: its entry (in canonical order), and the easier
    exercises leading to it (shown on it, though recorded on them)."""
    return digest({"entry": canonical(entry), "regressions": sorted(regressions)})


def retired_resource(entry: RetiredEntry) -> tuple[str, str, str]:
    """A retired slug as a resource of the catalogue version: (kind, slug, hash)."""
    return "retired", f"{entry.kind}/{entry.slug}", digest(entry)


# The seed format's entry for each kind of term.
TERM_ENTRIES: dict[str, type[SluggedEntry]] = {
    "source": SourceEntry,
    "phase": PhaseEntry,
    "goal": TermEntry,
    "condition": ConditionEntry,
}
