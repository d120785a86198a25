"""Versions and the change log: every resource's `version`, the log that every seed
appends to, each resource's history, and deleted resources answering 410."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import CatalogueChange, CatalogueState, Exercise, SourceDocument
from app.seeding.reading import Catalogue, read_catalogue
from app.seeding.writing import seed_catalogue
from tests.conftest import DOCUMENTS
from tests.helpers import assert_problem, edit, walk

LATER = datetime(2031, 1, 1, tzinfo=UTC)
LATER_STILL = datetime(2032, 1, 1, tzinfo=UTC)


def summarised(summary: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.update(summary=summary)


def log(session: Session, **where: str) -> list[tuple[str, str, str, int, str]]:
    """The change log's (kind, slug, action, version, author), oldest first."""
    statement = select(CatalogueChange).order_by(col(CatalogueChange.seq))
    for name, value in where.items():
        statement = statement.where(getattr(CatalogueChange, name) == value)
    return [(c.kind, c.slug, c.action, c.version, c.author) for c in session.exec(statement)]


class TestVersions:
    def test_everything_seeded_is_version_1_and_logged_as_created_by_seed(
        self, session, catalogue: Catalogue
    ):
        assert set(session.exec(select(Exercise.version))) == {1}
        entries = log(session)
        expected_terms = [
            (kind, entry.slug, "created", 1, "seed")
            for kind, entries_of_kind in (
                ("source", catalogue.sources),
                ("phase", catalogue.phases),
                ("goal", catalogue.goals),
                ("condition", catalogue.conditions),
            )
            for entry in entries_of_kind
        ]
        expected_exercises = [
            ("exercise", entry.slug, "created", 1, "seed") for entry in catalogue.exercises
        ]
        assert sorted(entries) == sorted(expected_terms + expected_exercises)

    def test_a_reseed_moves_only_the_changed_resources_on(self, session, catalogue_dir):
        edit(catalogue_dir / "exercises" / "moist-heat.yaml", lambda d: d.update(summary="Warm."))
        edit(catalogue_dir / "goals.yaml", lambda d: d[0].update(description="Changed."))
        before = len(log(session))
        seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert log(session)[before:] == [
            ("goal", "activation", "updated", 2, "seed"),
            ("exercise", "moist-heat", "updated", 2, "seed"),
        ]
        versions = dict(session.exec(select(Exercise.slug, Exercise.version)).all())
        assert {slug for slug, version in versions.items() if version != 1} == {"moist-heat"}

    def test_the_version_is_in_list_items_and_details(self, client, session, catalogue_dir):
        edit(catalogue_dir / "exercises" / "moist-heat.yaml", lambda d: d.update(summary="Warm."))
        seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        items = {
            item["slug"]: item["version"] for item in client.get("/v1/exercises").json()["items"]
        }
        assert items["moist-heat"] == 2
        assert client.get("/v1/exercises/moist-heat").json()["version"] == 2
        for url in ("/v1/phases", "/v1/goals", "/v1/conditions", "/v1/sources"):
            assert {item["version"] for item in client.get(url).json()["items"]} == {1}
        assert client.get("/v1/goals/activation").json()["version"] == 1

    def test_a_deleted_exercise_leaves_a_tombstone_and_a_new_one_carries_on_from_it(
        self, session, catalogue_dir, catalogue
    ):
        (catalogue_dir / "exercises" / "moist-heat.yaml").unlink()
        seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert log(session, slug="moist-heat")[-1] == (
            "exercise",
            "moist-heat",
            "deleted",
            2,
            "seed",
        )
        seed_catalogue(session, catalogue, now=LATER_STILL)
        assert log(session, slug="moist-heat")[-1] == (
            "exercise",
            "moist-heat",
            "created",
            3,
            "seed",
        )
        assert (
            session.exec(select(Exercise.version).where(Exercise.slug == "moist-heat")).one() == 3
        )

    def test_the_catalogue_version_is_the_files_version(self, session, catalogue_dir, catalogue):
        # The writer keeps the version as a running sum; the files compute it whole.
        assert session.get(CatalogueState, 1).version == catalogue.version()
        edit(catalogue_dir / "exercises" / "moist-heat.yaml", lambda d: d.update(summary="Warm."))
        changed = read_catalogue(catalogue_dir, DOCUMENTS)
        seed_catalogue(session, changed, now=LATER)
        assert session.get(CatalogueState, 1).version == changed.version() != catalogue.version()
        seed_catalogue(session, catalogue, now=LATER_STILL)
        assert session.get(CatalogueState, 1).version == catalogue.version()

    def test_reordering_a_list_is_not_a_change(self, session, catalogue_dir):
        # The database keeps equipment, goals and the like as sets.
        edit(
            catalogue_dir / "exercises" / "lying-hamstring-stretch.yaml",
            lambda d: d.update(goals=list(reversed(d["goals"]))),
        )
        report = seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert report.changed is False

    def test_seeding_stores_each_sources_document(self, session, catalogue):
        stored = dict(
            session.execute(
                sa.select(col(SourceDocument.source_id), col(SourceDocument.text))
            ).all()
        )
        assert sorted(stored.values()) == sorted(catalogue.documents.values())
        assert len(stored) == len(catalogue.sources)


class TestGetExerciseHistory:
    def test_newest_first_with_author_and_no_proposal_for_seeding(
        self, client, session, catalogue_dir
    ):
        edit(catalogue_dir / "exercises" / "moist-heat.yaml", lambda d: d.update(summary="Warm."))
        seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        response = client.get("/v1/exercises/moist-heat/history")
        assert response.status_code == 200
        body = response.json()
        assert [(i["version"], i["action"], i["author"], i["proposal"]) for i in body["items"]] == [
            (2, "updated", "seed", None),
            (1, "created", "seed", None),
        ]
        assert body["items"][0]["changed_at"] == "2031-01-01T00:00:00Z"
        assert (body["total"], body["next_cursor"]) == (2, None)
        assert response.headers["etag"]

    def test_paged(self, client, session, catalogue_dir, catalogue):
        for summary in ("One.", "Two."):
            edit(
                catalogue_dir / "exercises" / "moist-heat.yaml",
                summarised(summary),
            )
            seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        pages = walk(client, "/v1/exercises/moist-heat/history", {"limit": 2})
        assert [[i["version"] for i in page["items"]] for page in pages] == [[3, 2], [1]]

    def test_a_cursor_of_another_exercises_history_is_refused(self, client, session, catalogue_dir):
        for summary in ("One.", "Two."):
            edit(
                catalogue_dir / "exercises" / "moist-heat.yaml",
                summarised(summary),
            )
            seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        cursor = client.get("/v1/exercises/moist-heat/history?limit=1").json()["next_cursor"]
        response = client.get(f"/v1/exercises/rest/history?cursor={cursor}")
        assert_problem(response, 422, "cursor")

    def test_a_deleted_exercise_keeps_its_history(self, client, session, catalogue_dir):
        (catalogue_dir / "exercises" / "moist-heat.yaml").unlink()
        seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        body = client.get("/v1/exercises/moist-heat/history").json()
        assert [i["action"] for i in body["items"]] == ["deleted", "created"]

    def test_an_exercise_never_seen_is_404(self, client):
        assert_problem(client.get("/v1/exercises/levitation/history"), 404)


class TestTermHistory:
    def test_every_kind_of_term_has_one(self, client, catalogue):
        for url, slug in (
            ("phases", "acute"),
            ("goals", catalogue.goals[0].slug),
            ("conditions", catalogue.conditions[0].slug),
            ("sources", catalogue.sources[0].slug),
        ):
            body = client.get(f"/v1/{url}/{slug}/history").json()
            assert [(i["version"], i["action"]) for i in body["items"]] == [(1, "created")], url


class TestDeletedResources:
    def test_a_deleted_exercise_is_410_with_deleted_at(self, client, session, catalogue_dir):
        (catalogue_dir / "exercises" / "moist-heat.yaml").unlink()
        seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        body = assert_problem(client.get("/v1/exercises/moist-heat"), 410)
        assert body["deleted_at"] == "2031-01-01T00:00:00Z"

    def test_a_deleted_goal_is_410_with_deleted_at(self, client, session, catalogue_dir):
        # `recovery`'s exercises lose the goal first: a goal in use cannot go.
        for path in (catalogue_dir / "exercises").glob("*.yaml"):
            edit(
                path,
                lambda d: d.update(
                    goals=[g for g in d["goals"] if g != "recovery"] or ["pain-relief"]
                ),
            )
        edit(
            catalogue_dir / "goals.yaml",
            lambda d: d.remove(next(g for g in d if g["slug"] == "recovery")),
        )
        seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        body = assert_problem(client.get("/v1/goals/recovery"), 410)
        assert body["deleted_at"] == "2031-01-01T00:00:00Z"

    def test_a_slug_never_used_is_still_404(self, client):
        body = assert_problem(client.get("/v1/exercises/levitation"), 404)
        assert "deleted_at" not in body
