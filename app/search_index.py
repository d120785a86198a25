"""The search index's rows: each exercise's searchable text by weight, and the words of
the whole index with how many exercises have each. The writer refreshes them for every
exercise it writes and every exercise linked to a term it renames or deletes, in the
same transaction; each database then indexes `exercise_search` by its own machinery
(see the migration `0009`)."""

from collections import Counter
from collections.abc import Collection, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from app.models import (
    Condition,
    Contraindication,
    Exercise,
    ExerciseBodyRegion,
    ExerciseEquipment,
    ExerciseGoal,
    ExerciseSearch,
    Goal,
    SearchWord,
)
from app.search_text import (
    CATEGORY_WORDS,
    EQUIPMENT_WORDS,
    POSITION_WORDS,
    STOP_WORDS,
    slug_words,
    words,
)
from app.vocabulary import Category, Position

# Words shorter than this are never corrected to, nor longer than the column holds.
MIN_WORD, MAX_WORD = 3, 64
_BATCH = 500
_FIELDS = ("names", "terms", "body", "instructions")


def refresh_search_index(session: Session, exercise_ids: Collection[int]) -> None:
    """Rewrite the search rows of `exercise_ids` from the exercises and their links as
    the session sees them now (an exercise no longer there loses its row), and move the
    word counts by the difference."""
    ids = sorted(set(exercise_ids))
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        counts = _drop_rows(session, batch)
        new = _documents(session, batch)
        for document in new:
            counts.update(indexed_words(document[field] for field in _FIELDS))
        if new:
            session.execute(sa.insert(ExerciseSearch.__table__), new)  # type: ignore[attr-defined]
        _count_words(session, counts)


def drop_from_search_index(session: Session, exercise_ids: Collection[int]) -> None:
    """Remove the search rows of exercises about to be deleted, their words uncounted
    (the foreign key would delete the rows too, but leave the counts behind)."""
    ids = sorted(set(exercise_ids))
    for start in range(0, len(ids), _BATCH):
        _count_words(session, _drop_rows(session, ids[start : start + _BATCH]))


def linked_exercise_ids(session: Session, kind: str, term_ids: Collection[int]) -> set[int]:
    """The exercises whose search text names one of the goals or conditions `term_ids`."""
    if not term_ids or kind not in ("goal", "condition"):
        return set()
    link: Any = ExerciseGoal if kind == "goal" else Contraindication
    term_column = link.goal_id if kind == "goal" else link.condition_id
    rows = session.execute(
        sa.select(link.exercise_id).where(term_column.in_(list(term_ids))).distinct()
    )
    return {id for (id,) in rows}


def indexed_words(fields: Iterable[str]) -> set[str]:
    """The distinct words of an exercise's search fields that correction may land on."""
    return {
        word
        for text in fields
        for word in words(text)
        if MIN_WORD <= len(word) <= MAX_WORD and word.isalpha() and word not in STOP_WORDS
    }


def _drop_rows(session: Session, ids: list[int]) -> Counter[str]:
    """Delete the search rows of `ids`: the word counts to take away for them."""
    in_ids = col(ExerciseSearch.exercise_id).in_(ids)
    fields = [col(getattr(ExerciseSearch, field)) for field in _FIELDS]
    counts: Counter[str] = Counter()
    for row in session.execute(sa.select(*fields).where(in_ids)):
        counts.subtract(indexed_words(row))
    session.execute(sa.delete(ExerciseSearch).where(in_ids))
    return counts


def _documents(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """The search rows of the exercises `ids` that exist."""
    exercises = session.execute(
        sa.select(
            col(Exercise.id),
            col(Exercise.name),
            col(Exercise.aliases),
            col(Exercise.summary),
            col(Exercise.cues),
            col(Exercise.instructions),
            col(Exercise.category),
            col(Exercise.position),
        ).where(col(Exercise.id).in_(ids))
    ).all()
    if not exercises:
        return []
    terms: dict[int, list[str]] = {id: [] for id in ids}
    conditions: dict[int, list[str]] = {id: [] for id in ids}
    linked = (
        sa.select(col(ExerciseGoal.exercise_id), col(Goal.name))
        .join(Goal)
        .where(col(ExerciseGoal.exercise_id).in_(ids)),
        sa.select(col(ExerciseBodyRegion.exercise_id), col(ExerciseBodyRegion.body_region)).where(
            col(ExerciseBodyRegion.exercise_id).in_(ids)
        ),
        sa.select(col(ExerciseEquipment.exercise_id), col(ExerciseEquipment.equipment)).where(
            col(ExerciseEquipment.exercise_id).in_(ids)
        ),
        sa.select(col(Contraindication.exercise_id), col(Condition.name))
        .join(Condition)
        .where(col(Contraindication.exercise_id).in_(ids)),
    )
    for kind, statement in zip(("goal", "region", "equipment", "condition"), linked, strict=True):
        # In a fixed order, so that the same catalogue always writes the same rows.
        for exercise_id, value in session.execute(statement.order_by(*statement.selected_columns)):
            if kind in ("region", "equipment"):
                value = EQUIPMENT_WORDS.get(value, slug_words(value))
            # An exercise's conditions (its contraindications) weigh less than its goals:
            # a stretch listing knee pain as a caution is no answer to "knee pain".
            (conditions if kind == "condition" else terms)[exercise_id].append(value)
    documents = []
    for row in exercises:
        own = [CATEGORY_WORDS[Category(row.category)]]
        if row.position is not None:
            own.append(POSITION_WORDS[Position(row.position)])
        documents.append(
            {
                "exercise_id": row.id,
                "names": " | ".join([row.name, *row.aliases]),
                "terms": " | ".join(own + terms[row.id]),
                "body": " | ".join([row.summary, *row.cues, *conditions[row.id]]),
                "instructions": " | ".join(row.instructions),
            }
        )
    return documents


def _count_words(session: Session, counts: Counter[str]) -> None:
    """Add `counts` to the words' document counts; words no exercise has any more go."""
    changed = [{"word": word, "documents": n} for word, n in sorted(counts.items()) if n]
    if not changed:
        return
    dialect = session.get_bind().dialect.name
    insert: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SearchWord)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["word"],
            set_={"documents": col(SearchWord.documents) + insert.excluded.documents},
        ),
        changed,
    )
    session.execute(sa.delete(SearchWord).where(col(SearchWord.documents) <= 0))
