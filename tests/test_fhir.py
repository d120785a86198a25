"""The FHIR R4 interface at /fhir/R4: what it serves validates against the official R4
definitions (tests/fhir_validation.py), says what the JSON API says, pages, and
answers every error as an OperationOutcome."""

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from app.dependencies import get_session
from app.main import create_app
from app.seeding.reading import Catalogue
from tests.fhir_validation import assert_r4, r4_problems

BASE = "http://testserver/fhir/R4"
FHIR_JSON = "application/fhir+json"
CONTRAINDICATION = "https://exercise-catalogue.example/fhir/StructureDefinition/contraindication"
CAUTION = "https://exercise-catalogue.example/fhir/StructureDefinition/phase-caution"
BASIS = "https://exercise-catalogue.example/fhir/StructureDefinition/phase-basis"
CATEGORY_SYSTEM = "https://exercise-catalogue.example/fhir/CodeSystem/exercise-category"


def fhir(client: TestClient, path: str, **kwargs: Any) -> dict[str, Any]:
    """GET a FHIR resource that must be there, valid R4."""
    response = client.get(f"/fhir/R4{path}", **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == FHIR_JSON
    body: dict[str, Any] = response.json()
    assert_r4(body)
    return body


def assert_outcome(response: Any, status: int, code: str) -> dict[str, Any]:
    """`response` is an OperationOutcome with `status` and the issue `code`, valid R4."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == FHIR_JSON
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert [issue["code"] for issue in body["issue"]] == [code]
    assert body["issue"][0]["severity"] == "error"
    assert body["issue"][0]["diagnostics"]
    assert "Traceback" not in response.text
    assert_r4(body)
    return body


def search_walk(client: TestClient, query: str) -> list[dict[str, Any]]:
    """Every searchset Bundle of a search, following its `next` links."""
    bundles = [fhir(client, f"/ActivityDefinition?{query}")]
    while True:
        links = {link["relation"]: link["url"] for link in bundles[-1]["link"]}
        if "next" not in links:
            return bundles
        url = urlsplit(links["next"])
        assert url.path == "/fhir/R4/ActivityDefinition"
        bundles.append(fhir(client, "/ActivityDefinition", params=parse_qsl(url.query)))


def entry_ids(bundle: dict[str, Any]) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def extension(element: dict[str, Any], url: str) -> Any:
    (found,) = [item for item in element.get("extension", []) if item["url"] == url]
    return found


def dose(element: dict[str, Any], name: str) -> dict[str, int] | None:
    """A FHIR dose (`<name>Quantity` or `<name>Range`) as the JSON API's {min, max}."""
    if f"{name}Quantity" in element:
        value = element[f"{name}Quantity"]["value"]
        return {"min": value, "max": value}
    if f"{name}Range" in element:
        found = element[f"{name}Range"]
        return {"min": found["low"]["value"], "max": found["high"]["value"]}
    return None


def dosage_numbers(activity: dict[str, Any]) -> dict[str, Any]:
    """What an ActivityDefinition's dosage states, in the JSON API's terms."""
    numbers: dict[str, Any] = {}
    (dosage,) = activity.get("dosage", [{}])
    repeat = dosage.get("timing", {}).get("repeat", {})
    if "frequency" in repeat:
        key = {"d": "per_day", "wk": "per_week"}[repeat["periodUnit"]]
        assert repeat["period"] == 1
        numbers[key] = {
            "min": repeat["frequency"],
            "max": repeat.get("frequencyMax", repeat["frequency"]),
        }
    if "duration" in repeat:
        assert repeat["durationUnit"] == "s"
        numbers["duration"] = {
            "min": repeat["duration"],
            "max": repeat.get("durationMax", repeat["duration"]),
        }
    for item in dosage.get("doseAndRate", []):
        numbers[{"repetitions": "reps", "sets": "sets"}[item["type"]["text"]]] = dose(item, "dose")
    numbers["note"] = dosage.get("text")
    return numbers


def expected_numbers(dosage: dict[str, Any]) -> dict[str, Any]:
    """The JSON API's dosage, as the ActivityDefinition states it (the hold, or else
    the duration, is the Timing's duration)."""
    numbers = {key: dosage[key] for key in ("per_day", "reps", "sets") if dosage[key]}
    if dosage["per_week"] and not dosage["per_day"]:
        numbers["per_week"] = dosage["per_week"]
    length = dosage["hold_seconds"] or dosage["duration_seconds"]
    if length:
        numbers["duration"] = length
    numbers["note"] = dosage["note"]
    return numbers


class TestMetadata:
    def test_capability_statement(self, client):
        statement = fhir(client, "/metadata")
        assert statement["resourceType"] == "CapabilityStatement"
        assert statement["fhirVersion"] == "4.0.1"
        assert statement["kind"] == "instance"
        assert statement["format"] == ["json", FHIR_JSON]
        assert statement["implementation"]["url"] == BASE
        (rest,) = statement["rest"]
        assert rest["mode"] == "server"
        resources = {item["type"]: item for item in rest["resource"]}
        assert resources.keys() == {"ActivityDefinition", "PlanDefinition"}
        activity = resources["ActivityDefinition"]
        assert [i["code"] for i in activity["interaction"]] == ["read", "search-type"]
        assert [p["name"] for p in activity["searchParam"]] == ["name", "title", "topic", "_count"]
        assert [i["code"] for i in resources["PlanDefinition"]["interaction"]] == ["read"]
        assert {item["conditionalRead"] for item in rest["resource"]} == {"full-support"}

    def test_conditional_get_and_head(self, client):
        response = client.get("/fhir/R4/metadata")
        etag = response.headers["etag"]
        assert response.headers["last-modified"]
        repeat = client.get("/fhir/R4/metadata", headers={"If-None-Match": etag})
        assert repeat.status_code == 304
        assert repeat.content == b""
        assert repeat.headers["etag"] == etag
        since = client.get(
            "/fhir/R4/metadata", headers={"If-Modified-Since": response.headers["last-modified"]}
        )
        assert since.status_code == 304
        head = client.head("/fhir/R4/metadata")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["etag"] == etag
        assert head.headers["content-type"] == FHIR_JSON

    @pytest.mark.parametrize(
        ("accept", "format_", "media_type"),
        [
            (None, None, FHIR_JSON),
            ("*/*", None, FHIR_JSON),
            (FHIR_JSON, None, FHIR_JSON),
            ("application/json", None, "application/json"),
            ("application/json;q=0.5, application/fhir+json", None, FHIR_JSON),
            ("application/fhir+json;q=0.5, application/json", None, "application/json"),
            ("application/xml", "json", FHIR_JSON),
            (None, "application/json", "application/json"),
            (None, FHIR_JSON, FHIR_JSON),
        ],
    )
    def test_media_types(self, client, accept, format_, media_type):
        headers = {"Accept": accept} if accept else {}
        params = {"_format": format_} if format_ else {}
        response = client.get("/fhir/R4/metadata", headers=headers, params=params)
        assert response.status_code == 200
        assert response.headers["content-type"] == media_type
        assert response.json()["resourceType"] == "CapabilityStatement"
        assert "Accept" in response.headers["vary"]

    def test_each_media_type_has_its_own_etag(self, client):
        fhir_json = client.get("/fhir/R4/metadata", headers={"Accept": FHIR_JSON})
        plain = client.get("/fhir/R4/metadata", headers={"Accept": "application/json"})
        assert fhir_json.headers["etag"] != plain.headers["etag"]
        again = client.get(
            "/fhir/R4/metadata",
            headers={"Accept": FHIR_JSON, "If-None-Match": plain.headers["etag"]},
        )
        assert again.status_code == 200

    @pytest.mark.parametrize(
        ("headers", "params"),
        [
            ({"Accept": "application/fhir+xml"}, {}),
            ({"Accept": "text/html, application/json;q=0"}, {}),
            ({}, {"_format": "xml"}),
            ({}, {"_format": "application/fhir+xml"}),
        ],
    )
    def test_unsupported_format(self, client, headers, params):
        response = client.get("/fhir/R4/metadata", headers=headers, params=params)
        assert_outcome(response, 406, "not-supported")


class TestReadActivityDefinition:
    def test_every_exercise_is_valid_r4_and_says_what_the_json_api_says(
        self, client, catalogue: Catalogue
    ):
        for entry in catalogue.exercises:
            activity = fhir(client, f"/ActivityDefinition/{entry.slug}")
            detail = client.get(f"/v1/exercises/{entry.slug}").json()
            assert activity["id"] == entry.slug
            assert activity["url"] == f"{BASE}/ActivityDefinition/{entry.slug}"
            assert activity["status"] == "active"
            assert activity["title"] == detail["name"]
            assert activity["description"] == detail["summary"]
            assert activity["topic"] == [
                {
                    "coding": [{"system": CATEGORY_SYSTEM, "code": detail["category"]}],
                    "text": detail["category"],
                }
            ]
            assert [site["text"] for site in activity.get("bodySite", [])] == detail["body_regions"]
            assert dosage_numbers(activity) == expected_numbers(detail["dosage"])
            # Citations: every piece of evidence, in the JSON API's order, verbatim.
            assert [
                (artifact["citation"], artifact["url"].rsplit("/", 1)[1])
                for artifact in activity.get("relatedArtifact", [])
            ] == [(item["quote"], item["source"]) for item in detail["evidence"]]
            assert {artifact["type"] for artifact in activity.get("relatedArtifact", [])} <= {
                "citation"
            }
            rules = [
                {part["url"]: part for part in rule["extension"]}
                for rule in activity.get("extension", [])
                if rule["url"] == CONTRAINDICATION
            ]
            assert [
                {
                    "condition": rule["condition"]["valueCodeableConcept"]["coding"][0]["code"],
                    "severity": rule["severity"]["valueCode"],
                    "note": rule["note"]["valueString"],
                }
                for rule in rules
            ] == detail["contraindications"]

    def test_a_dosage_with_a_range_and_citations_with_the_source_title(self, client, catalogue):
        activity = fhir(client, "/ActivityDefinition/lying-hamstring-stretch")
        (dosage,) = activity["dosage"]
        assert dosage["timing"]["repeat"] == {
            "duration": 15,
            "durationMax": 30,
            "durationUnit": "s",
        }
        titles = {source.slug: source.title for source in catalogue.sources}
        artifact = activity["relatedArtifact"][0]
        assert artifact["display"] == titles[artifact["url"].rsplit("/", 1)[1]]
        assert artifact["url"].startswith("http://testserver/v1/sources/")

    def test_exercise_therapy_code_and_version(self, client):
        activity = fhir(client, "/ActivityDefinition/sitting-heel-dig")
        assert activity["code"]["coding"] == [
            {"system": "http://snomed.info/sct", "code": "229065009", "display": "Exercise therapy"}
        ]
        assert activity["name"] == "SittingHeelDig"
        assert activity["kind"] == "ServiceRequest"
        detail = client.get("/v1/exercises/sitting-heel-dig").json()
        assert activity["version"] == str(detail["version"]) == "1"

    def test_stop_rules_and_avoid_rules_read_as_text_too(self, client):
        detail = client.get("/v1/exercises/lying-hamstring-stretch").json()
        activity = fhir(client, "/ActivityDefinition/lying-hamstring-stretch")
        words = {"avoid": "Avoid with", "caution": "Caution with"}
        words["stop"] = "Stop at once if this appears or worsens"
        names = {
            item["slug"]: item["name"]
            for item in client.get("/v1/conditions", params={"limit": 100}).json()["items"]
        }
        assert activity["usage"].split("\n") == [
            f"{words[rule['severity']]}: {names[rule['condition']]}. {rule['note']}"
            for rule in detail["contraindications"]
        ]

    def test_conditional_get(self, client):
        response = client.get("/fhir/R4/ActivityDefinition/sitting-heel-dig")
        etag = response.headers["etag"]
        repeat = client.get(
            "/fhir/R4/ActivityDefinition/sitting-heel-dig", headers={"If-None-Match": etag}
        )
        assert repeat.status_code == 304
        other = client.get("/fhir/R4/ActivityDefinition/moist-heat").headers["etag"]
        assert other != etag

    def test_unknown_id(self, client):
        assert_outcome(client.get("/fhir/R4/ActivityDefinition/no-such-thing"), 404, "not-found")

    def test_renamed_and_removed_exercises(self, client):
        renamed = client.get("/fhir/R4/ActivityDefinition/nordic-curl", follow_redirects=False)
        assert renamed.status_code == 308
        assert renamed.headers["location"] == f"{BASE}/ActivityDefinition/nordic-hamstring-exercise"
        assert_r4(renamed.json())
        assert [(i["severity"], i["code"]) for i in renamed.json()["issue"]] == [
            ("information", "informational")
        ]
        assert_outcome(client.get("/fhir/R4/ActivityDefinition/compression-shorts"), 410, "deleted")

    @pytest.mark.parametrize("bad", ["UPPER", "a_b", "x" * 101])
    def test_malformed_id(self, client, bad):
        assert_outcome(client.get(f"/fhir/R4/ActivityDefinition/{bad}"), 400, "invalid")


class TestSearchActivityDefinitions:
    def test_paging_walks_every_exercise_once(self, client, catalogue, expected):
        bundles = search_walk(client, "_count=3")
        everyone = expected(lambda entry: True)
        assert [slug for bundle in bundles for slug in entry_ids(bundle)] == everyone
        assert {bundle["total"] for bundle in bundles} == {len(catalogue.exercises)}
        assert [len(entry_ids(bundle)) for bundle in bundles[:-1]] == [3] * (len(bundles) - 1)
        for bundle in bundles:
            assert bundle["type"] == "searchset"
            for entry in bundle["entry"]:
                assert entry["fullUrl"] == entry["resource"]["url"]
                assert entry["search"] == {"mode": "match"}

    def test_entries_equal_the_read_resources(self, client):
        bundle = fhir(client, "/ActivityDefinition", params={"_count": 100})
        for entry in bundle["entry"]:
            assert entry["resource"] == fhir(
                client, f"/ActivityDefinition/{entry['resource']['id']}"
            )
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        assert links == {"self": f"{BASE}/ActivityDefinition?_count=100"}

    def test_by_title(self, client, expected):
        assert entry_ids(fhir(client, "/ActivityDefinition?title=lying")) == expected(
            lambda entry: entry.name.lower().startswith("lying")
        )
        assert entry_ids(fhir(client, "/ActivityDefinition?title:contains=HAMSTRING")) == expected(
            lambda entry: "hamstring" in entry.name.lower()
        )
        assert entry_ids(fhir(client, "/ActivityDefinition?title:exact=Moist heat")) == expected(
            lambda entry: entry.name == "Moist heat"
        )
        assert entry_ids(fhir(client, "/ActivityDefinition?title:exact=moist heat")) == []

    def test_by_name(self, client, expected):
        assert entry_ids(fhir(client, "/ActivityDefinition?name=LyingHam")) == [
            "lying-hamstring-stretch"
        ]
        assert entry_ids(fhir(client, "/ActivityDefinition?name:exact=SittingHeelDig")) == [
            "sitting-heel-dig"
        ]
        assert entry_ids(fhir(client, "/ActivityDefinition?name:contains=heel")) == expected(
            lambda entry: "heel" in entry.slug.replace("-", "")
        )
        # Commas mean any of them; a LIKE wildcard is a plain character.
        assert entry_ids(fhir(client, "/ActivityDefinition?name=moist,sitting")) == expected(
            lambda entry: entry.slug.startswith(("moist", "sitting"))
        )
        assert fhir(client, "/ActivityDefinition?name:contains=%25")["total"] == 0

    def test_by_topic(self, client, expected):
        stretches = expected(lambda entry: entry.category == "stretch")
        assert stretches
        assert entry_ids(fhir(client, "/ActivityDefinition?topic=stretch")) == stretches
        system = f"/ActivityDefinition?topic={CATEGORY_SYSTEM}|stretch"
        assert entry_ids(fhir(client, system)) == stretches
        assert fhir(client, "/ActivityDefinition?topic=|stretch")["total"] == 0
        other = fhir(client, "/ActivityDefinition?topic=http://snomed.info/sct|stretch")
        assert (other["total"], entry_ids(other)) == (0, [])
        assert fhir(client, "/ActivityDefinition?topic=no-such-category")["total"] == 0
        both = fhir(client, "/ActivityDefinition?topic=stretch&title:contains=hamstring")
        assert entry_ids(both) == expected(
            lambda entry: entry.category == "stretch" and "hamstring" in entry.name.lower()
        )

    def test_search_paging_keeps_the_filters(self, client, expected):
        bundles = search_walk(client, "topic=stretch&_count=1")
        assert [slug for bundle in bundles for slug in entry_ids(bundle)] == expected(
            lambda entry: entry.category == "stretch"
        )

    def test_count_zero_gives_the_total_alone(self, client, catalogue):
        bundle = fhir(client, "/ActivityDefinition?_count=0")
        assert bundle["total"] == len(catalogue.exercises)
        assert "entry" not in bundle
        assert [link["relation"] for link in bundle["link"]] == ["self"]

    def test_count_is_capped(self, client, catalogue):
        bundle = fhir(client, "/ActivityDefinition?_count=1000")
        assert len(bundle["entry"]) == len(catalogue.exercises)

    @pytest.mark.parametrize(
        "query",
        [
            "_count=abc",
            "_count=-1",
            "unknown=1",
            "_sort=title",
            "name:missing=x",
            "title=",
            "name=a&name=b",
            "_cursor=not-a-cursor",
        ],
    )
    def test_bad_search_parameters(self, client, query):
        assert_outcome(client.get(f"/fhir/R4/ActivityDefinition?{query}"), 400, "invalid")

    def test_lenient_handling_ignores_unknown_parameters(self, client):
        response = client.get(
            "/fhir/R4/ActivityDefinition?unknown=1&title=lying",
            headers={"Prefer": "handling=lenient"},
        )
        assert response.status_code == 200
        assert entry_ids(response.json()) == ["lying-hamstring-stretch"]

    def test_a_cursor_of_another_search(self, client):
        bundle = fhir(client, "/ActivityDefinition?_count=1")
        next_url = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
        cursor = dict(parse_qsl(urlsplit(next_url).query))["_cursor"]
        response = client.get(
            "/fhir/R4/ActivityDefinition",
            params={"_count": 1, "topic": "stretch", "_cursor": cursor},
        )
        body = assert_outcome(response, 400, "invalid")
        assert body["issue"][0]["expression"] == ["_cursor"]

    def test_conditional_search(self, client):
        response = client.get("/fhir/R4/ActivityDefinition?title=lying")
        repeat = client.get(
            "/fhir/R4/ActivityDefinition?title=lying",
            headers={"If-None-Match": response.headers["etag"]},
        )
        assert repeat.status_code == 304


class TestReadPlanDefinition:
    @pytest.mark.parametrize("phase", ["acute", "rehab", "return-to-sport"])
    def test_phase_as_a_protocol_in_progression_order(self, client, phase):
        plan = fhir(client, f"/PlanDefinition/{phase}")
        detail = client.get(f"/v1/phases/{phase}").json()
        assert plan["id"] == phase
        assert plan["url"] == f"{BASE}/PlanDefinition/{phase}"
        assert plan["type"]["coding"] == [
            {
                "system": "http://terminology.hl7.org/CodeSystem/plan-definition-type",
                "code": "protocol",
                "display": "Protocol",
            }
        ]
        assert plan["title"] == detail["name"]
        assert plan["description"] == detail["description"]
        assert plan["usage"] == f"Criteria to progress: {detail['criteria_to_progress']}"
        assert detail["next_cursor"] is None  # the JSON page holds them all
        assert [
            (
                action["definitionCanonical"],
                action["title"],
                action.get("description"),
                extension(action, CAUTION)["valueBoolean"],
                extension(action, BASIS)["valueCode"],
            )
            for action in plan.get("action", [])
        ] == [
            (
                f"{BASE}/ActivityDefinition/{item['slug']}",
                item["name"],
                item["note"],
                item["caution"],
                item["basis"],
            )
            for item in detail["exercises"]
        ]

    def test_every_action_points_to_a_served_activity_definition(self, client):
        for phase in ("acute", "rehab", "return-to-sport"):
            for action in fhir(client, f"/PlanDefinition/{phase}").get("action", []):
                canonical = action["definitionCanonical"]
                activity = fhir(client, canonical.removeprefix(BASE))
                assert activity["url"] == canonical

    def test_unknown_phase(self, client):
        assert_outcome(client.get("/fhir/R4/PlanDefinition/recovery"), 404, "not-found")

    def test_conditional_get(self, client):
        etag = client.get("/fhir/R4/PlanDefinition/rehab").headers["etag"]
        repeat = client.get("/fhir/R4/PlanDefinition/rehab", headers={"If-None-Match": etag})
        assert repeat.status_code == 304


class TestErrors:
    def test_unknown_resource_type(self, client):
        assert_outcome(client.get("/fhir/R4/Patient/example"), 404, "not-found")

    def test_method_not_allowed(self, client):
        response = client.post("/fhir/R4/ActivityDefinition", json={"resourceType": "Basic"})
        assert_outcome(response, 405, "not-supported")

    def test_a_url_too_long(self, client):
        response = client.get("/fhir/R4/ActivityDefinition", params={"title": "x" * 9000})
        assert_outcome(response, 414, "too-long")
        # The JSON API's own 414 is still a problem.
        other = client.get("/v1/exercises", params={"q": "x" * 9000})
        assert other.status_code == 414
        assert other.headers["content-type"] == "application/problem+json"

    def test_errors_in_plain_json_when_asked(self, client):
        response = client.get(
            "/fhir/R4/ActivityDefinition/no-such-thing", headers={"Accept": "application/json"}
        )
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert response.json()["resourceType"] == "OperationOutcome"

    @pytest.mark.parametrize(
        ("error", "status", "code"),
        [
            (RuntimeError("a bug with a secret in it"), 500, "exception"),
            (OperationalError("SELECT 1", {}, Exception("secret")), 503, "transient"),
        ],
    )
    def test_a_failure_is_an_outcome_that_tells_nothing(self, error, status, code):
        app = create_app()

        def failing() -> None:
            raise error

        app.dependency_overrides[get_session] = failing
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/fhir/R4/ActivityDefinition/sitting-heel-dig")
        assert_outcome(response, status, code)
        assert "secret" not in response.text
        if status == 503:
            assert response.headers["retry-after"] == "5"

    def test_the_json_api_keeps_its_problems(self, client):
        response = client.get("/v1/exercises/no-such-thing")
        assert response.headers["content-type"] == "application/problem+json"

    def test_the_validator_refuses_what_r4_does_not_define(self):
        # The check itself, on resources written to break R4 in each way it looks for.
        assert r4_problems({"resourceType": "ActivityDefinition"}) == [
            "ActivityDefinition.status: required (min 1)"
        ]
        assert r4_problems({"resourceType": "ActivityDefinition", "status": "done"}) != []
        # An R4B-only element (ActivityDefinition.subjectCanonical is not in R4).
        assert (
            r4_problems(
                {"resourceType": "ActivityDefinition", "status": "active", "subjectCanonical": "x"}
            )
            != []
        )
        assert (
            r4_problems(
                {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "x"}],
                    "status": 1,
                }
            )
            != []
        )
        assert r4_problems(
            {"resourceType": "PlanDefinition", "status": "active", "extension": [{"url": "x"}]}
        ) == ["PlanDefinition: extension 'x' needs a value or extensions, not both (ext-1)"]


class TestTheRealCatalogue:
    def test_every_resource_is_valid_r4_and_every_reference_resolves(self, full_client):
        bundles = search_walk(full_client, "_count=50")
        slugs = [slug for bundle in bundles for slug in entry_ids(bundle)]
        exercises = full_client.get("/v1/exercises", params={"limit": 100}).json()
        assert slugs == [item["slug"] for item in exercises["items"]]
        served = {entry["resource"]["url"] for bundle in bundles for entry in bundle["entry"]}
        for phase in ("acute", "rehab", "return-to-sport"):
            plan = fhir(full_client, f"/PlanDefinition/{phase}")
            assert {action["definitionCanonical"] for action in plan["action"]} <= served
        for slug in slugs:
            activity = fhir(full_client, f"/ActivityDefinition/{slug}")
            detail = full_client.get(f"/v1/exercises/{slug}").json()
            assert dosage_numbers(activity) == expected_numbers(detail["dosage"])


class TestServedByTheServer:
    """Through a real `catalogue serve` (its response cache in front, uvicorn checking
    each body against its Content-Length), over the real catalogue."""

    @pytest.mark.parametrize(
        "path",
        [
            "/metadata",
            "/ActivityDefinition/lying-hamstring-stretch",
            "/PlanDefinition/rehab",
            "/ActivityDefinition?topic=stretch&_count=5",
        ],
    )
    def test_served_whole_and_again_from_the_cache(self, live_server, path):
        url = f"{live_server}/fhir/R4{path}"
        first = httpx2.get(url, headers={"Accept-Encoding": "identity"})
        assert first.status_code == 200
        assert int(first.headers["content-length"]) == len(first.content)
        assert first.headers["content-type"] == FHIR_JSON
        assert_r4(first.json())
        again = httpx2.get(url, headers={"Accept-Encoding": "identity"})
        assert (again.content, again.headers["etag"]) == (first.content, first.headers["etag"])
        plain = httpx2.get(url, headers={"Accept": "application/json"})
        assert plain.headers["content-type"] == "application/json"
        assert plain.headers["etag"] != first.headers["etag"]
        fresh = httpx2.get(
            url, headers={"If-None-Match": first.headers["etag"], "Accept-Encoding": "identity"}
        )
        assert fresh.status_code == 304

    def test_lenient_and_strict_handling_are_not_mixed_up_by_the_cache(self, live_server):
        url = f"{live_server}/fhir/R4/ActivityDefinition?_summary=true&title=lying"
        lenient = httpx2.get(url, headers={"Prefer": "handling=lenient"})
        assert lenient.status_code == 200
        assert "Prefer" in lenient.headers["vary"]
        again = httpx2.get(url, headers={"Prefer": "handling=lenient"})
        assert again.content == lenient.content
        assert_outcome(httpx2.get(url), 400, "invalid")

    def test_errors_are_outcomes_with_the_servers_headers(self, live_server):
        response = httpx2.get(f"{live_server}/fhir/R4/ActivityDefinition/no-such-thing")
        assert_outcome(response, 404, "not-found")
        assert response.headers["x-request-id"]
        assert response.headers["x-content-type-options"] == "nosniff"
