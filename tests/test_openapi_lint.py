"""The served OpenAPI document passes two linters nobody here wrote, with nothing to
report: Redocly CLI's `recommended` rules and Spectral's `spectral:oas` rules (both
pinned in package-lock.json). A single error or warning fails the suite.

The linters run without the network (in a network namespace of their own when the
machine allows one): Redocly's usage data and update check are off, and neither needs
anything but the document."""

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.main import create_app
from app.pagination import CURSOR_PATTERN
from app.problems import Problem
from app.settings import PROJECT_ROOT

BIN = PROJECT_ROOT / "node_modules" / ".bin"
OFFLINE = ["unshare", "--net"] if shutil.which("unshare") else []


def offline_prefix() -> list[str]:
    """`unshare --net` where this user may make a network namespace, else nothing."""
    if OFFLINE and subprocess.run([*OFFLINE, "true"], capture_output=True).returncode == 0:
        return OFFLINE
    return []


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    path.write_text(json.dumps(create_app().openapi()))
    return path


def run(tool: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    executable = BIN / tool
    assert executable.exists(), f"{executable} is missing: run `make node_modules/.installed`"
    environment = {
        **os.environ,
        "REDOCLY_TELEMETRY": "off",
        "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [*offline_prefix(), str(executable), *arguments],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=environment,
        timeout=120,
    )


def test_redocly_recommended_reports_nothing(spec_file: Path) -> None:
    result = run(
        "redocly",
        "lint",
        "--config",
        str(PROJECT_ROOT / "redocly.yaml"),
        "--format",
        "json",
        str(spec_file),
    )
    found: dict[str, Any] = json.loads(result.stdout)
    problems = [
        f"{p['severity']} {p['ruleId']}: {p['message']} at {p['location'][0]['pointer']}"
        for p in found["problems"]
    ]
    assert problems == [], result.stderr
    assert found["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}
    assert result.returncode == 0, result.stderr


def test_spectral_oas_reports_nothing(spec_file: Path) -> None:
    result = run(
        "spectral",
        "lint",
        "--ruleset",
        str(PROJECT_ROOT / ".spectral.yaml"),
        "--format",
        "json",
        "--fail-severity",
        "hint",
        "--quiet",
        str(spec_file),
    )
    found = json.loads(result.stdout or "[]")
    problems = [f"{r['code']}: {r['message']} at {'.'.join(map(str, r['path']))}" for r in found]
    assert problems == [], result.stderr
    assert result.returncode == 0, result.stderr


def properties(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property of every schema in `node`, by where it is."""
    if isinstance(node, dict):
        for name, schema in (node.get("properties") or {}).items():
            yield f"{where}.{name}", schema
        for key, value in node.items():
            yield from properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from properties(value, f"{where}[{index}]")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """The document as served."""
    with TestClient(create_app()) as client:
        document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


class TestDocument:
    """What the linters do not check: every point of issue 19's list."""

    def test_every_field_and_parameter_is_described(self, spec):
        assert [where for where, schema in properties(spec) if "description" not in schema] == []
        assert [
            f"{operation['operationId']}:{parameter['name']}"
            for _, _, operation in operations(spec)
            for parameter in operation.get("parameters", [])
            if not parameter.get("description")
        ] == []

    def test_each_error_status_has_its_own_valid_example(self, spec):
        seen = set()
        for path, _, operation in operations(spec):
            for status, response in operation["responses"].items():
                content = response.get("content", {}).get("application/problem+json")
                if content is None:
                    continue
                example = Problem.model_validate(content["example"])
                assert example.status == int(status), (path, status)
                assert example.instance is not None
                assert example.instance.startswith(path.split("{")[0])
                seen.add(int(status))
        assert seen >= {308, 401, 403, 404, 406, 409, 410, 412, 413, 414, 415, 422, 429, 503}

    def test_headers_are_documented_per_operation(self, spec):
        for path, method, operation in operations(spec):
            responses = operation["responses"]
            for status, response in responses.items():
                headers = set(response.get("headers", {}))
                assert "X-Request-ID" in headers, (path, status)
                if status in ("429", "503"):
                    assert "Retry-After" in headers, (path, status)
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            if method == "get" and path.startswith("/v1/") and "proposals" not in path:
                assert {"If-None-Match", "If-Modified-Since"} <= names, path
                for status in ("200", "304"):
                    headers = set(responses[status]["headers"])
                    assert {"ETag", "Last-Modified", "Cache-Control"} <= headers, path
                if "cursor" in names:
                    assert "Link" in responses["200"]["headers"], path
        assert (
            "WWW-Authenticate"
            in spec["paths"]["/v1/proposals"]["post"]["responses"]["401"]["headers"]
        )
        assert "Location" in spec["paths"]["/v1/goals/{slug}"]["get"]["responses"]["308"]["headers"]

    def test_servers_and_security_are_declared(self, spec):
        assert spec["servers"] == [{"url": "/", "description": spec["servers"][0]["description"]}]
        for path, _, operation in operations(spec):
            expected: list[dict[str, list[str]]] = (
                [{"apiKey": []}] if path.startswith("/v1/proposals") else []
            )
            assert operation["security"] == expected, path

    def test_cursors_have_a_documented_format(self, spec):
        cursors = [
            parameter["schema"]
            for _, _, operation in operations(spec)
            for parameter in operation.get("parameters", [])
            if parameter["name"] == "cursor"
        ]
        assert len(cursors) == 16
        cursor = {"type": "string", "pattern": CURSOR_PATTERN, "maxLength": 512}
        for schema in cursors:
            assert cursor in schema["anyOf"]
        returned = spec["components"]["schemas"]["ChangeFeed"]["properties"]
        assert cursor.items() <= returned["resume_cursor"].items()
        assert cursor in returned["next_cursor"]["anyOf"]

    def test_cautions_is_required_as_it_is_always_sent(self, spec):
        assert "cautions" in spec["components"]["schemas"]["ExerciseItem"]["required"]


class TestDocumentedFormats:
    def test_served_cursors_fit_the_documented_pattern(self, client):
        for url in ("/v1/exercises?limit=1", "/v1/goals?limit=1", "/v1/changes?limit=1"):
            response = client.get(url)
            body = response.json()
            assert re.fullmatch(CURSOR_PATTERN[1:-1], body["next_cursor"]), url
            assert response.headers["link"].endswith('; rel="next"')
        listed = client.get("/v1/exercises?limit=1").json()["items"][0]
        assert listed["cautions"] is None  # sent, as null, without `safe_for`
