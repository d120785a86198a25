"""GET /v1/exercises and /v1/exercises/{slug}."""

import base64
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from app import pagination
from app.models import CatalogueState, Exercise
from app.queries.exercises import get_exercise
from app.schemas import ExerciseDetail
from app.seeding.reading import Catalogue, read_catalogue
from app.seeding.writing import seed_catalogue
from app.settings import PROJECT_ROOT, get_settings
from app.vocabulary import Category, Difficulty, InstructionsBasis, Severity
from tests.conftest import FIXTURE_CATALOGUE
from tests.helpers import assert_problem, slugs, walk

PROBLEM_JSON = "application/problem+json"
DOCS = PROJECT_ROOT / "seed"


def exercise(session: Session, slug: str) -> Exercise:
    return session.exec(select(Exercise).where(Exercise.slug == slug)).one()


class TestListExercises:
    def test_lists_every_exercise_by_name_with_the_envelope(self, client, expected):
        response = client.get("/v1/exercises")
        body = response.json()
        assert response.status_code == 200
        assert set(body) == {"items", "total", "limit", "next_cursor"}
        assert slugs(body) == expected(lambda e: True)
        assert body["total"] == len(expected(lambda e: True))
        assert body["limit"] == 20
        assert body["next_cursor"] is None
        assert "link" not in response.headers

    def test_list_item_fields(self, client, catalogue: Catalogue):
        item = next(
            i
            for i in client.get("/v1/exercises").json()["items"]
            if i["slug"] == "lying-hamstring-stretch"
        )
        entry = next(e for e in catalogue.exercises if e.slug == "lying-hamstring-stretch")
        assert item["name"] == entry.name
        assert item["summary"] == entry.summary
        assert item["category"] == entry.category
        assert item["position"] == entry.position
        assert item["difficulty"] == entry.difficulty
        assert item["equipment"] == sorted(entry.equipment)
        assert item["phases"] == ["acute", "rehab", "return-to-sport"]
        assert item["goals"] == sorted(entry.goals)
        assert item["cautions"] is None
        datetime.fromisoformat(item["updated_at"])

    def test_every_item_lists_its_own_phases_goals_and_equipment(
        self, client, catalogue: Catalogue
    ):
        # A page reads phases and goals from the exercise's copies of their ids and
        # equipment in the page's own statement: each item must still get its own.
        phase_order = [phase.slug for phase in sorted(catalogue.phases, key=lambda p: p.order)]
        items = client.get("/v1/exercises", params={"limit": 100}).json()["items"]
        listed = {item["slug"]: item for item in items}
        assert listed.keys() == {entry.slug for entry in catalogue.exercises}
        for entry in catalogue.exercises:
            in_phases = {membership.phase for membership in entry.phases}
            assert listed[entry.slug]["phases"] == [p for p in phase_order if p in in_phases]
            assert listed[entry.slug]["goals"] == sorted(entry.goals)
            assert listed[entry.slug]["equipment"] == sorted(entry.equipment)

    @pytest.mark.parametrize(
        ("parameter", "values", "predicate"),
        [
            ("phase", ["acute"], lambda e: "acute" in [p.phase for p in e.phases]),
            (
                "phase",
                ["rehab", "return-to-sport"],
                lambda e: {p.phase for p in e.phases} & {"rehab", "return-to-sport"},
            ),
            ("goal", ["strength"], lambda e: "strength" in e.goals),
            (
                "goal",
                ["recovery", "activation"],
                lambda e: {"recovery", "activation"} & set(e.goals),
            ),
            ("category", ["stretch"], lambda e: e.category == "stretch"),
            (
                "category",
                ["modality", "soft-tissue"],
                lambda e: e.category in ("modality", "soft-tissue"),
            ),
            ("equipment", ["chair"], lambda e: "chair" in e.equipment),
            (
                "equipment",
                ["towel", "foam-roller"],
                lambda e: {"towel", "foam-roller"} & set(e.equipment),
            ),
            ("position", ["lying"], lambda e: e.position == "lying"),
            (
                "position",
                ["kneeling", "standing"],
                lambda e: e.position in ("kneeling", "standing"),
            ),
            ("difficulty", ["advanced"], lambda e: e.difficulty == "advanced"),
            (
                "difficulty",
                ["beginner", "intermediate"],
                lambda e: e.difficulty in ("beginner", "intermediate"),
            ),
            ("body_region", ["glutes"], lambda e: "glutes" in e.body_regions),
            (
                "body_region",
                ["lower-back", "glutes"],
                lambda e: {"lower-back", "glutes"} & set(e.body_regions),
            ),
            (
                "source",
                ["tight-hamstrings-aggregate"],
                lambda e: "tight-hamstrings-aggregate" in {i.source for i in e.evidence},
            ),
        ],
    )
    def test_each_filter_alone(self, client, expected, parameter, values, predicate):
        body = client.get("/v1/exercises", params={parameter: values}).json()
        wanted = expected(predicate)
        assert wanted, "the test catalogue must have matches for this filter"
        assert wanted != expected(lambda e: True), "the filter must leave something out"
        assert slugs(body) == wanted
        assert body["total"] == len(wanted)

    def test_filters_combine_with_and(self, client, expected):
        params = {
            "phase": "acute",
            "category": "stretch",
            "equipment": ["none", "towel"],
            "position": "lying",
        }
        body = client.get("/v1/exercises", params=params).json()
        assert slugs(body) == expected(
            lambda e: (
                "acute" in [p.phase for p in e.phases]
                and e.category == "stretch"
                and {"none", "towel"} & set(e.equipment)
                and e.position == "lying"
            )
        )
        assert slugs(body) == ["lying-hamstring-stretch", "towel-hamstring-stretch"]

    def test_filters_that_match_nothing_give_an_empty_page(self, client):
        body = client.get(
            "/v1/exercises", params={"phase": "acute", "difficulty": "advanced"}
        ).json()
        assert body == {"items": [], "total": 0, "limit": 20, "next_cursor": None}

    def test_safe_for_drops_avoid_and_lists_caution_and_stop(self, client, catalogue):
        condition = "sciatica-nerve-symptoms"
        rules = {
            e.slug: (c.severity, c.note)
            for e in catalogue.exercises
            for c in e.contraindications
            if c.condition == condition
        }
        assert {severity for severity, _ in rules.values()} == {Severity.avoid, Severity.stop}
        body = client.get("/v1/exercises", params={"safe_for": condition}).json()
        listed = {item["slug"]: item["cautions"] for item in body["items"]}
        assert set(listed) == {e.slug for e in catalogue.exercises} - {
            slug for slug, (severity, _) in rules.items() if severity == Severity.avoid
        }
        for slug, cautions in listed.items():
            if slug in rules:
                severity, note = rules[slug]
                assert cautions == [{"condition": condition, "severity": severity, "note": note}]
            else:
                assert cautions == []

    def test_safe_for_a_retired_condition_slug_filters_as_its_successor(self, client):
        old = client.get("/v1/exercises", params={"safe_for": "nerve-symptoms"}).json()
        new = client.get("/v1/exercises", params={"safe_for": "sciatica-nerve-symptoms"}).json()
        assert old["items"] == new["items"]
        assert old["total"] == new["total"] < client.get("/v1/exercises").json()["total"]

    def test_safe_for_a_removed_condition_slug_is_accepted_and_drops_nothing(self, client):
        body = client.get("/v1/exercises", params={"safe_for": "ballistic-stretching"}).json()
        everything = client.get("/v1/exercises").json()
        assert slugs(body) == slugs(everything)
        assert {item["cautions"] == [] for item in body["items"]} == {True}

    def test_safe_for_several_conditions_drops_any_avoid(self, client):
        body = client.get(
            "/v1/exercises",
            params={"safe_for": ["sciatica-nerve-symptoms", "acute-hamstring-strain"]},
        ).json()
        assert "towel-hamstring-stretch" not in slugs(body)
        assert "nordic-hamstring-exercise" not in slugs(body)
        lying = next(i for i in body["items"] if i["slug"] == "lying-hamstring-stretch")
        assert [c["condition"] for c in lying["cautions"]] == [
            "acute-hamstring-strain",
            "sciatica-nerve-symptoms",
        ]

    @pytest.mark.parametrize(
        "q",
        [
            '"',
            "NEAR(",
            "stretch*",
            "a OR b) AND (",
            "'; DROP TABLE exercise; --",
            "🦵" * 50 + " towel",
            "x\u0000towel",
        ],
    )
    def test_hostile_search_strings_are_plain_words(self, client, q):
        response = client.get("/v1/exercises", params={"q": q})
        if response.status_code == 422:
            assert_problem(response, 422, "q")
        else:
            assert response.status_code == 200
        assert client.get("/v1/exercises").json()["total"] == 8

    def test_updated_since(self, client, session: Session):
        later = datetime.now(UTC) + timedelta(days=1)
        row = exercise(session, "moist-heat")
        row.updated_at = later
        session.commit()
        since = (later - timedelta(seconds=1)).isoformat()
        assert slugs(client.get("/v1/exercises", params={"updated_since": since}).json()) == [
            "moist-heat"
        ]
        naive = (later - timedelta(seconds=1)).replace(tzinfo=None).isoformat()
        assert slugs(client.get("/v1/exercises", params={"updated_since": naive}).json()) == [
            "moist-heat"
        ]

    def test_sort_by_updated_at_descending(self, client, session: Session):
        base = datetime(2030, 1, 1, tzinfo=UTC)
        order = ["towel-hamstring-stretch", "moist-heat", "sitting-heel-dig"]
        for offset, slug in enumerate(order):
            exercise(session, slug).updated_at = base - timedelta(hours=offset)
        session.commit()
        pages = walk(client, "/v1/exercises", {"sort": "-updated_at", "limit": 2})
        listed = [slug for page in pages for slug in slugs(page)]
        assert listed[:3] == order
        assert len(listed) == 8

    def test_sort_by_phase_order(self, client, catalogue):
        wanted = [
            e.slug
            for e in sorted(
                (e for e in catalogue.exercises if "acute" in [p.phase for p in e.phases]),
                key=lambda e: next(p.order for p in e.phases if p.phase == "acute"),
            )
        ]
        pages = walk(client, "/v1/exercises", {"phase": "acute", "sort": "phase_order", "limit": 2})
        assert [slug for page in pages for slug in slugs(page)] == wanted

    def test_pagination_walks_every_item_once(self, client, expected):
        pages = walk(client, "/v1/exercises", {"limit": 3})
        listed = [slug for page in pages for slug in slugs(page)]
        assert listed == expected(lambda e: True)
        assert [len(page["items"]) for page in pages] == [3, 3, 2]
        assert all(page["total"] == 8 and page["limit"] == 3 for page in pages)

    def test_link_header_points_to_the_next_page_until_the_last(self, client):
        response = client.get("/v1/exercises", params={"limit": 3, "phase": "acute"})
        cursor = response.json()["next_cursor"]
        assert response.headers["link"] == (
            f'<http://testserver/v1/exercises?limit=3&phase=acute&cursor={cursor}>; rel="next"'
        )
        following = client.get(response.headers["link"][1:].split(">")[0])
        assert following.status_code == 200
        assert following.json()["next_cursor"] is None
        assert "link" not in following.headers

    def test_pagination_is_stable_when_a_row_is_inserted_between_pages(
        self, client, session, expected
    ):
        first = client.get("/v1/exercises", params={"limit": 3}).json()
        row = Exercise(
            slug="aaa-new-exercise",
            name="Aaa new exercise",
            summary="Sorts first by name.",
            category=Category.stretch,
            difficulty=Difficulty.beginner,
            instructions_basis=InstructionsBasis.editorial,
            instructions=["Do it."],
            content_hash="0" * 64,
            updated_at=datetime.now(UTC),
        )
        session.add(row)
        # Every write moves the catalogue state on (seeding does): ETags and the
        # per-revision match counts key on it.
        session.get(CatalogueState, 1).updated_at = datetime.now(UTC)
        session.commit()
        rest = walk(client, "/v1/exercises", {"limit": 3, "cursor": first["next_cursor"]})
        listed = slugs(first) + [slug for page in rest for slug in slugs(page)]
        assert listed == expected(lambda e: True)
        assert rest[0]["total"] == 9

    def test_total_is_recounted_when_a_reseed_changes_the_catalogue(
        self, client, session, catalogue: Catalogue, tmp_path
    ):
        acute = [e.slug for e in catalogue.exercises if "acute" in [p.phase for p in e.phases]]
        before = client.get("/v1/exercises", params={"phase": "acute", "limit": 1}).json()
        counts: list[str] = []
        record = lambda *args: counts.append(args[2]) if "count(" in args[2] else None  # noqa: E731
        event.listen(session.get_bind(), "before_cursor_execute", record)
        again = client.get("/v1/exercises", params={"phase": "acute", "limit": 1}).json()
        event.remove(session.get_bind(), "before_cursor_execute", record)
        assert before["total"] == again["total"] == len(acute)
        assert counts == []  # the repeat was not counted again

        edited = Path(shutil.copytree(FIXTURE_CATALOGUE, tmp_path / "catalogue"))
        (edited / "exercises" / f"{acute[0]}.yaml").unlink()
        seed_catalogue(session, read_catalogue(edited, DOCS))
        after = client.get("/v1/exercises", params={"phase": "acute", "limit": 1}).json()
        assert after["total"] == len(acute) - 1

    def test_a_cursor_with_different_filters_is_rejected(self, client):
        cursor = client.get("/v1/exercises", params={"limit": 1}).json()["next_cursor"]
        response = client.get(
            "/v1/exercises", params={"limit": 1, "cursor": cursor, "phase": "acute"}
        )
        assert_problem(response, 422, "cursor")

    @pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
    def test_a_time_beyond_the_calendar_in_utc_is_a_422(self, client, moment):
        # sort=-updated_at keys on times; one that leaves the calendar once in UTC
        # cannot be compared with a column.
        params = {"sort": "-updated_at", "limit": 1}
        cursor = client.get("/v1/exercises", params=params).json()["next_cursor"]
        token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        fingerprint = json.loads(token[:-16])["f"]
        payload = json.dumps({"f": fingerprint, "k": [moment, 1]}).encode()
        forged = payload + pagination._sign(get_settings().cursor_secret, payload)
        encoded = base64.urlsafe_b64encode(forged).decode().rstrip("=")
        response = client.get("/v1/exercises", params={**params, "cursor": encoded})
        assert_problem(response, 422, "cursor")

    def test_a_modified_cursor_is_rejected(self, client):
        cursor = client.get("/v1/exercises", params={"limit": 1}).json()["next_cursor"]
        flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
        assert_problem(client.get("/v1/exercises", params={"cursor": flipped}), 422, "cursor")

    @pytest.mark.parametrize(
        ("params", "parameter"),
        [
            ({"phase": "recovery"}, "phase"),
            ({"category": "yoga"}, "category"),
            ({"position": "upside-down"}, "position"),
            ({"difficulty": "easy"}, "difficulty"),
            ({"sort": "random"}, "sort"),
        ],
    )
    def test_unknown_closed_vocabulary_value_lists_allowed_values(self, client, params, parameter):
        body = assert_problem(client.get("/v1/exercises", params=params), 422, parameter)
        error = body["errors"][0]
        assert error["value"] == next(iter(params.values()))
        assert error["allowed"]

    def test_unknown_phase_lists_the_three_phases(self, client):
        body = assert_problem(
            client.get("/v1/exercises", params={"phase": "recovery"}), 422, "phase"
        )
        assert body["errors"] == [
            {
                "parameter": "phase",
                "location": "query",
                "message": "Input should be 'acute', 'rehab' or 'return-to-sport'",
                "value": "recovery",
                "allowed": ["acute", "rehab", "return-to-sport"],
            }
        ]

    @pytest.mark.parametrize(
        ("parameter", "value"),
        [
            ("goal", "levitation"),
            ("equipment", "trampoline"),
            ("body_region", "elbow"),
            ("source", "nope"),
            ("safe_for", "broken-heart"),
        ],
    )
    def test_unknown_open_vocabulary_value_lists_allowed_values(
        self, client, session, parameter, value
    ):
        body = assert_problem(
            client.get("/v1/exercises", params={parameter: value}), 422, parameter
        )
        assert body["errors"][0]["value"] == value
        assert len(body["errors"][0]["allowed"]) >= 3
        assert value not in body["errors"][0]["allowed"]

    def test_unknown_equipment_lists_the_equipment_in_use(self, client, catalogue):
        body = assert_problem(
            client.get("/v1/exercises", params={"equipment": "trampoline"}), 422, "equipment"
        )
        assert body["errors"][0]["allowed"] == sorted(
            {i for e in catalogue.exercises for i in e.equipment}
        )

    @pytest.mark.parametrize(
        ("params", "parameter"),
        [
            ({"limit": 0}, "limit"),
            ({"limit": 101}, "limit"),
            ({"limit": "ten"}, "limit"),
            ({"cursor": "not-a-cursor"}, "cursor"),
            ({"cursor": "x" * 600}, "cursor"),
            ({"updated_since": "yesterday"}, "updated_since"),
            ({"updated_since": "2026-13-45"}, "updated_since"),
            ({"updated_since": "9999-12-31T23:59:59-14:00"}, "updated_since"),
            ({"updated_since": "0001-01-01T00:00:00+14:00"}, "updated_since"),
            ({"q": "x" * 201}, "q"),
            ({"q": ""}, "q"),
            ({"q": "?!"}, "q"),
            ({"goal": "Not A Slug"}, "goal"),
            ({"phase": ["acute"] * 21}, "phase"),
            ({"sort": "phase_order"}, "sort"),
            ({"sort": "phase_order", "phase": ["acute", "rehab"]}, "sort"),
            ({"phasee": "acute"}, "phasee"),
        ],
    )
    def test_bad_input_is_a_422_problem(self, client, params, parameter):
        assert_problem(client.get("/v1/exercises", params=params), 422, parameter)

    def test_every_problem_of_a_request_is_reported_at_once(self, client, catalogue):
        """Invalid values, unknown slugs (which take the catalogue to find) and a bad
        cursor, in one 422, each named with its value."""
        response = client.get(
            "/v1/exercises",
            params={"goal": "levitation", "limit": 500, "source": "nope", "cursor": "x!"},
        )
        body = assert_problem(response, 422)
        assert body["detail"] == "Invalid value(s) for: cursor, goal, limit, source."
        goals = sorted(goal.slug for goal in catalogue.goals)
        sources = sorted(source.slug for source in catalogue.sources)
        assert body["errors"] == [
            {
                "parameter": "limit",
                "location": "query",
                "message": "Input should be less than or equal to 100",
                "value": "500",
            },
            {
                "parameter": "cursor",
                "location": "query",
                "message": "not a cursor this API issued",
                "value": "x!",
            },
            {
                "parameter": "goal",
                "location": "query",
                "message": f"unknown value; allowed: {', '.join(goals)}",
                "value": "levitation",
                "allowed": goals,
            },
            {
                "parameter": "source",
                "location": "query",
                "message": f"unknown value; allowed: {', '.join(sources)}",
                "value": "nope",
                "allowed": sources,
            },
        ]

    def test_unknown_slugs_of_several_filters_are_reported_together(self, client):
        body = assert_problem(
            client.get("/v1/exercises", params={"goal": "levitation", "equipment": "trampoline"}),
            422,
        )
        assert body["detail"] == "Invalid value(s) for: equipment, goal."
        assert [(e["parameter"], e["value"]) for e in body["errors"]] == [
            ("goal", "levitation"),
            ("equipment", "trampoline"),
        ]

    def test_bad_parameters_get_no_304(self, client):
        response = client.get(
            "/v1/exercises",
            params={"goal": "levitation", "limit": 0},
            headers={"If-None-Match": "*"},
        )
        assert [e["parameter"] for e in assert_problem(response, 422)["errors"]] == [
            "limit",
            "goal",
        ]

    def test_limit_at_the_bounds(self, client):
        assert len(client.get("/v1/exercises", params={"limit": 1}).json()["items"]) == 1
        assert client.get("/v1/exercises", params={"limit": 100}).json()["limit"] == 100


class TestGetExercise:
    def test_detail_is_built_from_what_the_read_loaded(self, session, catalogue):
        # The route ends the read transaction before it builds the detail: anything
        # loaded lazily then would be a query on the event loop, outside the snapshot.
        for entry in catalogue.exercises:
            exercise = get_exercise(session, slug=entry.slug)
            session.expunge_all()  # detached: an unloaded attribute now raises
            assert ExerciseDetail.from_row(exercise).slug == entry.slug

    def test_detail_has_everything(self, client, catalogue):
        body = client.get("/v1/exercises/lying-hamstring-stretch").json()
        entry = next(e for e in catalogue.exercises if e.slug == "lying-hamstring-stretch")
        assert body["aliases"] == ["supine hamstring stretch"]
        assert body["body_regions"] == sorted(entry.body_regions)
        assert body["instructions"] == entry.instructions
        assert body["instructions_basis"] == "editorial"
        assert body["cues"] == entry.cues
        assert body["mistakes"] == ["Forcing the stretch or going into it fast."]
        assert body["dosage"] == {
            "hold_seconds": {"min": 15, "max": 30},
            "reps": None,
            "sets": None,
            "rest_seconds": None,
            "per_day": None,
            "per_week": None,
            "duration_seconds": None,
            "note": None,
        }
        inferred = "Inferred for the test catalogue."
        assert body["phases"] == [
            {
                "phase": "acute",
                "order": 10,
                "caution": True,
                "basis": "stated",
                "note": "Gently; with caution.",
            },
            {
                "phase": "rehab",
                "order": 10,
                "caution": False,
                "basis": "inferred",
                "note": inferred,
            },
            {
                "phase": "return-to-sport",
                "order": 10,
                "caution": False,
                "basis": "inferred",
                "note": inferred,
            },
        ]
        assert body["goals"] == ["flexibility", "pain-relief"]
        assert body["contraindications"] == [
            {
                "condition": "acute-hamstring-strain",
                "severity": "caution",
                "note": "Stretch gently.",
            },
            {
                "condition": "sciatica-nerve-symptoms",
                "severity": "stop",
                "note": "Stop if nerve pain.",
            },
        ]
        assert body["progressions"] == ["prone-hamstring-curl"]
        assert body["regressions"] == []
        assert [(e["field"], e["text_quality"]) for e in body["evidence"]] == [
            ("dosage", "clear"),
            ("phase", "clear"),
            ("mistakes", "clear"),
        ]

    def test_regressions_are_the_reverse_of_progressions(self, client):
        body = client.get("/v1/exercises/prone-hamstring-curl").json()
        assert body["regressions"] == ["lying-hamstring-stretch"]
        assert body["progressions"] == ["nordic-hamstring-exercise"]

    def test_evidence_quotes_are_verbatim_at_their_offsets(self, client, catalogue):
        documents = {s.slug: (DOCS / s.file).read_text(encoding="utf-8") for s in catalogue.sources}
        for entry in catalogue.exercises:
            body = client.get(f"/v1/exercises/{entry.slug}").json()
            assert body["evidence"], entry.slug
            for item in body["evidence"]:
                assert documents[item["source"]][item["start"] : item["end"]] == item["quote"]

    def test_unknown_slug_is_a_404_problem(self, client):
        body = assert_problem(client.get("/v1/exercises/flying-kick"), 404)
        assert body["detail"] == "No exercise with slug 'flying-kick'."

    def test_a_renamed_slug_redirects_to_its_successor(self, client):
        response = client.get("/v1/exercises/nordic-curl?x=1", follow_redirects=False)
        body = assert_problem(response, 308)
        assert response.headers["location"] == (
            "http://testserver/v1/exercises/nordic-hamstring-exercise?x=1"
        )
        assert body["detail"] == "The exercise 'nordic-curl' is now 'nordic-hamstring-exercise'."
        followed = client.get("/v1/exercises/nordic-curl")
        assert followed.status_code == 200
        assert followed.json()["slug"] == "nordic-hamstring-exercise"

    def test_a_removed_slug_is_gone(self, client):
        body = assert_problem(client.get("/v1/exercises/compression-shorts"), 410)
        assert body["detail"] == "The exercise 'compression-shorts' was removed from the catalogue."

    @pytest.mark.parametrize("slug", ["Not_A_Slug", "a" * 101, "-leading-dash"])
    def test_malformed_slug_is_a_422_problem(self, client, slug):
        assert_problem(client.get(f"/v1/exercises/{slug}"), 422, "slug")


class TestForgedCursors:
    """Cursors signed with the right secret but holding nonsense: a 422, never a 500."""

    @pytest.mark.parametrize("url", ["/v1/exercises", "/v1/goals", "/v1/phases", "/v1/sources"])
    @pytest.mark.parametrize(
        "payload",
        [
            b"[]",
            b'"text"',
            b"not json",
            b'{"f": "%s"}',
            b'{"f": "%s", "k": "x"}',
            b'{"f": "%s", "k": []}',
            b'{"f": "%s", "k": [[]]}',
            b'{"f": "%s", "k": [null, null]}',
            b'{"f": "%s", "k": [{"a": 1}, 1]}',
            b'{"f": "%s", "k": [1e400, 1]}',
            b'{"f": "%s", "k": [99999999999999999999999, 1]}',
            b'{"f": "%s", "k": [true, false]}',
            b'{"f": "%s", "k": [99999999999999999999]}',
            b'{"f": "%s", "k": [3000000000]}',
            # PostgreSQL text cannot hold NUL.
            b'{"f": "%s", "k": ["a\\u0000b", 1]}',
            b'{"f": "%s", "k": ["a\\u0000b"]}',
            # A lone surrogate: valid JSON, but no database can store it as UTF-8.
            b'{"f": "%s", "k": ["\\ud800", 1]}',
            b'{"f": "%s", "k": ["\\ud800"]}',
        ],
    )
    def test_is_a_422(self, client, url, payload):
        cursor = client.get(url, params={"limit": 1}).json()["next_cursor"]
        token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        fingerprint = json.loads(token[:-16])["f"]
        if b"%s" in payload:
            payload = payload % fingerprint.encode()
        forged = payload + pagination._sign(get_settings().cursor_secret, payload)
        response = client.get(
            url,
            params={"limit": 1, "cursor": base64.urlsafe_b64encode(forged).decode().rstrip("=")},
        )
        assert_problem(response, 422, "cursor")

    @pytest.mark.parametrize("spelling", ["padded", "foreign character", "plus slash", "low bits"])
    def test_a_lenient_base64_spelling_is_a_422(self, client, spelling):
        # Each spelling decodes, leniently, to the bytes of a cursor this API signed: one
        # cursor has one spelling, and any other is as foreign as a tampered one.
        cursor = client.get("/v1/exercises", params={"limit": 1}).json()["next_cursor"]
        payload = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))[:-16]
        # JSON allows leading spaces: lengthen the payload until its spelling has spare
        # bits in the last character and a `-` or `_` to swap.
        for spaces in range(200):
            token = b" " * spaces + payload
            token += pagination._sign(get_settings().cursor_secret, token)
            canonical = base64.urlsafe_b64encode(token).decode().rstrip("=")
            if len(token) % 3 == 1 and ("-" in canonical or "_" in canonical):
                break
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        variant = {
            "padded": canonical + "==",
            # Four, so that the padding the old decoding added still fitted.
            "foreign character": canonical[:10] + "...." + canonical[10:],
            "plus slash": canonical.replace("-", "+").replace("_", "/"),
            "low bits": canonical[:-1] + alphabet[alphabet.index(canonical[-1]) + 1],
        }[spelling]
        assert variant != canonical
        assert base64.urlsafe_b64decode(variant + "=" * (-len(variant) % 4)) == token

        assert client.get("/v1/exercises", params={"cursor": canonical}).status_code == 200
        response = client.get("/v1/exercises", params={"cursor": variant})
        assert_problem(response, 422, "cursor")
