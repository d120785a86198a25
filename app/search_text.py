"""The words of searchable text, the same on both databases: how text and queries split
into words, the English stop words, and the words each closed-vocabulary value is
searched by."""

import re

from app.vocabulary import Category, Position

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# PostgreSQL's English stop words (its `english.stop`, the Snowball list). PostgreSQL
# drops them from every query and document; queries drop them on SQLite too, so that a
# query means the same on both ("exercises for knee pain" needs no "for" to match).
_POSTGRES_ENGLISH_STOP = """i me my myself we our ours ourselves you your yours yourself
yourselves he him his himself she her hers herself it its itself they them their theirs
themselves what which who whom this that these those am is are was were be been being
have has had having do does did doing a an the and but if or because as until while of
at by for with about against between into through during before after above below to
from up down in out on off over under again further then once here there when where why
how all any both each few more most other some such no nor not only own same so than too
very s t can will just don should now"""
STOP_WORDS = frozenset(_POSTGRES_ENGLISH_STOP.split())

# Words a value of a closed vocabulary is also searched by: how people say it.
CATEGORY_WORDS: dict[Category, str] = {
    Category.stretch: "stretch stretching",
    Category.strengthening: "strengthening strength",
    Category.activation: "activation",
    Category.mobility: "mobility",
    Category.soft_tissue: "soft tissue",
    Category.modality: "modality treatment",
}
POSITION_WORDS: dict[Position, str] = {
    Position.lying: "lying down",
    Position.sitting: "sitting seated",
    Position.standing: "standing",
    Position.kneeling: "kneeling",
}
# Equipment and body regions are open slugs: their words, but for `none`.
EQUIPMENT_WORDS = {"none": "no equipment"}


def words(text: str) -> list[str]:
    """The words of `text`, lower case: letters and digits, never punctuation or a
    query language's operators."""
    return _WORD.findall(text.lower())


def slug_words(slug: str) -> str:
    """An open vocabulary slug as words: `resistance-band` is "resistance band"."""
    return slug.replace("-", " ")
