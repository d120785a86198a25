"""Read the catalogue files in `seed/catalogue/` and check them against the source
documents: never touches the database, and raises `SeedError` naming the file, the
exercise and the field of every problem it finds."""

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app.errors import SeedError
from app.seeding.format import (
    ConditionEntry,
    ExerciseEntry,
    PhaseEntry,
    RetiredEntry,
    SluggedEntry,
    SourceEntry,
    TermEntry,
    digest,
)
from app.vocabulary import (
    EvidenceField,
    InstructionsBasis,
    PhaseBasis,
    PhaseSlug,
    RetiredKind,
    TextQuality,
)

Entry = TypeVar("Entry", bound=SluggedEntry)
Listed = TypeVar("Listed", bound=BaseModel)


@dataclass(frozen=True)
class Catalogue:
    """A validated catalogue, ready to write."""

    sources: list[SourceEntry]
    phases: list[PhaseEntry]
    goals: list[TermEntry]
    conditions: list[ConditionEntry]
    exercises: list[ExerciseEntry]
    retired: list[RetiredEntry] = field(default_factory=list)

    def version(self) -> str:
        """A hash of the whole content: equal catalogues have equal versions."""
        return digest(
            {
                "sources": self.sources,
                "phases": self.phases,
                "goals": self.goals,
                "conditions": self.conditions,
                "exercises": sorted(self.exercises, key=lambda entry: entry.slug),
                "retired": self.retired,
            }
        )

    def regressions(self) -> dict[str, list[str]]:
        """For each exercise, the easier exercises that lead on to it."""
        easier: dict[str, list[str]] = defaultdict(list)
        for exercise in self.exercises:
            for harder in exercise.progressions:
                easier[harder].append(exercise.slug)
        return {slug: sorted(slugs) for slug, slugs in easier.items()}


def read_catalogue(catalogue_dir: Path, documents_dir: Path) -> Catalogue:
    """Read the catalogue files in `catalogue_dir` and check them against the source
    documents in `documents_dir` (in the project: `seed/catalogue/` and `seed/`)."""
    problems: list[str] = []
    sources = _read_list(catalogue_dir / "sources.yaml", SourceEntry, problems)
    phases = _read_list(catalogue_dir / "phases.yaml", PhaseEntry, problems)
    goals = _read_list(catalogue_dir / "goals.yaml", TermEntry, problems)
    conditions = _read_list(catalogue_dir / "conditions.yaml", ConditionEntry, problems)
    retired = _read_retired(catalogue_dir / "retired.yaml", problems)
    exercise_files = sorted((catalogue_dir / "exercises").glob("*.yaml"))
    # Anything else there would be skipped, and seeding would delete its exercise.
    problems += [
        f"{path}: not read: exercise files are named <slug>.yaml"
        for path in sorted((catalogue_dir / "exercises").glob("*"))
        if path.suffix != ".yaml" and not path.name.startswith(".")
    ]
    if not exercise_files:
        problems.append(f"{catalogue_dir / 'exercises'}: no exercise files (*.yaml)")
    exercises: list[tuple[Path, ExerciseEntry]] = []
    for path in exercise_files:
        entry = _read_one(path, ExerciseEntry, problems)
        if entry is not None:
            if entry.slug != path.stem:
                problems.append(f"{path}: slug '{entry.slug}' must match the file name")
            exercises.append((path, entry))
    if problems:
        raise SeedError(problems)
    catalogue = Catalogue(
        sources=sources,
        phases=phases,
        goals=goals,
        conditions=conditions,
        exercises=[entry for _, entry in exercises],
        retired=retired,
    )
    documents = _read_documents(documents_dir, catalogue_dir / "sources.yaml", sources, problems)
    problems += check_catalogue(catalogue, exercises, documents)
    if problems:
        raise SeedError(problems)
    return catalogue


def _load_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        problems.append(f"{path}: not valid YAML: {error}")
    return None


def _validation_problems(path: Path, error: ValidationError, prefix: str = "") -> list[str]:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        problems.append(f"{path}: {prefix}{location}: {item['msg']}")
    return problems


def _read_one(path: Path, model: type[Entry], problems: list[str]) -> Entry | None:
    before = len(problems)
    data = _load_yaml(path, problems)
    if data is None:
        if len(problems) == before:  # read, but empty or comments only
            problems.append(f"{path}: empty (a truncated file would delete its exercise)")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        slug = data.get("slug", "?") if isinstance(data, dict) else "?"
        problems += _validation_problems(path, error, prefix=f"exercise '{slug}': ")
        return None


def _read_list(
    path: Path,
    model: type[Listed],
    problems: list[str],
    key: Callable[[Listed], str] = attrgetter("slug"),
) -> list[Listed]:
    """The entries of a list file, each unique by `key` (by default its slug)."""
    data = _load_yaml(path, problems)
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(f"{path}: expected a list of entries")
        return []
    entries = []
    for index, item in enumerate(data):
        try:
            entries.append(model.model_validate(item))
        except ValidationError as error:
            problems += _validation_problems(path, error, prefix=f"entry {index}: ")
    _check_unique(path, [key(entry) for entry in entries], problems)
    return entries


def _read_retired(path: Path, problems: list[str]) -> list[RetiredEntry]:
    """The retired slugs, if the catalogue has retired any (the file is optional)."""
    if not path.exists():
        return []
    return _read_list(path, RetiredEntry, problems, key=lambda entry: f"{entry.kind} {entry.slug}")


def _check_unique(where: Path, slugs: Iterable[str], problems: list[str]) -> None:
    seen: set[str] = set()
    for slug in slugs:
        if slug in seen:
            problems.append(f"{where}: duplicate slug '{slug}'")
        seen.add(slug)


def _read_documents(
    documents_dir: Path, sources_file: Path, sources: list[SourceEntry], problems: list[str]
) -> dict[str, str]:
    """The text of each source document, by source slug, checked against its SHA-256."""
    documents = {}
    for source in sources:
        path = documents_dir / source.file
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            problems.append(f"{sources_file}: source '{source.slug}': file {path} not found")
            continue
        digest = hashlib.sha256(raw).hexdigest()
        if digest != source.sha256:
            problems.append(
                f"{sources_file}: source '{source.slug}': sha256 of {path} is {digest}, "
                f"not {source.sha256} (the document changed: offsets may no longer hold)"
            )
        documents[source.slug] = raw.decode("utf-8")
    return documents


def check_catalogue(
    catalogue: Catalogue,
    exercises: Sequence[tuple[Path, ExerciseEntry]],
    documents: dict[str, str],
) -> list[str]:
    """Checks across files: references resolve, quotes match, no claim rests on garbled
    text alone, stated phases have their evidence, progressions are acyclic."""
    problems: list[str] = []
    sources = {source.slug: source for source in catalogue.sources}
    phase_slugs = sorted(phase.slug for phase in catalogue.phases)
    if phase_slugs != sorted(PhaseSlug):
        problems.append(f"phases.yaml: expected exactly the phases {sorted(PhaseSlug)}")
    goals = {goal.slug for goal in catalogue.goals}
    conditions = {condition.slug for condition in catalogue.conditions}
    exercise_slugs = {entry.slug for _, entry in exercises}
    _check_unique(Path("exercises"), [entry.slug for _, entry in exercises], problems)
    subjects: dict[EvidenceField, set[str]] = {
        EvidenceField.phase: set(phase_slugs),
        EvidenceField.goal: goals,
        EvidenceField.contraindication: conditions,
        EvidenceField.progression: exercise_slugs,
    }

    problems += _check_garbled_regions(catalogue.sources, documents)
    problems += _check_retired(catalogue)

    for path, entry in exercises:
        where = f"{path}: exercise '{entry.slug}'"

        unknown = (
            ("goals", [slug for slug in entry.goals if slug not in goals]),
            (
                "contraindications",
                [c.condition for c in entry.contraindications if c.condition not in conditions],
            ),
            # Not another exercise: a slug nothing has, or the exercise's own. (No set
            # difference per exercise: that is quadratic in the catalogue's size.)
            (
                "progressions",
                [s for s in entry.progressions if s not in exercise_slugs or s == entry.slug],
            ),
        )
        for field_name, values in unknown:
            problems += [f"{where}: {field_name}: unknown slug '{value}'" for value in values]
        listed: tuple[tuple[str, Sequence[str]], ...] = (
            ("goals", entry.goals),
            ("phases", [p.phase for p in entry.phases]),
            ("contraindications", [c.condition for c in entry.contraindications]),
            ("progressions", entry.progressions),
            ("equipment", entry.equipment),
            ("body_regions", entry.body_regions),
        )
        for name, listed_slugs in listed:
            if len(set(listed_slugs)) != len(listed_slugs):
                problems.append(f"{where}: {name}: listed twice")
        if entry.dosage.stated_fields() and not any(
            item.field == EvidenceField.dosage for item in entry.evidence
        ):
            problems.append(f"{where}: dosage: numbers given but no evidence with field 'dosage'")
        fields = {item.field for item in entry.evidence}
        if entry.instructions_basis == InstructionsBasis.sourced and (
            EvidenceField.instructions not in fields
        ):
            problems.append(
                f"{where}: instructions_basis: 'sourced', but no evidence with field "
                "'instructions' (mark the steps 'editorial' if no source describes them)"
            )
        if entry.mistakes and EvidenceField.mistakes not in fields:
            problems.append(f"{where}: mistakes: listed but no evidence with field 'mistakes'")
        phase_evidence = {
            item.subject for item in entry.evidence if item.field == EvidenceField.phase
        }
        for membership in entry.phases:
            if membership.basis == PhaseBasis.stated and membership.phase not in phase_evidence:
                problems.append(
                    f"{where}: phases: '{membership.phase}' is stated, but no evidence with "
                    f"field 'phase' and subject '{membership.phase}' says so"
                )
        # Each claim (field and subject) and whether any of its quotes is clear.
        claims: dict[tuple[str, str | None], bool] = {}
        for index, item in enumerate(entry.evidence):
            at = f"{where}: evidence[{index}]"
            document = documents.get(item.source)
            if document is None:
                problems.append(f"{at}.source: unknown source '{item.source}'")
            elif document[item.start : item.end] != item.quote:
                found = document.find(item.quote)
                hint = f" (it is at {found}..{found + len(item.quote)})" if found >= 0 else ""
                problems.append(
                    f"{at}.quote: not found verbatim at {item.start}..{item.end} "
                    f"of '{item.source}'{hint}"
                )
            known_subjects = subjects.get(item.field)
            if item.subject and known_subjects is not None and item.subject not in known_subjects:
                problems.append(f"{at}.subject: unknown {item.field} '{item.subject}'")
            source = sources.get(item.source)
            clear = source is None or source.text_quality(item.start, item.end) == TextQuality.clear
            claim = (str(item.field), item.subject)
            claims[claim] = claims.get(claim, False) or clear
        for (claim_field, subject), any_clear in claims.items():
            if not any_clear:
                about = f" '{subject}'" if subject else ""
                problems.append(
                    f"{where}: {claim_field}{about}: rests on garbled text alone (every quote for "
                    "it lies in a garbled region); add a clear quote or drop the claim"
                )
    problems += _progression_cycles([entry for _, entry in exercises])
    return problems


def _check_garbled_regions(sources: Sequence[SourceEntry], documents: dict[str, str]) -> list[str]:
    problems = []
    for source in sources:
        document = documents.get(source.slug)
        for start, end in source.garbled_regions:
            if document is not None and end > len(document):
                problems.append(
                    f"sources.yaml: source '{source.slug}': garbled region [{start}, {end}) "
                    f"runs past the end of the document ({len(document)} characters)"
                )
    return problems


def _check_retired(catalogue: Catalogue) -> list[str]:
    """A retired slug is no longer in use, and its successor (if any) is."""
    live = {
        RetiredKind.exercise: {entry.slug for entry in catalogue.exercises},
        RetiredKind.goal: {entry.slug for entry in catalogue.goals},
        RetiredKind.condition: {entry.slug for entry in catalogue.conditions},
    }
    problems = []
    for entry in catalogue.retired:
        where = f"retired.yaml: {entry.kind} '{entry.slug}'"
        if entry.slug in live[entry.kind]:
            problems.append(f"{where}: is retired but still in use")
        if entry.successor is not None and entry.successor not in live[entry.kind]:
            problems.append(f"{where}: successor '{entry.successor}' is not a {entry.kind}")
    return problems


def _progression_cycles(exercises: list[ExerciseEntry]) -> list[str]:
    harder = {entry.slug: entry.progressions for entry in exercises}
    problems = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(slug: str, path: list[str]) -> None:
        state[slug] = 1
        for following in harder.get(slug, []):
            if state.get(following) == 1:
                cycle = [*path[path.index(following) :], following]
                problems.append(f"progressions: cycle {' -> '.join(cycle)}")
            elif following not in state:
                visit(following, [*path, following])
        state[slug] = 2

    for slug in sorted(harder):
        if slug not in state:
            visit(slug, [slug])
    return problems
