"""The checks an entry must pass besides its own format, shared by seeding (every entry
of the files, against the whole catalogue) and by curation (one proposed entry, against
what the database holds): references resolve, quotes are verbatim at their offsets, no
claim rests on garbled text alone, stated phases and sourced steps have their evidence.

A problem names its place in the entry by JSON Pointer (RFC 6901); seeding prints it as
`evidence[0].quote`, the API answers it as `/data/evidence/0/quote`."""

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.seeding.format import ExerciseEntry, SourceEntry, text_quality
from app.vocabulary import EvidenceField, InstructionsBasis, PhaseBasis, TextQuality

MAX_DOCUMENT_BYTES = 1 << 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an entry, at `pointer` within it ("" for the entry itself)."""

    pointer: str
    message: str


@dataclass(frozen=True)
class CitedSource:
    """What evidence is checked against: a source's text (None if it has none to check
    against) and the regions of it that are garbled."""

    document: str | None
    garbled_regions: Sequence[Sequence[int]]


@dataclass(frozen=True)
class Known:
    """The slugs an entry may refer to, by kind, and the sources it may cite. Seeding
    passes the whole catalogue; curation only what one entry names."""

    phases: Collection[str]
    goals: Collection[str]
    conditions: Collection[str]
    exercises: Collection[str]
    sources: Mapping[str, CitedSource]


# The entry field each kind of evidence backs (where a claim's problem is reported).
CLAIMED_FIELD = {
    EvidenceField.summary: "summary",
    EvidenceField.instructions: "instructions",
    EvidenceField.dosage: "dosage",
    EvidenceField.phase: "phases",
    EvidenceField.goal: "goals",
    EvidenceField.contraindication: "contraindications",
    EvidenceField.mistakes: "mistakes",
    EvidenceField.progression: "progressions",
}


def dotted(pointer: str) -> str:
    """A JSON Pointer as seeding prints it: `/evidence/0/quote` -> `evidence[0].quote`."""
    out = ""
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        out += f"[{part}]" if part.isdigit() else f".{part}" if out else part
    return out


def pointer(*parts: str | int) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def format_problems(error: ValidationError) -> list[Problem]:
    """Pydantic's errors for an entry, one problem per field."""
    return [Problem(pointer(*item["loc"]), item["msg"]) for item in error.errors()]


def unstorable_strings(value: Any, at: str = "") -> list[str]:
    """JSON Pointers of the strings (keys too) in `value` that no database can store:
    with a NUL character (PostgreSQL text cannot hold one) or a lone surrogate (not
    UTF-8)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return [at]
        return [at] if "\x00" in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            found += unstorable_strings(
                str(key), at + "/" + str(key).replace("~", "~0").replace("/", "~1")
            )
            found += unstorable_strings(
                item, at + "/" + str(key).replace("~", "~0").replace("/", "~1")
            )
        return list(dict.fromkeys(found))
    if isinstance(value, list):
        return [
            p for index, item in enumerate(value) for p in unstorable_strings(item, f"{at}/{index}")
        ]
    return []


def check_exercise(entry: ExerciseEntry, known: Known) -> list[Problem]:
    """Everything about an exercise that its format alone cannot tell."""
    problems: list[Problem] = []
    references: tuple[tuple[str, Sequence[str], Collection[str]], ...] = (
        ("goals", entry.goals, known.goals),
        ("contraindications", [c.condition for c in entry.contraindications], known.conditions),
        ("progressions", entry.progressions, known.exercises),
    )
    for name, slugs, existing in references:
        for index, slug in enumerate(slugs):
            if slug not in existing or (name == "progressions" and slug == entry.slug):
                at = pointer(name, index, "condition") if name == "contraindications" else None
                problems.append(Problem(at or pointer(name, index), f"unknown slug '{slug}'"))
    listed: tuple[tuple[str, Sequence[str]], ...] = (
        ("goals", entry.goals),
        ("phases", [p.phase for p in entry.phases]),
        ("contraindications", [c.condition for c in entry.contraindications]),
        ("progressions", entry.progressions),
        ("equipment", entry.equipment),
        ("body_regions", entry.body_regions),
    )
    for name, slugs in listed:
        if len(set(slugs)) != len(slugs):
            problems.append(Problem(pointer(name), "listed twice"))
    fields = {item.field for item in entry.evidence}
    if entry.dosage.stated_fields() and EvidenceField.dosage not in fields:
        problems.append(Problem("/dosage", "numbers given but no evidence with field 'dosage'"))
    if entry.instructions_basis == InstructionsBasis.sourced and (
        EvidenceField.instructions not in fields
    ):
        problems.append(
            Problem(
                "/instructions_basis",
                "'sourced', but no evidence with field 'instructions' (mark the steps "
                "'editorial' if no source describes them)",
            )
        )
    if entry.mistakes and EvidenceField.mistakes not in fields:
        problems.append(Problem("/mistakes", "listed but no evidence with field 'mistakes'"))
    phase_evidence = {item.subject for item in entry.evidence if item.field == EvidenceField.phase}
    for index, membership in enumerate(entry.phases):
        if membership.basis == PhaseBasis.stated and membership.phase not in phase_evidence:
            problems.append(
                Problem(
                    pointer("phases", index, "basis"),
                    f"'{membership.phase}' is stated, but no evidence with field 'phase' and "
                    f"subject '{membership.phase}' says so",
                )
            )
    problems += _check_evidence(entry, known)
    return problems


def _check_evidence(entry: ExerciseEntry, known: Known) -> list[Problem]:
    problems: list[Problem] = []
    subjects: dict[EvidenceField, Collection[str]] = {
        EvidenceField.phase: known.phases,
        EvidenceField.goal: known.goals,
        EvidenceField.contraindication: known.conditions,
        EvidenceField.progression: known.exercises,
    }
    # Each claim (field and subject), and whether any of its quotes is clear.
    claims: dict[tuple[EvidenceField, str | None], bool] = {}
    for index, item in enumerate(entry.evidence):
        source = known.sources.get(item.source)
        if source is None:
            problems.append(
                Problem(pointer("evidence", index, "source"), f"unknown source '{item.source}'")
            )
        elif source.document is None:
            problems.append(
                Problem(
                    pointer("evidence", index, "quote"),
                    f"no text of '{item.source}' to check the quote against",
                )
            )
        elif source.document[item.start : item.end] != item.quote:
            found = source.document.find(item.quote)
            hint = f" (it is at {found}..{found + len(item.quote)})" if found >= 0 else ""
            problems.append(
                Problem(
                    pointer("evidence", index, "quote"),
                    f"not found verbatim at {item.start}..{item.end} of '{item.source}'{hint}",
                )
            )
        known_subjects = subjects.get(item.field)
        if item.subject and known_subjects is not None and item.subject not in known_subjects:
            problems.append(
                Problem(
                    pointer("evidence", index, "subject"),
                    f"unknown {item.field} '{item.subject}'",
                )
            )
        clear = source is None or (
            text_quality(item.start, item.end, source.garbled_regions) == TextQuality.clear
        )
        claim = (item.field, item.subject)
        claims[claim] = claims.get(claim, False) or clear
    for (field, subject), any_clear in claims.items():
        if not any_clear:
            about = f"'{subject}' " if subject else ""
            problems.append(
                Problem(
                    pointer(CLAIMED_FIELD[field]),
                    f"{about}rests on garbled text alone (every quote for it lies in a "
                    "garbled region); add a clear quote or drop the claim",
                )
            )
    return problems


def check_source(entry: SourceEntry, document: str | None) -> list[Problem]:
    """A source against its document text (when there is one to check against)."""
    if document is None:
        return []
    problems = []
    raw = document.encode("utf-8")
    if len(raw) > MAX_DOCUMENT_BYTES:
        problems.append(
            Problem(
                "/document_text",
                f"{len(raw)} bytes of UTF-8; at most {MAX_DOCUMENT_BYTES} are accepted",
            )
        )
    computed = hashlib.sha256(raw).hexdigest()
    if computed != entry.sha256:
        problems.append(
            Problem(
                "/sha256",
                f"the document's SHA-256 is {computed}, not {entry.sha256} "
                "(the document changed: offsets may no longer hold)",
            )
        )
    for index, (start, end) in enumerate(entry.garbled_regions):
        if end > len(document):
            problems.append(
                Problem(
                    pointer("garbled_regions", index),
                    f"garbled region [{start}, {end}) runs past the end of the document "
                    f"({len(document)} characters)",
                )
            )
    return problems


def progression_cycles(harder: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """The cycles in a graph of progressions (each exercise's harder ones), each as the
    path that closes it."""
    cycles = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(slug: str, path: list[str]) -> None:
        state[slug] = 1
        for following in harder.get(slug, []):
            if state.get(following) == 1:
                cycles.append([*path[path.index(following) :], following])
            elif following not in state:
                visit(following, [*path, following])
        state[slug] = 2

    for slug in sorted(harder):
        if slug not in state:
            visit(slug, [slug])
    return cycles
