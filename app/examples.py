"""Examples for the OpenAPI document, taken from real responses of the seeded catalogue
(lists trimmed). `tests/test_http.py` checks each one against its response model, so
they cannot drift from the schemas. FastAPI leaves null values out of the OpenAPI
document, so the examples avoid required fields that are null."""

from typing import Any

# Verbatim from the article's "When to Use" table.
HEEL_DIG_PHASE_CLAIM: dict[str, Any] = {
    "field": "phase",
    "subject": "acute",
    "stance": "supports",
    "quote": "| Sitting Heel Dig | Gentle hamstring activation | Acute phase, minimal strain |",
    "start": 8054,
    "end": 8134,
    "text_quality": "clear",
}

EXERCISE_ITEM: dict[str, Any] = {
    "slug": "sitting-heel-dig",
    "name": "Sitting heel dig",
    "summary": "A gentle, static hamstring contraction on a chair: you press the heel "
    "into the floor without moving the leg. It puts minimal strain on the "
    "muscle, so it suits the acute phase.",
    "category": "activation",
    "position": "sitting",
    "difficulty": "beginner",
    "equipment": ["chair"],
    "goals": ["activation", "recovery"],
    "updated_at": "2026-12-01T09:52:58.382911Z",
    "version": 1,
    "phases": ["acute"],
    "cautions": [
        {
            "condition": "pain-during-exercise",
            "severity": "stop",
            "note": "Stop the press if it causes pain. Leave out painful movements "
            "and progress gradually, without pushing through pain.",
        }
    ],
}

EXERCISE_DETAIL: dict[str, Any] = {
    **{key: value for key, value in EXERCISE_ITEM.items() if key not in ("phases", "cautions")},
    **{
        "aliases": ["heel dig"],
        "body_regions": ["hamstrings"],
        "instructions": [
            "Sit on the front edge of a chair and reach one leg forward with "
            "only the heel on the floor and the knee slightly bent.",
            "Press the heel gently down into the floor so that the back of the "
            "thigh tightens, without the leg moving.",
            "Keep the press for 5 to 10 seconds, then let go.",
            "Do a handful of presses on each leg.",
        ],
        "instructions_basis": "sourced",
        "cues": ["Gentle effort only: it should not hurt.", "Breathe normally while you press."],
        "mistakes": [
            "Pushing through pain, or making the exercise harder too soon. Build up gradually."
        ],
        "dosage": {
            "hold_seconds": {"min": 5, "max": 10},
            "reps": None,
            "sets": None,
            "rest_seconds": None,
            "per_day": None,
            "per_week": None,
            "duration_seconds": None,
            "note": "Hold each press for 5 to 10 seconds and repeat several times on "
            "each leg. No source says how many times a day or week; the "
            "article's 3 to 4 times a week answers a question about the "
            "exercises named just before it (the lying and wall stretches, "
            "prone curl and Nordic exercise), so it is not applied here.",
        },
        "phases": [
            {
                "phase": "acute",
                "order": 30,
                "caution": False,
                "basis": "stated",
                "note": "The article's table: acute phase, minimal strain.",
            }
        ],
        "contraindications": [
            {
                "condition": "pain-during-exercise",
                "severity": "stop",
                "note": "Stop the press if it causes pain. Leave out painful "
                "movements and progress gradually, without pushing "
                "through pain.",
            }
        ],
        "progressions": ["prone-hamstring-curl"],
        "regressions": [],
    },
    "evidence": [{"source": "hamstring-pain-exercises-article", **HEEL_DIG_PHASE_CLAIM}],
}

PHASE: dict[str, Any] = {
    "slug": "acute",
    "name": "Acute",
    "description": "The first stage after a hamstring injury or a flare-up of hamstring "
    "pain. Relative rest and ice come first (the editors' placement: the "
    "sources recommend both after an injury but name no phase), then the "
    "gentlest work the article's table names for this phase: a sitting "
    "heel dig, then light prone curls, with the editors' caution to start "
    "them only when a clinician says so. The table also lists a lying or "
    "standing hamstring stretch with caution; this catalogue puts those "
    "two stretches last and advises against stretching a freshly strained "
    "muscle until a clinician clears it. The sources give no time frame "
    "(days or weeks) for this stage.",
    "order": 1,
    "version": 1,
    "criteria_to_progress": "The sources give no test for leaving the acute phase and no "
    "time frame for it. What they do say: your clinician will "
    "tell you when to start the exercises and which ones suit "
    "you; progress gradually and do not push through pain; and "
    "get professional advice before going on if pain is severe, "
    "persists or gets worse, or if nerve pain or sciatica "
    "symptoms appear.",
}

GOAL: dict[str, Any] = {
    "slug": "activation",
    "name": "Activation",
    "description": "Switch on under-active muscles (hamstrings, glutes) with gentle, "
    "targeted contractions.",
    "version": 1,
}

CONDITION: dict[str, Any] = {
    "slug": "acute-hamstring-strain",
    "name": "Acute hamstring strain",
    "description": "A recent strain or tear of the hamstring, including an injury where "
    "its tendon attaches at the sit bone. Sources disagree about "
    "stretching it: one warns that stretching a strained muscle can injure "
    "it further, another allows cautious stretching in the acute phase, "
    "and a handout lists strain as a reason for its stretch. This "
    "catalogue follows the more careful reading.",
    "kind": "diagnosis",
    "version": 1,
}

SOURCE: dict[str, Any] = {
    "slug": "core3-back-pain-hamstring-blog",
    "title": "Back Pain? Do your hamstrings really need stretching?",
    "kind": "clinic-blog",
    "author": "Chris",
    "publisher": "Core 3 Wellness: BodyCHEK Therapy",
    "file": "003_c11dac91296d97ed.txt",
    "sha256": "0db3d5ee23daea3f4fb905cc75feb84ed485787ce7238bf6ff8f3de214de3d2b",
    "credibility_notes": [
        "A clinic blog by 'Chris' (first name only, no credentials "
        "stated) promoting the clinic's own 'Postural Re-education' "
        "approach, which it presents as 'contrary to traditional "
        "physiotherapy'. It ends with a call to contact the clinic."
    ],
    "garbled_regions": [],
    "version": 1,
}

CATALOGUE: dict[str, Any] = {
    "version": "2e94870a7dccb317b514e81654897f8876b7b7681f228bcfd06babe582d97ad3",
    "updated_at": "2026-12-01T09:52:58.382911Z",
    "counts": {
        "exercises": 34,
        "phases": 3,
        "goals": 14,
        "conditions": 10,
        "sources": 5,
        "evidence": 875,
    },
}

HEALTH: dict[str, Any] = {"status": "ok", "checks": {"database": "ok", "migrations": "0006"}}

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
            "slug": "rest",
            "name": "Relative rest",
            "order": 10,
            "caution": False,
            "basis": "inferred",
            "note": "Inferred: a source advises resting an injured hamstring tendon by using it "
            "minimally, which belongs to the first stage after an injury.",
        }
    ],
    "exercises_total": 6,
    "next_cursor": ("eyJmIjoiODNlMjU3YjNiZjY0ZWM4ZiIsImsiOlsxMCwicmVzdCJdfdYhC0oFDB-OGAXCtZgW0Pk"),
}

GOAL_DETAIL: dict[str, Any] = {
    **GOAL,
    "exercises": [{"slug": "clamshell", "name": "Clamshell"}],
    "exercises_total": 6,
    "next_cursor": (
        "eyJmIjoiZTg1YmYyYzk5OThmOTk1MSIsImsiOlsiQ2xhbXNoZWxsIiwiY2xh"
        "bXNoZWxsIl19XAu9miD00E6f-xWB1j3HoA"
    ),
}

CONDITION_DETAIL: dict[str, Any] = {
    **CONDITION,
    "exercises": [
        {
            "slug": "band-hamstring-stretch",
            "name": "Band hamstring stretch",
            "severity": "avoid",
            "note": "Sources disagree. The article's table allows the lying hamstring stretch in "
            "the acute phase with caution, and this is the same stretch done with a "
            "band; another source says gentle stretching can help after an injury but "
            "warns that stretching a muscle that is already strained can injure it. The "
            "catalogue follows the more careful reading: avoid it with a fresh strain "
            "unless a clinician has cleared gentle stretching.",
        }
    ],
    "exercises_total": 27,
    "next_cursor": (
        "eyJmIjoiMzRjOWJiOTZmYjAxOWI0OSIsImsiOlsiYXZvaWQiLCJCYW5kIGhh"
        "bXN0cmluZyBzdHJldGNoIiwiYmFuZC1oYW1zdHJpbmctc3RyZXRjaCJdfUj8"
        "CjvA68J4AiOUhr7GCo8"
    ),
}

SOURCE_DETAIL: dict[str, Any] = {
    **SOURCE,
    "evidence": [
        {
            "exercise": "posterior-pelvic-tilt-hamstring-activation",
            "field": "goal",
            "subject": "low-back-pain-relief",
            "stance": "supports",
            "quote": "“When the hamstrings are weak and long, the hips will dive forward placing "
            "your lumbar spine into a more compressed/extended position leading to "
            "wear, disc bulging and nerve impingement”",
            "start": 610,
            "end": 796,
            "text_quality": "clear",
        }
    ],
    "evidence_total": 74,
    "exercises": ["posterior-pelvic-tilt-hamstring-activation"],
    "exercises_total": 30,
    "next_cursor": (
        "eyJmIjoiMzcyZTYwZTcwMzM5MmVkMSIsImsiOls2MTAsNzk2LDUwMF19HZHLzz9FKFEnC-hg2b9dJQ"
    ),
}

PROPOSAL_IN: dict[str, Any] = {
    "kind": "goal",
    "action": "update",
    "slug": "activation",
    "base_version": 1,
    "data": {
        "slug": "activation",
        "name": "Activation",
        "description": "Switch on under-active muscles (hamstrings, glutes) with gentle, "
        "targeted contractions, before harder work.",
    },
    "reason": "Say what activation leads to.",
}

PROPOSAL: dict[str, Any] = {
    "id": 7,
    **PROPOSAL_IN,
    "document_sha256": None,
    "status": "approved",
    "author": "alex",
    "created_at": "2026-12-01T10:00:00Z",
    "decided_by": "sam",
    "decided_at": "2026-12-01T10:30:00Z",
    "decision_reason": "Clearer.",
}

# One problem per status the API answers with, as it words them; `instance` is the
# operation's own path (see `app.openapi`).
_PROBLEMS = "https://exercise-catalogue.example/problems/"
PROBLEMS: dict[int, dict[str, Any]] = {
    308: {
        "type": _PROBLEMS + "renamed",
        "title": "Moved permanently",
        "status": 308,
        "detail": "The goal 'mobility' is now 'flexibility'.",
    },
    400: {
        "type": _PROBLEMS + "invalid-parameters",
        "title": "Invalid parameters",
        "status": 400,
        "detail": "The body is not valid JSON.",
    },
    401: {
        "type": _PROBLEMS + "unauthorized",
        "title": "Unauthorized",
        "status": 401,
        "detail": "This needs an API key: send `Authorization: Bearer <key>`.",
    },
    403: {
        "type": _PROBLEMS + "forbidden",
        "title": "Forbidden",
        "status": 403,
        "detail": "A proposal is approved by a reviewer other than its author.",
    },
    404: {
        "type": _PROBLEMS + "not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No exercise with slug 'no-such-exercise'.",
    },
    406: {
        "type": _PROBLEMS + "not-acceptable",
        "title": "Not acceptable",
        "status": 406,
        "detail": "This API only serves application/json; the Accept header was 'text/html'.",
    },
    409: {
        "type": _PROBLEMS + "conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "Proposal 7 was already approved.",
    },
    410: {
        "type": _PROBLEMS + "gone",
        "title": "Gone",
        "status": 410,
        "detail": "The goal 'mobility' was removed from the catalogue.",
        "deleted_at": "2026-12-01T09:52:58Z",
    },
    412: {
        "type": _PROBLEMS + "precondition-failed",
        "title": "Precondition failed",
        "status": 412,
        "detail": 'Proposal 7 changed since it was read (its ETag is now "7-open-").',
    },
    413: {
        "type": _PROBLEMS + "payload-too-large",
        "title": "Payload too large",
        "status": 413,
        "detail": "The request body is larger than 4194304 bytes, the most accepted.",
    },
    414: {
        "type": _PROBLEMS + "uri-too-long",
        "title": "URI too long",
        "status": 414,
        "detail": "The request target is 9000 bytes; at most 8192 are accepted. Send fewer "
        "or shorter filter values.",
    },
    415: {
        "type": _PROBLEMS + "unsupported-media-type",
        "title": "Unsupported media type",
        "status": 415,
        "detail": "Send the body as JSON, with `Content-Type: application/json`.",
    },
    422: {
        "type": _PROBLEMS + "invalid-parameters",
        "title": "Invalid parameters",
        "status": 422,
        "detail": "Invalid value(s) for: goal, limit.",
        "errors": [
            {
                "parameter": "limit",
                "location": "query",
                "message": "Input should be less than or equal to 100",
                "value": "500",
            },
            {
                "parameter": "goal",
                "location": "query",
                "message": "unknown value; allowed: activation, flexibility, strength",
                "value": "levitation",
                "allowed": ["activation", "flexibility", "strength"],
            },
        ],
    },
    429: {
        "type": _PROBLEMS + "too-many-requests",
        "title": "Too many requests",
        "status": 429,
        "detail": "This key has made 60 writes in the last hour; at most 60 are allowed.",
    },
    503: {
        "type": _PROBLEMS + "database-unavailable",
        "title": "Database unavailable",
        "status": 503,
        "detail": "The catalogue database cannot be reached; try again shortly.",
    },
}


SUGGESTIONS: dict[str, Any] = {
    "items": [
        {
            "text": "Nordic hamstring exercise",
            "kind": "exercise",
            "slug": "nordic-hamstring-exercise",
        }
    ]
}
