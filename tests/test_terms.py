"""GET /v1/phases, /v1/goals, /v1/conditions, /v1/sources and their detail routes.

A detail embeds one page of its list (a phase's, goal's or condition's exercises, a
source's evidence). The tests walk every page with small limits and compare what they
collect with the test catalogue, the oracle, in the documented order.
"""

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event

from app.pagination import encode_cursor, query_fingerprint
from app.queries import plans
from app.seeding.reading import Catalogue
from app.seeding.writing import seed_catalogue
from app.settings import PROJECT_ROOT, get_settings
from app.vocabulary import Severity
from tests.helpers import assert_problem, walk

# The plans a page of a goal's or condition's exercises can be read with, chosen by
# how many exercises the term links: (READ_ALL_LINKS_MAX, SET_OF_LINKS_MAX) forcing
# each one for the small test catalogue.
PLANS = {
    "read every link": (10**9, 10**9),
    "walk names against the set of links": (0, 10**9),
    "walk names and look each link up": (0, 0),
}


@pytest.fixture(params=list(PLANS))
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    read_all_links_max, set_of_links_max = PLANS[request.param]
    monkeypatch.setattr(plans, "READ_ALL_LINKS_MAX", read_all_links_max)
    monkeypatch.setattr(plans, "SET_OF_LINKS_MAX", set_of_links_max)
    return str(request.param)


def collected(pages: list[dict[str, Any]], field: str = "exercises") -> list[dict[str, Any]]:
    return [item for page in pages for item in page[field]]


def assert_paged(
    client, url: str, limit: int, expected: list[Any], item: Callable[[dict[str, Any]], Any]
) -> list[dict[str, Any]]:
    """Walk `url` `limit` at a time: full pages but the last, which alone has no next
    cursor and no `Link`, every page counting all of `expected`, which they hold in
    order. Returns the pages."""
    field = "evidence" if url.startswith("/v1/sources/") else "exercises"
    pages = walk(client, url, {"limit": limit})
    assert [item(entry) for entry in collected(pages, field)] == expected
    assert all(page[f"{field}_total"] == len(expected) for page in pages)
    assert [len(page[field]) for page in pages[:-1]] == [limit] * (len(pages) - 1)
    assert 0 < len(pages[-1][field]) <= limit or expected == []
    assert [page["next_cursor"] is None for page in pages] == [False] * (len(pages) - 1) + [True]
    return pages


def assert_link_header_leads_to_the_next_page(client, url: str) -> None:
    response = client.get(url, params={"limit": 1})
    cursor = response.json()["next_cursor"]
    assert response.headers["link"] == (
        f'<http://testserver{url}?limit=1&cursor={cursor}>; rel="next"'
    )
    following = client.get(response.headers["link"][1:].split(">")[0])
    assert following.json() == client.get(url, params={"limit": 1, "cursor": cursor}).json()
    assert "link" not in client.get(url).headers  # everything fits the default page


def assert_cursor_only_works_where_it_came_from(
    client, url: str, same_resource: str, other_resource: str
) -> None:
    cursor = client.get(url, params={"limit": 1}).json()["next_cursor"]
    assert cursor is not None
    for elsewhere in (same_resource, other_resource):
        body = assert_problem(client.get(elsewhere, params={"cursor": cursor}), 422, "cursor")
        assert "different query" in body["errors"][0]["message"]


def assert_bad_paging_parameters_are_problems(client, url: str) -> None:
    for limit in (0, 101, "ten"):
        assert_problem(client.get(url, params={"limit": limit}), 422, "limit")
    cursor = client.get(url, params={"limit": 1}).json()["next_cursor"]
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    assert_problem(client.get(url, params={"cursor": tampered}), 422, "cursor")
    assert_problem(client.get(url, params={"cursor": "not-a-cursor"}), 422, "cursor")


def signed_cursor(resource: str, slug: str, key: list[Any]) -> str:
    """A cursor signed with the server's secret, for keys the API itself never issues."""
    fingerprint = query_fingerprint({"detail": resource, "slug": slug})
    return encode_cursor(get_settings().cursor_secret, fingerprint, key)


def replaced(catalogue: Catalogue, slug: str, **changes: Any) -> Catalogue:
    """`catalogue` with one exercise's fields changed."""
    exercises = [
        entry.model_copy(update=changes) if entry.slug == slug else entry
        for entry in catalogue.exercises
    ]
    return dataclasses.replace(catalogue, exercises=exercises)


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """SQL statements run on the test database from now on, but savepoints."""
    seen: list[str] = []

    def record(connection, cursor, statement, *args) -> None:
        if "SAVEPOINT" not in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def assert_no_query_per_item(client, statements: list[str], url: str) -> None:
    """Once the totals are known, a page costs the same few statements at any size."""
    client.get(url)
    statements.clear()
    client.get(url, params={"limit": 1})
    one = len(statements)
    statements.clear()
    client.get(url)
    assert len(statements) == one <= 4


# --- oracles -----------------------------------------------------------------------


def phase_members(catalogue: Catalogue, phase: str) -> list[tuple[Any, ...]]:
    """A phase's exercises in progression order, then by slug."""
    return sorted(
        (p.order, e.slug, e.name, p.caution, p.basis, p.note)
        for e in catalogue.exercises
        for p in e.phases
        if p.phase == phase
    )


def goal_members(catalogue: Catalogue, goal: str) -> list[tuple[str, str]]:
    """A goal's exercises by name, then slug."""
    return sorted((e.name, e.slug) for e in catalogue.exercises if goal in e.goals)


def affected(catalogue: Catalogue, condition: str) -> list[tuple[str, str, str, str]]:
    """A condition's exercises: those to avoid first, then to stop, then caution; each
    by name, slug."""
    rows = [
        (c.severity.value, e.name, e.slug, c.note)
        for e in catalogue.exercises
        for c in e.contraindications
        if c.condition == condition
    ]
    segments = [Severity.avoid, Severity.stop, Severity.caution]
    return sorted(rows, key=lambda row: (segments.index(Severity(row[0])), row[1], row[2]))


def quotes(catalogue: Catalogue, source: str) -> list[tuple[int, int, str, str, str]]:
    """A source's evidence in document order (the test catalogue has no two quotes of
    one span, so the database's last tie-break never decides)."""
    rows = sorted(
        (i.start, i.end, e.slug, i.field.value, i.quote)
        for e in catalogue.exercises
        for i in e.evidence
        if i.source == source
    )
    assert len({(start, end) for start, end, *_ in rows}) == len(rows)
    return rows


def citing(catalogue: Catalogue, source: str) -> list[str]:
    return sorted(
        {e.slug for e in catalogue.exercises if any(i.source == source for i in e.evidence)}
    )


# --- the routes ----------------------------------------------------------------------


class TestListPhases:
    def test_phases_in_order(self, client, catalogue: Catalogue):
        body = client.get("/v1/phases").json()
        assert [p["slug"] for p in body["items"]] == ["acute", "rehab", "return-to-sport"]
        assert [p["order"] for p in body["items"]] == [1, 2, 3]
        assert body["items"][0] == {**catalogue.phases[0].model_dump(mode="json"), "version": 1}
        assert body["total"] == 3

    def test_paging_with_limit_one(self, client):
        pages = walk(client, "/v1/phases", {"limit": 1})
        assert [page["items"][0]["slug"] for page in pages] == ["acute", "rehab", "return-to-sport"]

    def test_bad_limit(self, client):
        assert_problem(client.get("/v1/phases", params={"limit": 0}), 422, "limit")


class TestGetPhase:
    def test_one_page_by_default_in_progression_order(self, client, catalogue):
        response = client.get("/v1/phases/acute")
        body = response.json()
        assert [
            (e["order"], e["slug"], e["name"], e["caution"], e["basis"], e["note"])
            for e in body["exercises"]
        ] == phase_members(catalogue, "acute")
        assert body["exercises_total"] == len(phase_members(catalogue, "acute"))
        assert body["next_cursor"] is None
        assert "link" not in response.headers
        assert body["criteria_to_progress"] == catalogue.phases[0].criteria_to_progress
        assert set(body) == {
            *catalogue.phases[0].model_dump(),
            "version",
            "exercises",
            "exercises_total",
            "next_cursor",
        }

    @pytest.mark.parametrize("limit", [1, 2, 3])
    @pytest.mark.parametrize("phase", ["acute", "rehab", "return-to-sport"])
    def test_pages_hold_every_exercise_in_order(self, client, catalogue, phase, limit):
        assert_paged(
            client,
            f"/v1/phases/{phase}",
            limit,
            phase_members(catalogue, phase),
            lambda e: (e["order"], e["slug"], e["name"], e["caution"], e["basis"], e["note"]),
        )

    def test_exercises_sharing_an_order_come_by_slug(self, client, session, catalogue):
        """`towel-hamstring-stretch` moved to order 10 in acute, beside
        `lying-hamstring-stretch`: a page boundary between the two loses neither."""
        towel = next(e for e in catalogue.exercises if e.slug == "towel-hamstring-stretch")
        phases = [p.model_copy(update={"order": 10}) for p in towel.phases]
        edited = replaced(catalogue, towel.slug, phases=phases)
        seed_catalogue(session, edited)
        members = phase_members(edited, "acute")
        assert [slug for order, slug, *_ in members if order == 10] == [
            "lying-hamstring-stretch",
            "towel-hamstring-stretch",
        ]
        assert_paged(
            client,
            "/v1/phases/acute",
            1,
            members,
            lambda e: (e["order"], e["slug"], e["name"], e["caution"], e["basis"], e["note"]),
        )

    def test_link_header(self, client):
        assert_link_header_leads_to_the_next_page(client, "/v1/phases/acute")

    def test_cursor_of_another_phase_or_resource(self, client):
        assert_cursor_only_works_where_it_came_from(
            client, "/v1/phases/acute", "/v1/phases/rehab", "/v1/goals/strength"
        )

    def test_bad_paging_parameters(self, client):
        assert_bad_paging_parameters_are_problems(client, "/v1/phases/acute")

    @pytest.mark.parametrize(
        "key", [[10], ["10", "x"], [10, 5], [2**31, "x"], [True, "x"], [10, "x\x00"]]
    )
    def test_signed_cursor_with_a_key_that_does_not_fit(self, client, key):
        cursor = signed_cursor("phases", "acute", key)
        response = client.get("/v1/phases/acute", params={"cursor": cursor})
        assert "position" in assert_problem(response, 422, "cursor")["detail"]

    def test_no_query_per_exercise(self, client, statements):
        assert_no_query_per_item(client, statements, "/v1/phases/acute")

    def test_unknown_phase(self, client):
        assert_problem(client.get("/v1/phases/recovery"), 404)
        cursor = client.get("/v1/phases/acute", params={"limit": 1}).json()["next_cursor"]
        assert_problem(client.get("/v1/phases/recovery", params={"cursor": cursor}), 404)


class TestListGoals:
    def test_goals_by_slug(self, client, catalogue):
        body = client.get("/v1/goals").json()
        assert [g["slug"] for g in body["items"]] == sorted(g.slug for g in catalogue.goals)
        assert set(body["items"][0]) == {"slug", "name", "description", "version"}

    def test_paging(self, client, catalogue):
        pages = walk(client, "/v1/goals", {"limit": 3})
        assert [g["slug"] for page in pages for g in page["items"]] == sorted(
            g.slug for g in catalogue.goals
        )
        assert len(pages) == 3

    def test_a_bad_limit_and_a_bad_cursor_are_reported_together(self, client):
        body = assert_problem(client.get("/v1/goals", params={"limit": 0, "cursor": "x!"}), 422)
        assert body["detail"] == "Invalid value(s) for: cursor, limit."
        assert [(e["parameter"], e["message"]) for e in body["errors"]] == [
            ("limit", "Input should be greater than or equal to 1"),
            ("cursor", "not a cursor this API issued"),
        ]


class TestGetGoal:
    def test_goal_with_its_exercises_by_name(self, client, catalogue, plan):
        response = client.get("/v1/goals/strength")
        body = response.json()
        assert [(e["name"], e["slug"]) for e in body["exercises"]] == goal_members(
            catalogue, "strength"
        )
        assert body["exercises_total"] == 3
        assert body["next_cursor"] is None
        assert "link" not in response.headers

    @pytest.mark.parametrize("limit", [1, 2])
    def test_pages_hold_every_exercise_in_order(self, client, catalogue, plan, limit):
        for goal in catalogue.goals:
            expected = goal_members(catalogue, goal.slug)
            url = f"/v1/goals/{goal.slug}"
            assert_paged(client, url, limit, expected, lambda e: (e["name"], e["slug"]))

    def test_exercises_sharing_a_name_come_by_slug(self, client, session, catalogue, plan):
        """`towel-hamstring-stretch` renamed as `lying-hamstring-stretch` (both serve
        flexibility): a page boundary between the two loses neither."""
        edited = replaced(catalogue, "towel-hamstring-stretch", name="Lying hamstring stretch")
        seed_catalogue(session, edited)
        expected = goal_members(edited, "flexibility")
        assert expected == [
            ("Lying hamstring stretch", "lying-hamstring-stretch"),
            ("Lying hamstring stretch", "towel-hamstring-stretch"),
        ]
        assert_paged(client, "/v1/goals/flexibility", 1, expected, lambda e: (e["name"], e["slug"]))

    def test_total_follows_a_reseed(self, client, session, catalogue):
        """Totals are kept per catalogue revision: a reseed counts again."""
        assert client.get("/v1/goals/strength").json()["exercises_total"] == 3
        edited = replaced(catalogue, "prone-hamstring-curl", goals=["activation"])
        seed_catalogue(session, edited)
        body = client.get("/v1/goals/strength").json()
        assert body["exercises_total"] == 2
        assert [(e["name"], e["slug"]) for e in body["exercises"]] == goal_members(
            edited, "strength"
        )

    def test_link_header(self, client):
        assert_link_header_leads_to_the_next_page(client, "/v1/goals/strength")

    def test_cursor_of_another_goal_or_resource(self, client):
        assert_cursor_only_works_where_it_came_from(
            client, "/v1/goals/strength", "/v1/goals/flexibility", "/v1/phases/rehab"
        )

    def test_bad_paging_parameters(self, client):
        assert_bad_paging_parameters_are_problems(client, "/v1/goals/strength")

    @pytest.mark.parametrize(
        "key", [["Nordic"], ["Nordic", 1], [1, "x"], ["a", "b", "c"], ["Nordic\x00", "x"]]
    )
    def test_signed_cursor_with_a_key_that_does_not_fit(self, client, key):
        cursor = signed_cursor("goals", "strength", key)
        response = client.get("/v1/goals/strength", params={"cursor": cursor})
        assert "position" in assert_problem(response, 422, "cursor")["detail"]

    def test_no_query_per_exercise(self, client, statements, plan):
        assert_no_query_per_item(client, statements, "/v1/goals/strength")

    def test_unknown_goal(self, client):
        assert_problem(client.get("/v1/goals/levitation"), 404)


class TestListConditions:
    def test_conditions_by_slug(self, client, catalogue):
        body = client.get("/v1/conditions").json()
        assert [c["slug"] for c in body["items"]] == sorted(c.slug for c in catalogue.conditions)

    def test_each_condition_says_its_kind(self, client, catalogue):
        body = client.get("/v1/conditions").json()
        assert {c["slug"]: c["kind"] for c in body["items"]} == {
            c.slug: c.kind for c in catalogue.conditions
        }


class TestGetCondition:
    def test_avoid_first_then_caution(self, client, plan):
        body = client.get("/v1/conditions/acute-hamstring-strain").json()
        assert [(e["slug"], e["severity"]) for e in body["exercises"]] == [
            ("nordic-hamstring-exercise", "avoid"),
            ("lying-hamstring-stretch", "caution"),
        ]
        assert body["exercises"][1]["note"] == "Stretch gently."
        assert body["exercises_total"] == 2
        assert body["next_cursor"] is None

    def test_stop_rules_come_between_avoid_and_caution(self, client):
        body = client.get("/v1/conditions/sciatica-nerve-symptoms").json()
        assert body["kind"] == "symptom"
        assert [(e["slug"], e["severity"]) for e in body["exercises"]] == [
            ("towel-hamstring-stretch", "avoid"),
            ("lying-hamstring-stretch", "stop"),
        ]

    def test_a_renamed_condition_redirects_and_a_removed_one_is_gone(self, client):
        response = client.get("/v1/conditions/nerve-symptoms", follow_redirects=False)
        assert_problem(response, 308)
        assert response.headers["location"] == (
            "http://testserver/v1/conditions/sciatica-nerve-symptoms"
        )
        assert client.get("/v1/conditions/nerve-symptoms").json()["slug"] == (
            "sciatica-nerve-symptoms"
        )
        body = assert_problem(client.get("/v1/conditions/ballistic-stretching"), 410)
        assert (
            body["detail"] == "The condition 'ballistic-stretching' was removed from the catalogue."
        )

    @pytest.mark.parametrize("limit", [1, 2, 3])
    def test_pages_hold_every_exercise_in_order(self, client, catalogue, plan, limit):
        for condition in catalogue.conditions:
            expected = affected(catalogue, condition.slug)
            assert_paged(
                client,
                f"/v1/conditions/{condition.slug}",
                limit,
                expected,
                lambda e: (e["severity"], e["name"], e["slug"], e["note"]),
            )

    def test_segments_by_name(self, client, session, catalogue, plan):
        """Two exercises to avoid and two needing caution, named against their segment
        order, paged one at a time across the segments."""
        edited = catalogue
        for slug, severity, note in [
            ("towel-hamstring-stretch", Severity.caution, "Towel: gently."),
            ("sitting-heel-dig", Severity.avoid, "Heel dig: no."),
            ("moist-heat", Severity.caution, "Heat: mild."),
        ]:
            entry = next(e for e in edited.exercises if e.slug == slug)
            contraindication = next(
                c for e in catalogue.exercises for c in e.contraindications
            ).model_copy(
                update={"condition": "acute-hamstring-strain", "severity": severity, "note": note}
            )
            others = [c for c in entry.contraindications if c.condition != "acute-hamstring-strain"]
            edited = replaced(edited, slug, contraindications=[*others, contraindication])
        seed_catalogue(session, edited)
        expected = affected(edited, "acute-hamstring-strain")
        assert [(severity, slug) for severity, _, slug, _ in expected] == [
            ("avoid", "nordic-hamstring-exercise"),
            ("avoid", "sitting-heel-dig"),
            ("caution", "lying-hamstring-stretch"),
            ("caution", "moist-heat"),
            ("caution", "towel-hamstring-stretch"),
        ]
        for limit in (1, 2, 3):
            assert_paged(
                client,
                "/v1/conditions/acute-hamstring-strain",
                limit,
                expected,
                lambda e: (e["severity"], e["name"], e["slug"], e["note"]),
            )

    def test_condition_without_exercises(self, client):
        body = client.get("/v1/conditions/severe-pain").json()
        assert (body["exercises"], body["exercises_total"], body["next_cursor"]) == ([], 0, None)

    def test_link_header(self, client):
        assert_link_header_leads_to_the_next_page(client, "/v1/conditions/acute-hamstring-strain")

    def test_cursor_of_another_condition_or_resource(self, client):
        assert_cursor_only_works_where_it_came_from(
            client,
            "/v1/conditions/acute-hamstring-strain",
            "/v1/conditions/sciatica-nerve-symptoms",
            "/v1/goals/strength",
        )

    def test_bad_paging_parameters(self, client):
        assert_bad_paging_parameters_are_problems(client, "/v1/conditions/acute-hamstring-strain")

    @pytest.mark.parametrize(
        "key",
        [
            ["avoid", "Nordic"],
            ["never", "Nordic", "x"],
            [1, "Nordic", "x"],
            [],
            ["avoid", "N\x00", "x"],
        ],
    )
    def test_signed_cursor_with_a_key_that_does_not_fit(self, client, key):
        cursor = signed_cursor("conditions", "acute-hamstring-strain", key)
        response = client.get("/v1/conditions/acute-hamstring-strain", params={"cursor": cursor})
        assert "position" in assert_problem(response, 422, "cursor")["detail"]

    def test_no_query_per_exercise(self, client, statements, plan):
        assert_no_query_per_item(client, statements, "/v1/conditions/sciatica-nerve-symptoms")

    def test_unknown_condition(self, client):
        assert_problem(client.get("/v1/conditions/broken-heart"), 404)


class TestListSources:
    def test_sources_with_their_hashes(self, client, catalogue):
        body = client.get("/v1/sources").json()
        assert [s["slug"] for s in body["items"]] == sorted(s.slug for s in catalogue.sources)
        for item in body["items"]:
            assert set(item) >= {
                "slug",
                "title",
                "kind",
                "author",
                "publisher",
                "file",
                "sha256",
                "credibility_notes",
            }


class TestGetSource:
    def test_evidence_in_document_order_and_citing_exercises(self, client, catalogue):
        response = client.get("/v1/sources/hamstring-pain-exercises")
        body = response.json()
        expected = quotes(catalogue, "hamstring-pain-exercises")
        assert [
            (e["start"], e["end"], e["exercise"], e["field"], e["quote"]) for e in body["evidence"]
        ] == expected
        text = (PROJECT_ROOT / "seed" / body["file"]).read_text(encoding="utf-8")
        assert all(text[e["start"] : e["end"]] == e["quote"] for e in body["evidence"])
        assert body["evidence_total"] == len(expected)
        assert body["exercises"] == citing(catalogue, "hamstring-pain-exercises")
        assert body["exercises_total"] == len(body["exercises"])
        assert body["next_cursor"] is None
        assert "link" not in response.headers

    @pytest.mark.parametrize("limit", [1, 2, 3])
    def test_pages_hold_all_evidence_in_order(self, client, catalogue, limit):
        for source in catalogue.sources:
            expected = quotes(catalogue, source.slug)
            pages = assert_paged(
                client,
                f"/v1/sources/{source.slug}",
                limit,
                expected,
                lambda e: (e["start"], e["end"], e["exercise"], e["field"], e["quote"]),
            )
            for page in pages:
                assert page["exercises"] == sorted({e["exercise"] for e in page["evidence"]})
                assert page["exercises_total"] == len(citing(catalogue, source.slug))

    def test_quotes_of_one_span_stay_in_one_order_across_pages(self, client, session, catalogue):
        """`hamstring-foam-rolling` also quotes `prone-hamstring-curl`'s span: the two
        come in the order they were recorded, whatever the page size."""
        prone = next(e for e in catalogue.exercises if e.slug == "prone-hamstring-curl")
        rolling = next(e for e in catalogue.exercises if e.slug == "hamstring-foam-rolling")
        edited = replaced(catalogue, rolling.slug, evidence=[*rolling.evidence, prone.evidence[0]])
        seed_catalogue(session, edited)
        url = f"/v1/sources/{prone.evidence[0].source}"
        whole = client.get(url).json()["evidence"]
        spans = [(e["start"], e["end"]) for e in whole]
        assert spans == sorted(spans)
        assert sorted(e["exercise"] for e in whole if e["start"] == prone.evidence[0].start) == [
            "hamstring-foam-rolling",
            "prone-hamstring-curl",
        ]
        for limit in (1, 2):
            assert collected(walk(client, url, {"limit": limit}), "evidence") == whole

    def test_link_header(self, client):
        assert_link_header_leads_to_the_next_page(client, "/v1/sources/hamstring-pain-exercises")

    def test_cursor_of_another_source_or_resource(self, client):
        assert_cursor_only_works_where_it_came_from(
            client,
            "/v1/sources/hamstring-pain-exercises",
            "/v1/sources/tight-hamstrings-aggregate",
            "/v1/conditions/acute-hamstring-strain",
        )

    def test_bad_paging_parameters(self, client):
        assert_bad_paging_parameters_are_problems(client, "/v1/sources/hamstring-pain-exercises")

    @pytest.mark.parametrize("key", [[7790, 7864], [7790, 7864, "1"], [7790, 7864, 2**40]])
    def test_signed_cursor_with_a_key_that_does_not_fit(self, client, key):
        cursor = signed_cursor("sources", "hamstring-pain-exercises", key)
        response = client.get("/v1/sources/hamstring-pain-exercises", params={"cursor": cursor})
        assert "position" in assert_problem(response, 422, "cursor")["detail"]

    def test_no_query_per_quote(self, client, statements):
        assert_no_query_per_item(client, statements, "/v1/sources/hamstring-pain-exercises")

    @pytest.mark.parametrize("slug", ["nope", "another-missing-source"])
    def test_unknown_source(self, client, slug):
        assert_problem(client.get(f"/v1/sources/{slug}"), 404)
