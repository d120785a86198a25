"""GET /v1/phases, /v1/goals, /v1/conditions, /v1/sources and their detail routes."""

import pytest

from app.seeding import Catalogue
from app.settings import PROJECT_ROOT
from tests.conftest import walk
from tests.test_exercises import assert_problem


class TestListPhases:
    def test_phases_in_order(self, client, catalogue: Catalogue):
        body = client.get("/v1/phases").json()
        assert [p["slug"] for p in body["items"]] == ["acute", "rehab", "return-to-sport"]
        assert [p["order"] for p in body["items"]] == [1, 2, 3]
        assert body["items"][0] == catalogue.phases[0].model_dump(mode="json")
        assert body["total"] == 3

    def test_paging_with_limit_one(self, client):
        pages = walk(client, "/v1/phases", {"limit": 1})
        assert [page["items"][0]["slug"] for page in pages] == ["acute", "rehab", "return-to-sport"]

    def test_bad_limit(self, client):
        assert_problem(client.get("/v1/phases", params={"limit": 0}), 422, "limit")


class TestGetPhase:
    def test_exercises_in_progression_order(self, client, catalogue):
        body = client.get("/v1/phases/acute").json()
        members = sorted(
            (p.order, e.slug, p.caution)
            for e in catalogue.exercises
            for p in e.phases
            if p.phase == "acute"
        )
        assert [(e["order"], e["slug"], e["caution"]) for e in body["exercises"]] == members
        assert body["criteria_to_progress"] == catalogue.phases[0].criteria_to_progress

    def test_unknown_phase(self, client):
        assert_problem(client.get("/v1/phases/recovery"), 404)


class TestListGoals:
    def test_goals_by_slug(self, client, catalogue):
        body = client.get("/v1/goals").json()
        assert [g["slug"] for g in body["items"]] == sorted(g.slug for g in catalogue.goals)
        assert set(body["items"][0]) == {"slug", "name", "description"}

    def test_paging(self, client, catalogue):
        pages = walk(client, "/v1/goals", {"limit": 3})
        assert [g["slug"] for page in pages for g in page["items"]] == sorted(
            g.slug for g in catalogue.goals
        )
        assert len(pages) == 3


class TestGetGoal:
    def test_goal_with_its_exercises(self, client, catalogue):
        body = client.get("/v1/goals/strength").json()
        wanted = sorted((e.name, e.slug) for e in catalogue.exercises if "strength" in e.goals)
        assert [(e["name"], e["slug"]) for e in body["exercises"]] == wanted

    def test_unknown_goal(self, client):
        assert_problem(client.get("/v1/goals/levitation"), 404)


class TestListConditions:
    def test_conditions_by_slug(self, client, catalogue):
        body = client.get("/v1/conditions").json()
        assert [c["slug"] for c in body["items"]] == sorted(c.slug for c in catalogue.conditions)


class TestGetCondition:
    def test_avoid_first_then_caution(self, client):
        body = client.get("/v1/conditions/acute-hamstring-strain").json()
        assert [(e["slug"], e["severity"]) for e in body["exercises"]] == [
            ("nordic-hamstring-exercise", "avoid"),
            ("lying-hamstring-stretch", "caution"),
        ]
        assert body["exercises"][1]["note"] == "Stretch gently."

    def test_condition_without_exercises(self, client):
        assert client.get("/v1/conditions/severe-pain").json()["exercises"] == []

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
        body = client.get("/v1/sources/hamstring-pain-exercises").json()
        quotes = [
            (i.start, i.quote)
            for e in catalogue.exercises
            for i in e.evidence
            if i.source == "hamstring-pain-exercises"
        ]
        assert [(e["start"], e["quote"]) for e in body["evidence"]] == sorted(quotes)
        text = (PROJECT_ROOT / "seed" / body["file"]).read_text(encoding="utf-8")
        assert all(text[e["start"] : e["end"]] == e["quote"] for e in body["evidence"])
        assert body["exercises"] == sorted(
            {
                e.slug
                for e in catalogue.exercises
                if any(i.source == "hamstring-pain-exercises" for i in e.evidence)
            }
        )

    @pytest.mark.parametrize("slug", ["nope", "another-missing-source"])
    def test_unknown_source(self, client, slug):
        assert_problem(client.get(f"/v1/sources/{slug}"), 404)
