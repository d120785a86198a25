"""Synthetic exercise catalogues for performance work.

`build_catalogue(size)` grows the curated catalogue in `seed/` to `size` exercises: it
keeps the real sources, phases, goals, conditions and exercises, and adds generated
exercises whose slugs start with `synthetic-`, so they can never collide with a curated
one. Generation is seeded, so every run builds the same catalogue and benchmark runs
compare like with like.

The generated exercises aim to look like the curated ones to the database and to the
queries: names composed from word lists (distinct, and made of words that full-text
search finds with realistic selectivity), prose of similar length, similar shares of
categories, positions, difficulties, phases, goals and contraindications, acyclic
progressions, and about nine pieces of evidence each. Every evidence quote is a slice of
a real source document taken at its real offsets, and the whole catalogue goes through
`check_catalogue` before it is returned.

`load(database_url, size)` migrates a database and writes such a catalogue through the
normal seeding path (`app.seeding.writing.seed_catalogue`), returning the seconds seeding took.

    python -m bench.synthetic --exercises 100000 --database-url sqlite:///bench.db
"""

import argparse
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.cli import alembic_config
from app.database import build_engine
from app.errors import SeedError
from app.seeding.format import ExerciseEntry, SourceEntry
from app.seeding.reading import Catalogue, check_catalogue, read_catalogue
from app.seeding.writing import SeedReport, seed_catalogue
from app.settings import PROJECT_ROOT
from app.vocabulary import Category, Difficulty, EvidenceField, PhaseSlug, Position, Stance

SEED = 20261121
SLUG_PREFIX = "synthetic-"
DOCUMENTS_DIR = PROJECT_ROOT / "seed"
CATALOGUE_DIR = DOCUMENTS_DIR / "catalogue"
# The engine's statement timeout is sized for web requests (5 s by default), not for
# loading and analysing a catalogue of 100k exercises.
LOAD_TIMEOUT_SECONDS = 3600.0

ProgressCallback = Callable[[int, int], None]


# --- vocabulary ----------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    slug: str
    word: str  # as it appears in exercise names
    phrase: str  # as it appears in prose
    weight: int


# Broader than the hamstring-first curated catalogue: a large one covers the whole body.
REGIONS = (
    Region("hamstrings", "hamstring", "the back of the thigh", 25),
    Region("glutes", "glute", "the buttock", 12),
    Region("hips", "hip", "the hip", 10),
    Region("hip-flexors", "hip flexor", "the front of the hip", 8),
    Region("quadriceps", "quad", "the front of the thigh", 8),
    Region("lower-back", "lower back", "the lower back", 8),
    Region("core", "core", "the trunk", 8),
    Region("calves", "calf", "the calf", 6),
    Region("knee", "knee", "the knee", 4),
    Region("adductors", "adductor", "the inner thigh", 4),
    Region("thoracic-spine", "thoracic", "the upper back", 3),
    Region("ankles", "ankle", "the ankle", 2),
    Region("shoulders", "shoulder", "the shoulder", 2),
    Region("sciatic-nerve", "sciatic nerve", "the sciatic nerve", 1),
)


@dataclass(frozen=True)
class Kind:
    """How exercises of one category are named, described, placed and dosed."""

    weight: int
    movements: tuple[str, ...]
    modifiers: tuple[str, ...]
    describes: str  # completed with a region phrase
    phases: dict[PhaseSlug, int]
    goals: dict[str, int]
    positions: dict[Position | None, int]


MODIFIERS = (
    "assisted", "banded", "slow", "tempo", "isometric", "eccentric", "alternating",
    "supported", "weighted", "paused", "dynamic", "static", "reverse", "lateral",
    "diagonal", "partial", "deep", "gentle", "active", "passive", "single-leg",
    "double-leg", "wide", "narrow", "elevated", "resisted", "long-lever", "short-lever",
    "progressive", "controlled", "rhythmic", "bent-knee", "straight-leg", "crossover",
)  # fmt: skip
TREATMENTS = (
    "short", "long", "brief", "repeated", "contrast", "gentle", "timed", "intermittent",
    "post-session", "pre-session", "evening", "morning", "moist", "dry", "cold", "warm",
)  # fmt: skip

A, R, S = PhaseSlug.acute, PhaseSlug.rehab, PhaseSlug.return_to_sport
LYING, SITTING, STANDING, KNEELING = (
    Position.lying,
    Position.sitting,
    Position.standing,
    Position.kneeling,
)
KINDS: dict[Category, Kind] = {
    Category.stretch: Kind(
        34,
        ("stretch", "reach", "forward fold", "lean", "lunge stretch", "pose", "opener", "hang"),
        MODIFIERS,
        "a stretch that lengthens {region}",
        {A: 2, R: 10, S: 3},
        {
            "flexibility": 10,
            "pain-relief": 3,
            "low-back-pain-relief": 2,
            "recovery": 2,
            "sciatica-relief": 1,
            "warm-up": 1,
            "injury-prevention": 2,
        },
        {LYING: 40, SITTING: 25, STANDING: 25, KNEELING: 10},
    ),
    Category.strengthening: Kind(
        25,
        ("bridge", "curl", "deadlift", "hinge", "squat", "raise", "press", "lunge", "step-up"),
        MODIFIERS,
        "a strengthening exercise that loads {region}",
        {A: 1, R: 10, S: 7},
        {
            "strength": 10,
            "stability": 5,
            "injury-prevention": 4,
            "activation": 2,
            "knee-pain-relief": 1,
        },
        {LYING: 35, STANDING: 40, KNEELING: 15, SITTING: 10},
    ),
    Category.activation: Kind(
        12,
        ("squeeze", "kick", "clamshell", "set", "brace", "hold", "tilt", "dig"),
        MODIFIERS,
        "an activation drill that switches on {region}",
        {A: 4, R: 10, S: 2},
        {"activation": 10, "stability": 4, "pelvic-alignment": 2, "low-back-pain-relief": 2},
        {LYING: 45, SITTING: 20, KNEELING: 20, STANDING: 15},
    ),
    Category.mobility: Kind(
        12,
        ("swing", "circle", "glide", "rotation", "rock", "march", "sweep", "floss"),
        MODIFIERS,
        "a mobility drill that takes {region} through its range",
        {A: 2, R: 8, S: 6},
        {"warm-up": 8, "flexibility": 6, "injury-prevention": 3, "sciatica-relief": 2},
        {STANDING: 45, LYING: 25, KNEELING: 20, SITTING: 10},
    ),
    Category.soft_tissue: Kind(
        9,
        ("roll", "massage", "release", "ball release", "pin and stretch", "compression"),
        MODIFIERS,
        "self-massage that eases tension in {region}",
        {A: 1, R: 8, S: 4},
        {"recovery": 8, "pain-relief": 5, "flexibility": 4},
        {LYING: 50, SITTING: 40, STANDING: 10},
    ),
    Category.modality: Kind(
        8,
        (
            "ice",
            "heat",
            "compression wrap",
            "rest",
            "taping",
            "elevation",
            "cold pack",
            "heat pack",
        ),
        TREATMENTS,
        "a passive treatment for {region}",
        {A: 10, R: 3, S: 1},
        {"pain-relief": 10, "swelling-control": 5, "recovery": 5},
        {None: 80, LYING: 15, SITTING: 5},
    ),
}

# Position words lead the name; the position itself comes from the Kind's weights.
POSITION_WORDS: dict[Position | None, tuple[str, ...]] = {
    LYING: ("lying", "supine", "prone", "side-lying"),
    SITTING: ("seated", "sitting", "chair"),
    STANDING: ("standing", "split-stance", "wall-supported"),
    KNEELING: ("kneeling", "half-kneeling", "quadruped"),
    None: ("",),
}
POSITION_PHRASES: dict[Position | None, tuple[str, ...]] = {
    LYING: ("lying on your back", "lying face down", "lying on your side"),
    SITTING: ("sitting on a chair", "sitting on the floor", "sitting tall at the edge of a seat"),
    STANDING: ("standing tall", "standing with one foot forward", "standing side-on to a wall"),
    KNEELING: ("kneeling on a mat", "on hands and knees", "kneeling on one knee"),
    None: ("at rest", "between sessions", "after training"),
}
# (name suffix, equipment it needs); "" uses no equipment beyond a mat at most.
QUALIFIERS: tuple[tuple[str, str | None], ...] = (
    ("", None),
    ("", None),
    ("", None),
    ("with a band", "band"),
    ("with a towel", "towel"),
    ("on a foam roller", "foam-roller"),
    ("at the wall", "wall"),
    ("on a bench", "bench"),
    ("on a chair", "chair"),
    ("with a ball", "ball"),
    ("on a step", "step"),
    ("with a stool", "stool"),
    ("with a slider", "slider"),
    ("with a kettlebell", "kettlebell"),
    ("with a dumbbell", "dumbbell"),
    ("in a doorway", "doorway"),
)
DIFFICULTIES = {Difficulty.beginner: 70, Difficulty.intermediate: 24, Difficulty.advanced: 6}
# The ranges each kind of exercise is dosed in, as [min, max].
DOSES: dict[Category, dict[str, list[int]]] = {
    Category.stretch: {"hold_seconds": [20, 30], "reps": [2, 4], "per_day": [1, 2]},
    Category.strengthening: {"reps": [8, 12], "sets": [2, 3], "per_week": [2, 3]},
    Category.activation: {"hold_seconds": [5, 10], "reps": [10, 10], "per_day": [2, 3]},
    Category.mobility: {"reps": [10, 15], "duration_seconds": [60, 120]},
    Category.soft_tissue: {"duration_seconds": [60, 120], "per_week": [3, 4]},
    Category.modality: {"duration_seconds": [600, 1200], "per_day": [2, 4]},
}
GOAL_PHRASES = {
    "flexibility": "restores length and flexibility",
    "pain-relief": "takes the edge off pain",
    "strength": "builds strength that carries over to running and lifting",
    "activation": "teaches the muscle to switch on before harder work",
    "stability": "improves control of the pelvis and trunk",
    "injury-prevention": "helps prevent the next strain",
    "sciatica-relief": "can settle irritated nerve symptoms down the leg",
    "low-back-pain-relief": "often eases a stiff or sore lower back",
    "warm-up": "works well as part of a warm-up",
    "recovery": "supports recovery between sessions",
    "knee-pain-relief": "can unload a painful knee",
    "swelling-control": "helps keep swelling down",
    "pelvic-alignment": "encourages a more neutral pelvis",
}
EXTRA_SENTENCES = (
    "Most people feel it in {region} within the first few repetitions.",
    "Move slowly and stay well inside the range that feels comfortable.",
    "It needs little space and can be done at home or in the clinic.",
    "Clinicians often use it early on, before progressing to loaded work.",
    "Breathing out as you move helps the muscles around {region} relax.",
    "It pairs well with the other exercises in the same phase.",
    "Keep the effort moderate: the aim is quality of movement, not fatigue.",
    "Stop if symptoms spread or sharpen, and review the dose with your clinician.",
    "A small range done well is worth more than a big range done badly.",
)
SETUP_STEPS: dict[Position | None, tuple[str, ...]] = {
    LYING: (
        "Lie on your back on a mat with your knees bent and feet flat on the floor.",
        "Lie face down with your forehead resting on your hands and your legs straight.",
        "Lie on your side with your hips stacked and your head supported on your arm.",
    ),
    SITTING: (
        "Sit tall near the front of a sturdy chair with both feet flat on the floor.",
        "Sit on the floor with one leg straight out in front of you and the other bent.",
    ),
    STANDING: (
        "Stand tall with your feet hip-width apart and a hand on a wall for balance.",
        "Stand with one foot a short step in front of the other and your hips square.",
    ),
    KNEELING: (
        "Kneel on a mat with your hips stacked over your knees.",
        "Start on hands and knees with your hands under your shoulders.",
        "Kneel on one knee with the other foot flat on the floor in front of you.",
    ),
    None: (
        "Find a comfortable position where {region} can relax fully.",
        "Make sure the skin over {region} is clean, dry and free of cuts.",
    ),
}
ACTION_STEPS: dict[Category, tuple[str, ...]] = {
    Category.stretch: (
        "Ease into the stretch until you feel a gentle pull in {region}, not pain.",
        "Reach forward slowly from the hips, keeping your back long and your chest open.",
        "Shift your weight until the stretch builds in {region}, then hold still.",
    ),
    Category.strengthening: (
        "Brace your trunk and move steadily through the full range, leading with {region}.",
        "Lift under control for two seconds, then lower for three.",
        "Press through the heel and drive the movement from {region}, not the lower back.",
    ),
    Category.activation: (
        "Gently tighten the muscles of {region} without moving the rest of the body.",
        "Squeeze and hold, keeping the pelvis still and the breath easy.",
    ),
    Category.mobility: (
        "Move {region} smoothly through a comfortable range, without bouncing.",
        "Let the movement grow a little with each repetition as the area warms up.",
    ),
    Category.soft_tissue: (
        "Rest {region} on the roller or ball and roll slowly along the muscle.",
        "When you find a tender spot, pause on it and breathe until it eases.",
    ),
    Category.modality: (
        "Apply the pack to {region} with a thin cloth between it and the skin.",
        "Leave it in place for the recommended time, checking the skin now and then.",
    ),
}
FINISH_STEPS = (
    "Return slowly to the start position.",
    "Relax, rest briefly, then repeat on the other side.",
    "Repeat for the prescribed number of repetitions.",
    "Finish with a few easy breaths before standing up.",
)
STEP_CLAUSES = (
    "",
    "",
    " Keep the pelvis level and the knees soft throughout.",
    " If {region} cramps, back off and shorten the range.",
    " Keep your neck relaxed and your shoulders away from your ears.",
    " The movement should feel smooth rather than forced.",
)
CUES = (
    "Keep the back long: hinge from the hips, not the waist.",
    "Breathe out slowly as you move deeper.",
    "Think tall through the crown of the head.",
    "Keep the knee in line with the second toe.",
    "A gentle pull is enough; pain means back off.",
    "Move slowly enough that you could stop at any point.",
    "Keep the pelvis square and level.",
    "Squeeze the glutes at the top of each repetition.",
    "Let the shoulders stay relaxed and down.",
    "Feel the effort in {region}, not in the lower back.",
    "Keep the foot relaxed and the toes pointing up.",
    "Pause for a breath at the end of the range.",
)


@dataclass(frozen=True)
class Contra:
    """How often exercises carry a contraindication, and how severe it usually is."""

    condition: str
    chance: float
    avoid_share: float
    notes: tuple[str, ...]


# Everyone gets these with their own chance; stretches also get STRETCH_CONTRAS.
CONTRAS = (
    Contra(
        "severe-pain",
        0.8,
        0.05,
        (
            "If you are in severe pain, see a healthcare professional before you start. "
            "Stop at once if severe pain comes on during the exercise.",
            "Severe pain is a reason to get assessed first rather than to push on alone.",
        ),
    ),
    Contra(
        "persistent-or-worsening-pain",
        0.3,
        0.0,
        (
            "If pain persists or worsens despite regular practice, get professional advice; "
            "the programme may need to change.",
        ),
    ),
    Contra(
        "pain-during-exercise",
        0.35,
        1.0,
        (
            "Leave out any movement that hurts. Progress gradually and never push through "
            "pain to finish a set.",
        ),
    ),
    Contra(
        "unassessed-hamstring-pain",
        0.3,
        0.0,
        (
            "Hamstring pain has several possible causes, including the lower back; have it "
            "assessed before relying on this exercise.",
        ),
    ),
    Contra(
        "anterior-pelvic-tilt",
        0.3,
        0.0,
        (
            "With a forward-tilted pelvis the hamstrings may already be long; activation "
            "may help more than lengthening them further.",
        ),
    ),
    Contra(
        "sciatica-nerve-symptoms",
        0.35,
        0.15,
        (
            "Nerve symptoms down the leg can be aggravated by tension on the sciatic nerve. "
            "Keep the range small and stop if tingling or numbness increases.",
            "With sciatica, a clinician should check first: some positions load the nerve.",
        ),
    ),
    Contra(
        "knee-pain",
        0.15,
        0.0,
        ("Keep a soft bend in the knee and avoid positions that press on a painful joint.",),
    ),
    Contra(
        "acute-hamstring-strain",
        0.25,
        0.85,
        (
            "A fresh strain needs protection: leave this out until walking is pain-free and a "
            "clinician clears you to load the muscle again.",
        ),
    ),
)
STRETCH_CONTRAS = (
    Contra(
        "pain-during-stretching",
        0.9,
        1.0,
        ("A stretch should never hurt. Ease off to a gentle pull, or stop if pain persists.",),
    ),
)
# Conditions felt during an exercise: those not to avoid are rules to stop at once.
SYMPTOMS = {"pain-during-stretching", "sciatica-nerve-symptoms", "severe-pain"}
PHASE_NOTES = {
    A: (
        "Only if it is pain-free; keep the range small while the tissue settles.",
        "Gentle, early work to keep the area moving without loading it.",
    ),
    R: (
        "Core of the rehab phase: build the dose gradually across the weeks.",
        "Progress the range and the load as symptoms allow.",
        "Used once the acute symptoms have settled and daily activities are comfortable.",
    ),
    S: (
        "Maintenance work once sport-specific training has resumed.",
        "Part of the warm-up and prevention routine before training and matches.",
    ),
}

# Quotes are sorted into pools by what they talk about, so a dosage claim cites a
# sentence with numbers in it and a contraindication cites one about pain or risk.
DOSE_WORDS = re.compile(r"\d.*\b(second|rep|time|set|minute|day|week)", re.IGNORECASE)
RISK_WORDS = re.compile(
    r"\b(pain|avoid|stop|caution|injur|consult|strain|sciatic|nerve|worse|careful)",
    re.IGNORECASE,
)
SENTENCE = re.compile(r"[A-Z][^.!?\n|]{25,220}[.!?]")


# --- generation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    source: str
    start: int
    end: int
    text: str


def quote_pools(
    documents: dict[str, str], sources: Sequence[SourceEntry] = ()
) -> dict[str, list[Quote]]:
    """Sentence-sized slices of the source documents, sorted by topic; none from the
    garbled regions of `sources` (no claim may rest on those alone)."""
    garbled = {source.slug: source for source in sources}
    pools: dict[str, list[Quote]] = {"any": [], "dose": [], "risk": []}
    for source in sorted(documents):
        for match in SENTENCE.finditer(documents[source]):
            entry = garbled.get(source)
            if entry is not None and entry.text_quality(match.start(), match.end()) != "clear":
                continue
            quote = Quote(source, match.start(), match.end(), match.group())
            pools["any"].append(quote)
            if DOSE_WORDS.search(quote.text):
                pools["dose"].append(quote)
            if RISK_WORDS.search(quote.text):
                pools["risk"].append(quote)
    empty = [name for name, pool in pools.items() if not pool]
    if empty:
        raise SeedError([f"source documents have no sentences for the quote pools {empty}"])
    return pools


def _weighted(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _some(rng: random.Random, weights: dict[Any, int], count: int) -> list[Any]:
    """`count` distinct keys of `weights`, drawn by weight."""
    remaining = dict(weights)
    chosen: list[Any] = []
    while remaining and len(chosen) < count:
        key = _weighted(rng, remaining)
        chosen.append(key)
        del remaining[key]
    return chosen


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Generator:
    """Makes exercise entries; one random stream, so the output depends only on the seed."""

    def __init__(self, rng: random.Random, real: Catalogue, documents: dict[str, str]):
        self.rng = rng
        self.quotes = quote_pools(documents, real.sources)
        self.goals = {goal.slug for goal in real.goals}
        self.conditions = {condition.slug for condition in real.conditions}
        self.taken = {entry.slug for entry in real.exercises}
        self.phase_orders: Counter[PhaseSlug] = Counter()
        # Stay after the curated exercises in each phase's progression order.
        self.first_order = 10 + max(
            (phase.order for entry in real.exercises for phase in entry.phases), default=0
        )
        wanted = {contra.condition for contra in (*CONTRAS, *STRETCH_CONTRAS)} | {
            goal for kind in KINDS.values() for goal in kind.goals
        }
        unknown = wanted - self.goals - self.conditions
        if unknown:
            raise SeedError([f"bench.synthetic uses unknown goals/conditions {sorted(unknown)}"])

    def exercises(self, count: int) -> list[ExerciseEntry]:
        drafts = [self._draft() for _ in range(count)]
        self._link_progressions(drafts)
        return [ExerciseEntry.model_validate(draft) for draft in drafts]

    def _draft(self) -> dict[str, Any]:
        rng = self.rng
        category: Category = _weighted(rng, {c: kind.weight for c, kind in KINDS.items()})
        kind = KINDS[category]
        position: Position | None = _weighted(rng, kind.positions)
        region = rng.choices(REGIONS, weights=[r.weight for r in REGIONS])[0]
        qualifier, equipment = rng.choice(QUALIFIERS)
        name = self._name(kind, position, region, qualifier)
        slug = SLUG_PREFIX + _slugify(name)
        phases = self._phases(kind)
        goals = _some(rng, kind.goals, rng.choices((1, 2, 3, 4), weights=(20, 47, 30, 3))[0])
        contraindications = self._contraindications(category)
        dosage = self._dosage(category)
        draft: dict[str, Any] = {
            "slug": slug,
            "name": name,
            "summary": self._summary(kind, position, region, goals),
            "category": category,
            "position": position,
            "equipment": self._equipment(equipment, position),
            "body_regions": self._regions(region),
            "difficulty": _weighted(rng, DIFFICULTIES),
            "instructions_basis": "editorial",
            "instructions": self._instructions(category, position, region),
            "cues": [
                cue.format(region=region.phrase)
                for cue in rng.sample(CUES, rng.choices((1, 2, 3), weights=(25, 68, 7))[0])
            ],
            "dosage": dosage,
            "phases": phases,
            "goals": goals,
            "contraindications": contraindications,
            "progressions": [],
            "evidence": [],
        }
        draft["evidence"] = self._evidence(draft)
        return draft

    def _name(self, kind: Kind, position: Position | None, region: Region, qualifier: str) -> str:
        rng = self.rng
        words = [
            rng.choice(POSITION_WORDS[position]),
            rng.choice(kind.modifiers),
            region.word,
            rng.choice(kind.movements),
            qualifier,
        ]
        base = " ".join(word for word in words if word)
        base = base[0].upper() + base[1:]
        # A repeat of an earlier draw becomes a numbered variation: distinct names, and
        # generation still ends however small the word lists are.
        name, variation = base, 1
        while SLUG_PREFIX + _slugify(name) in self.taken:
            variation += 1
            name = f"{base} (variation {variation})"
        self.taken.add(SLUG_PREFIX + _slugify(name))
        return name

    def _summary(
        self, kind: Kind, position: Position | None, region: Region, goals: list[str]
    ) -> str:
        rng = self.rng
        opening = kind.describes.format(region=region.phrase)
        where = rng.choice(POSITION_PHRASES[position])
        sentences = [f"{opening[0].upper()}{opening[1:]}, done {where}."]
        benefits = [
            GOAL_PHRASES.get(goal, f"helps with {goal.replace('-', ' ')}") for goal in goals
        ]
        sentences.append(f"It {' and '.join(benefits[:2])}.")
        extras = rng.choices((0, 1, 2, 3), weights=(30, 35, 25, 10))[0]
        sentences += [s.format(region=region.phrase) for s in rng.sample(EXTRA_SENTENCES, extras)]
        return " ".join(sentences)

    def _instructions(
        self, category: Category, position: Position | None, region: Region
    ) -> list[str]:
        rng = self.rng
        count = rng.choices((2, 3, 4, 5, 6, 7), weights=(3, 10, 70, 10, 4, 3))[0]
        steps = [rng.choice(SETUP_STEPS[position])]
        steps += rng.sample(ACTION_STEPS[category], min(count - 2, len(ACTION_STEPS[category])))
        steps += rng.sample(FINISH_STEPS, count - len(steps))
        # The extra clauses are about moving; a treatment such as ice does not move.
        clauses = ("",) if category is Category.modality else STEP_CLAUSES
        return [(step + rng.choice(clauses)).format(region=region.phrase) for step in steps]

    def _equipment(self, equipment: str | None, position: Position | None) -> list[str]:
        floor = position in (LYING, KNEELING) or (position is SITTING and self.rng.random() < 0.3)
        items = [equipment] if equipment else []
        if floor:
            items.append("mat")
        return items or ["none"]

    def _regions(self, primary: Region) -> list[str]:
        others = {r.slug: r.weight for r in REGIONS if r is not primary}
        count = self.rng.choices((0, 1, 2, 3), weights=(47, 26, 18, 9))[0]
        return [primary.slug, *_some(self.rng, others, count)]

    def _phases(self, kind: Kind) -> list[dict[str, Any]]:
        rng = self.rng
        count = rng.choices((1, 2, 3), weights=(74, 20, 6))[0]
        memberships = []
        for phase in sorted(_some(rng, kind.phases, count), key=list(PhaseSlug).index):
            self.phase_orders[phase] += 1
            caution = rng.random() < (0.15 if phase is A else 0.03)
            memberships.append(
                {
                    "phase": phase,
                    "order": self.first_order + 10 * self.phase_orders[phase],
                    "caution": caution,
                    # Synthetic placements are never a source's statement.
                    "basis": "inferred",
                    "note": rng.choice(PHASE_NOTES[phase]),
                }
            )
        return memberships

    def _contraindications(self, category: Category) -> list[dict[str, Any]]:
        rng = self.rng
        candidates = CONTRAS + (STRETCH_CONTRAS if category is Category.stretch else ())
        chosen = []
        for contra in candidates:
            if rng.random() < contra.chance:
                avoid = rng.random() < contra.avoid_share
                chosen.append(
                    {
                        "condition": contra.condition,
                        "severity": "avoid"
                        if avoid
                        else "stop"
                        if contra.condition in SYMPTOMS
                        else "caution",
                        "note": rng.choice(contra.notes),
                    }
                )
        return chosen

    def _dosage(self, category: Category) -> dict[str, Any]:
        rng = self.rng
        if rng.random() > 0.4:  # most curated exercises state no numbers at all
            return {}
        options = DOSES[category]
        dosage: dict[str, Any] = {
            key: options[key] for key in rng.sample(sorted(options), rng.randint(1, len(options)))
        }
        if rng.random() < 0.5:
            dosage["note"] = "Start at the lower end and build up over two to three weeks."
        return dosage

    def _quote(
        self, pool: str, field: EvidenceField, stance: Stance, subject: str | None
    ) -> dict[str, Any]:
        quote = self.rng.choice(self.quotes[pool])
        return {
            "source": quote.source,
            "field": field,
            "subject": subject,
            "stance": stance,
            "quote": quote.text,
            "start": quote.start,
            "end": quote.end,
        }

    def _evidence(self, draft: dict[str, Any]) -> list[dict[str, Any]]:
        rng = self.rng

        def stance(default: Stance) -> Stance:
            return Stance.contradicts if rng.random() < 0.03 else default

        evidence = [
            self._quote("any", EvidenceField.instructions, Stance.supports, None)
            for _ in range(rng.choice((1, 1, 2)))
        ]
        if rng.random() < 0.5:
            evidence.append(self._quote("any", EvidenceField.summary, Stance.supports, None))
        if draft["dosage"].keys() - {"note"}:
            evidence.append(self._quote("dose", EvidenceField.dosage, Stance.supports, None))
        for phase in draft["phases"]:
            evidence.append(
                self._quote("any", EvidenceField.phase, stance(Stance.supports), phase["phase"])
            )
        for goal in draft["goals"]:
            if rng.random() < 0.7:
                evidence.append(
                    self._quote("any", EvidenceField.goal, stance(Stance.supports), goal)
                )
        for item in draft["contraindications"]:
            evidence.append(
                self._quote(
                    "risk",
                    EvidenceField.contraindication,
                    stance(Stance.cautions),
                    item["condition"],
                )
            )
        return evidence

    def _link_progressions(self, drafts: Sequence[dict[str, Any]]) -> None:
        """Link some exercises to harder ones drawn later: edges only point forward in
        the list, so the progressions can never form a cycle."""
        rng = self.rng
        for index, draft in enumerate(drafts[:-1]):
            count = rng.choices((0, 1, 2), weights=(82, 15, 3))[0]
            window = range(index + 1, min(index + 200, len(drafts)))
            for harder in sorted(rng.sample(window, min(count, len(window)))):
                slug = drafts[harder]["slug"]
                draft["progressions"].append(slug)
                draft["evidence"].append(
                    self._quote("any", EvidenceField.progression, Stance.supports, slug)
                )


def real_catalogue() -> tuple[Catalogue, dict[str, str]]:
    """The curated catalogue and its source documents' text, by source slug."""
    catalogue = read_catalogue(CATALOGUE_DIR, DOCUMENTS_DIR)
    return catalogue, catalogue.documents


def build_catalogue(size: int, *, seed: int = SEED) -> Catalogue:
    """The curated catalogue grown to `size` exercises with synthetic ones (so `size`
    must be at least the number of curated exercises)."""
    real, documents = real_catalogue()
    if size < len(real.exercises):
        raise ValueError(f"size must be at least {len(real.exercises)}, the curated exercises")
    generated = Generator(random.Random(seed), real, documents).exercises(
        size - len(real.exercises)
    )
    catalogue = Catalogue(
        sources=real.sources,
        phases=real.phases,
        goals=real.goals,
        conditions=real.conditions,
        exercises=[*real.exercises, *generated],
        retired=real.retired,
        documents=real.documents,
    )
    # The same cross-file checks a curated catalogue passes: quotes at their offsets,
    # known slugs, no cycles.
    named = [(Path(f"<synthetic>/{entry.slug}"), entry) for entry in catalogue.exercises]
    problems = check_catalogue(catalogue, named, documents)
    if problems:
        raise SeedError(problems)
    return catalogue


# --- loading -------------------------------------------------------------------------


def migrate(database_url: str) -> None:
    """Bring the database's schema to the latest migration, as `catalogue migrate` does."""
    command.upgrade(alembic_config(database_url), "head")


@contextmanager
def progress_bar(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on stderr, as a `seed_catalogue` progress callback."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("seeding"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("seeding", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def seed_database(
    database_url: str, catalogue: Catalogue, progress: bool = True
) -> tuple[float, SeedReport]:
    """Migrate the database, then seed `catalogue`; the seconds seeding took, and its report."""
    migrate(database_url)
    engine = build_engine(database_url, timeout_seconds=LOAD_TIMEOUT_SECONDS)
    try:
        with Session(engine) as session, progress_bar(progress) as callback:
            started = time.perf_counter()
            report = seed_catalogue(session, catalogue, progress=callback)
            seconds = time.perf_counter() - started
        if engine.dialect.name == "postgresql":
            # Mark the freshly written pages all-visible, as autovacuum soon would on a
            # production server (this machine's test server runs with it off): without
            # that, index-only scans visit the table for every row. Not counted in the
            # load time.
            # Then write the load's pages out now: left to the checkpointer, the write-back
            # of a 100k load goes on for minutes, under whatever is measured next.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM"))
                try:
                    connection.execute(text("CHECKPOINT"))
                except DBAPIError as error:  # needs superuser or pg_checkpoint
                    print(f"no CHECKPOINT after the load: {error.orig}", file=sys.stderr)
        return seconds, report
    finally:
        engine.dispose()


def load(database_url: str, size: int, progress: bool = True) -> float:
    """Migrate the database and seed a synthetic catalogue of `size` exercises into it;
    the seconds seeding took (building the catalogue and migrating are not counted).
    On a database already holding a different catalogue, seeding reconciles the two."""
    seconds, _ = seed_database(database_url, build_catalogue(size), progress)
    return seconds


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.synthetic",
        description="Seed a synthetic catalogue of N exercises and report the load time.",
    )
    parser.add_argument("--exercises", type=int, default=1000, help="catalogue size (default 1000)")
    parser.add_argument(
        "--database-url", required=True, help="e.g. sqlite:///bench.db or postgresql://..."
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    arguments = parser.parse_args(argv)

    started = time.perf_counter()
    catalogue = build_catalogue(arguments.exercises)
    print(
        f"built {len(catalogue.exercises)} exercises "
        f"({sum(len(e.evidence) for e in catalogue.exercises)} evidence quotes) "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    seconds, report = seed_database(arguments.database_url, catalogue, not arguments.no_progress)
    print(
        f"{len(report.inserted)} inserted, {len(report.updated)} updated, "
        f"{len(report.deleted)} deleted",
        file=sys.stderr,
    )
    print(f"seeded {len(catalogue.exercises)} exercises in {seconds:.1f} s")


if __name__ == "__main__":
    main()
