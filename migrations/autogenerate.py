"""What autogenerate compares: everything but the hand-written, per-database objects."""

from typing import Any

# Written by hand in the migrations, per database, with no model: autogenerate must not
# propose dropping them. Full-text search (both databases), and on PostgreSQL the GIN
# indexes that find the exercises of a rare phase or goal (migration 0004).
HAND_WRITTEN = {
    "ix_exercise_search_document",
    "document",
    "ix_exercise_search_heavy",
    "heavy",
    "ix_exercise_phase_ids",
    "ix_exercise_goal_ids",
}


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return name not in HAND_WRITTEN and not (name or "").startswith("exercise_search_fts")
