"""Completions for a search box: exercise names and aliases, goals, conditions, body
regions and equipment whose words start with what was typed, and from 4 letters on
near misses, best first.

The names are few and change only with the catalogue, so each revision's are read once
into an in-memory index (kept with the revision's facts) and every request is answered
from it: a binary search of its sorted words, no SQL."""

import bisect
import heapq
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import sqlalchemy as sa
from rapidfuzz.distance import OSA
from sqlmodel import Session, col

from app.database import read_without_memory_map
from app.errors import FieldError, InvalidParameters
from app.models import Condition, Exercise, ExerciseBodyRegion, ExerciseEquipment, Goal
from app.queries.revision import revision_facts
from app.search_text import EQUIPMENT_WORDS, slug_words, words
from app.vocabulary import SuggestionKind

MAX_PREFIX_WORDS = 8
# From this many letters, a typed word also completes to words it nearly begins: within
# one edit, or two from 8 letters on (a swap of two letters, the commonest slip, is one).
MIN_FUZZY_LENGTH = 4
TWO_EDITS_LENGTH = 8
# How many names beginning with the prefix, alphabetically, are ranked for the top.
_BEGINNING_WINDOW = 5
# Kinds in the order equally good completions are listed.
_KINDS = (
    SuggestionKind.exercise,
    SuggestionKind.goal,
    SuggestionKind.condition,
    SuggestionKind.body_region,
    SuggestionKind.equipment,
)
_KIND_ORDER = {kind: place for place, kind in enumerate(_KINDS)}


@dataclass(frozen=True, slots=True)
class SuggestionRow:
    text: str
    kind: SuggestionKind
    slug: str
    alias: bool = False  # another name of the exercise `slug`


class _Strings:
    """Many strings kept as one, with where each ends: a string object apiece would
    cost more than most of these strings' own characters."""

    __slots__ = ("_ends", "_joined")

    def __init__(self, strings: Iterable[str]) -> None:
        parts, ends, end = [], array("I"), 0
        for string in strings:
            parts.append(string)
            end += len(string)
            ends.append(end)
        self._joined = "".join(parts)
        self._ends = ends

    def __getitem__(self, number: int) -> str:
        return self._joined[self._ends[number - 1] if number else 0 : self._ends[number]]

    def __len__(self) -> int:
        return len(self._ends)


@dataclass
class SuggestionIndex:
    """One revision's completions, numbered best first, so that a lower number is a
    better completion: for each word the numbers of the completions that have it, with
    the words sorted for prefix search, and the numbers in order of their text.

    Joined strings and arrays of numbers, not objects per completion: at 100k exercises
    the index is built in every worker."""

    texts: _Strings
    slugs: _Strings
    # Each completion's kind (its place in `_KINDS`) and whether it is an alias, a byte
    # each.
    kinds: bytes
    aliases: bytes
    # Each completion's words, with a space before each: " " + w in it says a word
    # starts with w.
    spaced: _Strings
    by_word: "dict[str, array[int]]"
    sorted_words: list[str]
    # The numbers in order of their spaced words (then by number).
    by_text: "array[int]"

    @classmethod
    def of(cls, rows: Iterable[SuggestionRow]) -> "SuggestionIndex":
        # Built from plain lists, each row let go as it is read, and ranked by stable
        # sorts on one key at a time: every worker builds this, and its peak is theirs.
        texts: list[str] = []
        slugs: list[str] = []
        kinds, aliases = bytearray(), bytearray()
        for row in rows:
            texts.append(row.text)
            slugs.append(row.slug)
            kinds.append(_KIND_ORDER[row.kind])
            aliases.append(row.alias)
        # Ranked by how good a completion each is, whatever the prefix: a name before an
        # alias (an exercise matched by both shows its name), shorter (closer to
        # complete) first, then by kind and text.
        order = sorted(range(len(texts)), key=lambda n: texts[n].lower())
        order.sort(key=kinds.__getitem__)
        order.sort(key=lambda n: len(texts[n]))
        order.sort(key=aliases.__getitem__)
        texts = [texts[n] for n in order]
        slugs = [slugs[n] for n in order]
        kinds = bytearray(kinds[n] for n in order)
        aliases = bytearray(aliases[n] for n in order)
        del order
        spaced = ["".join(" " + word for word in words(text)) for text in texts]
        by_word: dict[str, array[int]] = {}
        for number, text in enumerate(spaced):
            for word in dict.fromkeys(text.split()):
                by_word.setdefault(word, array("I")).append(number)
        # A stable sort of ascending numbers: equal texts stay in order of number.
        by_text = array("I", sorted(range(len(spaced)), key=spaced.__getitem__))
        return cls(
            _Strings(texts),
            _Strings(slugs),
            bytes(kinds),
            bytes(aliases),
            _Strings(spaced),
            by_word,
            sorted(by_word),
            by_text,
        )

    def row(self, number: int) -> SuggestionRow:
        return SuggestionRow(
            self.texts[number],
            _KINDS[self.kinds[number]],
            self.slugs[number],
            bool(self.aliases[number]),
        )

    def words_of(self, number: int) -> list[str]:
        return self.spaced[number].split()

    def beginning_with(self, typed: str, limit: int) -> list[int]:
        """The best of the completions whose text begins with `typed` (among the first
        `limit` alphabetically: enough, since the same name is rarely listed twice)."""
        spaced_typed = " " + typed  # every word spaced, as in `spaced`
        start = bisect.bisect_left(self.by_text, spaced_typed, key=self.spaced.__getitem__)
        found = []
        for number in islice(self.by_text, start, start + limit):
            if not self.spaced[number].startswith(spaced_typed):
                break
            found.append(number)
        return sorted(found)

    def starting_with(self, prefix: str) -> list[str]:
        """The index's words that start with `prefix`."""
        start = bisect.bisect_left(self.sorted_words, prefix)
        end = bisect.bisect_left(self.sorted_words, prefix + "\U0010ffff")
        return self.sorted_words[start:end]

    def nearly_starting_with(self, typed: str) -> list[str]:
        """The index's words whose beginning is within one edit of `typed` (two from 8
        letters; optimal string alignment, so "nodric" is one from "nordic"), but that do
        not start with it."""
        edits = 2 if len(typed) >= TWO_EDITS_LENGTH else 1
        found = []
        for word in self.sorted_words:
            if word.startswith(typed):
                continue
            if any(
                OSA.distance(typed, word[:length], score_cutoff=edits) <= edits
                for length in range(len(typed) - edits, len(typed) + edits + 1)
                if 0 < length <= len(word)
            ):
                found.append(word)
        return found


def suggest(session: Session, *, q: str, limit: int = 10) -> list[SuggestionRow]:
    """Up to `limit` completions of `q`, best first: names whose words start with every
    word typed (the last may be unfinished); names that start with `q` itself come
    first; then, when the last word has 4 letters or more, names that nearly do."""
    typed = words(q)[:MAX_PREFIX_WORDS]
    if not typed:
        raise InvalidParameters(
            "The prefix has no words to complete.",
            [FieldError(field="q", message="no words to complete", value=q[:64])],
        )
    index = suggestion_index(session)
    *whole, last = typed

    prefixes = [" " + word for word in whole]

    def completes(number: int) -> bool:
        return all(prefix in index.spaced[number] for prefix in prefixes)

    def size(of_words: list[str]) -> int:
        return sum(len(index.by_word[w]) for w in of_words)

    def completions(of_words: list[str]) -> Iterator[int]:
        """The completions with one of `of_words` that complete every whole word, best
        first: walked from the typed word with the fewest completions (a common last
        word, "st", would walk most of the index to find the few with "lying" and
        "hamstring")."""
        wanted = set(of_words)
        walked = of_words
        for word in whole:
            narrower = index.starting_with(word)
            if size(narrower) < size(walked):
                walked = narrower
        merged = heapq.merge(*(index.by_word[w] for w in walked))
        return (
            number
            for number in merged
            if completes(number)
            and (walked is of_words or not wanted.isdisjoint(index.words_of(number)))
        )

    typed_text = " ".join(typed)
    starts = index.starting_with(last)
    ordered: list[Iterable[int]] = [
        # Names that begin with what was typed, then the others with a word that does.
        index.beginning_with(typed_text, _BEGINNING_WINDOW * limit),
        completions(starts),
    ]
    if len(last) >= MIN_FUZZY_LENGTH:
        ordered.append(_lazy_near(index, last, completions))
    found: dict[tuple[int, str], SuggestionRow] = {}
    for candidates in ordered:
        for number in candidates:
            key = (index.kinds[number], index.slugs[number])
            if key not in found:
                found[key] = index.row(number)
            if len(found) >= limit:
                return list(found.values())
    return list(islice(found.values(), limit))


def suggestion_index(session: Session) -> SuggestionIndex:
    """The completions of the revision the session reads: built once per revision (an
    app builds the current one as it starts, see `app.dependencies`)."""

    def build() -> SuggestionIndex:
        # One pass over every exercise, as an export is: see `read_without_memory_map`.
        read_without_memory_map(session)
        return SuggestionIndex.of(_suggestion_rows(session))

    index: SuggestionIndex = revision_facts(session).count("suggest|index", build)
    return index


def _lazy_near(
    index: SuggestionIndex, last: str, completions: Callable[[list[str]], Iterator[int]]
) -> Iterator[int]:
    """The completions of near misses, looked for only if the exact ones fall short."""
    yield from completions(index.nearly_starting_with(last))


def _suggestion_rows(session: Session) -> Iterator[SuggestionRow]:
    """Every name a completion can be: exercises' names and aliases, goals, conditions,
    body regions and equipment, each once."""
    # Through the connection, whose rows become Python objects as they are read: the
    # ORM's `execute` would hold every exercise's row at once.
    connection = session.connection()
    for slug, name, aliases in connection.execute(
        sa.select(col(Exercise.slug), col(Exercise.name), col(Exercise.aliases))
    ):
        yield SuggestionRow(name, SuggestionKind.exercise, slug)
        for alias in dict.fromkeys(aliases):
            yield SuggestionRow(alias, SuggestionKind.exercise, slug, True)
    for model, kind in ((Goal, SuggestionKind.goal), (Condition, SuggestionKind.condition)):
        for slug, name in connection.execute(sa.select(col(model.slug), col(model.name))):
            yield SuggestionRow(name, kind, slug)
    for column, kind in (
        (col(ExerciseBodyRegion.body_region), SuggestionKind.body_region),
        (col(ExerciseEquipment.equipment), SuggestionKind.equipment),
    ):
        for (value,) in connection.execute(sa.select(column).distinct()):
            text = EQUIPMENT_WORDS.get(value, slug_words(value))
            yield SuggestionRow(text[:1].upper() + text[1:], kind, value)
