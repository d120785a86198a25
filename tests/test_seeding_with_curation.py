"""Seeding and the curation API living together: a reseed keeps what the API changed
(and says so) unless told to overwrite, and an export of the catalogue reseeds to the
same version."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from app.database import build_engine
from app.errors import SeedError
from app.models import CatalogueState, Exercise
from app.seeding.exporting import export_catalogue
from app.seeding.reading import Catalogue, read_catalogue
from app.seeding.writing import seed_catalogue
from tests.conftest import DOCUMENTS, TemporaryDatabases, migrate
from tests.helpers import approve, edit, exercise_data, propose, propose_summary, term_data

LATER = datetime(2031, 1, 1, tzinfo=UTC)


def without_stability(goals: list[dict[str, str]]) -> None:
    goals[:] = [goal for goal in goals if goal["slug"] != "stability"]


def summary_of(session: Session, slug: str) -> str:
    return session.exec(select(Exercise.summary).where(Exercise.slug == slug)).one()


def version_of(session: Session) -> str:
    state = session.get(CatalogueState, 1)
    assert state is not None
    return state.version


@pytest.fixture
def curated(client, keys):
    """moist-heat's summary changed through the API."""
    proposal = propose_summary(client, keys, "Changed through the API.")
    assert approve(client, keys.reviewer, proposal["id"]).status_code == 200


class TestReseedKeepsCuratedResources:
    def test_a_reseed_keeps_an_api_change_and_reports_it(
        self, curated, session, catalogue: Catalogue
    ):
        version = version_of(session)
        report = seed_catalogue(session, catalogue, now=LATER)
        assert report.kept == ["exercise 'moist-heat'"]
        assert summary_of(session, "moist-heat") == "Changed through the API."
        assert version_of(session) == version
        assert report.changed is False

    def test_overwrite_replaces_it_and_logs_it_as_seed(self, curated, client, session, catalogue):
        report = seed_catalogue(session, catalogue, now=LATER, overwrite=True)
        assert (report.kept, report.updated) == ([], ["moist-heat"])
        assert summary_of(session, "moist-heat") == exercise_data("moist-heat")["summary"]
        latest = client.get("/v1/exercises/moist-heat/history").json()["items"][0]
        assert (latest["version"], latest["author"], latest["proposal"]) == (3, "seed", None)
        assert version_of(session) == catalogue.version()
        # Now the files' again, so a plain reseed has nothing to keep.
        assert seed_catalogue(session, catalogue, now=LATER).kept == []

    def test_a_deletion_through_the_api_is_kept(self, client, keys, session, catalogue):
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="delete",
            slug="moist-heat",
            base_version=1,
        )
        approve(client, keys.reviewer, response.json()["id"])
        report = seed_catalogue(session, catalogue, now=LATER)
        assert report.kept == ["exercise 'moist-heat'"]
        assert client.get("/v1/exercises/moist-heat").status_code == 410

    def test_files_that_no_longer_fit_a_kept_resource_are_refused(
        self, client, keys, session, catalogue_dir
    ):
        # Through the API moist-heat gains the goal `stability`; the files drop that goal.
        data = exercise_data("moist-heat") | {"goals": ["pain-relief", "stability"]}
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="moist-heat",
            base_version=1,
            data=data,
        )
        approve(client, keys.reviewer, response.json()["id"])
        edit(catalogue_dir / "goals.yaml", without_stability)
        edit(
            catalogue_dir / "exercises" / "standing-hip-extension.yaml",
            lambda d: d.update(goals=["strength"]),
        )
        with pytest.raises(SeedError) as raised:
            seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert any("unknown slug 'stability'" in problem for problem in raised.value.problems)
        assert "--overwrite" in raised.value.problems[-1]
        assert summary_of(session, "moist-heat") == exercise_data("moist-heat")["summary"]

    def test_a_term_changed_through_the_api_is_kept(self, client, keys, session, catalogue):
        response = propose(
            client,
            keys.curator,
            kind="goal",
            action="update",
            slug="strength",
            base_version=1,
            data=term_data("goal", "strength") | {"name": "Strength work"},
        )
        approve(client, keys.reviewer, response.json()["id"])
        assert seed_catalogue(session, catalogue, now=LATER).kept == ["goal 'strength'"]
        assert client.get("/v1/goals/strength").json()["name"] == "Strength work"

    def test_a_kept_exercise_whose_regressions_the_files_change_stays_kept(
        self, curated, session, catalogue_dir
    ):
        # The files now lead from the heel dig to moist-heat: moist-heat's regressions
        # change, but its own entry is still the API's, and stays so at the next seed.
        edit(
            catalogue_dir / "exercises" / "sitting-heel-dig.yaml",
            lambda d: d.update(progressions=[*d.get("progressions", []), "moist-heat"]),
        )
        changed = read_catalogue(catalogue_dir, DOCUMENTS)
        assert seed_catalogue(session, changed, now=LATER).kept == ["exercise 'moist-heat'"]
        assert seed_catalogue(session, changed, now=LATER).kept == ["exercise 'moist-heat'"]
        assert summary_of(session, "moist-heat") == "Changed through the API."

    def test_an_exercise_whose_regressions_the_api_changed_is_not_kept(
        self, client, keys, session, catalogue_dir
    ):
        data = exercise_data("sitting-heel-dig")
        data["progressions"] = [*data.get("progressions", []), "moist-heat"]
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="sitting-heel-dig",
            base_version=1,
            data=data,
        )
        approve(client, keys.reviewer, response.json()["id"])
        edit(
            catalogue_dir / "exercises" / "sitting-heel-dig.yaml",
            lambda d: d.update(progressions=data["progressions"]),
        )
        edit(
            catalogue_dir / "exercises" / "moist-heat.yaml",
            lambda d: d.update(summary="From the files."),
        )
        report = seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert report.kept == []
        assert summary_of(session, "moist-heat") == "From the files."


class TestExport:
    def test_an_export_reseeds_to_the_same_version(self, curated, session, tmp_path):
        export_catalogue(session, tmp_path / "export")
        exported = read_catalogue(tmp_path / "export" / "catalogue", tmp_path / "export")
        assert exported.version() == version_of(session)
        report = seed_catalogue(session, exported, now=LATER)
        assert (report.changed, report.kept) == (False, [])
        assert [e.summary for e in exported.exercises if e.slug == "moist-heat"] == [
            "Changed through the API."
        ]

    def test_a_fresh_database_seeded_from_an_export_has_the_same_version(
        self, curated, session, tmp_path, databases: TemporaryDatabases, database_kind
    ):
        export_catalogue(session, tmp_path / "export")
        exported = read_catalogue(tmp_path / "export" / "catalogue", tmp_path / "export")
        engine = build_engine(databases.create(database_kind))
        try:
            migrate(engine)
            with Session(engine) as fresh:
                seed_catalogue(fresh, exported)
                assert version_of(fresh) == version_of(session)
        finally:
            engine.dispose()

    def test_the_documents_are_written_byte_for_byte(self, session, tmp_path, catalogue):
        export_catalogue(session, tmp_path / "export")
        for source in catalogue.sources:
            assert (tmp_path / "export" / source.file).read_bytes() == (
                DOCUMENTS / source.file
            ).read_bytes()

    def test_it_will_not_write_over_a_catalogue(self, session, tmp_path: Path):
        export_catalogue(session, tmp_path / "export")
        with pytest.raises(SeedError):
            export_catalogue(session, tmp_path / "export")
