"""Search (`q` on GET /v1/exercises), facets and GET /v1/suggest, on SQLite and
PostgreSQL: the judged query set over the real catalogue, the fallbacks, stemming,
the index kept in step with every write, and hostile input."""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col

from app.models import Exercise, ExerciseSearch, SearchWord
from app.queries import exercise_search
from app.search_index import indexed_words
from app.seeding.reading import read_catalogue
from app.seeding.writing import seed_catalogue
from tests.conftest import DOCUMENTS
from tests.helpers import (
    approved,
    assert_problem,
    edit,
    exercise_data,
    slugs,
    term_data,
)
from tests.judged_queries import JUDGED_QUERIES, Judgment

LATER = datetime(2031, 1, 1, tzinfo=UTC)


def search(client: Any, q: str, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/exercises", params={"q": q, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def all_slugs(client: Any, **params: Any) -> list[str]:
    """Every slug of a list, all pages."""
    body = client.get("/v1/exercises", params={"limit": 100, **params}).json()
    assert body["next_cursor"] is None
    return slugs(body)


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """The SQL statements run on the session's connection meanwhile."""
    seen: list[str] = []
    connection = session.connection()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(connection, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(connection, "before_cursor_execute", record)


class TestJudgedQueries:
    """Every judgment of the judged set holds on the real catalogue (its figures, nDCG@5
    and first-result relevance, are printed by `python -m bench.relevance`)."""

    @pytest.mark.parametrize("judgment", JUDGED_QUERIES, ids=lambda j: j.query)
    def test_judgment_holds(self, full_client, judgment: Judgment):
        body = search(full_client, judgment.query, limit=judgment.k)
        ranked = slugs(body)
        assert judgment.holds(ranked), (judgment.query, ranked, sorted(judgment.relevant))
        if judgment.matched is not None:
            assert body["search"]["matched"] == judgment.matched

    def test_the_set_is_large_enough_and_judges_real_exercises(self, full_catalogue):
        known = {entry.slug for entry in full_catalogue.exercises}
        assert len(JUDGED_QUERIES) >= 30
        assert len({j.query for j in JUDGED_QUERIES}) == len(JUDGED_QUERIES)
        for judgment in JUDGED_QUERIES:
            assert judgment.relevant <= known, judgment.query


class TestSearch:
    def test_every_word_matching_is_reported_as_all(self, client):
        body = search(client, "stretches towel")
        assert slugs(body) == ["towel-hamstring-stretch"]
        assert body["search"] == {
            "query": "stretches towel",
            "matched": "all",
            "corrected_query": None,
        }

    def test_no_exercise_with_every_word_falls_back_to_any_word(self, client):
        body = search(client, "towel nordic")
        assert body["search"] == {
            "query": "towel nordic",
            "matched": "any",
            "corrected_query": None,
        }
        # The prone curl's instructions mention the Nordic exercise.
        assert sorted(slugs(body)) == [
            "nordic-hamstring-exercise",
            "prone-hamstring-curl",
            "towel-hamstring-stretch",
        ]
        assert body["total"] == 3

    def test_any_word_ranks_more_words_matched_first(self, client):
        # "towel" and "stretch" both match the towel stretch; "nordic" matches another.
        body = search(client, "towel stretch nordic")
        assert body["search"]["matched"] == "any"
        assert slugs(body)[0] == "towel-hamstring-stretch"
        assert "nordic-hamstring-exercise" in slugs(body)

    def test_misspelt_words_are_corrected_when_nothing_matches(self, client):
        body = search(client, "nordik hamstrng")
        assert body["search"] == {
            "query": "nordik hamstrng",
            "matched": "corrected",
            "corrected_query": "nordic hamstring",
        }
        # The prone curl's instructions mention the Nordic exercise.
        assert slugs(body) == ["nordic-hamstring-exercise", "prone-hamstring-curl"]

    def test_short_words_are_not_corrected(self, client):
        # "towl" has four letters and is corrected; "twl" (three) is left alone.
        assert search(client, "towl")["search"]["corrected_query"] == "towel"
        body = search(client, "twl")
        assert body["search"] == {"query": "twl", "matched": "all", "corrected_query": None}
        assert body["total"] == 0

    def test_nothing_found_and_nothing_to_correct(self, client):
        body = search(client, "zzzzzzzzzzzz qqqqqqqqqq")
        assert body["total"] == 0
        assert body["items"] == []
        assert body["search"]["matched"] == "any"
        assert body["search"]["corrected_query"] is None

    def test_stemming(self, client):
        stretches = search(client, "stretches", limit=100)
        assert slugs(stretches) == slugs(search(client, "stretch", limit=100))
        assert set(slugs(stretches)) == {"lying-hamstring-stretch", "towel-hamstring-stretch"}
        assert stretches["search"]["matched"] == "all"

    def test_a_goal_name_finds_that_goals_exercises(self, client, catalogue):
        for goal in catalogue.goals:
            having = {e.slug for e in catalogue.exercises if goal.slug in e.goals}
            found = set(all_slugs(client, q=goal.name))
            assert having <= found, goal.slug

    def test_equipment_none_and_lying_are_found_by_how_people_say_them(self, client, catalogue):
        without = {e.slug for e in catalogue.exercises if list(e.equipment) == ["none"]}
        assert set(all_slugs(client, q="no equipment")) == without
        lying = {e.slug for e in catalogue.exercises if e.position == "lying"}
        assert lying <= set(all_slugs(client, q="lying down"))

    def test_a_name_match_ranks_above_a_passing_mention(self, client):
        body = search(client, "nordic")
        # The prone curl mentions the Nordic exercise only in its instructions.
        assert slugs(body) == ["nordic-hamstring-exercise", "prone-hamstring-curl"]

    def test_aliases_are_searched(self, client):
        assert slugs(search(client, "supine")) == ["lying-hamstring-stretch"]

    def test_condition_names_are_searched(self, client):
        # Only the Nordic exercise is to be avoided with an acute strain, the lying
        # stretch done with caution; "acute" appears in no other field.
        found = slugs(search(client, "acute hamstring strain"))
        assert {"nordic-hamstring-exercise", "lying-hamstring-stretch"} <= set(found)

    def test_search_combines_with_filters(self, client):
        body = search(client, "hamstring stretch", position="lying", equipment="towel")
        assert slugs(body) == ["towel-hamstring-stretch"]
        assert body["search"]["matched"] == "all"

    def test_the_fallback_follows_the_filtered_list(self, client):
        # Every word matches the towel stretch, but it is no strengthening exercise: with
        # the filter, nothing has every word, so any word is searched among the rest.
        body = search(client, "towel stretch", category="strengthening")
        assert body["search"]["matched"] == "any"
        assert body["total"] == 0 or all(
            item["category"] == "strengthening" for item in body["items"]
        )

    def test_relevance_pages_walk_every_match_once(self, client):
        first = search(client, "hamstring", limit=3)
        seen = slugs(first)
        cursor = first["next_cursor"]
        while cursor:
            page = search(client, "hamstring", limit=3, cursor=cursor)
            assert page["search"] == first["search"]
            seen += slugs(page)
            cursor = page["next_cursor"]
        assert len(seen) == len(set(seen)) == first["total"]

    def test_a_broad_search_ranks_a_bounded_candidate_set_and_walks_every_match(
        self, client, session, monkeypatch
    ):
        # A word in more exercises than RANKED_CANDIDATES makes the ranking bounded (at
        # scale, "knee pain"): the candidates of the best tiers first, the other matches
        # after them by id; the total, the pages and the facets still cover every match.
        q = "hamstring"
        unbounded = all_slugs(client, q=q)
        counts = search(client, q, facets="category")
        monkeypatch.setattr(exercise_search, "RANKED_CANDIDATES", 2)
        first = search(client, q, limit=3, facets="category")
        assert first["total"] == counts["total"] == len(unbounded) > 3
        assert first["search"] == counts["search"]
        assert first["facets"] == counts["facets"]
        assert sum(c["count"] for c in first["facets"]["category"]) == first["total"]
        # The first tier: the word in the heavy fields (names, goals, category...).
        heavy = dict(
            session.execute(
                sa.select(
                    col(Exercise.slug), col(ExerciseSearch.names) + " " + col(ExerciseSearch.terms)
                )
                .join(ExerciseSearch, col(ExerciseSearch.exercise_id) == col(Exercise.id))
                .where(col(Exercise.slug).in_(slugs(first)))
            ).all()
        )
        assert all("hamstring" in heavy[slug].lower() for slug in slugs(first)[:2])
        seen = slugs(first)
        cursor = first["next_cursor"]
        while cursor:
            page = search(client, q, limit=3, cursor=cursor)
            seen += slugs(page)
            cursor = page["next_cursor"]
        assert len(seen) == len(set(seen)) == first["total"]
        assert set(seen) == set(unbounded)
        assert sorted(all_slugs(client, q=q, sort="name")) == sorted(unbounded)

    def test_without_q_the_envelope_has_no_search(self, client):
        body = client.get("/v1/exercises").json()
        assert "search" not in body
        assert "facets" not in body


class TestFacets:
    FIELDS = ["phase", "goal", "category", "equipment", "position", "difficulty", "body_region"]

    def facets(self, client: Any, **params: Any) -> dict[str, Any]:
        response = client.get("/v1/exercises", params={"facets": self.FIELDS, **params})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def test_counts_are_the_lists_own(self, client, catalogue):
        body = self.facets(client)
        assert body["total"] == len(catalogue.exercises)
        facets = body["facets"]
        assert set(facets) == set(self.FIELDS)
        # One value per exercise: the counts sum to the total.
        for field in ("category", "difficulty"):
            assert sum(c["count"] for c in facets[field]) == body["total"]
        expected_goals = Counter(goal for e in catalogue.exercises for goal in e.goals)
        assert {c["value"]: c["count"] for c in facets["goal"]} == dict(expected_goals)
        expected_equipment = Counter(item for e in catalogue.exercises for item in e.equipment)
        assert {c["value"]: c["count"] for c in facets["equipment"]} == dict(expected_equipment)
        # Most common first, then by value.
        counts = [(-c["count"], c["value"]) for c in facets["goal"]]
        assert counts == sorted(counts)

    def test_a_count_is_what_filtering_by_it_gives(self, client):
        facets = self.facets(client, q="hamstring")["facets"]
        for field in ("goal", "category", "equipment", "position"):
            for c in facets[field]:
                total = client.get(
                    "/v1/exercises", params={"q": "hamstring", field: c["value"]}
                ).json()["total"]
                assert total == c["count"], (field, c)

    def test_disjunctive_a_fields_counts_ignore_its_own_filter(self, client, catalogue):
        unfiltered = self.facets(client)["facets"]
        body = self.facets(client, goal="strength")
        strength = [e for e in catalogue.exercises if "strength" in e.goals]
        assert body["total"] == len(strength)
        # The goal facet still counts every goal (a client can offer "or flexibility").
        assert body["facets"]["goal"] == unfiltered["goal"]
        # The others count within the filter.
        assert sum(c["count"] for c in body["facets"]["category"]) == len(strength)
        assert {c["value"] for c in body["facets"]["category"]} == {e.category for e in strength}

    def test_with_two_values_of_a_field(self, client, catalogue):
        body = self.facets(client, category=["stretch", "activation"])
        kept = [e for e in catalogue.exercises if e.category in ("stretch", "activation")]
        assert body["total"] == len(kept)
        assert sum(c["count"] for c in body["facets"]["difficulty"]) == len(kept)
        assert sum(c["count"] for c in body["facets"]["category"]) == len(catalogue.exercises)

    def test_combined_with_safe_for_and_q(self, client, catalogue):
        body = self.facets(client, safe_for="sciatica-nerve-symptoms", q="hamstring")
        dropped = {
            e.slug
            for e in catalogue.exercises
            for c in e.contraindications
            if c.condition == "sciatica-nerve-symptoms" and c.severity == "avoid"
        }
        assert dropped == {"towel-hamstring-stretch"}
        assert "towel-hamstring-stretch" not in all_slugs(
            client, safe_for="sciatica-nerve-symptoms", q="hamstring"
        )
        assert sum(c["count"] for c in body["facets"]["category"]) == body["total"]
        stretch = next(c for c in body["facets"]["category"] if c["value"] == "stretch")
        assert stretch["count"] == 1  # the lying stretch; the towel stretch is left out

    def test_condition_facet(self, client, catalogue):
        body = client.get("/v1/exercises", params={"facets": "condition"}).json()
        expected = Counter(c.condition for e in catalogue.exercises for c in e.contraindications)
        assert {c["value"]: c["count"] for c in body["facets"]["condition"]} == dict(expected)

    def test_phase_facet_honours_phase_basis(self, client, catalogue):
        body = client.get(
            "/v1/exercises", params={"facets": "phase", "phase_basis": "stated"}
        ).json()
        expected = Counter(
            p.phase.value for e in catalogue.exercises for p in e.phases if p.basis == "stated"
        )
        assert {c["value"]: c["count"] for c in body["facets"]["phase"]} == dict(expected)

    def test_unknown_facet_is_a_422(self, client):
        assert_problem(client.get("/v1/exercises", params={"facets": "colour"}), 422, "facets")

    def test_facets_do_not_change_the_page_or_its_cursor(self, client):
        plain = client.get("/v1/exercises", params={"limit": 2}).json()
        faceted = client.get("/v1/exercises", params={"limit": 2, "facets": "goal"}).json()
        assert slugs(plain) == slugs(faceted)
        assert plain["total"] == faceted["total"]
        following = client.get(
            "/v1/exercises",
            params={"limit": 2, "facets": "goal", "cursor": plain["next_cursor"]},
        )
        assert following.status_code == 200


class TestSuggest:
    def suggest(self, client: Any, q: str, **params: Any) -> list[dict[str, str]]:
        response = client.get("/v1/suggest", params={"q": q, **params})
        assert response.status_code == 200, response.text
        items: list[dict[str, str]] = response.json()["items"]
        return items

    def test_prefix_of_a_name(self, client):
        items = self.suggest(client, "nord")
        assert items[0] == {
            "text": "Nordic hamstring exercise",
            "kind": "exercise",
            "slug": "nordic-hamstring-exercise",
        }

    def test_names_beginning_with_the_prefix_come_first(self, client):
        texts = [item["text"] for item in self.suggest(client, "ham")]
        # Shorter (nearer complete) first: the body region, then the exercise's name.
        assert texts[:2] == ["Hamstrings", "Hamstring foam rolling"]
        assert "Lying hamstring stretch" in texts
        # A word inside a name completes too; every suggestion has a word starting so.
        assert all(any(w.lower().startswith("ham") for w in t.split()) for t in texts)

    def test_every_word_typed_narrows(self, client):
        items = self.suggest(client, "hamstring st")
        assert {item["slug"] for item in items} == {
            "acute-hamstring-strain",
            "lying-hamstring-stretch",
            "towel-hamstring-stretch",
        }

    def test_aliases_goals_conditions_regions_and_equipment(self, client):
        assert self.suggest(client, "supine") == [
            {
                "text": "supine hamstring stretch",
                "kind": "exercise",
                "slug": "lying-hamstring-stretch",
            }
        ]
        assert {"text": "Injury prevention", "kind": "goal", "slug": "injury-prevention"} in (
            self.suggest(client, "inj")
        )
        assert {"text": "Severe pain", "kind": "condition", "slug": "severe-pain"} in (
            self.suggest(client, "sev")
        )
        assert {"text": "Lower back", "kind": "body_region", "slug": "lower-back"} in (
            self.suggest(client, "lower")
        )
        assert {"text": "Foam roller", "kind": "equipment", "slug": "foam-roller"} in (
            self.suggest(client, "foam r")
        )

    def test_typos_from_four_letters(self, client):
        assert self.suggest(client, "xrdq") == []  # not one edit from the start of a word
        near = self.suggest(client, "nodric")
        assert near[:1] == [self.suggest(client, "nordic")[0]]
        towel = [("equipment", "towel"), ("exercise", "towel-hamstring-stretch")]
        assert [(i["kind"], i["slug"]) for i in self.suggest(client, "tow")] == towel
        assert [(i["kind"], i["slug"]) for i in self.suggest(client, "towle")] == towel
        # Under four letters, no near misses.
        assert self.suggest(client, "twe") == []

    def test_limit(self, client):
        assert len(self.suggest(client, "h", limit=3)) == 3
        assert len(self.suggest(client, "h", limit=20)) > 3
        assert_problem(client.get("/v1/suggest", params={"q": "h", "limit": 0}), 422, "limit")
        assert_problem(client.get("/v1/suggest", params={"q": "h", "limit": 21}), 422, "limit")

    def test_empty_prefix_is_a_422(self, client):
        assert_problem(client.get("/v1/suggest", params={"q": ""}), 422, "q")
        assert_problem(client.get("/v1/suggest"), 422, "q")
        assert_problem(client.get("/v1/suggest", params={"q": "  --  "}), 422, "q")

    def test_an_exercise_matched_by_name_and_alias_shows_its_name(self, client):
        items = self.suggest(client, "hamstring str")
        lying = [item for item in items if item["slug"] == "lying-hamstring-stretch"]
        # Its alias "supine hamstring stretch" matches too, and is not listed.
        assert lying == [
            {
                "text": "Lying hamstring stretch",
                "kind": "exercise",
                "slug": "lying-hamstring-stretch",
            }
        ]

    def test_each_name_once(self, client):
        items = self.suggest(client, "hamstring", limit=20)
        keys = [(item["kind"], item["slug"]) for item in items]
        assert len(keys) == len(set(keys))

    def test_cached_per_revision_and_follows_a_reseed(self, client, session, catalogue_dir):
        assert self.suggest(client, "warm") == []
        edit(catalogue_dir / "exercises" / "moist-heat.yaml", lambda d: d.update(name="Warm pack"))
        seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert self.suggest(client, "warm") == [
            {"text": "Warm pack", "kind": "exercise", "slug": "moist-heat"}
        ]


def index_is_consistent(session: Session) -> None:
    """The word counts are what the index rows say, and every exercise has one row."""
    rows = session.execute(
        sa.select(
            col(ExerciseSearch.names),
            col(ExerciseSearch.terms),
            col(ExerciseSearch.body),
            col(ExerciseSearch.instructions),
        )
    ).all()
    expected = Counter(word for row in rows for word in indexed_words(row))
    words = sa.select(col(SearchWord.word), col(SearchWord.documents))
    stored: dict[str, int] = {word: n for word, n in session.execute(words)}
    assert stored == dict(expected)
    exercises = session.execute(sa.text("SELECT count(*) FROM exercise")).scalar()
    assert len(rows) == exercises


class TestIndexFollowsWrites:
    def test_a_reseed_that_renames_an_exercise(self, client, session, catalogue_dir: Path):
        assert slugs(search(client, "compress")) == []
        edit(
            catalogue_dir / "exercises" / "moist-heat.yaml",
            lambda d: d.update(name="Warm compress", summary="A warm, damp pack."),
        )
        seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert slugs(search(client, "compress")) == ["moist-heat"]
        # The new words can be corrected to; the old ones, gone, are not.
        assert search(client, "compres")["search"]["corrected_query"] == "compress"
        index_is_consistent(session)

    def test_a_renamed_goal_reindexes_its_exercises(self, client, session, catalogue_dir):
        def rename(goals: list[dict[str, Any]]) -> None:
            next(g for g in goals if g["slug"] == "recovery")["name"] = "Recuperation"

        edit(catalogue_dir / "goals.yaml", rename)
        seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert sorted(all_slugs(client, q="recuperation")) == [
            "hamstring-foam-rolling",
            "moist-heat",
        ]
        index_is_consistent(session)

    def test_an_approved_proposal_reindexes_in_its_transaction(self, client, session, keys):
        assert slugs(search(client, "compress")) == []
        data = exercise_data("moist-heat") | {"name": "Warm compress"}
        approved(
            client,
            keys,
            kind="exercise",
            action="update",
            slug="moist-heat",
            base_version=1,
            data=data,
        )
        assert slugs(search(client, "compress")) == ["moist-heat"]
        index_is_consistent(session)

    def test_an_approved_goal_rename_reindexes_its_exercises(self, client, session, keys):
        data = term_data("goal", "recovery") | {"name": "Recuperation"}
        approved(
            client, keys, kind="goal", action="update", slug="recovery", base_version=1, data=data
        )
        assert sorted(all_slugs(client, q="recuperation")) == [
            "hamstring-foam-rolling",
            "moist-heat",
        ]
        index_is_consistent(session)

    def test_a_removed_exercise_leaves_the_index(self, client, session, catalogue_dir):
        (catalogue_dir / "exercises" / "towel-hamstring-stretch.yaml").unlink()
        seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert "towel-hamstring-stretch" not in all_slugs(client, q="towel")
        index_is_consistent(session)

    def test_the_seeded_index_is_consistent(self, session):
        index_is_consistent(session)


HOSTILE = [
    '"',
    "NEAR(",
    "stretch*",
    "a OR b) AND (",
    "'; DROP TABLE exercise; --",
    "{names} : towel",
    "names:towel",
    "^towel",
    "towel -stretch",
    "🦵" * 50 + " towel",
    "x\u0000towel",
    "ńördïç çürl",
    "a" * 200,
    " ".join(["qwxz"] * 40)[:200],
]


class TestHostileInput:
    @pytest.mark.parametrize("q", HOSTILE)
    def test_search_fallbacks_and_corrections_stay_safe(self, client, q):
        # Each string is searched, fallen back from and corrected as plain words.
        response = client.get("/v1/exercises", params={"q": q, "facets": "goal"})
        if response.status_code == 422:
            assert_problem(response, 422, "q")
        else:
            assert response.status_code == 200
            assert response.json()["search"]["query"] == q
        assert client.get("/v1/exercises").json()["total"] == 8

    @pytest.mark.parametrize("q", HOSTILE)
    def test_suggest_stays_safe(self, client, q):
        response = client.get("/v1/suggest", params={"q": q[:100]})
        if response.status_code == 422:
            assert_problem(response, 422, "q")
        else:
            assert response.status_code == 200

    def test_too_long_is_a_422(self, client):
        assert_problem(client.get("/v1/exercises", params={"q": "a" * 201}), 422, "q")
        assert_problem(client.get("/v1/suggest", params={"q": "a" * 101}), 422, "q")

    def test_nonsense_costs_a_bounded_number_of_statements(self, client, session):
        """200 characters of nonsense go through every fallback, but with at most 16
        words, each a fixed number of statements: bounded work, not one statement (or
        one edit-distance scan) per character. (Timings are in bench/RESULTS.md.)"""
        client.get("/v1/exercises", params={"q": "towel"})  # the revision's facts, read
        with statements(session) as normal:
            search(client, "towel stretch")
        nonsense = " ".join(f"zq{i}xv" for i in range(40))[:200]
        with statements(session) as hostile:
            body = search(client, nonsense)
        assert body["total"] == 0
        # All words, any word, the vocabulary (once per revision), corrected all and
        # any: each a count and a page, plus the revision check.
        assert len(hostile) <= 4 * len(normal) + 2
