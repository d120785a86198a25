"""Engine and sessions. One engine per process, configured for the database in use."""

import json
import logging
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from typing import Any, TypeVar

import anyio
import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

from app.errors import CatalogueError, NotModified
from app.settings import get_settings

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
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    timeout_ms = int(timeout_seconds * 1000)
    return create_engine(
        parsed,
        json_serializer=_json_dumps,
        pool_pre_ping=True,  # survive a database restart without restarting the app
        # Sync routes run on AnyIO's 40 worker threads: let each hold a connection
        # rather than queue for one of SQLAlchemy's default 15 under a burst of misses.
        pool_size=10,
        max_overflow=30,
        pool_timeout=timeout_seconds,
        connect_args={
            "connect_timeout": max(1, round(timeout_seconds)),
            "options": f"-c statement_timeout={timeout_ms}",
        },
    )


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
    # own small cache: with a pool of connections and a large catalogue, that copying
    # was a fifth of a filtered list's time.
    cursor.execute("PRAGMA mmap_size=1073741824")
    cursor.close()


def _begin_sqlite(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def planned_with(value: Any, type_: Any = None) -> Any:
    """`value` (or a list of values, for IN) written into a statement's text instead of
    bound as a parameter, for values that decide which plan is best: term ids, page
    sizes, vocabulary values, search words, times.

    psycopg prepares a statement it has run five times on a connection, and PostgreSQL
    then keeps its plan. With these values in the text, each combination is a statement
    of its own whose plan is made once (planning a filtered list page took 0.4 ms at
    100,000 exercises), and no plan made for one value is reused for another that needs
    a different one (a rare goal is best found through an index of goals, a common one
    by walking names). Keyset positions stay bound: they only move where an index walk
    starts.
    Only for values already validated; SQLAlchemy quotes them all the same. `type_`
    is the column's type where the value's own would write it differently (times)."""
    if isinstance(value, list | tuple):
        return sa.bindparam(None, list(value), type_, expanding=True, literal_execute=True)
    return sa.literal(value, type_, literal_execute=True)


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return build_engine(settings.database_url, timeout_seconds=settings.database_timeout_seconds)


def connect_early() -> None:
    """Build the engine and open one pooled connection now rather than in a worker's
    first request: importing the driver and connecting took that request 50-90 ms on
    PostgreSQL, a stall shared by every client the worker was serving. A database that
    cannot be reached yet is only logged: requests answer 503 until it is back."""
    try:
        with get_engine().connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError as error:
        logging.getLogger("app").warning(
            "could not connect to the database before serving: %s", type(error).__name__
        )


@lru_cache(maxsize=8)
def _snapshot_engine(engine: Engine) -> Engine:
    """`engine`, with every transaction reading one consistent snapshot (SQLite's read
    transactions already do; PostgreSQL needs REPEATABLE READ)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="REPEATABLE READ")
    return engine


async def get_session() -> AsyncIterator[Session]:
    """FastAPI dependency: one session per request, reading one snapshot, so a response
    never mixes two catalogue versions during a reseed.

    A coroutine, so that FastAPI does not hand it to a worker thread twice: making a
    session does no I/O (the first query, in a worker thread, connects), and each
    thread hop saved is measurable per request. Routes that call one query function
    run it through `read`, which also ends the transaction; otherwise closing ends it:
    for SQLite that ends a read transaction in the file, done here; for PostgreSQL it
    is a round trip to the server, done in a worker thread, shielded so that a client
    going away cannot leak the connection."""
    engine = _snapshot_engine(get_engine())
    # Reads only: what a query returned stays readable after its transaction commits.
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    except BaseException as error:
        await _finish(session, commit=_is_an_answer(error))
        raise
    else:
        await _finish(session, commit=True)


async def _finish(session: Session, *, commit: bool) -> None:
    """End a request's read transaction and give its connection back.

    A read ends the same with COMMIT as with ROLLBACK, but psycopg forgets every
    prepared statement of a connection on ROLLBACK: committing lets PostgreSQL parse
    and plan each repeated query once per connection instead of once per request.
    Only a failure (the database's, or ours) rolls back."""

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


def _is_an_answer(error: BaseException) -> bool:
    """Whether `error` is an answer to the client (304, 404, 422...), not a failure."""
    if isinstance(error, NotModified):
        return True
    return isinstance(error, CatalogueError) and error.status < 500


async def read(session: Session, query: Callable[..., Answer], /, **arguments: Any) -> Answer:
    """`query(session, **arguments)`, run in a worker thread (database calls block), and
    the end of the request's read transaction in that same thread.

    For routes that call one query function (routes that call several, such as a term's
    detail, stay sync): one thread hop for the route's database work, where a sync
    route took three, its own, FastAPI's validation of what it returned (done in a
    thread for sync routes) and the session's close. Each hop costs two thread
    wake-ups and a share of the GIL: a filtered list at 100,000 exercises took about
    15% less CPU. An error leaves the transaction to `get_session` to end."""

    def run() -> Answer:
        answer = query(session, **arguments)
        session.commit()  # see `_finish` for why COMMIT
        return answer

    return await anyio.to_thread.run_sync(run)
