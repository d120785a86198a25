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
from bench.run import free_port

__all__ = [
    "assert_problem",
    "copied_term_ids",
    "edit",
    "free_port",
    "linked_term_ids",
    "slugs",
    "snapshot",
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
