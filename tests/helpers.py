"""Helpers the tests share (fixtures live in `conftest.py`)."""

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import sqlalchemy as sa
import yaml
from sqlmodel import Session, SQLModel, select
from starlette.testclient import TestClient

from app.models import Exercise, ExerciseGoal, ExercisePhase
from app.problems import PROBLEM_JSON
from app.settings import PROJECT_ROOT
from bench.run import free_port

__all__ = [
    "UPDATE_REASON",
    "approve",
    "assert_problem",
    "copied_term_ids",
    "edit",
    "exercise_data",
    "free_port",
    "linked_term_ids",
    "pointers",
    "propose",
    "propose_summary",
    "slugs",
    "snapshot",
    "term_data",
    "wait_until_ready",
    "walk",
]


def assert_problem(response: Any, status: int, parameter: str | None = None) -> dict[str, Any]:
    """`response` is an RFC 9457 problem with `status` (naming `parameter`, if given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    assert "Traceback" not in response.text
    if parameter is not None:
        assert parameter in [error["parameter"] for error in body["errors"]]
    return body


def walk(
    client: TestClient, url: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every page of a list, following `next_cursor`, returning the pages' bodies."""
    pages = []
    response = client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages
        response = client.get(url, params={**(params or {}), "cursor": cursor})


def slugs(response_body: dict[str, Any]) -> list[str]:
    return [item["slug"] for item in response_body["items"]]


def linked_term_ids(session: Session) -> dict[str, tuple[list[int], list[int]]]:
    """Each exercise's phase and goal ids as its links give them: what the copies on
    the exercise (`phase_ids`, `goal_ids`) must hold."""
    links: dict[str, tuple[list[int], list[int]]] = {
        slug: ([], []) for slug in session.exec(select(Exercise.slug))
    }
    for slug, phase_id in session.exec(
        select(Exercise.slug, ExercisePhase.phase_id).join(ExercisePhase)
    ):
        links[slug][0].append(phase_id)
    for slug, goal_id in session.exec(
        select(Exercise.slug, ExerciseGoal.goal_id).join(ExerciseGoal)
    ):
        links[slug][1].append(goal_id)
    return {slug: (sorted(phases), sorted(goals)) for slug, (phases, goals) in links.items()}


def copied_term_ids(session: Session) -> dict[str, tuple[list[int], list[int]]]:
    rows = session.exec(select(Exercise.slug, Exercise.phase_ids, Exercise.goal_ids))
    return {slug: (list(phases), list(goals)) for slug, phases, goals in rows}


def wait_until_ready(base_url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, f"server exited with {process.returncode}"
        try:
            if httpx2.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        assert time.monotonic() < deadline, f"{base_url} did not become ready"
        time.sleep(0.2)


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for before/after comparisons."""
    tables = {}
    for table in SQLModel.metadata.sorted_tables:
        rows = session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
        tables[table.name] = [tuple(row) for row in rows]
    return tables


def edit(path: Path, change: Callable[[Any], None]) -> None:
    """Change a catalogue file's YAML data in place."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


# Curation: proposals as a client makes them.

UPDATE_REASON = "Plainer words."
# In-process (the app's test client) or over a socket (a served app).
Client = TestClient | httpx2.Client


def exercise_data(slug: str) -> dict[str, Any]:
    """An exercise of the test catalogue in the seed format, as a proposal's data."""
    path = PROJECT_ROOT / "tests" / "fixtures" / "catalogue" / "exercises" / f"{slug}.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def term_data(kind: str, slug: str) -> dict[str, Any]:
    files = {"goal": "goals", "condition": "conditions", "source": "sources", "phase": "phases"}
    entries = yaml.safe_load(
        (PROJECT_ROOT / "tests" / "fixtures" / "catalogue" / f"{files[kind]}.yaml").read_text()
    )
    return dict(next(entry for entry in entries if entry["slug"] == slug))


def propose(client: Client, headers: dict[str, str], **body: Any) -> Any:
    body.setdefault("reason", UPDATE_REASON)
    return client.post("/v1/proposals", json=body, headers=headers)


def propose_summary(client: Client, keys: Any, summary: str, **extra: Any) -> Any:
    data = exercise_data("moist-heat") | {"summary": summary}
    response = propose(
        client,
        keys.curator,
        kind="exercise",
        action="update",
        slug="moist-heat",
        base_version=1,
        data=data,
        **extra,
    )
    assert response.status_code == 201, response.text
    return response.json()


def approve(client: Client, headers: dict[str, str], proposal_id: int, **body: Any) -> Any:
    return client.post(f"/v1/proposals/{proposal_id}/approve", json=body or None, headers=headers)


def pointers(body: dict[str, Any]) -> list[str]:
    return [error["pointer"] for error in body["errors"]]
