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
    """How a condition bears on an exercise."""

    avoid = "avoid"  # do not do this exercise with this condition
    caution = "caution"  # may be done with this condition, modified as the note says
    stop = "stop"  # may be done; stop at once (and seek the advice named) if this appears


class ConditionKind(StrEnum):
    """What a condition is: something diagnosed, something found on examination, or
    something the patient feels."""

    diagnosis = "diagnosis"
    finding = "finding"
    symptom = "symptom"


class PhaseBasis(StrEnum):
    """Why an exercise is in a phase: a source places it there by name (or its
    situation), or the editors inferred it (the membership's note says from what)."""

    stated = "stated"
    inferred = "inferred"


class InstructionsBasis(StrEnum):
    """Where an exercise's steps come from: a source describes how to do it, or the
    sources only name it and the steps are the editors' standard description."""

    sourced = "sourced"
    editorial = "editorial"


class TextQuality(StrEnum):
    """Whether an evidence quote lies in a machine-scrambled region of its document."""

    clear = "clear"
    garbled = "garbled"


class RetiredKind(StrEnum):
    """The kinds of resource whose slugs can be retired (renamed or removed)."""

    exercise = "exercise"
    goal = "goal"
    condition = "condition"


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
    mistakes = "mistakes"
    progression = "progression"


class SourceKind(StrEnum):
    article = "article"
    clinic_blog = "clinic-blog"
    aggregated_web_text = "aggregated-web-text"
    instructor_handout = "instructor-handout"


class ResourceKind(StrEnum):
    """The kinds of catalogue resource that are versioned, logged and curated."""

    exercise = "exercise"
    phase = "phase"
    goal = "goal"
    condition = "condition"
    source = "source"


class ChangeAction(StrEnum):
    """What a change did to a resource (in the change log and its history)."""

    created = "created"
    updated = "updated"
    deleted = "deleted"


class ProposalAction(StrEnum):
    create = "create"
    update = "update"
    delete = "delete"


class ProposalStatus(StrEnum):
    open = "open"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"


class KeyRole(StrEnum):
    """What an API key may do: a curator proposes; a reviewer also approves and rejects
    (others' proposals only)."""

    curator = "curator"
    reviewer = "reviewer"


class ExerciseSort(StrEnum):
    name = "name"
    updated_at_desc = "-updated_at"
    phase_order = "phase_order"


SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MAX_LENGTH = 100


class SearchMatch(StrEnum):
    """How a search query found its results (see `app.queries.exercise_search`)."""

    all = "all"  # every word
    any = "any"  # nothing had every word: any of them, most words first
    corrected = "corrected"  # nothing had any: misspelt words corrected


class Facet(StrEnum):
    """Fields of the exercise list that `facets` can count values of."""

    phase = "phase"
    goal = "goal"
    category = "category"
    equipment = "equipment"
    position = "position"
    difficulty = "difficulty"
    body_region = "body_region"
    condition = "condition"


class SuggestionKind(StrEnum):
    """What a search-box suggestion names."""

    exercise = "exercise"
    goal = "goal"
    condition = "condition"
    body_region = "body_region"
    equipment = "equipment"
