"""Engines, where public reads go (the primary, or its streaming replicas in turn), and
the ends of the two kinds of transaction a request can hold: a read of one snapshot,
and a write that commits only if nothing failed."""

import itertools
import json
import logging
import math
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import psycopg
import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

from app import metrics
from app.errors import CatalogueBusy
from app.settings import Settings

Answer = TypeVar("Answer")


def build_engine(url: str, *, timeout_seconds: float = 5.0) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            json_serializer=_json_dumps,
            connect_args={"check_same_thread": False, "timeout": timeout_seconds},
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "checkin", _restore_memory_map)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    timeout_ms = int(timeout_seconds * 1000)
    return create_engine(
        parsed,
        json_serializer=_json_dumps,
        pool_pre_ping=True,  # survive a database restart without restarting the app
        # Queries run on AnyIO's 40 worker threads: let each hold a connection rather
        # than queue for one of SQLAlchemy's default 15 under a burst of misses.
        pool_size=10,
        max_overflow=30,
        pool_timeout=timeout_seconds,
        connect_args={
            "connect_timeout": max(1, round(timeout_seconds)),
            "options": f"-c statement_timeout={timeout_ms}",
        },
    )


def engine_for(settings: Settings) -> Engine:
    return build_engine(settings.database_url, timeout_seconds=settings.database_timeout_seconds)


PRIMARY = "primary"


def instrument_pool(engine: Engine, database: str) -> None:
    """Keep the pool-use gauges of `app.metrics` for `engine`'s pool, named `database`."""
    pool = engine.pool
    size = getattr(pool, "size", None)
    if callable(size):
        limit = size() + max(0, getattr(pool, "_max_overflow", 0))
        metrics.CONNECTIONS_LIMIT.labels(database).set(limit)
    in_use = metrics.CONNECTIONS_IN_USE.labels(database)
    opened = metrics.CONNECTIONS_OPEN.labels(database)
    event.listen(engine, "checkout", lambda *_: in_use.inc())
    event.listen(engine, "checkin", lambda *_: in_use.dec())
    event.listen(engine, "connect", lambda *_: opened.inc())
    event.listen(engine, "close", lambda *_: opened.dec())


# A session's `info` key: where its reads may go instead when the database they were
# sent to fails (see `ReadDatabases.fallback`).
_FALLBACK = "catalogue_read_fallback"


@dataclass
class _Replica:
    name: str
    engine: Engine
    down_until: float = -math.inf


class ReadDatabases:
    """Where public reads go: the replicas in turn (round robin), leaving out for
    `retry_seconds` one that failed a read; the primary when there are none, or none is
    left. A read that fails on a replica for want of it (refused, dropped, timed out
    connecting, or cancelled by the replica's recovery) is run again elsewhere, in the
    same request (`run_read`), so that a stopped standby costs no client an error.

    Every engine here reads one snapshot per transaction (`snapshot_engine`)."""

    def __init__(
        self, primary: Engine, replicas: Sequence[tuple[str, Engine]], *, retry_seconds: float
    ):
        self.primary = primary
        self.replicas = [_Replica(name, engine) for name, engine in replicas]
        self.retry_seconds = retry_seconds
        self._turn = itertools.count()
        self._names = {id(replica.engine): replica.name for replica in self.replicas}

    def pick(self) -> Engine:
        if self.replicas:
            now = time.monotonic()
            start = next(self._turn)
            for offset in range(len(self.replicas)):
                replica = self.replicas[(start + offset) % len(self.replicas)]
                if replica.down_until <= now:
                    return replica.engine
        return self.primary

    def name_of(self, engine: Any) -> str:
        return self._names.get(id(engine), PRIMARY)

    def session(self, *, primary: bool = False) -> Session:
        """A read session on the next database (on the primary if `primary`)."""
        engine = self.primary if primary else self.pick()
        metrics.READS.labels(self.name_of(engine)).inc()
        # Reads only: what a query returned stays readable after its transaction commits.
        return Session(engine, expire_on_commit=False, info={_FALLBACK: self.fallback})

    def fallback(self, failed: Any, error: Exception) -> Engine | None:
        """Where a read goes after failing on `failed` with `error`: another replica, or
        the primary; None when it failed on the primary, or for a reason the primary
        would share (a statement timeout)."""
        name = self.name_of(failed)
        if name == PRIMARY or not _replica_failure(error):
            return None
        metrics.READ_FALLBACKS.labels(name).inc()
        if _replica_conflict(error):
            return self.primary  # the replica is up, but this query lost to its replay
        for replica in self.replicas:
            if replica.engine is failed:
                replica.down_until = time.monotonic() + self.retry_seconds
                logging.getLogger("app").warning(
                    "database %s failed a read (%s); reads go elsewhere for %g s",
                    name,
                    type(error).__name__,
                    self.retry_seconds,
                )
        engine = self.pick()
        metrics.READS.labels(self.name_of(engine)).inc()
        return engine

    def dispose(self) -> None:
        for replica in self.replicas:
            replica.engine.dispose()


def _replica_failure(error: Exception) -> bool:
    if isinstance(error, sa.exc.TimeoutError):  # no pooled connection free in time
        return True
    cause = getattr(error, "orig", None)
    if isinstance(cause, psycopg.errors.QueryCanceled):
        return False  # a statement timeout: as slow on the primary
    return isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError) or (
        _replica_conflict(error)
    )


def _replica_conflict(error: Exception) -> bool:
    # A hot standby cancels a query whose rows its replay must remove (SQLSTATE 40001).
    return isinstance(getattr(error, "orig", None), psycopg.errors.SerializationFailure)


def run_read(session: Session, query: Callable[[Session], Answer]) -> Answer:
    """`query(session)`, run again on the database `ReadDatabases.fallback` names (the
    session rebound to it) when it fails for want of its replica."""
    while True:
        try:
            return query(session)
        except (sa.exc.DBAPIError, sa.exc.TimeoutError) as error:
            fallback = session.info.get(_FALLBACK)
            engine = fallback(session.bind, error) if fallback is not None else None
            if engine is None:
                raise
            session.close()
            session.bind = engine


def _json_dumps(value: Any) -> str:
    # Keep text readable in the database (and searchable: no \\u escapes in FTS input).
    return json.dumps(value, ensure_ascii=False)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
    # every transaction (and savepoint) really is one: a failed seed leaves no trace.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # Foreign keys are off per connection unless asked; WAL lets readers run during a reseed.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Read through a shared memory map rather than copying pages into each connection's
    # own small cache, which with a pool of connections and a large catalogue was a
    # large share of a filtered list's time.
    cursor.execute(f"PRAGMA mmap_size={_MEMORY_MAP_BYTES}")
    cursor.close()


_MEMORY_MAP_BYTES = 1073741824
_MEMORY_MAP_OFF = "memory_map_off"


def read_without_memory_map(session: Session) -> None:
    """For a read that goes through the whole database once (an export): on SQLite,
    read its pages through the connection's own small page cache rather than the
    memory map, which would leave every page it read counted in the process's memory.
    The map is back when the connection returns to the pool."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA mmap_size=0")
        connection.info[_MEMORY_MAP_OFF] = True


def _restore_memory_map(dbapi_connection: Any, record: Any) -> None:
    if record.info.pop(_MEMORY_MAP_OFF, False):
        dbapi_connection.execute(f"PRAGMA mmap_size={_MEMORY_MAP_BYTES}")


@dataclass(frozen=True)
class LockWait:
    """How long a catalogue write that may queue behind another (a seed: replicas start
    together) waits for the catalogue's write lock, rather than the statement timeout;
    `waiting` is called once if it has to wait."""

    seconds: float
    waiting: Callable[[], None]


def catalogue_busy(wait: LockWait) -> CatalogueBusy:
    return CatalogueBusy(
        f"Another seed or approval held the catalogue's write lock for more than "
        f"{wait.seconds:g} s; nothing was written."
    )


def _begin_sqlite(connection: Any) -> None:
    # A write takes SQLite's write lock when it begins, not at its first write: two
    # writes that both read first would otherwise both read, and the second one's
    # write would fail at once ("database is locked") instead of waiting its turn.
    options = connection.get_execution_options()
    if not options.get(_WRITES, False):
        connection.exec_driver_sql("BEGIN")
    elif (wait := options.get(LOCK_WAIT)) is None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        _begin_immediate_waiting(connection.connection.driver_connection, wait)


def _begin_immediate_waiting(dbapi_connection: sqlite3.Connection, wait: LockWait) -> None:
    """BEGIN IMMEDIATE, waiting up to `wait.seconds` (not the connection's busy timeout)
    for another write to finish, and saying so if it has to."""
    (busy_ms,) = dbapi_connection.execute("PRAGMA busy_timeout").fetchone()
    try:
        dbapi_connection.execute("PRAGMA busy_timeout = 0")
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
        wait.waiting()
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(wait.seconds * 1000)}")
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
            raise catalogue_busy(wait) from None
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")


_WRITES = "catalogue_writes"
# A `LockWait` for the transaction about to begin (see `app.writer.lock_catalogue`).
LOCK_WAIT = "catalogue_lock_wait"


def write_engine(engine: Engine) -> Engine:
    """`engine`, for transactions that write the catalogue (see `_begin_sqlite`)."""
    return engine.execution_options(**{_WRITES: True})


def snapshot_engine(engine: Engine) -> Engine:
    """`engine`, with every transaction reading one consistent snapshot (SQLite's read
    transactions already do; PostgreSQL needs REPEATABLE READ)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="REPEATABLE READ")
    return engine


def connect_early(engine: Engine) -> None:
    """Open one pooled connection now rather than in a worker's first request, whose
    driver import and connection would stall every client the worker was serving. A
    database that cannot be reached yet is only logged: requests answer 503 until it is
    back."""
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError as error:
        logging.getLogger("app").warning(
            "could not connect to the database before serving: %s", type(error).__name__
        )


async def end_transaction(session: Session, *, commit: bool) -> None:
    """End a request's transaction and give its connection back: COMMIT, or else roll
    back (closing a session rolls back what it has not committed).

    For SQLite this is done here (nothing slow); for PostgreSQL it is a round trip,
    done in a worker thread, shielded so that a client going away cannot leak the
    connection."""

    def finish() -> None:
        try:
            if commit:
                session.commit()
        finally:
            session.close()

    if not session.in_transaction() or session.get_bind().dialect.name == "sqlite":
        finish()  # nothing to send the database (or, for SQLite, nothing slow)
    else:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(finish)


async def read_in_thread(
    session: Session, query: Callable[..., Answer], /, **arguments: Any
) -> Answer:
    """`query(session, **arguments)`, run in a worker thread (database calls block), and
    the end of the request's read transaction in that same thread: one thread hop for a
    route's database work, where separate steps took one hop each (two thread wake-ups
    and a share of the GIL apiece). An error leaves the transaction to the session's
    dependency to end."""

    def run(session: Session) -> Answer:
        answer = query(session, **arguments)
        session.commit()  # a read commits: see `app.dependencies.get_session`
        return answer

    return await anyio.to_thread.run_sync(run_read, session, run)
