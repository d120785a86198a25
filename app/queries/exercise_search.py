"""Full-text search over exercises: the words of a query, the matches with their rank in
each database's own full-text SQL (SQLite FTS5 over `exercise_search_fts`, PostgreSQL
over the weighted tsvector `exercise_search.document`), and the fallbacks when every
word together finds nothing: any word, then the misspelt words corrected against the
index's own vocabulary.

The fields, heaviest first: names (name and aliases), terms (goals, category, body
regions, equipment, position), body (summary, cues and the conditions the exercise
lists), instructions. The
weights below are tuned against the judged query set in `tests/test_search.py`."""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sqlmodel import Session, col

from app.errors import FieldError, InvalidParameters
from app.models import SearchWord
from app.queries.revision import RevisionFacts
from app.search_text import STOP_WORDS, words
from app.vocabulary import SearchMatch

MAX_SEARCH_TERMS = 16
# Words of this many letters or more are corrected when nothing matches, by at most
# MAX_CORRECTION edits.
MIN_CORRECTED_LENGTH = 4
MAX_CORRECTION = 2
# Weights of the fields (names, terms, body, instructions): bm25's column weights on
# SQLite; on PostgreSQL ts_rank's weights of A, B, C and D.
SQLITE_WEIGHTS = (10.0, 6.0, 2.0, 1.0)
POSTGRES_WEIGHTS = (1.0, 0.6, 0.2, 0.1)
# In an any-word search each word matched outranks any difference in relevance; in an
# all-words search, so does each of: all words in the heavy fields, and as a phrase there.
_PER_WORD = 1000.0
_STRONG = 100.0
_SQLITE_MATCHING = "SELECT rowid FROM exercise_search_fts WHERE exercise_search_fts MATCH"
# A search matching more exercises than this ranks only this many candidates, its best
# tiers first (see `search_matches`): ranking every match of a broad query ("knee pain"
# matching most of a large catalogue) costs far more than the page.
RANKED_CANDIDATES = 500
REST_RANK = 1.0


@dataclass(frozen=True)
class SearchOutcome:
    """How a query was searched: with every word (`all`), with any (`any`), or with its
    misspelt words corrected (`corrected`, then all or any of the corrected words)."""

    query: str
    matched: SearchMatch
    corrected_query: str | None
    words: tuple[str, ...]
    any_word: bool


def search_terms(q: str) -> list[str]:
    """The words of a query, without English stop words (unless there is nothing else).
    Operators and punctuation are dropped, never passed to the database's query
    language, so any string is a safe query."""
    found = words(q)
    if not found:
        raise InvalidParameters(
            "The search query has no words to look for.",
            [FieldError(field="q", message="no searchable words", value=q[:64])],
        )
    kept = [word for word in found if word not in STOP_WORDS] or found
    return list(dict.fromkeys(kept))[:MAX_SEARCH_TERMS]


@dataclass(frozen=True)
class SearchMatches:
    """A search's matches as subqueries: `all` (exercise_id) every match, for counts and
    facets; `ranked` (exercise_id, rank: lower is better) the matches a page is ranked
    from. A broad search (`bounded`: a word in more than RANKED_CANDIDATES exercises)
    ranks only its first RANKED_CANDIDATES candidates, best tier first (see `_tiers`), and
    `rest` (rank REST_RANK, after every ranked one) holds its other matches, by id."""

    all: Any
    ranked: Any
    rest: Any | None = None

    @property
    def bounded(self) -> bool:
        return self.rest is not None


def choose_search(
    session: Session, facts: RevisionFacts, q: str, count: Callable[[Any, SearchOutcome], int]
) -> tuple[SearchOutcome, SearchMatches, int]:
    """The search `q` is answered with, its matches and how many rows
    `count(matches.all, outcome)` finds: all words, else any word, else the misspelt
    words corrected (all, then any). The first that finds rows is the answer; if none
    does, the last tried. `count` applies the list's filters (so a fallback runs when
    the filtered list is empty) and remembers its answers."""
    terms = search_terms(q)

    def tries() -> Iterator[tuple[SearchMatch, list[str], bool]]:
        yield SearchMatch.all, terms, False
        if len(terms) > 1:
            yield SearchMatch.any, terms, True
        corrected = corrected_terms(session, facts, terms)  # only when nothing matched
        if corrected is not None:
            yield SearchMatch.corrected, corrected, False
            if len(corrected) > 1:
                yield SearchMatch.corrected, corrected, True

    for matched, searched, any_word in tries():
        outcome = SearchOutcome(
            query=q,
            matched=matched,
            corrected_query=" ".join(searched) if matched is SearchMatch.corrected else None,
            words=tuple(searched),
            any_word=any_word,
        )
        all_matches = search_all(session, searched, any_word=any_word)
        total = count(all_matches, outcome)
        if total:
            break
    # How many exercises have each word (whatever the filters): ranking costs as much as
    # the commonest word's matches (bm25 and ts_rank read them all for its weight).
    broad = total > 0 and any(
        facts.count(
            f"search|word|{word}",
            lambda word=word: session.execute(  # type: ignore[misc]
                sa.select(sa.func.count()).select_from(search_all(session, [word], any_word=False))
            ).scalar_one(),
        )
        > RANKED_CANDIDATES
        for word in outcome.words
    )
    matches = search_matches(session, outcome.words, any_word=outcome.any_word, bounded=broad)
    return outcome, matches, total


def corrected_terms(
    session: Session, facts: RevisionFacts, terms: Sequence[str]
) -> list[str] | None:
    """`terms` with each word of 4+ letters the index lacks replaced by the index's
    nearest word (edit distance at most 2; the commonest of equally near ones), or None
    if no word changes."""
    # Remembered per revision, as a 1-tuple (None is "not yet known" to the memo): an
    # edit-distance scan of the vocabulary per word is the dearest part of a search.
    remembered: tuple[list[str] | None] = facts.count(
        f"search|corrected|{list(terms)!r}", lambda: (_corrected(session, facts, terms),)
    )
    return remembered[0]


def _corrected(session: Session, facts: RevisionFacts, terms: Sequence[str]) -> list[str] | None:
    vocabulary: tuple[list[str], frozenset[str]] = facts.count(
        "search|vocabulary",
        lambda: (words := _vocabulary(session), frozenset(words)),
    )
    corrected = []
    for term in terms:
        if len(term) >= MIN_CORRECTED_LENGTH and term.isalpha() and term not in vocabulary[1]:
            best = process.extractOne(
                term, vocabulary[0], scorer=Levenshtein.distance, score_cutoff=MAX_CORRECTION
            )
            if best is not None:
                term = best[0]
        corrected.append(term)
    return corrected if corrected != list(terms) else None


def _vocabulary(session: Session) -> list[str]:
    """The index's words, commonest first (the first of equally near ones wins)."""
    rows = session.execute(
        sa.select(col(SearchWord.word)).order_by(
            col(SearchWord.documents).desc(), col(SearchWord.word)
        )
    )
    return [word for (word,) in rows]


def search_all(session: Session, terms: Sequence[str], *, any_word: bool) -> Any:
    """A subquery of the ids of the exercises matching every word of `terms` (or with
    `any_word`, any), unranked."""
    if session.get_bind().dialect.name == "sqlite":
        joiner = " OR " if any_word else " "
        statement = sa.text(
            "SELECT rowid AS exercise_id FROM exercise_search_fts "
            "WHERE exercise_search_fts MATCH :match"
        ).bindparams(match=joiner.join(f'"{term}"' for term in terms))
    else:
        # As the ranked SQL below words it, so that both find the same rows.
        if any_word:
            params = _postgres_words(terms)
            query = " || ".join(f"plainto_tsquery('english', :{param.key})" for param in params)
        else:
            params = [sa.bindparam("terms", " ".join(terms), literal_execute=True)]
            query = "plainto_tsquery('english', :terms)"
        statement = sa.text(
            f"SELECT exercise_id FROM exercise_search WHERE document @@ ({query})"  # noqa: S608
        ).bindparams(*params)
    return statement.columns(exercise_id=sa.Integer).subquery("matching")


def search_matches(
    session: Session, terms: Sequence[str], *, any_word: bool, bounded: bool = False
) -> SearchMatches:
    """The matches of `terms` (every word, or with `any_word` any: ranked first by how
    many words match), ranked in full by bm25 or ts_rank; or `bounded`, the first
    RANKED_CANDIDATES of the tiers `_tiers` lists, each read (in the order the database
    finds them: rowid order on SQLite, the table's on PostgreSQL) only as far as
    needed, ranked by tier and then by id: no bm25 or ts_rank, which read every match
    of each word, however few are ranked."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    all_matches = search_all(session, terms, any_word=any_word)
    if not bounded:
        if sqlite:
            statement = _sqlite_matches(terms, any_word=any_word)
        else:
            statement = _postgres_matches(terms, any_word=any_word)
        ranked = statement.columns(exercise_id=sa.Integer, rank=sa.Float).subquery("search")
        return SearchMatches(all=all_matches, ranked=ranked)
    tiers = _tiers(terms, any_word=any_word, phrases=sqlite)
    statement = _sqlite_tiers(tiers) if sqlite else _postgres_tiers(tiers)
    candidates = statement.columns(exercise_id=sa.Integer, rank=sa.Float).subquery("candidates")
    ranked = (
        sa.select(candidates.c.exercise_id, sa.func.min(candidates.c.rank).label("rank"))
        .group_by(candidates.c.exercise_id)
        .subquery("search")
    )
    ids = sa.select(candidates.c.exercise_id)
    rest = (
        sa.select(all_matches.c.exercise_id, sa.literal(REST_RANK, sa.Float).label("rank"))
        .where(all_matches.c.exercise_id.not_in(ids))
        .subquery("search")
    )
    return SearchMatches(all=all_matches, ranked=ranked, rest=rest)


@dataclass(frozen=True)
class _Tier:
    """Matches of one kind, all ranked above the next tier's: the words (`phrase`: in
    order, together), in the heavy fields (names and terms) only, or anywhere; the
    rank is minus `bonus` (the full ranking's own bonuses), at most 0."""

    words: tuple[str, ...]
    bonus: float
    heavy: bool = False
    phrase: bool = False


def _tiers(terms: Sequence[str], *, any_word: bool, phrases: bool) -> list[_Tier]:
    """The tiers of a bounded search, best first, with the bonuses of the full ranking:
    for every word, as a phrase in the heavy fields (with `phrases`), then every word
    there, then anywhere; for any word, every word, then each word alone.

    PostgreSQL has no phrase tier: its GIN index finds the rows with every word, but
    the phrase is checked on each row's tsvector, in the wide `exercise_search` rows,
    and for two common words whose phrase is rarer (at 100k, "hamstring stretch") that
    reads thousands of pages (40 ms) for 500 rows; FTS5 checks it in its own index."""
    words = tuple(terms)
    if any_word:
        return [
            _Tier(words, _PER_WORD * len(words)),
            *(_Tier((word,), _PER_WORD) for word in words),
        ]
    tiers = []
    if phrases and len(words) > 1:
        tiers.append(_Tier(words, 2 * _STRONG, heavy=True, phrase=True))
    return [*tiers, _Tier(words, _STRONG, heavy=True), _Tier(words, 0.0)]


# The SQL below is built from constants and parameter names only (noqa: S608); the
# words are bound, or on PostgreSQL written in by SQLAlchemy's quoting.


def _sqlite_matches(terms: Sequence[str], *, any_word: bool) -> Any:
    # Each word quoted, so FTS5 reads it as a plain word, never as its query syntax
    # (the words have no quotes: they are letters and digits). bm25 is lower for
    # better matches.
    bm25 = "bm25(exercise_search_fts, {})".format(", ".join(map(str, SQLITE_WEIGHTS)))
    match = " ".join(f'"{term}"' for term in terms)
    if not any_word:
        # Every word in the heavy fields (names, terms) ranks above words found only in
        # the others; the words there as a phrase (together, in order) rank higher still.
        return sa.text(
            f"SELECT rowid AS exercise_id, {bm25} "  # noqa: S608
            f"- {_STRONG} * (rowid IN ({_SQLITE_MATCHING} :strong)) "
            f"- {_STRONG} * (rowid IN ({_SQLITE_MATCHING} :phrase)) AS rank "
            f"FROM exercise_search_fts WHERE exercise_search_fts MATCH :match"
        ).bindparams(
            match=match,
            strong=f"{{names terms}} : ({match})",
            phrase='{names terms} : "' + " ".join(terms) + '"',
        )
    each = " UNION ALL ".join(
        f"SELECT rowid AS exercise_id, {bm25} AS score "  # noqa: S608
        f"FROM exercise_search_fts WHERE exercise_search_fts MATCH :word_{i}"
        for i in range(len(terms))
    )
    return sa.text(
        f"SELECT exercise_id, sum(score) - {_PER_WORD} * count(*) AS rank "  # noqa: S608
        f"FROM ({each}) GROUP BY exercise_id"
    ).bindparams(**{f"word_{i}": f'"{term}"' for i, term in enumerate(terms)})


def _postgres_matches(terms: Sequence[str], *, any_word: bool) -> Any:
    # The words are written into the SQL (see `planned_with`): how many rows match
    # them decides the plan. ts_rank's weights are listed D, C, B, A.
    weights = "'{" + ",".join(map(str, reversed(POSTGRES_WEIGHTS))) + "}'"
    words_of = {f"word_{i}": term for i, term in enumerate(terms)}
    params: list[Any] = [
        sa.bindparam(name, value, literal_execute=True) for name, value in words_of.items()
    ]
    each = [f"plainto_tsquery('english', :{name})" for name in words_of]
    if not any_word:
        # As on SQLite: every word in the heavy fields (weights A and B) ranks above words
        # found only in the others, and the words there as a phrase higher still.
        strong = "heavy"  # the heavy fields' own tsvector: ts_filter(document, '{a,b}')
        return sa.text(
            "SELECT exercise_id, "  # noqa: S608
            f"CAST(-ts_rank({weights}, document, query) "
            f"- {_STRONG} * ({strong} @@ query)::int "
            f"- {_STRONG} * ({strong} @@ phraseto_tsquery('english', :terms))::int AS float8) "
            "AS rank "
            "FROM exercise_search, plainto_tsquery('english', :terms) AS query "
            "WHERE document @@ query"
        ).bindparams(sa.bindparam("terms", " ".join(terms), literal_execute=True))
    hits = " + ".join(f"(document @@ {query})::int" for query in each)
    return sa.text(
        "SELECT exercise_id, "  # noqa: S608
        f"CAST(-({hits}) * {_PER_WORD} - ts_rank({weights}, document, query) AS float8) AS rank "
        f"FROM exercise_search, (SELECT {' || '.join(each)} AS query) AS any_word "
        "WHERE document @@ query"
    ).bindparams(*params)


def _sqlite_tiers(tiers: Sequence[_Tier]) -> Any:
    # The tiers in order, each read (in rowid order) only until the bound is reached.
    selects: list[str] = []
    params: dict[str, str] = {}
    for i, tier in enumerate(tiers):
        if tier.phrase:
            match = '"' + " ".join(tier.words) + '"'
        else:
            match = " ".join(f'"{word}"' for word in tier.words)
        params[f"tier_{i}"] = f"{{names terms}} : ({match})" if tier.heavy else match
        selects.append(
            "SELECT * FROM (SELECT rowid AS exercise_id, "  # noqa: S608
            f"{-tier.bonus} AS rank "
            f"FROM exercise_search_fts WHERE exercise_search_fts MATCH :tier_{i} "
            f"LIMIT {RANKED_CANDIDATES})"
        )
    return sa.text(
        f"SELECT exercise_id, rank FROM ({' UNION ALL '.join(selects)}) "  # noqa: S608
        f"LIMIT {RANKED_CANDIDATES}"
    ).bindparams(**params)


def _postgres_tiers(tiers: Sequence[_Tier]) -> Any:
    # As on SQLite; the heavy tiers are read from `heavy`, the heavy fields' own
    # tsvector, by its own index.
    selects: list[str] = []
    params: list[Any] = []
    for i, tier in enumerate(tiers):
        function = "phraseto_tsquery" if tier.phrase else "plainto_tsquery"
        params.append(sa.bindparam(f"tier_{i}", " ".join(tier.words), literal_execute=True))
        selects.append(
            "(SELECT exercise_id, "  # noqa: S608
            f"CAST({-tier.bonus} AS float8) AS rank "
            f"FROM exercise_search WHERE {'heavy' if tier.heavy else 'document'} "
            f"@@ {function}('english', :tier_{i}) LIMIT {RANKED_CANDIDATES})"
        )
    return sa.text(
        f"SELECT exercise_id, rank FROM ({' UNION ALL '.join(selects)}) AS tiers "  # noqa: S608
        f"LIMIT {RANKED_CANDIDATES}"
    ).bindparams(*params)


def _postgres_words(terms: Sequence[str]) -> list[Any]:
    return [sa.bindparam(f"word_{i}", term, literal_execute=True) for i, term in enumerate(terms)]
