"""The deadline of a trip to the database (`app.database.run_within_deadline`) on
SQLite, whose statements have no timeout of their own: a query still running at the
deadline is a 503 for its caller, and is interrupted, so that its thread ends and its
connection goes back to the pool. (PostgreSQL, frozen: tests/test_database_faults.py.)"""

import time
from pathlib import Path

import anyio
import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.database import build_engine, end_transaction, read_in_thread
from app.errors import DatabaseTimeout

# Counts far longer than any deadline here (tens of seconds uninterrupted).
ENDLESS = sa.text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
    "SELECT count(*) FROM n"
)
DEADLINE_SECONDS = 0.5


class TestSQLiteDeadline:
    def test_a_query_past_the_deadline_is_interrupted_and_its_connection_returned(
        self, tmp_path: Path
    ):
        engine = build_engine(f"sqlite:///{tmp_path / 'slow.db'}", timeout_seconds=DEADLINE_SECONDS)

        def endless(session: Session) -> int:
            return int(session.execute(ENDLESS).scalar_one())

        async def read() -> tuple[float, Session]:
            session = Session(engine)
            started = time.monotonic()
            with pytest.raises(DatabaseTimeout):
                await read_in_thread(session, endless)
            elapsed = time.monotonic() - started
            await end_transaction(session, commit=False)  # the left thread's to end
            return elapsed, session

        try:
            elapsed, _ = anyio.run(read)
            assert DEADLINE_SECONDS <= elapsed < DEADLINE_SECONDS + 0.5
            # Interrupted, the thread ends its session and the pool has the connection.
            until = time.monotonic() + 2
            while engine.pool.checkedout() != 0:  # type: ignore[attr-defined]
                assert time.monotonic() < until, "the connection was never returned"
                time.sleep(0.01)
            # And it is as good as before.
            with Session(engine) as session:
                assert session.execute(sa.text("SELECT 1")).scalar_one() == 1
        finally:
            engine.dispose()
