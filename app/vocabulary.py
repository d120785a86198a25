"""Closed vocabularies shared by the tables, the seed format and the HTTP schemas.

Open vocabularies (goals, conditions, equipment, body regions, sources) live in the
database and are validated against it; the ones here are fixed by the design.
"""

from enum import StrEnum


class PhaseSlug(StrEnum):
    acute = "acute"
    rehab = "rehab"
    return_to_sport = "return-to-sport"


class Category(StrEnum):
    stretch = "stretch"
    strengthening = "strengthening"
    activation = "activation"
    mobility = "mobility"
    soft_tissue = "soft-tissue"
    modality = "modality"


class Position(StrEnum):
    lying = "lying"
    sitting = "sitting"
    standing = "standing"
    kneeling = "kneeling"


class Difficulty(StrEnum):
    beginner = "beginner"
    intermediate = "intermediate"
    advanced = "advanced"


class Severity(StrEnum):
    avoid = "avoid"
    caution = "caution"


class Stance(StrEnum):
    supports = "supports"
    cautions = "cautions"
    contradicts = "contradicts"


class EvidenceField(StrEnum):
    """The part of an exercise a piece of evidence backs."""

    summary = "summary"
    instructions = "instructions"
    dosage = "dosage"
    phase = "phase"
    goal = "goal"
    contraindication = "contraindication"
    progression = "progression"


class SourceKind(StrEnum):
    article = "article"
    clinic_blog = "clinic-blog"
    aggregated_web_text = "aggregated-web-text"
    instructor_handout = "instructor-handout"


class ExerciseSort(StrEnum):
    name = "name"
    updated_at_desc = "-updated_at"
    phase_order = "phase_order"


SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MAX_LENGTH = 100
