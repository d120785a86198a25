"""Full-text search over exercises: the words of a query, and the matches with their
rank, in each database's own full-text SQL (SQLite FTS5, PostgreSQL tsvector)."""

import re
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.errors import FieldError, InvalidParameters

MAX_SEARCH_TERMS = 16
_WORD = re.compile(r"\w+", re.UNICODE)


def search_terms(q: str) -> list[str]:
    """The words of a query. Operators and punctuation are dropped, never passed to the
    database's query language, so any string is a safe query."""
    terms = [term for term in _WORD.findall(q.lower()) if term.strip("_")]
    if not terms:
        raise InvalidParameters(
            "The search query has no words to look for.",
            [FieldError(field="q", message="no searchable words", value=q[:64])],
        )
    return terms[:MAX_SEARCH_TERMS]


def search_matches(session: Session, q: str) -> Any:
    """A subquery of (exercise_id, rank) for the matches of `q`: lower rank is better."""
    terms = search_terms(q)
    if session.get_bind().dialect.name == "sqlite":
        # Each term quoted, so FTS5 reads them as plain words (implicit AND). Column
        # weights: name 10, summary 3, instructions 1; bm25 is lower for better matches.
        match = " ".join(f'"{term}"' for term in terms)
        statement = sa.text(
            "SELECT rowid AS exercise_id, bm25(exercise_fts, 10.0, 3.0, 1.0) AS rank "
            "FROM exercise_fts WHERE exercise_fts MATCH :match"
        ).bindparams(match=match)
    else:
        # Name, summary and instructions are weighted A, B, C in `search_vector`. The
        # words are written into the SQL (see `planned_with`): how many rows match them
        # decides the plan.
        statement = sa.text(
            "SELECT id AS exercise_id, "
            "CAST(-ts_rank_cd(search_vector, plainto_tsquery('english', :terms)) AS float8) "
            "AS rank "
            "FROM exercise WHERE search_vector @@ plainto_tsquery('english', :terms)"
        ).bindparams(sa.bindparam("terms", " ".join(terms), literal_execute=True))
    return statement.columns(exercise_id=sa.Integer, rank=sa.Float).subquery("search")
