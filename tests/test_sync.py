"""Offline sync: the streamed export, the change feed, and the reference client that
keeps a copy with them."""

import gzip
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import zstandard
from sqlmodel import Session
from starlette.testclient import TestClient

from app.database import build_engine, read_without_memory_map, snapshot_engine
from app.main import create_app
from app.ndjson_export import export_chunks
from app.queries import export as export_queries
from app.queries.exercises import get_exercise
from app.schemas import ExerciseDetail
from app.seeding.reading import read_catalogue
from app.seeding.writing import seed_catalogue
from app.settings import get_settings
from app.sync_client import OfflineCatalogue
from tests.conftest import DOCUMENTS, make_keys
from tests.helpers import (
    approve,
    approved,
    assert_problem,
    edit,
    exercise_data,
    propose_summary,
    term_data,
)

KIND_ORDER = ["catalogue", "source", "phase", "goal", "condition", "exercise"]
EMBEDDED = {"exercises", "exercises_total", "evidence", "evidence_total", "next_cursor"}
LATER = datetime(2031, 1, 1, tzinfo=UTC)


def export_lines(client: TestClient, **headers: str) -> list[bytes]:
    response = client.get("/v1/export", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.content.endswith(b"\n")
    return response.content.split(b"\n")[:-1]


def compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def detail_line(client: TestClient, kind: str, slug: str) -> bytes:
    """The export line a resource must have: its detail body (less an embedded page)."""
    response = client.get(f"/v1/{kind}s/{slug}")
    assert response.status_code == 200, response.text
    if kind == "exercise":
        data = response.content
    else:
        data = compact({k: v for k, v in response.json().items() if k not in EMBEDDED})
    return b'{"kind":"' + kind.encode() + b'","data":' + data + b"}"


def version_of(client: TestClient, kind: str, slug: str) -> int:
    version: int = client.get(f"/v1/{kind}s/{slug}").json()["version"]
    return version


class TestExport:
    def test_a_header_then_every_resource_by_kind_and_slug(self, client, catalogue):
        lines = [json.loads(line) for line in export_lines(client)]
        header = lines[0]
        info = client.get("/v1/catalogue").json()
        assert header.keys() == {"kind", "version", "updated_at", "resume_cursor"}
        assert (header["kind"], header["version"], header["updated_at"]) == (
            "catalogue",
            info["version"],
            info["updated_at"],
        )
        kinds = [line["kind"] for line in lines]
        assert kinds == sorted(kinds, key=KIND_ORDER.index)
        for kind, entries in (
            ("source", catalogue.sources),
            ("phase", catalogue.phases),
            ("goal", catalogue.goals),
            ("condition", catalogue.conditions),
            ("exercise", catalogue.exercises),
        ):
            exported = [line["data"]["slug"] for line in lines if line["kind"] == kind]
            assert exported == sorted(entry.slug for entry in entries)

    def test_every_line_is_its_resources_detail_body(self, client, session):
        lines = export_lines(client)[1:]
        for line in lines:
            item = json.loads(line)
            assert line == detail_line(client, item["kind"], item["data"]["slug"])
        # The stored bodies both serve are what the detail view makes of the rows.
        for line in lines:
            item = json.loads(line)
            if item["kind"] == "exercise":
                exercise = get_exercise(session, slug=item["data"]["slug"])
                rendered = ExerciseDetail.from_row(exercise).model_dump_json().encode()
                assert line == b'{"kind":"exercise","data":' + rendered + b"}"

    def test_exercises_read_a_few_at_a_time_give_the_same_export(self, client, monkeypatch):
        whole = export_lines(client)
        monkeypatch.setattr(export_queries, "EXERCISE_CHUNK_SIZE", 3)  # 8 exercises: 3, 3, 2
        assert export_lines(client) == whole

    def test_when_a_phase_moves_in_the_order_its_exercises_change_with_their_lines(
        self, client, keys
    ):
        start = client.get("/v1/changes", params={"limit": 1000}).json()["resume_cursor"]
        members = [item["slug"] for item in client.get("/v1/phases/acute").json()["exercises"]]
        phase = term_data("phase", "acute") | {"order": 9}
        approved(
            client, keys, kind="phase", action="update", slug="acute", base_version=1, data=phase
        )
        changes = client.get("/v1/changes", params={"cursor": start}).json()["items"]
        assert [(c["kind"], c["slug"]) for c in changes] == [("phase", "acute")] + [
            ("exercise", slug) for slug in sorted(members)
        ]
        for line in export_lines(client)[1:]:
            item = json.loads(line)
            assert line == detail_line(client, item["kind"], item["data"]["slug"])

    def test_exercises_kept_without_a_body_are_rendered_and_the_next_seed_keeps_theirs(
        self, client, session, catalogue
    ):
        before = export_lines(client)
        session.execute(sa.text("DELETE FROM exercise_body"))  # as after migration 0008
        assert export_lines(client) == before
        assert not seed_catalogue(session, catalogue).changed
        kept = session.execute(sa.text("SELECT count(*) FROM exercise_body")).scalar_one()
        assert kept == len(catalogue.exercises)
        assert export_lines(client) == before

    def test_the_resume_cursor_continues_the_change_feed_after_the_export(self, client, keys):
        header = json.loads(export_lines(client)[0])
        caught_up = client.get("/v1/changes", params={"cursor": header["resume_cursor"]}).json()
        assert (caught_up["items"], caught_up["next_cursor"]) == ([], None)
        assert caught_up["resume_cursor"] == header["resume_cursor"]
        propose_summary_and_approve(client, keys)
        after = client.get("/v1/changes", params={"cursor": header["resume_cursor"]}).json()
        assert [(c["kind"], c["slug"], c["action"]) for c in after["items"]] == [
            ("exercise", "moist-heat", "updated")
        ]

    def test_its_etag_is_the_catalogue_version_and_a_match_is_304(self, client, keys):
        response = client.get("/v1/export")
        version = client.get("/v1/catalogue").json()["version"]
        assert response.headers["etag"] == f'W/"{version}"'
        assert response.headers["cache-control"] == "public, max-age=60, stale-while-revalidate=300"
        again = client.get("/v1/export", headers={"If-None-Match": response.headers["etag"]})
        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["etag"] == response.headers["etag"]
        propose_summary_and_approve(client, keys)
        changed = client.get("/v1/export", headers={"If-None-Match": response.headers["etag"]})
        assert changed.status_code == 200
        assert changed.headers["etag"] != response.headers["etag"]

    def test_head_answers_the_headers_without_the_body(self, client):
        response = client.head("/v1/export")
        assert (response.status_code, response.content) == (200, b"")
        assert response.headers["etag"] == client.get("/v1/export").headers["etag"]
        assert response.headers["content-type"] == "application/x-ndjson"
        assert "content-length" not in response.headers

    @pytest.mark.parametrize("encoding", ["gzip", "zstd", "br"])
    def test_a_compressed_export_holds_the_same_lines(self, client, encoding):
        identity = export_lines(client, **{"Accept-Encoding": "identity"})
        with client.stream("GET", "/v1/export", headers={"Accept-Encoding": encoding}) as response:
            assert response.headers["content-encoding"] == encoding
            raw = b"".join(response.iter_raw())
        if encoding == "gzip":
            body = gzip.decompress(raw)
        elif encoding == "zstd":
            body = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
        else:
            import brotli  # type: ignore[import-untyped]

            body = brotli.decompress(raw)
        assert body.split(b"\n")[:-1] == identity

    def test_beyond_the_export_limit_it_is_503_with_retry_after(self, client):
        slots = client.app.state.resources.export_slots
        slots.taken = slots.limit  # as many exports as allowed are streaming
        try:
            response = client.get("/v1/export")
        finally:
            slots.taken = 0
        body = assert_problem(response, 503)
        assert response.headers["retry-after"] == "5"
        assert body["title"] == "Too many exports in progress"
        assert client.get("/v1/export").status_code == 200  # and the slot comes back

    def test_it_is_documented_as_ndjson_with_its_headers(self, client):
        operation = client.get("/openapi.json").json()["paths"]["/v1/export"]["get"]
        assert list(operation["responses"]["200"]["content"]) == ["application/x-ndjson"]
        assert operation["security"] == []
        assert {"200", "304", "503"} <= operation["responses"].keys()
        assert {"ETag", "Last-Modified", "Cache-Control"} <= operation["responses"]["200"][
            "headers"
        ].keys()
        assert "Retry-After" in operation["responses"]["503"]["headers"]
        assert [p["name"] for p in operation["parameters"]] == [
            "If-None-Match",
            "If-Modified-Since",
        ]
        feed = client.get("/openapi.json").json()["paths"]["/v1/changes"]["get"]
        assert "Link" in feed["responses"]["200"]["headers"]
        assert {p["name"] for p in feed["parameters"]} == {
            "limit",
            "cursor",
            "If-None-Match",
            "If-Modified-Since",
        }


def propose_summary_and_approve(client: TestClient, keys: Any, summary: str = "Edited.") -> None:
    proposal = propose_summary(client, keys, summary)
    assert approve(client, keys.reviewer, proposal["id"]).status_code == 200


class TestExportSnapshot:
    def test_an_export_read_while_an_approval_commits_is_wholly_old(self, database):
        """The export's first read fixes its snapshot; an approval committed before its
        last line leaves it as it began."""
        app = create_app()
        with TestClient(app) as client:
            before = client.get("/v1/export").content
            with Session(database) as session:
                keys = make_keys(session)
            secret = get_settings().cursor_secret
            with Session(snapshot_engine(database)) as session:
                chunks = export_chunks(session, cursor_secret=secret)
                first = next(chunks)  # the header: the snapshot is taken
                propose_summary_and_approve(client, keys, "Committed mid-export.")
                during = first + b"".join(chunks)
            after = client.get("/v1/export").content
        assert during == before
        assert b"Committed mid-export." in after
        assert after != before


class TestExportMemory:
    def test_an_export_reads_sqlite_without_its_memory_map_and_gives_it_back(self, tmp_path):
        """SQLite only: its memory map would count every page an export reads."""
        engine = build_engine(f"sqlite:///{tmp_path / 'mapped.db'}")
        with Session(engine) as session:
            read_without_memory_map(session)
            assert session.execute(sa.text("PRAGMA mmap_size")).scalar_one() == 0
        with engine.connect() as connection:  # the same pooled connection, returned
            assert connection.exec_driver_sql("PRAGMA mmap_size").scalar_one() == 1073741824
        engine.dispose()


class TestExportCommand:
    def test_ndjson_is_the_same_bytes_as_the_endpoint(self, database, tmp_path):
        target = tmp_path / "catalogue.ndjson"
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "catalogue"),
                "export",
                str(target),
                "--format",
                "ndjson",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        with TestClient(create_app()) as client:
            assert target.read_bytes() == client.get("/v1/export").content
        assert not (tmp_path / "catalogue.ndjson.partial").exists()


class TestChanges:
    def test_walked_three_at_a_time_every_change_is_seen_once_in_order(self, client):
        seen: list[dict[str, Any]] = []
        cursor, pages = None, 0
        total = client.get("/v1/changes").json()["total"]
        while True:
            params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
            page = client.get("/v1/changes", params=params).json()
            assert len(page["items"]) <= 3
            assert page["total"] == total
            seen += page["items"]
            pages += 1
            if page["next_cursor"] is None:
                assert page["resume_cursor"]
                break
            assert page["next_cursor"] == page["resume_cursor"]
            cursor = page["next_cursor"]
        assert [change["seq"] for change in seen] == sorted({change["seq"] for change in seen})
        assert len(seen) == total
        assert pages == -(-total // 3)
        assert seen[0].keys() == {"seq", "kind", "slug", "action", "version", "changed_at"}
        # Seeding created every resource there is, and logged it.
        exported = {
            (item["kind"], item["data"]["slug"])
            for item in map(json.loads, export_lines(client)[1:])
        }
        assert {(c["kind"], c["slug"]) for c in seen if c["action"] == "created"} == exported

    def test_a_deletion_stays_as_a_tombstone_and_a_recreation_follows_it(self, client, keys):
        start = client.get("/v1/changes", params={"limit": 1000}).json()["resume_cursor"]
        approved(client, keys, kind="exercise", action="delete", slug="moist-heat", base_version=1)
        approved(
            client,
            keys,
            kind="exercise",
            action="create",
            slug="moist-heat",
            data=exercise_data("moist-heat"),
        )
        page = client.get("/v1/changes", params={"cursor": start}).json()
        assert [(c["slug"], c["action"], c["version"]) for c in page["items"]] == [
            ("moist-heat", "deleted", 2),
            ("moist-heat", "created", version_of(client, "exercise", "moist-heat")),
        ]
        whole = client.get("/v1/changes", params={"limit": 1000}).json()
        assert page["total"] == whole["total"] == len(whole["items"])

    def test_a_tampered_cursor_is_422(self, client):
        cursor = client.get("/v1/changes", params={"limit": 1}).json()["next_cursor"]
        tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
        assert_problem(client.get("/v1/changes", params={"cursor": tampered}), 422, "cursor")

    def test_another_lists_cursor_is_422(self, client):
        cursor = client.get("/v1/goals", params={"limit": 1}).json()["next_cursor"]
        body = assert_problem(client.get("/v1/changes", params={"cursor": cursor}), 422, "cursor")
        assert "another catalogue database" in body["errors"][0]["message"]

    def test_a_cursor_from_another_catalogue_database_is_422(self, client, session):
        cursor = client.get("/v1/changes", params={"limit": 1}).json()["next_cursor"]
        # The same log, under another database's identity: a restored copy, say.
        session.execute(sa.text("UPDATE catalogue_state SET catalogue_id = 'another'"))
        body = assert_problem(client.get("/v1/changes", params={"cursor": cursor}), 422, "cursor")
        assert body["errors"][0]["message"] == (
            "it belongs to a different list, or to another catalogue database"
        )

    def test_a_bad_limit_and_a_bad_cursor_are_reported_together(self, client):
        response = client.get("/v1/changes", params={"limit": 1001, "cursor": "x!"})
        body = assert_problem(response, 422)
        assert [(e["parameter"], e["value"]) for e in body["errors"]] == [
            ("limit", "1001"),
            ("cursor", "x!"),
        ]

    @pytest.mark.parametrize("limit", ["0", "1001", "x"])
    def test_a_bad_limit_is_422(self, client, limit):
        assert_problem(client.get("/v1/changes", params={"limit": limit}), 422, "limit")

    def test_an_unchanged_feed_is_304_on_its_etag(self, client):
        response = client.get("/v1/changes")
        again = client.get("/v1/changes", headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304


class TestSyncClient:
    def test_a_copy_converges_with_the_catalogue_through_every_kind_of_change(
        self, client, keys, session, catalogue_dir, tmp_path
    ):
        copy = OfflineCatalogue(tmp_path / "copy.db", "http://testserver", client=client)
        report = copy.sync()
        assert report.exported
        assert list(copy.lines()) == [line + b"\n" for line in export_lines(client)]

        # Through proposals: an update, a creation, a deletion, a term's update, and a
        # slug deleted then created again.
        propose_summary_and_approve(client, keys, "Edited for the copy.")
        new = exercise_data("moist-heat") | {"slug": "warm-towel", "name": "Warm towel"}
        approved(client, keys, kind="exercise", action="create", slug="warm-towel", data=new)
        approved(
            client,
            keys,
            kind="exercise",
            action="delete",
            slug="sitting-heel-dig",
            base_version=version_of(client, "exercise", "sitting-heel-dig"),
        )
        goal = term_data("goal", "strength") | {"description": "Stronger, for longer."}
        approved(
            client, keys, kind="goal", action="update", slug="strength", base_version=1, data=goal
        )
        approved(
            client,
            keys,
            kind="exercise",
            action="delete",
            slug="warm-towel",
            base_version=1,
        )
        approved(client, keys, kind="exercise", action="create", slug="warm-towel", data=new)
        # Through reseeding: an exercise changed, one added and one removed.
        exercises = catalogue_dir / "exercises"
        edit(
            exercises / "lying-hamstring-stretch.yaml",
            lambda data: data.update(summary="Reseeded summary."),
        )
        added = exercises / "seeded-stretch.yaml"
        added.write_bytes((exercises / "towel-hamstring-stretch.yaml").read_bytes())
        edit(added, lambda data: data.update(slug="seeded-stretch", name="Seeded stretch"))
        (exercises / "hamstring-foam-rolling.yaml").unlink()
        seeded = seed_catalogue(session, read_catalogue(catalogue_dir, DOCUMENTS), now=LATER)
        assert (seeded.inserted, seeded.deleted) == (["seeded-stretch"], ["hamstring-foam-rolling"])

        report = copy.sync()
        assert not report.exported
        assert report.dropped == 2  # sitting-heel-dig, hamstring-foam-rolling
        assert list(copy.lines()) == [line + b"\n" for line in export_lines(client)]
        assert copy.get("exercise", "sitting-heel-dig") is None
        assert (copy.get("exercise", "lying-hamstring-stretch") or {})["summary"] == (
            "Reseeded summary."
        )
        assert (copy.get("goal", "strength") or {})["description"] == "Stronger, for longer."

        # Caught up: nothing more to read or fetch.
        assert copy.sync() == type(report)(exported=False, changes=0, fetched=0, dropped=0)
        copy.close()

    def test_an_export_of_the_version_the_copy_has_is_not_downloaded_again(self, client, tmp_path):
        copy = OfflineCatalogue(tmp_path / "copy.db", "http://testserver", client=client)
        assert copy.export().exported
        assert not copy.export().exported  # 304
        copy.close()

    def test_a_copy_of_another_catalogue_database_starts_again_from_an_export(
        self, client, session, tmp_path
    ):
        copy = OfflineCatalogue(tmp_path / "copy.db", "http://testserver", client=client)
        copy.sync()
        session.execute(sa.text("UPDATE catalogue_state SET catalogue_id = 'replaced'"))
        session.execute(sa.text("UPDATE catalogue_state SET version = 'other'"))
        assert copy.sync().exported
        assert list(copy.lines()) == [line + b"\n" for line in export_lines(client)]
        copy.close()
