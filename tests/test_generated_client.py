"""The served OpenAPI document generates a working, typed Python client.

`openapi-python-client` turns `/openapi.json` of a running server into a package in a
temporary directory; the test imports it and uses it as an app developer would.
"""

import datetime
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def generated(live_server, tmp_path_factory):
    """The generated package `catalogue_client`, importable for this module's tests."""
    directory = tmp_path_factory.mktemp("generated-client")
    spec = directory / "openapi.json"
    spec.write_bytes(httpx2.get(f"{live_server}/openapi.json").content)
    # The generator knows no newline-delimited JSON: an adopter maps the export's media
    # type to bytes, which the client then hands over as they are.
    config = directory / "config.json"
    config.write_text(
        '{"content_type_overrides": {"application/x-ndjson": "application/octet-stream"}}'
    )
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(spec),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(directory / "catalogue_client"),
        ],
        # The generator formats its output with ruff, which it looks up on PATH.
        env={**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(directory))
    try:
        yield importlib.import_module("catalogue_client")
    finally:
        sys.path.remove(str(directory))
        for name in [name for name in sys.modules if name.startswith("catalogue_client")]:
            del sys.modules[name]


@pytest.fixture
def api(generated, live_server):
    with generated.Client(base_url=live_server, raise_on_unexpected_status=True) as client:
        yield client


class TestGeneratedClient:
    def test_list_by_phase_following_next_cursor(self, generated, api, live_server):
        list_exercises = importlib.import_module("catalogue_client.api.exercises.list_exercises")
        models = importlib.import_module("catalogue_client.models")
        expected = httpx2.get(
            f"{live_server}/v1/exercises", params={"phase": "acute", "limit": 100}
        ).json()

        seen = []
        cursor = generated.types.UNSET
        while True:
            page = list_exercises.sync(
                client=api, phase=[models.PhaseSlug.ACUTE], limit=2, cursor=cursor
            )
            assert isinstance(page, models.ExercisePage)
            assert page.total == expected["total"]
            assert len(page.items) <= 2
            for item in page.items:
                assert isinstance(item, models.ExerciseItem)
                assert models.PhaseSlug.ACUTE in item.phases
                assert isinstance(item.category, models.Category)
                assert isinstance(item.difficulty, models.Difficulty)
                assert isinstance(item.updated_at, datetime.datetime)
                assert item.updated_at.tzinfo is not None
            seen += [item.slug for item in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [item["slug"] for item in expected["items"]]
        assert len(seen) > 2  # more than one page was followed

    def test_get_one_exercise(self, api, live_server):
        get_exercise = importlib.import_module("catalogue_client.api.exercises.get_exercise")
        models = importlib.import_module("catalogue_client.models")
        expected = httpx2.get(f"{live_server}/v1/exercises/sitting-heel-dig").json()

        exercise = get_exercise.sync("sitting-heel-dig", client=api)
        assert isinstance(exercise, models.ExerciseDetail)
        assert exercise.name == expected["name"]
        assert exercise.instructions == expected["instructions"]
        assert isinstance(exercise.dosage, models.Dosage)
        assert isinstance(exercise.dosage.hold_seconds, models.DoseRange)
        assert exercise.dosage.hold_seconds.to_dict() == expected["dosage"]["hold_seconds"]
        assert [membership.phase for membership in exercise.phases] == [
            models.PhaseSlug(item["phase"]) for item in expected["phases"]
        ]
        assert all(isinstance(item, models.EvidenceOut) for item in exercise.evidence)
        assert [item.stance for item in exercise.evidence] == [
            models.Stance(item["stance"]) for item in expected["evidence"]
        ]

    def test_unknown_exercise_is_a_typed_problem(self, api):
        get_exercise = importlib.import_module("catalogue_client.api.exercises.get_exercise")
        models = importlib.import_module("catalogue_client.models")
        response = get_exercise.sync_detailed("no-such-exercise", client=api)
        assert response.status_code == 404
        assert isinstance(response.parsed, models.Problem)
        assert response.parsed.status == 404
        assert response.parsed.detail == "No exercise with slug 'no-such-exercise'."

    def test_the_export_and_the_change_feed(self, api, live_server):
        export = importlib.import_module("catalogue_client.api.sync.export_catalogue")
        list_changes = importlib.import_module("catalogue_client.api.sync.list_changes")
        models = importlib.import_module("catalogue_client.models")

        body = export.sync(client=api).payload.read()
        assert body == httpx2.get(f"{live_server}/v1/export").content
        header = json.loads(body.split(b"\n", 1)[0])
        feed = list_changes.sync(client=api, cursor=header["resume_cursor"])
        assert isinstance(feed, models.ChangeFeed)
        assert (feed.items, feed.next_cursor, feed.resume_cursor) == (
            [],
            None,
            header["resume_cursor"],
        )
