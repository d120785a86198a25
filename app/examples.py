"""Examples for the OpenAPI document, taken from real responses of the seeded catalogue
(lists trimmed). `tests/test_http.py` checks each one against its response model, so
they cannot drift from the schemas. FastAPI leaves null values out of the OpenAPI
document, so the examples avoid required fields that are null."""

from typing import Any

# Verbatim from 002 at 8054..8134.
HEEL_DIG_PHASE_QUOTE = (
    "| Sitting Heel Dig | Gentle hamstring activation | Acute phase, minimal strain |"
)
HEEL_DIG_PHASE_CLAIM: dict[str, Any] = {
    "field": "phase",
    "subject": "acute",
    "stance": "supports",
    "quote": HEEL_DIG_PHASE_QUOTE,
    "start": 8054,
    "end": 8134,
}

EXERCISE_ITEM: dict[str, Any] = {
    "slug": "sitting-heel-dig",
    "name": "Sitting heel dig",
    "summary": "A gentle isometric hamstring contraction done on a chair: you press the heel "
    "into the floor.",
    "category": "activation",
    "position": "sitting",
    "difficulty": "beginner",
    "equipment": ["chair"],
    "goals": ["activation", "recovery"],
    "updated_at": "2026-11-21T10:45:20.615401Z",
    "phases": ["acute"],
    "cautions": [
        {
            "condition": "severe-pain",
            "severity": "caution",
            "note": "If you are in severe pain, consult a healthcare professional before starting.",
        }
    ],
}

EXERCISE_DETAIL: dict[str, Any] = {
    **{key: value for key, value in EXERCISE_ITEM.items() if key not in ("phases", "cautions")},
    "body_regions": ["hamstrings"],
    "instructions": [
        "Perch near the front of a chair and reach one leg forward, the knee a little bent, "
        "with only its heel touching the ground.",
        "Press the heel gently down into the floor to tighten the back of the thigh, "
        "without moving the leg.",
        "Hold the contraction, then relax.",
    ],
    "cues": ["Gentle effort only: it should not hurt."],
    "dosage": {
        "hold_seconds": {"min": 5, "max": 10},
        "reps": None,
        "sets": None,
        "rest_seconds": None,
        "per_day": None,
        "per_week": {"min": 3, "max": 4},
        "duration_seconds": None,
        "note": "Hold 5-10 s and repeat several times per leg (002).",
    },
    "phases": [
        {
            "phase": "acute",
            "order": 40,
            "caution": False,
            "note": "002: acute phase, minimal strain.",
        }
    ],
    "contraindications": [
        {
            "condition": "pain-during-exercise",
            "severity": "avoid",
            "note": "Leave out any movement that causes pain.",
        }
    ],
    "progressions": [],
    "regressions": [],
    "evidence": [{"source": "hamstring-pain-exercises-article", **HEEL_DIG_PHASE_CLAIM}],
}

PHASE: dict[str, Any] = {
    "slug": "acute",
    "name": "Acute",
    "description": "The first stage after a hamstring injury or flare-up: protect the muscle "
    "and calm pain and swelling.",
    "order": 1,
    "criteria_to_progress": "Move on when the gentle acute exercises can be done without pain.",
}

GOAL: dict[str, Any] = {
    "slug": "activation",
    "name": "Activation",
    "description": "Switch on under-active muscles (hamstrings, glutes) with gentle, targeted "
    "contractions.",
}

CONDITION: dict[str, Any] = {
    "slug": "acute-hamstring-strain",
    "name": "Acute hamstring strain",
    "description": "A recent strain or tear of the hamstring.",
}

SOURCE: dict[str, Any] = {
    "slug": "core3-back-pain-hamstring-blog",
    "title": "Back Pain? Do your hamstrings really need stretching?",
    "kind": "clinic-blog",
    "author": "Chris",
    "publisher": "Core 3 Wellness: BodyCHEK Therapy",
    "file": "003_c11dac91296d97ed.txt",
    "sha256": "0db3d5ee23daea3f4fb905cc75feb84ed485787ce7238bf6ff8f3de214de3d2b",
    "credibility_notes": ["A clinic blog; no credentials stated and no citations given."],
}

CATALOGUE: dict[str, Any] = {
    "version": "299dd784f7b98dd0e94b69a09b73e5c13284dd6f632c0af157a47d1f54518e27",
    "updated_at": "2026-11-21T10:45:20.615401Z",
    "counts": {
        "exercises": 34,
        "phases": 3,
        "goals": 13,
        "conditions": 11,
        "sources": 5,
        "evidence": 566,
    },
}

HEALTH: dict[str, Any] = {"status": "ok", "checks": {"database": "ok", "migrations": "0004"}}

PROBLEM: dict[str, Any] = {
    "type": "https://exercise-catalogue.example/problems/invalid-parameters",
    "title": "Invalid parameters",
    "status": 422,
    "detail": "Invalid value(s) for: phase.",
    "instance": "/v1/exercises",
    "errors": [
        {
            "parameter": "phase",
            "location": "query",
            "message": "Input should be 'acute', 'rehab' or 'return-to-sport'",
            "value": "bogus",
            "allowed": ["acute", "rehab", "return-to-sport"],
        }
    ],
}

# The term details embed one page of their list: these show it trimmed to one item,
# with the cursor of the page that ends there.
PHASE_DETAIL: dict[str, Any] = {
    **PHASE,
    "exercises": [
        {
            "slug": "sitting-heel-dig",
            "name": "Sitting heel dig",
            "order": 40,
            "caution": False,
            "note": "002: acute phase, minimal strain.",
        }
    ],
    "exercises_total": 7,
    "next_cursor": (
        "eyJmIjoiODNlMjU3YjNiZjY0ZWM4ZiIsImsiOls0MCwic2l0dGluZy1oZWVs"
        "LWRpZyJdfaetws0G-vrpCJjfkBZ57hI"
    ),
}

GOAL_DETAIL: dict[str, Any] = {
    **GOAL,
    "exercises": [{"slug": "sitting-heel-dig", "name": "Sitting heel dig"}],
    "exercises_total": 6,
    "next_cursor": (
        "eyJmIjoiZTg1YmYyYzk5OThmOTk1MSIsImsiOlsiU2l0dGluZyBoZWVsIGRp"
        "ZyIsInNpdHRpbmctaGVlbC1kaWciXX2gBiY_oMomom3hqeWv0NVv"
    ),
}

CONDITION_DETAIL: dict[str, Any] = {
    **CONDITION,
    "exercises": [
        {
            "slug": "standing-toe-touch",
            "name": "Standing toe touch (forward bend)",
            "severity": "avoid",
            "note": "Do not stretch a freshly strained hamstring.",
        }
    ],
    "exercises_total": 16,
    "next_cursor": (
        "eyJmIjoiMzRjOWJiOTZmYjAxOWI0OSIsImsiOlsiYXZvaWQiLCJTdGFuZGlu"
        "ZyB0b2UgdG91Y2ggKGZvcndhcmQgYmVuZCkiLCJzdGFuZGluZy10b2UtdG91"
        "Y2giXX2FyYJrV4jySRth9xyCdQRQ"
    ),
}

SOURCE_DETAIL: dict[str, Any] = {
    **SOURCE,
    "evidence": [{"exercise": "sitting-heel-dig", **HEEL_DIG_PHASE_CLAIM}],
    "evidence_total": 56,
    "exercises": ["sitting-heel-dig"],
    "exercises_total": 15,
    "next_cursor": (
        "eyJmIjoiMzcyZTYwZTcwMzM5MmVkMSIsImsiOls4MDU0LDgxMzQsMzg2XX2naF0-dLa9_RqmCSW0NoaZ"
    ),
}
