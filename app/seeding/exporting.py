"""`catalogue export`: the catalogue as the database holds it (changes made through
the API included), written back in the seed format, with its source documents, so that
seeding the export reproduces the same catalogue version."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from sqlmodel import Session

from app.errors import SeedError
from app.models import CatalogueState
from app.seeding.format import DOSE_FIELDS
from app.seeding.reading import read_catalogue
from app.seeding.stored import (
    exercise_slugs,
    stored_documents,
    stored_exercises,
    stored_retired,
    stored_terms,
)


@dataclass(frozen=True)
class ExportReport:
    exercises: int
    documents: int


def export_catalogue(session: Session, directory: Path) -> ExportReport:
    """Write the catalogue into `directory`: `catalogue/` in the seed format, and each
    source's document beside it (the layout of `seed/`). Refuses a directory that
    already holds a catalogue, rather than mixing two."""
    catalogue_dir = directory / "catalogue"
    if catalogue_dir.exists() and any(catalogue_dir.iterdir()):
        raise SeedError([f"{catalogue_dir}: not empty; export into a new directory"])
    sources = stored_terms(session, "source")
    documents = stored_documents(session)
    missing = [source.slug for source in sources if source.slug not in documents]
    if missing:
        raise SeedError(
            [f"source '{slug}': no document stored yet (run `catalogue seed`)" for slug in missing]
        )
    (catalogue_dir / "exercises").mkdir(parents=True)
    for name, entries in (
        ("sources", sources),
        ("phases", stored_terms(session, "phase")),
        ("goals", stored_terms(session, "goal")),
        ("conditions", stored_terms(session, "condition")),
        ("retired", stored_retired(session)),
    ):
        _write_yaml(catalogue_dir / f"{name}.yaml", [_plain(entry) for entry in entries])
    for source in sources:
        (directory / source.file).write_bytes(documents[source.slug].encode("utf-8"))
    exercises = 0
    for chunk in exercise_slugs(session):
        for slug, entry in stored_exercises(session, chunk).items():
            _write_yaml(catalogue_dir / "exercises" / f"{slug}.yaml", _plain(entry))
            exercises += 1
    # Read back, as a reseed will: what YAML cannot carry exactly (some control
    # characters) must fail here, not change the catalogue when it is seeded.
    exported = read_catalogue(catalogue_dir, directory).version()
    state = session.get(CatalogueState, 1)
    if state is not None and exported != state.version:
        raise SeedError(
            [
                f"{directory}: the export reads back as catalogue {exported[:12]}, not "
                f"{state.version[:12]}: some text did not survive as YAML"
            ]
        )
    return ExportReport(exercises=exercises, documents=len(sources))


def _plain(entry: BaseModel) -> Any:
    """An entry as a curator would write it: defaults left out, a dose as a number or
    a [min, max] pair."""
    data: dict[str, Any] = entry.model_dump(mode="json", exclude_defaults=True)
    dosage = data.get("dosage")
    if isinstance(dosage, dict):
        for name in DOSE_FIELDS:
            dose = dosage.get(name)
            if isinstance(dose, dict):
                dosage[name] = (
                    dose["min"] if dose["min"] == dose["max"] else [dose["min"], dose["max"]]
                )
    return data


def _write_yaml(path: Path, data: Any) -> None:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")
