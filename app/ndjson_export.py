"""The whole catalogue as newline-delimited JSON, for `GET /v1/export` and `catalogue
export --format ndjson` (the same bytes): a header line, then one line per source,
phase, goal, condition and exercise (in that order, each kind by slug).

Each resource's `data` is what the API serves for it: an exercise's full detail body,
and for the others their detail body without the page of exercises or evidence it
embeds (the exercises carry those links). A client's copy kept from these lines and
from the detail endpoints is therefore the same bytes as a fresh export."""

from collections.abc import Iterator

from pydantic import BaseModel
from sqlmodel import Session, SQLModel

from app.pagination import encode_cursor, feed_fingerprint
from app.queries.export import TERM_KINDS, ExportHead, exercise_chunks, export_head, term_chunks
from app.schemas import ConditionOut, ExportHeader, GoalOut, PhaseOut, SourceOut

MEDIA_TYPE = "application/x-ndjson"

_TERM_SCHEMAS: dict[str, type[ConditionOut | GoalOut | PhaseOut | SourceOut]] = {
    "source": SourceOut,
    "phase": PhaseOut,
    "goal": GoalOut,
    "condition": ConditionOut,
}


def header_line(head: ExportHead, *, cursor_secret: str) -> bytes:
    resume_cursor = encode_cursor(
        cursor_secret, feed_fingerprint(head.catalogue_id), [head.last_change]
    )
    header = ExportHeader(
        version=head.version, updated_at=head.updated_at, resume_cursor=resume_cursor
    )
    return header.model_dump_json().encode() + b"\n"


def resource_line(kind: str, data: BaseModel) -> bytes:
    return b'{"kind":"' + kind.encode() + b'","data":' + data.model_dump_json().encode() + b"}\n"


def _term_line(kind: str, row: SQLModel) -> bytes:
    return resource_line(kind, _TERM_SCHEMAS[kind].from_row(row))  # type: ignore[arg-type]


def body_chunks(session: Session, head: ExportHead, *, cursor_secret: str) -> Iterator[bytes]:
    """The export's bytes, a chunk of lines at a time (one thread hop per chunk, not per
    line), read from `session`'s one snapshot, whose `head` has been read."""
    yield header_line(head, cursor_secret=cursor_secret)
    for kind in TERM_KINDS:
        for rows in term_chunks(session, kind):
            yield b"".join(_term_line(kind, row) for row in rows)
    for bodies in exercise_chunks(session):
        yield b"".join(b'{"kind":"exercise","data":' + body + b"}\n" for body in bodies)


def export_chunks(session: Session, *, cursor_secret: str) -> Iterator[bytes]:
    """The whole export from `session` (`catalogue export`'s path; the endpoint reads
    the head first, for its validators)."""
    yield from body_chunks(session, export_head(session), cursor_secret=cursor_secret)
