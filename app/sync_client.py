"""A reference client that keeps an offline copy of the catalogue in a local SQLite file:
what a mobile app does for patients with no signal. Read it as a recipe; it uses only
httpx and the standard library.

1. The first sync streams `GET /v1/export` into the file: one row per resource (its
   export line), and the export's header line, whose `resume_cursor` says where in the
   change feed the copy stands.
2. Every later sync reads `GET /v1/changes` from that cursor until `next_cursor` is
   null, and for each resource named there (once, whatever it went through) fetches
   its detail again, or drops it when the feed (or the server) says it is gone. The
   copy and its new cursor are committed together: a sync cut short leaves the copy as
   it was, and the next one starts from the same place.
3. `lines()` gives the copy back in the export's form: after a sync it is the same
   bytes as a fresh export of the same catalogue.

Requests ask for a fresh answer (`Cache-Control: no-cache`): a server's in-memory cache
may be a moment behind the change feed, and a stale body stored now would never be
corrected. The export is asked for with the ETag of the last one (`If-None-Match`), so
a copy of the current catalogue version is not downloaded again.

    python -m app.sync_client http://127.0.0.1:8000 catalogue-copy.db
"""

import argparse
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx

# The export's order: each kind in turn, each by slug (in code point order, which is
# SQLite's own order for text).
KINDS = ("source", "phase", "goal", "condition", "exercise")
_COLLECTION = {kind: f"{kind}s" for kind in KINDS}
# What a detail body embeds beyond the resource's own fields (a page of its exercises
# or evidence): an export line leaves it out.
_EMBEDDED = {"exercises", "exercises_total", "evidence", "evidence_total", "next_cursor"}
_FRESH = {"Cache-Control": "no-cache"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resource (
    kind TEXT NOT NULL,
    slug TEXT NOT NULL,
    line BLOB NOT NULL,
    PRIMARY KEY (kind, slug)
);
CREATE TABLE IF NOT EXISTS copy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    header BLOB NOT NULL,
    resume_cursor TEXT NOT NULL,
    export_etag TEXT
);
"""


@dataclass(frozen=True)
class SyncReport:
    exported: bool  # a full export was downloaded (first sync, or the copy was reset)
    changes: int  # change-feed entries read
    fetched: int  # resources fetched again
    dropped: int  # resources deleted from the copy


class OfflineCatalogue:
    """An offline copy of the catalogue served at `base_url`, kept in `path`."""

    def __init__(self, path: str | Path, base_url: str, *, client: httpx.Client | None = None):
        self.database = sqlite3.connect(path, isolation_level=None)
        self.database.executescript(_SCHEMA)
        self.http = client or httpx.Client(base_url=base_url, timeout=30)

    def close(self) -> None:
        self.database.close()
        self.http.close()

    def sync(self) -> SyncReport:
        """Bring the copy up to date: a full export the first time, a delta after."""
        state = self.database.execute("SELECT resume_cursor FROM copy").fetchone()
        if state is None:
            return self.export()
        return self._catch_up(state[0])

    def export(self) -> SyncReport:
        """Replace the copy with a full export (unless the server's is the same version)."""
        known = self.database.execute("SELECT export_etag FROM copy").fetchone()
        headers = dict(_FRESH)
        if known is not None and known[0]:
            headers["If-None-Match"] = known[0]
        with self.http.stream("GET", "/v1/export", headers=headers) as response:
            if response.status_code == 304:
                return SyncReport(exported=False, changes=0, fetched=0, dropped=0)
            response.raise_for_status()
            lines = _lines(response.iter_bytes())
            header = next(lines)
            self.database.execute("BEGIN")
            try:
                self.database.execute("DELETE FROM resource")
                count = 0
                for line in lines:
                    item = json.loads(line)
                    self._store(item["kind"], item["data"]["slug"], line)
                    count += 1
                self._set_state(
                    header, json.loads(header)["resume_cursor"], response.headers.get("etag")
                )
                self.database.execute("COMMIT")
            except BaseException:
                self.database.execute("ROLLBACK")
                raise
        return SyncReport(exported=True, changes=0, fetched=count, dropped=0)

    def _catch_up(self, cursor: str) -> SyncReport:
        # What each resource named in the feed ended as: only its last change matters.
        latest: dict[tuple[str, str], str] = {}
        read = 0
        while True:
            response = self.http.get(
                "/v1/changes", params={"cursor": cursor, "limit": 1000}, headers=_FRESH
            )
            if response.status_code == 422:
                # The cursor is not this database's (the server's catalogue was replaced):
                # start again from a full export.
                return self.export()
            response.raise_for_status()
            page = response.json()
            for change in page["items"]:
                latest[(change["kind"], change["slug"])] = change["action"]
            read += len(page["items"])
            cursor = page["resume_cursor"]
            if page["next_cursor"] is None:
                break
        if not latest:
            return SyncReport(exported=False, changes=0, fetched=0, dropped=0)
        fetched = dropped = 0
        self.database.execute("BEGIN")
        try:
            for (kind, slug), action in latest.items():
                line = None if action == "deleted" else self._fetch(kind, slug)
                if line is None:
                    self.database.execute(
                        "DELETE FROM resource WHERE kind = ? AND slug = ?", (kind, slug)
                    )
                    dropped += 1
                else:
                    self._store(kind, slug, line)
                    fetched += 1
            header, version = self._header(cursor)
            # The copy is now of this version: a later export of it need not be downloaded.
            self._set_state(header, cursor, f'W/"{version}"')
            self.database.execute("COMMIT")
        except BaseException:
            self.database.execute("ROLLBACK")
            raise
        return SyncReport(exported=False, changes=read, fetched=fetched, dropped=dropped)

    def _fetch(self, kind: str, slug: str) -> bytes | None:
        """The export line of a resource as the server has it now, or None if it is gone
        (deleted, or renamed: its new slug has a change of its own)."""
        # A term's embedded page is left out of its line: ask for the smallest.
        params: dict[str, int] = {} if kind == "exercise" else {"limit": 1}
        response = self.http.get(f"/v1/{_COLLECTION[kind]}/{slug}", params=params, headers=_FRESH)
        if response.status_code in (404, 410, 308):
            return None
        response.raise_for_status()
        if kind == "exercise":
            data = response.content
        else:
            body = {key: value for key, value in response.json().items() if key not in _EMBEDDED}
            data = _json(body)
        return b'{"kind":"' + kind.encode() + b'","data":' + data + b"}"

    def _header(self, resume_cursor: str) -> tuple[bytes, str]:
        """The copy's header line after a delta, as an export of the catalogue now
        would start, and the catalogue version."""
        info = self.http.get("/v1/catalogue", headers=_FRESH)
        info.raise_for_status()
        catalogue = info.json()
        header = _json(
            {
                "kind": "catalogue",
                "version": catalogue["version"],
                "updated_at": catalogue["updated_at"],
                "resume_cursor": resume_cursor,
            }
        )
        return header, str(catalogue["version"])

    def _store(self, kind: str, slug: str, line: bytes) -> None:
        self.database.execute(
            "INSERT OR REPLACE INTO resource (kind, slug, line) VALUES (?, ?, ?)",
            (kind, slug, line),
        )

    def _set_state(self, header: bytes, resume_cursor: str, export_etag: str | None) -> None:
        self.database.execute(
            "INSERT OR REPLACE INTO copy (id, header, resume_cursor, export_etag) "
            "VALUES (1, ?, ?, ?)",
            (header, resume_cursor, export_etag),
        )

    def get(self, kind: str, slug: str) -> dict[str, Any] | None:
        """One resource of the copy, as its export line's `data`."""
        row = self.database.execute(
            "SELECT line FROM resource WHERE kind = ? AND slug = ?", (kind, slug)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0])["data"])

    def lines(self) -> Iterator[bytes]:
        """The copy as an export's lines, header first, each ending in a newline."""
        state = self.database.execute("SELECT header FROM copy").fetchone()
        if state is None:
            return
        yield bytes(state[0]) + b"\n"
        for kind in KINDS:
            rows = self.database.execute(
                "SELECT line FROM resource WHERE kind = ? ORDER BY slug", (kind,)
            )
            for (line,) in rows:
                yield bytes(line) + b"\n"


def _json(value: Any) -> bytes:
    # As the server writes JSON: compact, UTF-8 as it is.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Whole lines (without their newline) from a stream of byte chunks."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from complete
    if pending:
        yield pending


def main() -> None:
    parser = argparse.ArgumentParser(description="Keep an offline copy of the catalogue.")
    parser.add_argument("base_url", help="the API, e.g. http://127.0.0.1:8000")
    parser.add_argument("path", help="the local SQLite file that holds the copy")
    arguments = parser.parse_args()
    copy = OfflineCatalogue(arguments.path, arguments.base_url)
    try:
        print(copy.sync())
    finally:
        copy.close()


if __name__ == "__main__":
    main()
