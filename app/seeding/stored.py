"""The catalogue as the database holds it, read back as seed entries: what `catalogue
export` writes, what a reseed keeps of resources changed through the API, and what an
approval rehashes an exercise from."""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import (
    TERM_MODELS,
    CatalogueChange,
    Condition,
    Contraindication,
    Evidence,
    Exercise,
    ExerciseBodyRegion,
    ExerciseEquipment,
    ExerciseGoal,
    ExercisePhase,
    Goal,
    Phase,
    Progression,
    RetiredSlug,
    Source,
    SourceDocument,
)
from app.seeding.format import (
    TERM_ENTRIES,
    ExerciseEntry,
    RetiredEntry,
    SluggedEntry,
    canonical,
)
from app.seeding.reading import Catalogue
from app.vocabulary import ChangeAction

# Exercises are read back this many at a time.
CHUNK_SIZE = 1000


def stored_terms(session: Session, kind: str, slugs: Sequence[str] | None = None) -> list[Any]:
    """The terms of `kind` (or those of `slugs`) as seed entries, by slug (phases in
    phase order)."""
    model: Any = TERM_MODELS[kind]
    statement = select(model).order_by(col(model.order) if model is Phase else col(model.slug))
    if slugs is not None:
        statement = statement.where(col(model.slug).in_(slugs))
    entry: type[SluggedEntry] = TERM_ENTRIES[kind]
    return [
        entry.model_validate({name: getattr(row, name) for name in entry.model_fields})
        for row in session.exec(statement)
    ]


def stored_retired(session: Session) -> list[RetiredEntry]:
    rows = session.exec(select(RetiredSlug).order_by(RetiredSlug.kind, RetiredSlug.slug))
    return [RetiredEntry.model_validate(row.model_dump()) for row in rows]


def stored_documents(session: Session, slugs: Sequence[str] | None = None) -> dict[str, str]:
    """Each source's document text (of those of `slugs`), by source slug."""
    statement = sa.select(col(Source.slug), col(SourceDocument.text)).join(SourceDocument)
    if slugs is not None:
        statement = statement.where(col(Source.slug).in_(slugs))
    return {slug: text for slug, text in session.execute(statement)}


def stored_exercises(session: Session, slugs: Sequence[str]) -> dict[str, ExerciseEntry]:
    """The exercises of `slugs` as seed entries (in canonical order), by slug."""
    rows = session.exec(select(Exercise).where(col(Exercise.slug).in_(slugs))).all()
    if not rows:
        return {}
    ids = [row.id for row in rows]
    links: dict[str, dict[int | None, list[Any]]] = {}

    def gather(name: str, statement: Any) -> None:
        grouped: dict[int | None, list[Any]] = defaultdict(list)
        for exercise_id, *values in session.execute(statement):
            grouped[exercise_id].append(values[0] if len(values) == 1 else values)
        links[name] = grouped

    gather(
        "equipment",
        sa.select(col(ExerciseEquipment.exercise_id), col(ExerciseEquipment.equipment)).where(
            col(ExerciseEquipment.exercise_id).in_(ids)
        ),
    )
    gather(
        "body_regions",
        sa.select(col(ExerciseBodyRegion.exercise_id), col(ExerciseBodyRegion.body_region)).where(
            col(ExerciseBodyRegion.exercise_id).in_(ids)
        ),
    )
    gather(
        "goals",
        sa.select(col(ExerciseGoal.exercise_id), col(Goal.slug))
        .join(Goal)
        .where(col(ExerciseGoal.exercise_id).in_(ids)),
    )
    gather(
        "phases",
        sa.select(
            col(ExercisePhase.exercise_id),
            col(Phase.slug),
            col(ExercisePhase.progression_order),
            col(ExercisePhase.caution),
            col(ExercisePhase.basis),
            col(ExercisePhase.note),
        )
        .join(Phase)
        .where(col(ExercisePhase.exercise_id).in_(ids)),
    )
    gather(
        "contraindications",
        sa.select(
            col(Contraindication.exercise_id),
            col(Condition.slug),
            col(Contraindication.severity),
            col(Contraindication.note),
        )
        .join(Condition)
        .where(col(Contraindication.exercise_id).in_(ids)),
    )
    gather(
        "evidence",
        sa.select(
            col(Evidence.exercise_id),
            col(Source.slug),
            col(Evidence.field),
            col(Evidence.subject),
            col(Evidence.stance),
            col(Evidence.quote),
            col(Evidence.start),
            col(Evidence.end),
        )
        .join(Source)
        .where(col(Evidence.exercise_id).in_(ids))
        .order_by(col(Evidence.id)),
    )
    harder = _exercise_table().alias("harder")
    gather(
        "progressions",
        sa.select(col(Progression.easier_id), harder.c.slug)
        .join(harder, harder.c.id == Progression.harder_id)
        .where(col(Progression.easier_id).in_(ids)),
    )
    entries = {}
    for row in rows:
        entry = ExerciseEntry.model_validate(
            {
                "slug": row.slug,
                "name": row.name,
                "aliases": row.aliases,
                "summary": row.summary,
                "category": row.category,
                "position": row.position,
                "equipment": links["equipment"][row.id],
                "body_regions": links["body_regions"][row.id],
                "difficulty": row.difficulty,
                "instructions_basis": row.instructions_basis,
                "instructions": row.instructions,
                "cues": row.cues,
                "mistakes": row.mistakes,
                "dosage": row.dosage,
                "phases": [
                    {"phase": p, "order": o, "caution": c, "basis": b, "note": n}
                    for p, o, c, b, n in links["phases"][row.id]
                ],
                "goals": links["goals"][row.id],
                "contraindications": [
                    {"condition": c, "severity": s, "note": n}
                    for c, s, n in links["contraindications"][row.id]
                ],
                "progressions": links["progressions"][row.id],
                "evidence": [
                    {
                        "source": source,
                        "field": field,
                        "subject": subject,
                        "stance": stance,
                        "quote": quote,
                        "start": start,
                        "end": end,
                    }
                    for source, field, subject, stance, quote, start, end in links["evidence"][
                        row.id
                    ]
                ],
            }
        )
        entries[row.slug] = canonical(entry)
    return entries


def stored_regressions(session: Session, slugs: Sequence[str]) -> dict[str, list[str]]:
    """For each of `slugs`, the easier exercises that lead on to it, sorted."""
    easier = _exercise_table().alias("easier")
    harder = _exercise_table().alias("harder")
    rows = session.execute(
        sa.select(harder.c.slug, easier.c.slug)
        .join_from(Progression, harder, harder.c.id == Progression.harder_id)
        .join(easier, easier.c.id == Progression.easier_id)
        .where(harder.c.slug.in_(slugs))
    )
    found: dict[str, list[str]] = {slug: [] for slug in slugs}
    for harder_slug, easier_slug in rows:
        found[harder_slug].append(easier_slug)
    return {slug: sorted(values) for slug, values in found.items()}


def _exercise_table() -> sa.Table:
    table: sa.Table = Exercise.__table__  # type: ignore[attr-defined]
    return table


def exercise_slugs(session: Session) -> Iterator[list[str]]:
    """Every exercise's slug, in slug order, `CHUNK_SIZE` at a time."""
    slugs = list(session.execute(sa.select(col(Exercise.slug)).order_by(col(Exercise.slug))))
    for start in range(0, len(slugs), CHUNK_SIZE):
        yield [slug for (slug,) in slugs[start : start + CHUNK_SIZE]]


def stored_catalogue(session: Session) -> Catalogue:
    """The whole catalogue the database holds, as seed entries with their documents."""
    exercises: list[ExerciseEntry] = []
    for chunk in exercise_slugs(session):
        exercises += stored_exercises(session, chunk).values()
    return Catalogue(
        sources=stored_terms(session, "source"),
        phases=stored_terms(session, "phase"),
        goals=stored_terms(session, "goal"),
        conditions=stored_terms(session, "condition"),
        exercises=exercises,
        retired=stored_retired(session),
        documents=stored_documents(session),
    )


def curated(session: Session) -> dict[tuple[str, str], ChangeAction]:
    """The resources whose own entry was last changed by an approved proposal, (kind,
    slug) to what that change did: a reseed leaves them as they are unless told
    otherwise. (Derived changes, such as new regressions, do not count either way.)"""
    later = CatalogueChange.__table__.alias("later")  # type: ignore[attr-defined]
    rows = session.execute(
        sa.select(
            col(CatalogueChange.kind), col(CatalogueChange.slug), col(CatalogueChange.action)
        ).where(
            col(CatalogueChange.proposal_id).is_not(None),
            col(CatalogueChange.derived).is_(False),
            ~sa.exists().where(
                later.c.kind == CatalogueChange.kind,
                later.c.slug == CatalogueChange.slug,
                later.c.seq > CatalogueChange.seq,
                later.c.derived.is_(False),
            ),
        )
    )
    return {(str(kind), slug): ChangeAction(action) for kind, slug, action in rows}
