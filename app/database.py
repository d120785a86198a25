"""Engines, where public reads go (the primary, or its streaming replicas in turn), the
ends of the two kinds of transaction a request can hold (a read of one snapshot, and a
write that commits only if nothing failed), and the deadline of every trip a request
makes to the database in a worker thread."""

import asyncio
import contextlib
import itertools
import json
import logging
import math
import os
import socket
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any, NoReturn, TypeVar

import anyio
import psycopg
import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

from app import metrics
from app.errors import CatalogueBusy, DatabaseTimeout
from app.settings import Settings

Answer = TypeVar("Answer")
logger = logging.getLogger("app")


def build_engine(url: str, *, timeout_seconds: float = 5.0) -> Engine:
    """An engine whose every connection a worker thread holds during a trip with a
    deadline (`run_within_deadline`) can be stopped at that deadline."""
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
        _track_held_connections(engine, _sqlite_held, ping=None)
    else:
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        timeout_ms = int(timeout_seconds * 1000)
        engine = create_engine(
            parsed,
            json_serializer=_json_dumps,
            # Queries run on AnyIO's 40 worker threads: let each hold a connection rather
            # than queue for one of SQLAlchemy's default 15 under a burst of misses.
            pool_size=10,
            max_overflow=30,
            pool_timeout=timeout_seconds,
            connect_args={
                "connect_timeout": max(1, round(timeout_seconds)),
                "options": f"-c statement_timeout={timeout_ms}",
                # The statement timeout is the server's: a server that is frozen, or
                # cut off, enforces nothing. The kernel gives up on a connection whose
                # sent data goes unacknowledged this long, and probes idle ones, so a
                # partition ends in an error rather than a wait as long as TCP's own
                # (about 15 minutes). A stopped server process still has its kernel
                # acknowledge everything: the deadline of each trip covers that.
                "tcp_user_timeout": timeout_ms,
                "keepalives": 1,
                "keepalives_idle": max(1, math.ceil(timeout_seconds)),
                "keepalives_interval": max(1, math.ceil(timeout_seconds)),
                "keepalives_count": 3,
            },
        )
        # Survive a database restart without restarting the app: SQLAlchemy's
        # `pool_pre_ping`, but done where the connection is already held, so that a
        # ping the database never answers is stopped at the deadline like a query.
        _track_held_connections(engine, _postgresql_held, ping=_pinger(engine))
        event.listen(engine, "do_connect", _connect_closing_failures)
    engine.update_execution_options(**{_DEADLINE: timeout_seconds})
    return engine


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
    done in a worker thread within the deadline, shielded so that a client going away
    cannot leak the connection. A session whose worker thread was left running at a
    deadline is that thread's to end (see `run_within_deadline`)."""

    def finish() -> None:
        try:
            if commit:
                session.commit()
        finally:
            session.close()

    if session.info.get(_THREAD_ENDS_IT, False):
        return
    if not session.in_transaction() or session.get_bind().dialect.name == "sqlite":
        finish()  # nothing to send the database (or, for SQLite, nothing slow)
    else:
        with anyio.CancelScope(shield=True):
            seconds = deadline_seconds(session.get_bind())
            await run_within_deadline(finish, seconds=seconds, session=session)


async def read_in_thread(
    session: Session, query: Callable[..., Answer], /, **arguments: Any
) -> Answer:
    """`query(session, **arguments)`, run in a worker thread (database calls block), and
    the end of the request's read transaction in that same thread: one thread hop for a
    route's database work, where separate steps took one hop each (two thread wake-ups
    and a share of the GIL apiece). An error leaves the transaction to the session's
    dependency to end. Within the request's deadline (`request_deadline`)."""

    def run(session: Session) -> Answer:
        answer = query(session, **arguments)
        session.commit()  # a read commits: see `app.dependencies._read_transaction`
        return answer

    return await run_within_deadline(
        partial(run_read, session, run), seconds=seconds_left(session), session=session
    )


# The deadline of an engine's trips (its execution options carry it, so every engine
# made from it has it too).
_DEADLINE = "catalogue_deadline_seconds"
# When the request whose trips these are began (`request_deadline`), or None.
_REQUEST_BEGAN: ContextVar[float | None] = ContextVar("catalogue_request_began", default=None)


def deadline_seconds(bind: Engine | sa.Connection) -> float:
    """How long one trip to `bind`'s database may take (`DATABASE_TIMEOUT_SECONDS`)."""
    return float(bind.get_execution_options().get(_DEADLINE, 5.0))


@contextmanager
def request_deadline() -> Iterator[None]:
    """Within this, the trips `read_in_thread` makes end within the deadline of when
    this began, not of when each trip began: a request that waited its turn (see
    `app.security.ConcurrencyLimitMiddleware`) behind reads stuck on a frozen database
    gets its 503 as promptly as they do, not a deadline later per read ahead of it."""
    token = _REQUEST_BEGAN.set(time.monotonic())
    try:
        yield
    finally:
        _REQUEST_BEGAN.reset(token)


def seconds_left(session: Session) -> float:
    """What remains of the deadline for a trip made now with `session`."""
    seconds = deadline_seconds(session.get_bind())
    began = _REQUEST_BEGAN.get()
    if began is not None:
        seconds -= time.monotonic() - began
    return seconds


# In a pool entry's `info`: the `_Holder` holding it and how (`_Held`); and that it has
# just connected (no ping needed at its first checkout).
_HELD = "catalogue_held"
_FRESH = "catalogue_fresh"
# In a session's `info`: its `_Holder`; and that a worker thread left running at a
# deadline ends the session, so that nothing else may touch it.
_SESSION_HOLDER = "catalogue_holder"
_THREAD_ENDS_IT = "catalogue_thread_ends_it"


async def run_within_deadline(
    work: Callable[[], Answer], *, seconds: float, session: Session | None = None
) -> Answer:
    """`work()` in a worker thread, its answer awaited for at most `seconds`; beyond
    them `DatabaseTimeout` (a 503). The database's own timeouts are enforced by the
    database, which may be the very thing that is stuck (a frozen process, a partition).

    A thread blocked in a driver call cannot be stopped, so at the deadline it is left
    running (AnyIO's `abandon_on_cancel`) and every database connection it holds is
    stopped: a PostgreSQL connection's socket is shut down, which ends whatever libpq
    waits for with an error, so that the thread finishes at once and the pool discards
    the connection; a SQLite connection is interrupted. A stuck trip thus holds a pool
    connection, a thread and (in `ConcurrencyLimitMiddleware`) a read slot for no longer
    than `seconds`. The same happens when the caller goes away (a client disconnects):
    the thread is left running, and stopped at the deadline.

    `session`, if the work uses one, is ended by the thread when it is left running
    (`end_transaction` then leaves it alone): two threads never use a session at once."""
    if seconds <= 0:
        _timed_out()
    holder: _Holder | None = None
    if session is not None:
        holder = session.info.get(_SESSION_HOLDER)
        if holder is None:
            holder = session.info[_SESSION_HOLDER] = _Holder()
    trip = _Trip(holder or _Holder(), session)
    # On the event loop, whether or not anyone still awaits the answer by then.
    stopping = asyncio.get_running_loop().call_later(seconds, trip.stop)
    try:
        with anyio.move_on_after(seconds):
            answer = await anyio.to_thread.run_sync(trip.run, work, abandon_on_cancel=True)
            stopping.cancel()
            return answer
    except BaseException:
        # The work's own error (its thread has finished), or this task cancelled: a
        # thread still running is stopped at the deadline, not before.
        if not trip.leave():
            stopping.cancel()
        raise
    trip.leave()
    trip.stop()
    stopping.cancel()
    _timed_out()


def _timed_out() -> NoReturn:
    logger.warning("database unavailable: no answer within the deadline")
    raise DatabaseTimeout("The catalogue database did not answer in time; try again shortly.")


class _Holder:
    """The connections that the worker threads of one session (or of one trip without a
    session) hold now, and the lock of its trips' states."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held: list[_Held] = []

    def let_go(self, held: "_Held") -> None:
        with self.lock:
            if held in self.held:
                self.held.remove(held)
            held.release()


class _Trip:
    """One trip to the database in a worker thread, which its caller may stop awaiting."""

    def __init__(self, holder: _Holder, session: Session | None):
        self.holder = holder
        self.session = session
        self.running = False
        self.done = False
        self.left = False
        self.stopped = False

    def run(self, work: Callable[[], Answer]) -> Answer:
        """In the worker thread (in a context of this call's own)."""
        with self.holder.lock:
            if self.left:
                raise _Left  # its caller went away before the thread took it up
            self.running = True
        _TRIP.set(self)
        try:
            return work()
        finally:
            with self.holder.lock:
                self.running = False
                self.done = True
                ends_session = self.left
            if ends_session and self.session is not None:
                try:
                    self.session.close()
                except Exception as error:  # no one is left to tell but the log
                    logger.warning(
                        "ending a session left at its deadline: %s", type(error).__name__
                    )

    def hold(self, held: "_Held") -> bool:
        """Whether the thread may use a connection it has just checked out."""
        with self.holder.lock:
            if self.stopped:
                return False
            self.holder.held.append(held)
            return True

    def leave(self) -> bool:
        """No one awaits the answer any more: whether the thread is still at work (and
        ends the session)."""
        with self.holder.lock:
            self.left = True
            if self.running and self.session is not None:
                self.session.info[_THREAD_ENDS_IT] = True
            return self.running

    def stop(self) -> None:
        """The deadline: stop every connection the thread holds, and any it would take."""
        with self.holder.lock:
            if self.done:
                return
            self.stopped = True
            for held in self.holder.held:
                held.stop()


class _Left(Exception):
    pass


_TRIP: ContextVar[_Trip | None] = ContextVar("catalogue_trip", default=None)


@dataclass(frozen=True, eq=False)
class _Held:
    """A connection held during a trip: how to stop what is being done with it, and
    what to let go of once the pool has it back."""

    stop: Callable[[], None]
    release: Callable[[], None]


def _postgresql_held(dbapi_connection: Any) -> _Held:
    # A socket object of our own, on a duplicate of libpq's descriptor: it can never be
    # another connection's, even once libpq has closed its own after an error.
    own = socket.socket(fileno=os.dup(dbapi_connection.pgconn.socket))

    def stop() -> None:
        with contextlib.suppress(OSError):
            own.shutdown(socket.SHUT_RDWR)  # libpq's wait ends: "server closed the connection"

    return _Held(stop, own.close)


def _sqlite_held(dbapi_connection: Any) -> _Held:
    return _Held(dbapi_connection.interrupt, _nothing)  # "interrupted", and still usable


def _nothing() -> None:
    pass


def _connect_closing_failures(dialect: sa.Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
    """The driver's connect, except that a failed attempt's socket is closed now: psycopg
    leaves it open in the frames of the error's traceback, for the garbage collector to
    close some time (against a frozen database, a connection per timed-out attempt)."""
    try:
        return dialect.connect(*cargs, **cparams)
    except Exception as error:
        traceback.clear_frames(error.__traceback__)
        raise


def _pinger(engine: Engine) -> Callable[[Any], None]:
    dialect = engine.dialect

    def ping(dbapi_connection: Any) -> None:
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # As `pool_pre_ping` does: connect again, and retire every older
                # connection (a restarted database has dropped them all).
                raise sa.exc.InvalidatePoolError() from error
            raise

    return ping


def _track_held_connections(
    engine: Engine,
    held: Callable[[Any], _Held],
    *,
    ping: Callable[[Any], None] | None,
) -> None:
    """Make every connection checked out during a trip stoppable at its deadline, and
    let go of it when the pool has it back; ping it first (unless it is new), if
    `ping` is given."""

    def connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_FRESH] = True

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        trip = _TRIP.get()
        if trip is not None:
            holding = held(dbapi_connection)
            if not trip.hold(holding):
                holding.release()
                raise DatabaseTimeout("The trip's deadline has passed.")
            record.info[_HELD] = (trip.holder, holding)
        if ping is not None and not record.info.pop(_FRESH, False):
            ping(dbapi_connection)

    def returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None and (entry := record.info.pop(_HELD, None)) is not None:
            holder, holding = entry
            holder.let_go(holding)

    def invalidated(dbapi_connection: Any, record: Any, _error: Any) -> None:
        returned(dbapi_connection, record)

    event.listen(engine, "connect", connected)
    event.listen(engine, "checkout", checked_out)
    for name in ("checkin", "close", "detach"):
        event.listen(engine, name, returned)
    event.listen(engine, "invalidate", invalidated)
