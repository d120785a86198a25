"""The benchmark harness works: a one-second run against the tiny test catalogue
produces a complete table that the harness's own parser reads back. (No timings are
asserted: benchmarks live in bench/, with their numbers in bench/RESULTS.md.)"""

import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import PROJECT_ROOT
from bench.run import ENDPOINTS, WRK, parse_table
from bench.scale import TABLE_HEADER
from tests.conftest import IN_CI


@pytest.fixture(scope="module")
def wrk() -> str:
    if not Path(WRK).exists():
        reason = f"{WRK} not installed: run `make test` as root, or apt-get install wrk"
        if IN_CI:
            pytest.fail(f"CI=true requires the benchmark smoke test. {reason}", pytrace=False)
        pytest.skip(reason)
    return WRK


class TestBenchHarness:
    def test_a_one_second_run_reads_back_its_own_table(self, wrk):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.run",
                "--duration",
                "1",
                "--connections",
                "4",
                "--repeat",
                "2",
                "--catalogue",
                "tiny",
                "--databases",
                "sqlite",
            ],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        rows = parse_table(result.stdout)
        assert [row.endpoint for row in rows] == [
            *(endpoint.name for endpoint in ENDPOINTS),
            "ceiling (raw ASGI)",
        ]
        assert {row.database for row in rows} == {"sqlite"}
        for row in rows:
            assert row.requests_per_second > 0
            assert 0 < row.p50_ms <= row.worst_p99_ms
        api_rows = rows[:-1]
        for row in api_rows:
            assert row.ceiling_ratio is not None
            assert row.ratio_range is not None
            low, high = row.ratio_range
            assert 0 < low <= row.ceiling_ratio <= high
        assert rows[-1].ceiling_ratio is None
        assert rows[-1].ratio_range is None
        assert rows[-1].body_bytes == rows[0].body_bytes  # the ceiling mimics the list size
        assert next(r for r in rows if r.endpoint == "conditional 304").body_bytes == 0
        assert "failed responses" not in result.stdout
        assert "- sqlite: peak RSS per API worker" in result.stdout
        assert "- cold start (fresh SQLite: migrate + seed + first 200):" in result.stdout

    def test_a_small_scale_run_prints_one_row_per_size(self, wrk):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.scale",
                "--sizes",
                "100,200",
                "--duration",
                "1",
                "--databases",
                "sqlite",
            ],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        lines = result.stdout.splitlines()
        start = lines.index(TABLE_HEADER) + 2
        rows = [line.strip("|").split("|") for line in lines[start : start + 2]]
        assert [row[:2] for row in rows] == [[" sqlite ", " 100 "], [" sqlite ", " 200 "]]
        assert all(len(row) == TABLE_HEADER.count("|") - 1 for row in rows)
        assert "- sqlite, 100 -> 200 exercises: list p50 x" in result.stdout
