"""What autogenerate compares: everything but the hand-written full-text search objects."""

from typing import Any

# Written by hand in the migrations, per database, with no model: autogenerate must not
# propose dropping them.
SEARCH_OBJECTS = {"ix_exercise_search_vector", "search_vector"}


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return name not in SEARCH_OBJECTS and not (name or "").startswith("exercise_fts")
