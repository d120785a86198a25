"""Curation through HTTP: keys and roles, proposals checked as seeding checks the files,
approval by a second reviewer in one transaction, and what the public read shows after."""

import copy
import hashlib
import json
import logging
import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from starlette.testclient import TestClient

from app.dependencies import get_session, get_write_session
from app.errors import Conflict
from app.keys import create_key, revoke_key
from app.main import create_app
from app.settings import Settings
from app.vocabulary import KeyRole
from app.writer import CatalogueWriter
from tests.conftest import Keys, make_keys
from tests.helpers import (
    UPDATE_REASON,
    approve,
    approved,
    assert_problem,
    exercise_data,
    pointers,
    propose,
    propose_summary,
    snapshot,
    term_data,
)


class TestKeys:
    def test_no_key_is_401_with_a_bearer_challenge(self, client, keys):
        response = client.get("/v1/proposals")
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == 'Bearer realm="catalogue"'

    @pytest.mark.parametrize(
        "header", ["Bearer eck_000000000000_nope", "Bearer nonsense", "Bearer "]
    )
    def test_an_unknown_or_malformed_key_is_401_invalid_token(self, client, keys, header):
        response = client.get("/v1/proposals", headers={"Authorization": header})
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == (
            'Bearer realm="catalogue", error="invalid_token"'
        )

    def test_another_scheme_is_401_without_an_error_code(self, client, keys):
        response = client.get("/v1/proposals", headers={"Authorization": "Basic YWxleDpzZWNyZXQ="})
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == 'Bearer realm="catalogue"'

    def test_no_key_may_be_named_seed(self, session):
        with pytest.raises(Conflict):
            create_key(session, name="seed", role=KeyRole.reviewer, now=datetime.now(UTC))

    def test_a_right_lookup_with_a_wrong_secret_is_401(self, client, keys):
        prefix, lookup, _ = keys.tokens[0].split("_", 2)
        forged = {"Authorization": f"Bearer {prefix}_{lookup}_{'x' * 43}"}
        assert_problem(client.get("/v1/proposals", headers=forged), 401)

    def test_a_revoked_key_is_refused_at_once(self, client, keys, session):
        assert client.get("/v1/proposals", headers=keys.curator).status_code == 200
        revoke_key(session, name="alex", now=datetime.now(UTC))
        assert_problem(client.get("/v1/proposals", headers=keys.curator), 401)

    def test_keys_are_stored_only_as_salted_hashes(self, session, keys):
        stored = session.execute(sa.text("SELECT lookup, secret_hash FROM api_key")).all()
        hashes = [secret_hash for _, secret_hash in stored]
        assert all(secret_hash.startswith("scrypt$") for secret_hash in hashes)
        assert len({secret_hash.split("$")[4] for secret_hash in hashes}) == 3  # salts
        for token in keys.tokens:
            secret = token.split("_", 2)[2]
            assert all(secret not in secret_hash for secret_hash in hashes)

    def test_keys_never_appear_in_responses_or_logs(self, client, keys, caplog):
        caplog.set_level(logging.DEBUG)
        proposal = propose_summary(client, keys, "Warm.")
        approve(client, keys.reviewer, proposal["id"])
        client.get("/v1/proposals", headers=keys.curator)
        client.get("/v1/proposals", headers={"Authorization": keys.curator["Authorization"] + "x"})
        bodies = client.get(f"/v1/proposals/{proposal['id']}", headers=keys.curator).text
        for token in keys.tokens:
            secret = token.split("_", 2)[2]
            assert secret not in caplog.text
            assert secret not in bodies


class TestCreateProposal:
    def test_created_with_location_and_nothing_published(self, client, keys):
        before = client.get("/v1/exercises/moist-heat")
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="moist-heat",
            base_version=1,
            data=exercise_data("moist-heat") | {"summary": "Warm."},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert response.headers["location"].endswith(f"/v1/proposals/{body['id']}")
        assert body | {"id": 0, "created_at": None} == {
            "id": 0,
            "kind": "exercise",
            "action": "update",
            "slug": "moist-heat",
            "base_version": 1,
            "data": exercise_data("moist-heat") | {"summary": "Warm."},
            "document_sha256": None,
            "reason": UPDATE_REASON,
            "status": "open",
            "author": "alex",
            "created_at": None,
            "decided_by": None,
            "decided_at": None,
            "decision_reason": None,
        }
        after = client.get("/v1/exercises/moist-heat")
        assert after.json() == before.json()
        assert after.headers["etag"] == before.headers["etag"]

    def test_every_problem_in_the_data_is_named_by_json_pointer(self, client, keys):
        data = exercise_data("moist-heat")
        data["goals"] = ["levitation", "recovery"]
        data["evidence"][0]["start"] += 1
        data["evidence"][0]["end"] += 1
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="moist-heat",
            base_version=1,
            data=data,
        )
        body = assert_problem(response, 422)
        assert pointers(body) == ["/data/goals/0", "/data/evidence/0/quote"]
        assert {error["location"] for error in body["errors"]} == {"body"}
        assert body["errors"][0]["message"] == "unknown slug 'levitation'"

    def test_format_problems_are_named_by_json_pointer(self, client, keys):
        data = exercise_data("moist-heat")
        data["category"] = "levitation"
        data["dosage"]["duration_seconds"] = "twenty minutes"
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="moist-heat",
            base_version=1,
            data=data,
        )
        body = assert_problem(response, 422)
        assert pointers(body)[0] == "/data/category"
        assert pointers(body)[1].startswith("/data/dosage/duration_seconds")

    def test_a_progression_cycle_is_refused(self, client, keys):
        data = exercise_data("nordic-hamstring-exercise") | {
            "progressions": ["lying-hamstring-stretch"]
        }
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="nordic-hamstring-exercise",
            base_version=1,
            data=data,
        )
        body = assert_problem(response, 422)
        assert pointers(body) == ["/data/progressions"]
        assert "cycle" in body["errors"][0]["message"]

    def test_a_claim_resting_on_garbled_text_alone_is_refused(self, client, keys):
        data = exercise_data("towel-hamstring-stretch")
        data["mistakes"] = ["Bouncing."]
        data["evidence"].append(
            {
                "source": "aggregate-hamstring-stretches",
                "field": "mistakes",
                "stance": "supports",
                "quote": "avoid bouncing",
                "start": 12903,
                "end": 12917,
            }
        )
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="towel-hamstring-stretch",
            base_version=1,
            data=data,
        )
        body = assert_problem(response, 422)
        assert pointers(body) == ["/data/mistakes"]
        assert "garbled text alone" in body["errors"][0]["message"]

    def test_the_body_itself_is_checked(self, client, keys):
        response = client.post(
            "/v1/proposals",
            json={"kind": "recipe", "action": "rename", "slug": "Bad Slug", "extra": 1},
            headers=keys.curator,
        )
        body = assert_problem(response, 422)
        assert sorted(pointers(body)) == ["/action", "/extra", "/kind", "/reason", "/slug"]

    def test_the_action_and_data_must_fit_together(self, client, keys):
        response = propose(client, keys.curator, kind="phase", action="delete", slug="acute")
        body = assert_problem(response, 422)
        assert pointers(body) == ["/action", "/base_version"]
        response = propose(client, keys.curator, kind="goal", action="update", slug="strength")
        assert pointers(assert_problem(response, 422)) == ["/data", "/base_version"]

    def test_a_stale_base_version_is_409(self, client, keys):
        response = propose(
            client,
            keys.curator,
            kind="goal",
            action="update",
            slug="strength",
            base_version=4,
            data=term_data("goal", "strength"),
        )
        body = assert_problem(response, 409)
        assert "at version 1, not 4" in body["detail"]

    def test_creating_a_slug_that_exists_is_409_and_a_retired_one_422(self, client, keys):
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="create",
            slug="moist-heat",
            data=exercise_data("moist-heat"),
        )
        assert_problem(response, 409)
        data = exercise_data("moist-heat") | {"slug": "nordic-curl"}
        response = propose(
            client, keys.curator, kind="exercise", action="create", slug="nordic-curl", data=data
        )
        assert pointers(assert_problem(response, 422)) == ["/slug"]

    def test_a_body_too_large_is_413(self, client, keys):
        response = client.post(
            "/v1/proposals",
            content=b'{"reason": "' + b"x" * (5 * 1024 * 1024) + b'"}',
            headers={**keys.curator, "Content-Type": "application/json"},
        )
        assert_problem(response, 413)

    def test_a_body_that_is_not_json_is_415(self, client, keys):
        response = client.post(
            "/v1/proposals",
            content=b"kind=goal",
            headers={**keys.curator, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert_problem(response, 415)

    def test_malformed_json_is_422(self, client, keys):
        response = client.post(
            "/v1/proposals",
            content=b'{"kind": "goal",',
            headers={**keys.curator, "Content-Type": "application/json"},
        )
        body = assert_problem(response, 422)
        assert [error["parameter"] for error in body["errors"]] == ["body"]

    @pytest.mark.parametrize(
        ("field", "value"), [("reason", "Bad\x00reason"), ("summary", "Bad\ud800summary")]
    )
    def test_text_no_database_can_store_is_422(self, client, keys, field, value):
        data = exercise_data("moist-heat")
        body = {"reason": UPDATE_REASON}
        if field == "summary":
            data["summary"] = value
        else:
            body["reason"] = value
        content = json.dumps(
            {
                "kind": "exercise",
                "action": "update",
                "slug": "moist-heat",
                "base_version": 1,
                "data": data,
                **body,
            }
        ).encode()
        response = client.post(
            "/v1/proposals",
            content=content,
            headers={**keys.curator, "Content-Type": "application/json"},
        )
        body = assert_problem(response, 422)
        assert pointers(body) == ["/reason" if field == "reason" else "/data/summary"]

    def test_numbers_beyond_a_database_integer_are_422(self, client, keys):
        data = exercise_data("moist-heat")
        data["phases"][0]["order"] = 10**20
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="moist-heat",
            base_version=1,
            data=data,
        )
        assert pointers(assert_problem(response, 422)) == ["/data/phases/0/order"]

    @pytest.mark.parametrize(
        ("change", "pointer", "message"),
        [
            ({"name": "n" * 201}, "/data/name", "String should have at most 200 characters"),
            (
                {"instructions": [f"Step {n}." for n in range(21)]},
                "/data/instructions",
                "List should have at most 20 items after validation, not 21",
            ),
            ({"cues": ["c" * 10_000] * 27}, "/data", "Value error, the exercise is "),
        ],
        ids=["name", "steps", "whole-entry"],
    )
    def test_the_seed_formats_size_limits_are_422(
        self, client, keys, session, change, pointer, message
    ):
        before = snapshot(session)
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="moist-heat",
            base_version=1,
            data=exercise_data("moist-heat") | change,
        )
        [error] = assert_problem(response, 422)["errors"]
        assert error["pointer"] == pointer
        assert error["message"].startswith(message)
        assert snapshot(session) == before

    def test_a_document_that_is_not_text_is_422(self, client, keys):
        data = term_data("source", "hamstring-pain-exercises") | {"document_text": 5}
        response = propose(
            client,
            keys.curator,
            kind="source",
            action="update",
            slug="hamstring-pain-exercises",
            base_version=1,
            data=data,
        )
        assert pointers(assert_problem(response, 422)) == ["/data/document_text"]

    def test_a_quote_is_refused_when_no_text_is_stored_to_check_it(self, client, keys, session):
        # A database migrated but not yet seeded again has no document texts.
        session.execute(sa.text("DELETE FROM source_document"))
        data = exercise_data("moist-heat") | {"summary": "Warm."}
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="moist-heat",
            base_version=1,
            data=data,
        )
        body = assert_problem(response, 422)
        assert pointers(body) == ["/data/evidence/0/quote"]
        assert "no text of" in body["errors"][0]["message"]

    def test_a_new_source_brings_its_document_and_is_checked_against_it(self, client, keys):
        text = "A short document about hamstrings.\n"
        data = {
            "slug": "new-note",
            "title": "A new note",
            "kind": "article",
            "file": "new-note.txt",
            "sha256": "0" * 64,
            "document_text": text,
            "garbled_regions": [[0, 999]],
        }
        response = propose(
            client, keys.curator, kind="source", action="create", slug="new-note", data=data
        )
        body = assert_problem(response, 422)
        assert pointers(body) == ["/data/sha256", "/data/garbled_regions/0"]

    def test_a_document_over_1_mib_is_refused(self, client, keys):
        text = "x" * (1024 * 1024 + 1)
        data = {
            "slug": "big-note",
            "title": "A big note",
            "kind": "article",
            "file": "big-note.txt",
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "document_text": text,
        }
        response = propose(
            client, keys.curator, kind="source", action="create", slug="big-note", data=data
        )
        assert pointers(assert_problem(response, 422)) == ["/data/document_text"]


class TestRateLimit:
    def test_writes_beyond_the_hourly_limit_are_429_with_retry_after(self, session, keys):
        app = create_app(Settings(curation_writes_per_hour=2))
        app.dependency_overrides[get_session] = lambda: session
        app.dependency_overrides[get_write_session] = lambda: session
        with TestClient(app) as client:
            for summary in ("One.", "Two."):
                propose_summary(client, keys, summary)
            response = propose(
                client,
                keys.curator,
                kind="goal",
                action="update",
                slug="strength",
                base_version=1,
                data=term_data("goal", "strength"),
            )
            assert_problem(response, 429)
            assert 3500 <= int(response.headers["retry-after"]) <= 3600
            # Another key has writes of its own.
            proposal = client.get("/v1/proposals", headers=keys.reviewer).json()["items"][0]
            assert approve(client, keys.reviewer, proposal["id"]).status_code == 200


class TestApproveProposal:
    def test_the_public_read_its_etag_version_and_history_change(self, client, keys):
        before = client.get("/v1/exercises/moist-heat")
        catalogue_before = client.get("/v1/catalogue").json()["version"]
        proposal = propose_summary(client, keys, "Warmth for tight hamstrings.")
        response = approve(client, keys.reviewer, proposal["id"], reason="Reads better.")
        assert response.status_code == 200, response.text
        decided = response.json()
        assert (decided["status"], decided["decided_by"], decided["decision_reason"]) == (
            "approved",
            "sam",
            "Reads better.",
        )
        after = client.get("/v1/exercises/moist-heat")
        assert after.json()["summary"] == "Warmth for tight hamstrings."
        assert after.json()["version"] == 2
        assert after.headers["etag"] != before.headers["etag"]
        assert client.get("/v1/catalogue").json()["version"] != catalogue_before
        [latest, created] = client.get("/v1/exercises/moist-heat/history").json()["items"]
        assert latest | {"changed_at": None} == {
            "version": 2,
            "action": "updated",
            "changed_at": None,
            "author": "alex",
            "reviewer": "sam",
            "reason": UPDATE_REASON,
            "proposal": proposal["id"],
        }
        assert created["action"] == "created"

    def test_self_approval_is_403(self, client, keys):
        response = propose(
            client,
            keys.reviewer,
            kind="goal",
            action="update",
            slug="strength",
            base_version=1,
            data=term_data("goal", "strength") | {"name": "Strength work"},
        )
        assert response.status_code == 201
        assert_problem(approve(client, keys.reviewer, response.json()["id"]), 403)
        assert approve(client, keys.other_reviewer, response.json()["id"]).status_code == 200

    def test_a_curator_cannot_approve(self, client, keys):
        proposal = propose_summary(client, keys, "Warm.")
        assert_problem(approve(client, keys.curator, proposal["id"]), 403)

    def test_two_curators_on_one_exercise_the_second_approval_is_409(self, client, keys):
        first = propose_summary(client, keys, "First.")
        second = propose_summary(client, keys, "Second.")
        assert approve(client, keys.reviewer, first["id"]).status_code == 200
        body = assert_problem(approve(client, keys.reviewer, second["id"]), 409)
        assert "at version 2, not 1" in body["detail"]
        assert client.get("/v1/exercises/moist-heat").json()["summary"] == "First."
        listed = client.get(f"/v1/proposals/{second['id']}", headers=keys.curator).json()
        assert listed["status"] == "open"

    def test_deciding_a_decided_proposal_is_409(self, client, keys):
        proposal = propose_summary(client, keys, "Warm.")
        assert approve(client, keys.reviewer, proposal["id"]).status_code == 200
        assert_problem(approve(client, keys.other_reviewer, proposal["id"]), 409)
        response = client.post(
            f"/v1/proposals/{proposal['id']}/reject", json={"reason": "No."}, headers=keys.reviewer
        )
        assert_problem(response, 409)

    def test_if_match_on_a_changed_proposal_is_412(self, client, keys):
        proposal = propose_summary(client, keys, "Warm.")
        etag = client.get(f"/v1/proposals/{proposal['id']}", headers=keys.reviewer).headers["etag"]
        response = client.post(
            f"/v1/proposals/{proposal['id']}/approve",
            headers={**keys.reviewer, "If-Match": '"stale"'},
        )
        assert_problem(response, 412)
        response = client.post(
            f"/v1/proposals/{proposal['id']}/approve", headers={**keys.reviewer, "If-Match": etag}
        )
        assert response.status_code == 200
        assert response.headers["etag"] != etag

    def test_an_unknown_proposal_is_404(self, client, keys):
        assert_problem(approve(client, keys.reviewer, 999999), 404)

    def test_a_new_exercise_appears_and_the_one_it_leads_to_shows_it(self, client, keys):
        data = exercise_data("moist-heat") | {
            "slug": "warm-towel",
            "name": "Warm towel",
            "progressions": ["prone-hamstring-curl"],
        }
        response = propose(
            client, keys.curator, kind="exercise", action="create", slug="warm-towel", data=data
        )
        assert response.status_code == 201, response.text
        assert approve(client, keys.reviewer, response.json()["id"]).status_code == 200
        created = client.get("/v1/exercises/warm-towel").json()
        assert (created["version"], created["progressions"]) == (1, ["prone-hamstring-curl"])
        harder = client.get("/v1/exercises/prone-hamstring-curl").json()
        assert "warm-towel" in harder["regressions"]
        assert harder["version"] == 2
        [history, *_] = client.get("/v1/exercises/prone-hamstring-curl/history").json()["items"]
        assert (history["action"], history["proposal"]) == ("updated", response.json()["id"])

    def test_a_deleted_exercise_is_410_with_deleted_at(self, client, keys):
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="delete",
            slug="moist-heat",
            base_version=1,
        )
        assert response.status_code == 201, response.text
        decided = approve(client, keys.reviewer, response.json()["id"]).json()
        body = assert_problem(client.get("/v1/exercises/moist-heat"), 410)
        assert body["deleted_at"] == decided["decided_at"]
        assert "moist-heat" not in [i["slug"] for i in client.get("/v1/exercises").json()["items"]]

    def test_what_is_still_needed_cannot_be_deleted(self, client, keys):
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="delete",
            slug="prone-hamstring-curl",
            base_version=1,
        )
        body = assert_problem(response, 409)
        assert "'lying-hamstring-stretch'" in body["detail"]
        response = propose(
            client, keys.curator, kind="goal", action="delete", slug="strength", base_version=1
        )
        assert "cannot be deleted" in assert_problem(response, 409)["detail"]

    def test_a_condition_named_by_evidence_cannot_be_deleted(self, client, keys):
        data = exercise_data("moist-heat")
        data["evidence"].append(
            {
                "source": "tight-hamstrings-aggregate",
                "field": "contraindication",
                "subject": "severe-pain",
                "stance": "cautions",
                "quote": data["evidence"][0]["quote"],
                "start": data["evidence"][0]["start"],
                "end": data["evidence"][0]["end"],
            }
        )
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="moist-heat",
            base_version=1,
            data=data,
        )
        assert approve(client, keys.reviewer, response.json()["id"]).status_code == 200
        version = client.get("/v1/conditions/severe-pain").json()["version"]
        response = propose(
            client,
            keys.curator,
            kind="condition",
            action="delete",
            slug="severe-pain",
            base_version=version,
        )
        assert "'moist-heat'" in assert_problem(response, 409)["detail"]

    def test_a_proposal_the_catalogue_no_longer_fits_is_409_naming_each_field(self, client, keys):
        goal = {"slug": "balance", "name": "Balance", "description": "Stay steady."}
        approved(client, keys, kind="goal", action="create", slug="balance", data=goal)
        data = exercise_data("moist-heat") | {"goals": ["balance", "pain-relief"]}
        uses = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="moist-heat",
            base_version=1,
            data=data,
        )
        assert uses.status_code == 201, uses.text
        approved(client, keys, kind="goal", action="delete", slug="balance", base_version=1)
        body = assert_problem(approve(client, keys.reviewer, uses.json()["id"]), 409)
        assert pointers(body) == ["/data/goals/0"]

    def test_approving_the_same_content_changes_nothing(self, client, keys):
        before = client.get("/v1/exercises/moist-heat")
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="moist-heat",
            base_version=1,
            data=exercise_data("moist-heat"),
        )
        assert approve(client, keys.reviewer, response.json()["id"]).status_code == 200
        after = client.get("/v1/exercises/moist-heat")
        assert (after.json()["version"], after.headers["etag"]) == (1, before.headers["etag"])

    def test_the_reviewer_reads_a_proposed_sources_document(self, client, keys):
        text = "A document to read.\n"
        source = {
            "slug": "new-note",
            "title": "A new note",
            "kind": "article",
            "file": "new-note.txt",
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "document_text": text,
        }
        response = propose(
            client, keys.curator, kind="source", action="create", slug="new-note", data=source
        )
        detail = client.get(f"/v1/proposals/{response.json()['id']}", headers=keys.reviewer).json()
        assert detail["document_text"] == text
        listed = client.get("/v1/proposals", headers=keys.reviewer).json()["items"][0]
        assert "document_text" not in listed

    def test_a_term_update_reaches_its_exercises_pages(self, client, keys):
        approved(
            client,
            keys,
            kind="goal",
            action="update",
            slug="strength",
            base_version=1,
            data=term_data("goal", "strength") | {"name": "Strength work"},
        )
        goal = client.get("/v1/goals/strength").json()
        assert (goal["name"], goal["version"]) == ("Strength work", 2)

    def test_a_new_source_then_an_exercise_citing_it(self, client, keys, session):
        text = "Hold the stretch gently for thirty seconds.\n"
        source = {
            "slug": "new-note",
            "title": "A new note",
            "kind": "article",
            "file": "new-note.txt",
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "document_text": text,
        }
        response = propose(
            client, keys.curator, kind="source", action="create", slug="new-note", data=source
        )
        assert response.status_code == 201, response.text
        assert response.json()["document_sha256"] == source["sha256"]
        assert "document_text" not in response.json()["data"]
        approve(client, keys.reviewer, response.json()["id"])
        assert client.get("/v1/sources/new-note").json()["sha256"] == source["sha256"]
        data = exercise_data("moist-heat")
        data["evidence"].append(
            {
                "source": "new-note",
                "field": "summary",
                "stance": "supports",
                "quote": "Hold the stretch gently",
                "start": 0,
                "end": 23,
            }
        )
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="moist-heat",
            base_version=1,
            data=data,
        )
        assert response.status_code == 201, response.text
        bad = copy.deepcopy(data)
        bad["evidence"][-1]["start"], bad["evidence"][-1]["end"] = 1, 24
        response = propose(
            client,
            keys.curator,
            kind="exercise",
            action="update",
            slug="moist-heat",
            base_version=1,
            data=bad,
        )
        assert pointers(assert_problem(response, 422)) == ["/data/evidence/1/quote"]


class TestRejectProposal:
    def test_rejected_with_a_reason_and_nothing_changes(self, client, keys):
        before = client.get("/v1/exercises/moist-heat").json()
        proposal = propose_summary(client, keys, "Warm.")
        response = client.post(
            f"/v1/proposals/{proposal['id']}/reject",
            json={"reason": "Too short."},
            headers=keys.reviewer,
        )
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["decision_reason"]) == (
            "rejected",
            "Too short.",
        )
        assert client.get("/v1/exercises/moist-heat").json() == before

    def test_a_reason_is_required_and_a_curator_may_not(self, client, keys):
        proposal = propose_summary(client, keys, "Warm.")
        url = f"/v1/proposals/{proposal['id']}/reject"
        assert_problem(client.post(url, json={}, headers=keys.reviewer), 422)
        assert_problem(client.post(url, json={"reason": "No."}, headers=keys.curator), 403)


class TestWithdrawProposal:
    def test_the_author_withdraws_an_open_proposal(self, client, keys):
        proposal = propose_summary(client, keys, "Warm.")
        assert_problem(client.delete(f"/v1/proposals/{proposal['id']}", headers=keys.reviewer), 403)
        response = client.delete(f"/v1/proposals/{proposal['id']}", headers=keys.curator)
        assert response.json()["status"] == "withdrawn"
        assert_problem(client.delete(f"/v1/proposals/{proposal['id']}", headers=keys.curator), 409)
        assert_problem(approve(client, keys.reviewer, proposal["id"]), 409)


class TestListProposals:
    def test_filtered_and_paged_oldest_first(self, client, keys):
        ids = [propose_summary(client, keys, f"Warm {n}.")["id"] for n in range(3)]
        approve(client, keys.reviewer, ids[0])
        body = client.get("/v1/proposals?status=open&limit=1", headers=keys.curator).json()
        assert ([p["id"] for p in body["items"]], body["total"]) == ([ids[1]], 2)
        page_two = client.get(
            "/v1/proposals",
            params={"status": "open", "limit": 1, "cursor": body["next_cursor"]},
            headers=keys.curator,
        ).json()
        assert [p["id"] for p in page_two["items"]] == [ids[2]]
        assert client.get("/v1/proposals?kind=goal", headers=keys.curator).json()["total"] == 0

    def test_answers_are_private(self, client, keys):
        response = client.get("/v1/proposals", headers=keys.curator)
        assert response.headers["cache-control"] == "private, no-cache"

    def test_an_unknown_status_is_422(self, client, keys):
        assert_problem(
            client.get("/v1/proposals?status=pending", headers=keys.curator), 422, "status"
        )


class TestGetProposal:
    def test_one_proposal_needs_a_key(self, client, keys):
        proposal = propose_summary(client, keys, "Warm.")
        assert_problem(client.get(f"/v1/proposals/{proposal['id']}"), 401)
        response = client.get(f"/v1/proposals/{proposal['id']}", headers=keys.reviewer)
        assert response.json() == {**proposal, "document_text": None}
        assert response.headers["etag"]

    def test_unknown_is_404(self, client, keys):
        assert_problem(client.get("/v1/proposals/424242", headers=keys.reviewer), 404)


class TestPublicReadsWithAKey:
    def test_a_read_with_authorization_is_private(self, client, keys):
        response = client.get("/v1/exercises", headers=keys.curator)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "private, no-cache"
        assert client.get("/v1/exercises").headers["cache-control"].startswith("public")


@pytest.fixture
def live_keys(database) -> Keys:
    """Keys committed to the `database` fixture's database."""
    with Session(database) as session:
        return make_keys(session)


def log_count(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT count(*) FROM catalogue_change")).scalar_one()


class TestApprovalTransactions:
    """Against a committed database, with the app's own sessions."""

    def test_concurrent_approvals_of_conflicting_proposals_apply_exactly_one(
        self, database, live_keys
    ):
        app = create_app()
        with TestClient(app) as client:
            first = propose_summary(client, live_keys, "From the first.")
            second = propose_summary(client, live_keys, "From the second.")
            before = log_count(database)
            barrier = threading.Barrier(2)
            answers: dict[str, int] = {}

            # One client from two threads: its portal runs both requests at once.
            def decide(name: str, reviewer: dict[str, str], proposal_id: int) -> None:
                barrier.wait()
                answers[name] = approve(client, reviewer, proposal_id).status_code

            threads = [
                threading.Thread(target=decide, args=("first", live_keys.reviewer, first["id"])),
                threading.Thread(
                    target=decide, args=("second", live_keys.other_reviewer, second["id"])
                ),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert sorted(answers.values()) == [200, 409]
            winner = first if answers["first"] == 200 else second
            detail = client.get("/v1/exercises/moist-heat").json()
            assert (detail["summary"], detail["version"]) == (winner["data"]["summary"], 2)
            assert log_count(database) == before + 1

    def test_a_failure_mid_apply_leaves_every_table_unchanged(
        self, database, live_keys, monkeypatch
    ):
        app = create_app()
        with TestClient(app) as client:
            data = exercise_data("moist-heat") | {"progressions": ["prone-hamstring-curl"]}
            response = propose(
                client,
                live_keys.curator,
                kind="exercise",
                action="update",
                slug="moist-heat",
                base_version=1,
                data=data,
            )
            proposal = response.json()
            with Session(database) as session:
                before = snapshot(session)

            def fail(self: CatalogueWriter) -> str:
                raise RuntimeError("injected after the rows were written")

            monkeypatch.setattr(CatalogueWriter, "move_revision", fail)
            response = approve(client, live_keys.reviewer, proposal["id"])
            assert_problem(response, 500)
            with Session(database) as session:
                assert snapshot(session) == before
            monkeypatch.undo()
            assert approve(client, live_keys.reviewer, proposal["id"]).status_code == 200
            with Session(database) as session:
                assert snapshot(session) != before
