"""Read the catalogue files in `seed/catalogue/` and check them against the source
documents: never touches the database, and raises `SeedError` naming the file, the
exercise and the field of every problem it finds."""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app.errors import SeedError
from app.seeding.checking import (
    MAX_DOCUMENT_BYTES,
    CitedSource,
    Known,
    check_exercise,
    check_source,
    dotted,
    format_problems,
    progression_cycles,
    unstorable_strings,
)
from app.seeding.format import (
    MAX_EXERCISE_FILE_BYTES,
    MAX_LIST_FILE_BYTES,
    MAX_YAML_DEPTH,
    ConditionEntry,
    ContentSum,
    ExerciseEntry,
    PhaseEntry,
    RetiredEntry,
    SluggedEntry,
    SourceEntry,
    TermEntry,
    digest,
    exercise_hash,
    retired_resource,
)
from app.vocabulary import PhaseSlug, RetiredKind

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

    # Each source's document text, by source slug.
    documents: dict[str, str] = field(default_factory=dict)

    def resource_hashes(self) -> Iterator[tuple[str, str, str]]:
        """(kind, slug, content hash) of every resource, retired slugs included: what
        the catalogue version sums."""
        terms: tuple[tuple[str, Sequence[SluggedEntry]], ...] = (
            ("source", self.sources),
            ("phase", self.phases),
            ("goal", self.goals),
            ("condition", self.conditions),
        )
        for kind, entries in terms:
            for entry in entries:
                yield kind, entry.slug, digest(entry)
        regressions = self.regressions()
        for exercise in self.exercises:
            yield (
                "exercise",
                exercise.slug,
                exercise_hash(exercise, regressions.get(exercise.slug, [])),
            )
        for retired in self.retired:
            yield retired_resource(retired)

    def version(self) -> str:
        """The version of the whole content: equal catalogues have equal versions, as
        does the database once this catalogue is written (see `ContentSum`)."""
        total = ContentSum()
        for kind, slug, content_hash in self.resource_hashes():
            total.add(kind, slug, content_hash)
        return total.version()

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
        entry = _read_one(path, ExerciseEntry, problems, max_bytes=MAX_EXERCISE_FILE_BYTES)
        if entry is not None:
            if entry.slug != path.stem:
                problems.append(f"{path}: slug '{entry.slug}' must match the file name")
            exercises.append((path, entry))
    if problems:
        raise SeedError(problems)
    documents = _read_documents(documents_dir, catalogue_dir / "sources.yaml", sources, problems)
    catalogue = Catalogue(
        sources=sources,
        phases=phases,
        goals=goals,
        conditions=conditions,
        exercises=[entry for _, entry in exercises],
        retired=retired,
        documents=documents,
    )
    problems += check_catalogue(catalogue, exercises, documents)
    if problems:
        raise SeedError(problems)
    return catalogue


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing documents nested deeper than the format needs:
    it composes nodes recursively, so deep enough nesting exhausts the stack."""

    def __init__(self, stream: str, name: str):
        super().__init__(stream)
        self.name = name  # for the marks in its errors
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self._depth >= MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"nested more than {MAX_YAML_DEPTH} levels deep",
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_text(path: Path, max_bytes: int, problems: list[str], where: str = "") -> str | None:
    """The UTF-8 text of the file at `path`; or None, with the problem added to
    `problems` as `where` (the path by default) and what is wrong: it is missing, not a
    file, larger than `max_bytes` (told before it is read) or not UTF-8."""
    where = where or str(path)
    try:
        if not path.is_file():
            problems.append(f"{where}: not a file" if path.exists() else f"{where}: file not found")
            return None
        size = path.stat().st_size
        if size > max_bytes:
            problems.append(f"{where}: {size} bytes; at most {max_bytes} are read")
            return None
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        problems.append(f"{where}: not UTF-8: {error}")
    except OSError as error:
        problems.append(f"{where}: cannot be read: {error.strerror or error}")
    return None


def _load_yaml(path: Path, problems: list[str], max_bytes: int = MAX_LIST_FILE_BYTES) -> Any:
    text = read_text(path, max_bytes, problems)
    if text is None:
        return None
    loader = _BoundedLoader(text, str(path))
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        problems.append(f"{path}: not valid YAML: {error}")
        return None
    finally:
        loader.dispose()
    # YAML's escapes ("\0", "\ud800") can write what no database stores.
    unstorable = unstorable_strings(data)
    problems += [
        f"{path}: {dotted(at) or 'the document'}: holds a NUL character or a lone surrogate"
        for at in unstorable
    ]
    return None if unstorable else data


def _validation_problems(path: Path, error: ValidationError, prefix: str = "") -> list[str]:
    # A problem with the entry as a whole (its size) has no field to name.
    return [
        ": ".join(filter(None, (str(path), prefix, dotted(problem.pointer), problem.message)))
        for problem in format_problems(error)
    ]


def _read_one(
    path: Path, model: type[Entry], problems: list[str], *, max_bytes: int
) -> Entry | None:
    before = len(problems)
    data = _load_yaml(path, problems, max_bytes)
    if data is None:
        if len(problems) == before:  # read, but empty or comments only
            problems.append(f"{path}: empty (a truncated file would delete its exercise)")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        slug = data.get("slug", "?") if isinstance(data, dict) else "?"
        problems += _validation_problems(path, error, prefix=f"exercise '{slug}'")
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
            problems += _validation_problems(path, error, prefix=f"entry {index}")
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
    """The text of each source document, by source slug (checked against its SHA-256
    with the rest of the source by `check_source`)."""
    documents = {}
    for source in sources:
        # Read to one byte past the limit, so that `check_source` reports an oversize
        # document as it reports one proposed through the API.
        text = read_text(
            documents_dir / source.file,
            MAX_DOCUMENT_BYTES + 1,
            problems,
            f"{sources_file}: source '{source.slug}': file {documents_dir / source.file}",
        )
        if text is not None:
            documents[source.slug] = text
    return documents


def check_catalogue(
    catalogue: Catalogue,
    exercises: Sequence[tuple[Path, ExerciseEntry]],
    documents: dict[str, str],
) -> list[str]:
    """Checks across files, each entry by the shared checker (`app.seeding.checking`)
    against the whole catalogue: references resolve, quotes match, no claim rests on
    garbled text alone, stated phases have their evidence; and progressions are acyclic."""
    problems: list[str] = []
    phase_slugs = sorted(phase.slug for phase in catalogue.phases)
    if phase_slugs != sorted(PhaseSlug):
        problems.append(f"phases.yaml: expected exactly the phases {sorted(PhaseSlug)}")
    _check_unique(Path("exercises"), [entry.slug for _, entry in exercises], problems)
    for source in catalogue.sources:
        problems += [
            f"sources.yaml: source '{source.slug}': {dotted(problem.pointer)}: {problem.message}"
            for problem in check_source(source, documents.get(source.slug))
        ]
    problems += _check_retired(catalogue)
    known = catalogue_known(catalogue, documents)
    for path, entry in exercises:
        problems += [
            f"{path}: exercise '{entry.slug}': {dotted(problem.pointer)}: {problem.message}"
            for problem in check_exercise(entry, known)
        ]
    harder = {entry.slug: entry.progressions for _, entry in exercises}
    problems += [
        f"progressions: cycle {' -> '.join(cycle)}" for cycle in progression_cycles(harder)
    ]
    return problems


def catalogue_known(catalogue: Catalogue, documents: dict[str, str]) -> Known:
    """The whole catalogue, as what each of its entries may refer to."""
    return Known(
        phases={phase.slug for phase in catalogue.phases},
        goals={goal.slug for goal in catalogue.goals},
        conditions={condition.slug for condition in catalogue.conditions},
        exercises={entry.slug for entry in catalogue.exercises},
        sources={
            source.slug: CitedSource(documents.get(source.slug), source.garbled_regions)
            for source in catalogue.sources
        },
    )


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
