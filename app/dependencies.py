"""What routes depend on, typed: the app's settings and engines, the request's session
(a read snapshot or a write), the catalogue reader that checks validators and runs one
query, paging, and content negotiation.

An app built by `app.main.create_app` holds one `AppResources` for its whole life:
everything here reaches settings and engines through it, never through globals."""

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, TypeVar

import anyio
import sqlalchemy as sa
from fastapi import Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine
from sqlmodel import Session

from app.conditional import check_validators, export_validators
from app.database import (
    PRIMARY,
    ReadDatabases,
    build_engine,
    deadline_seconds,
    end_transaction,
    engine_for,
    instrument_pool,
    read_in_thread,
    run_read,
    run_within_deadline,
    snapshot_engine,
    write_engine,
)
from app.errors import (
    CatalogueError,
    DatabaseUnavailable,
    ExportsBusy,
    NotAcceptable,
    NotModified,
)
from app.keys import VerifiedKeys
from app.ndjson_export import MEDIA_TYPE, body_chunks
from app.pagination import DetailPage, ListPage, Page, Paging
from app.queries.export import ExportHead, export_head
from app.queries.keyset import KeysetPage
from app.queries.revision import RevisionMemo, attach_memo
from app.queries.suggest import suggestion_index
from app.security import is_head_request
from app.settings import Settings

Answer = TypeVar("Answer")
Item = TypeVar("Item")
Row = TypeVar("Row")


@dataclass
class ExportSlots:
    """How many exports a process is streaming, of at most `limit`: each holds a
    database connection and one snapshot for as long as its client takes to read it.
    Counted on the event loop, so a plain integer does."""

    limit: int
    taken: int = 0


@dataclass(frozen=True)
class AppResources:
    """An app's settings, its engines (the primary's, and where public reads go), and
    the facts it remembers per revision."""

    settings: Settings
    engine: Engine
    read_engine: Engine
    reads: ReadDatabases
    revision_memo: RevisionMemo
    verified_keys: VerifiedKeys
    export_slots: ExportSlots

    @classmethod
    def from_settings(cls, settings: Settings) -> "AppResources":
        engine = engine_for(settings)
        instrument_pool(engine, PRIMARY)
        replicas = []
        for number, url in enumerate(settings.replica_urls(), start=1):
            replica = build_engine(url, timeout_seconds=settings.database_timeout_seconds)
            instrument_pool(replica, f"replica-{number}")
            replicas.append((f"replica-{number}", snapshot_engine(replica)))
        read_engine = snapshot_engine(engine)
        reads = ReadDatabases(
            read_engine, replicas, retry_seconds=settings.database_replica_retry_seconds
        )
        return cls(
            settings,
            engine,
            read_engine,
            reads,
            RevisionMemo(),
            VerifiedKeys(),
            ExportSlots(settings.export_max_concurrent),
        )

    def dispose(self) -> None:
        self.engine.dispose()
        self.reads.dispose()

    def warm(self) -> None:
        """Learn the current revision's facts and build its completions before the first
        request asks (at 100k exercises, seconds): a worker starting, or a catalogue not
        yet seeded, simply skips what it cannot read."""
        try:
            with self.reads.session() as session:
                attach_memo(session, self.revision_memo)
                suggestion_index(session)
        except (DatabaseUnavailable, sa.exc.SQLAlchemyError) as error:
            logging.getLogger("app").info("not warmed: %s", type(error).__name__)


def app_resources(request: Request) -> AppResources:
    resources: AppResources = request.app.state.resources
    return resources


ResourcesDep = Annotated[AppResources, Depends(app_resources)]


def _read_session(request: Request, resources: AppResources) -> Session:
    # A request with credentials reads what it (or its key) may just have written.
    return resources.reads.session(primary="authorization" in request.headers)


async def get_session(request: Request, resources: ResourcesDep) -> AsyncIterator[Session]:
    """One read session per request, reading one snapshot, so a response never mixes
    two catalogue versions during a write: on a replica (`DATABASE_REPLICA_URLS`),
    unless the request carries `Authorization`.

    A coroutine, so that FastAPI does not hand it to a worker thread: making a session
    does no I/O (the first query, in a worker thread, connects)."""
    async with _read_transaction(_read_session(request, resources)) as session:
        yield session


async def get_primary_session(resources: ResourcesDep) -> AsyncIterator[Session]:
    """A read session on the primary, whatever the replicas: for readiness, which
    judges the database migrations and writes run on."""
    async with _read_transaction(resources.reads.session(primary=True)) as session:
        yield session


@asynccontextmanager
async def _read_transaction(session: Session) -> AsyncIterator[Session]:
    """`session` for one request's reads, its transaction ended with the request.

    A read ends the same with COMMIT as with ROLLBACK, but psycopg forgets every
    prepared statement of a connection on ROLLBACK: committing lets PostgreSQL parse
    and plan each repeated query once per connection instead of once per request. So
    only a failure (the database's, or ours) rolls back; an answer to the client (304,
    404, 422...) commits."""
    try:
        yield session
    except BaseException as error:
        await end_transaction(session, commit=_is_an_answer(error))
        raise
    else:
        await end_transaction(session, commit=True)


def _is_an_answer(error: BaseException) -> bool:
    """Whether `error` is an answer to the client (304, 404, 422...), not a failure."""
    if isinstance(error, NotModified):
        return True
    return isinstance(error, CatalogueError) and error.status < 500


async def get_write_session(resources: ResourcesDep) -> AsyncIterator[Session]:
    """One write session per request: committed when the route returns, rolled back on
    any error at all (a 4xx included), so nothing is ever half applied."""
    # What a write returned stays readable once committed (its answer is built from it).
    session = Session(write_engine(resources.engine), expire_on_commit=False)
    try:
        yield session
    except BaseException:
        await end_transaction(session, commit=False)
        raise
    else:
        await end_transaction(session, commit=True)


# Both closed as soon as the route returns (scope="function"): a read's body is rendered
# then, and a client slow to read it must not hold a database connection; a write is
# committed before its answer goes out.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
PrimarySessionDep = Annotated[Session, Depends(get_primary_session, scope="function")]
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]


@dataclass(frozen=True)
class CatalogueWrites:
    """One request's write: `await writes.run(write, **arguments)` runs the write
    function in a worker thread and commits it there, so that a failure to commit is
    this request's error; any error rolls it all back (`get_write_session`)."""

    session: Session

    async def run(self, write: Callable[..., Answer], /, **arguments: Any) -> Answer:
        def run() -> Answer:
            answer = write(self.session, **arguments)
            self.session.commit()
            return answer

        return await anyio.to_thread.run_sync(run)


async def catalogue_writes(session: WriteSessionDep) -> CatalogueWrites:
    return CatalogueWrites(session)


CatalogueWritesDep = Annotated[CatalogueWrites, Depends(catalogue_writes)]


async def export_slot(resources: ResourcesDep) -> AsyncIterator[None]:
    """One of the process's export slots, held until the export's last byte is sent
    (or its client goes away); a 503 when none is free."""
    slots = resources.export_slots
    if slots.taken >= slots.limit:
        raise ExportsBusy(
            f"{slots.limit} exports are already in progress on this server: retry shortly."
        )
    slots.taken += 1
    try:
        yield
    finally:
        slots.taken -= 1


async def get_export_session(request: Request, resources: ResourcesDep) -> AsyncIterator[Session]:
    """The session an export reads its one snapshot with, open until the export's last
    byte is sent (`scope="request"`), not only until the route returns."""
    session = _read_session(request, resources)
    try:
        yield session
    except BaseException:
        await end_transaction(session, commit=False)
        raise
    else:
        await end_transaction(session, commit=True)  # a read: see `_read_transaction`


@dataclass(frozen=True)
class CatalogueExport:
    """One request's export: `await export.start()` reads the head of the snapshot (in a
    worker thread) and the validators (a 304 before anything else is read);
    `export.response(headers)` streams the rest, or for HEAD only the headers."""

    request: Request
    session: Session
    cursor_secret: str

    async def start(self) -> tuple[ExportHead, dict[str, str]]:
        # The head fixes the snapshot: a replica that fails here is left for another.
        head = await run_within_deadline(
            partial(run_read, self.session, export_head),
            seconds=deadline_seconds(self.session.get_bind()),
            session=self.session,
        )
        headers = export_validators(self.request, version=head.version, updated_at=head.updated_at)
        return head, headers

    def response(self, head: ExportHead, headers: dict[str, str]) -> Response:
        if is_head_request(self.request.scope):
            response = Response(headers=headers, media_type=MEDIA_TYPE)
            # The GET streams with no length known in advance: say none rather than 0.
            del response.headers["content-length"]
            return response
        chunks = body_chunks(self.session, head, cursor_secret=self.cursor_secret)
        return StreamingResponse(
            _within_deadlines(self.session, chunks), headers=headers, media_type=MEDIA_TYPE
        )


async def _within_deadlines(session: Session, chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The export's chunks, each read in a worker thread within the deadline: a frozen
    database ends the stream (the client sees it cut short, never a complete-looking
    export) rather than holding the export's slot, connection and thread."""
    seconds = deadline_seconds(session.get_bind())
    while True:
        chunk = await run_within_deadline(
            partial(next, chunks, None), seconds=seconds, session=session
        )
        if chunk is None:
            return
        yield chunk


async def catalogue_export(
    request: Request,
    resources: ResourcesDep,
    _slot: Annotated[None, Depends(export_slot, scope="request")],
    session: Annotated[Session, Depends(get_export_session, scope="request")],
) -> CatalogueExport:
    return CatalogueExport(request, session, resources.settings.cursor_secret)


CatalogueExportDep = Annotated[CatalogueExport, Depends(catalogue_export)]


@dataclass(frozen=True)
class CatalogueReader:
    """One request's read of the catalogue: `await reader.read(query, **arguments)`
    checks the validators (a 304 before any content is queried), runs the query
    function, and ends the read transaction, all in one worker-thread hop."""

    request: Request
    response: Response
    session: Session

    async def read(self, query: Callable[..., Answer], /, **arguments: Any) -> Answer:
        def checked(session: Session, **arguments: Any) -> Answer:
            check_validators(self.request, self.response, session)
            return query(session, **arguments)

        return await read_in_thread(self.session, checked, **arguments)

    async def read_list(
        self,
        query: Callable[..., KeysetPage[Row]],
        paging: Paging,
        item: Callable[[Row], Item],
        /,
        **arguments: Any,
    ) -> Page[Item]:
        """`paging`'s page of the list `query` reads, its rows made `item`s, in the
        list envelope."""
        page = await self.read(query, limit=paging.limit, after=paging.position, **arguments)
        return paging.envelope([item(row) for row in page.items], page)


async def catalogue_reader(
    request: Request, response: Response, session: SessionDep, resources: ResourcesDep
) -> CatalogueReader:
    attach_memo(session, resources.revision_memo)
    return CatalogueReader(request, response, session)


CatalogueReaderDep = Annotated[CatalogueReader, Depends(catalogue_reader)]


def _resource(request: Request) -> str:
    """The resource a term route serves: `goals` for /v1/goals and /v1/goals/{slug}."""
    path: str = request.scope["route"].path
    return path.split("/")[2]


async def list_paging(
    request: Request,
    response: Response,
    resources: ResourcesDep,
    page: Annotated[ListPage, Query()],
) -> Paging:
    return Paging.of(
        request,
        response,
        cursor_secret=resources.settings.cursor_secret,
        query={"list": _resource(request)},
        limit=page.limit,
        cursor=page.cursor,
    )


async def detail_paging(
    request: Request,
    response: Response,
    resources: ResourcesDep,
    page: Annotated[DetailPage, Query()],
) -> Paging:
    # Decoded only when the query reads it: an unknown slug is a 404 before its
    # cursor can be a 422.
    return Paging.of(
        request,
        response,
        cursor_secret=resources.settings.cursor_secret,
        query={"detail": _resource(request), "slug": request.path_params["slug"]},
        limit=page.limit,
        cursor=page.cursor,
        when_read=True,
    )


# The paging of a term list (`limit` 1..100, default 20, and `cursor`), and of the list
# a term's detail embeds (default 100).
ListPagingDep = Annotated[Paging, Depends(list_paging)]
DetailPagingDep = Annotated[Paging, Depends(detail_paging)]


# Media ranges under which a JSON body (or a problem+json error) is acceptable.
_JSON_RANGES = {"*/*", "application/*", "application/json", "application/problem+json"}


def accepts_json(accept: str) -> bool:
    """Whether an `Accept` header admits JSON (RFC 9110 12.5.1; `q=0` means "not this")."""
    for item in accept.split(","):
        media_range, *parameters = (part.strip() for part in item.split(";"))
        if media_range.lower() not in _JSON_RANGES:
            continue
        quality = next(
            (value for name, _, value in (p.partition("=") for p in parameters) if name == "q"),
            "1",
        )
        try:
            if float(quality) > 0:
                return True
        except ValueError:
            continue
    return False


async def json_acceptable(request: Request) -> None:
    """Router dependency: answer 406 when the client accepts no JSON at all."""
    accept = request.headers.get("accept")
    if accept and not accepts_json(accept):
        raise NotAcceptable(
            f"This API only serves application/json; the Accept header was {accept!r}."
        )
