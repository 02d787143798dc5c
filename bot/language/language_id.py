"""Is a message written in English? A small, dependency-free guess from stop words and script."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from spacy.lang.de.stop_words import STOP_WORDS as GERMAN
from spacy.lang.en.stop_words import STOP_WORDS as ENGLISH
from spacy.lang.es.stop_words import STOP_WORDS as SPANISH
from spacy.lang.fr.stop_words import STOP_WORDS as FRENCH
from spacy.lang.it.stop_words import STOP_WORDS as ITALIAN
from spacy.lang.pt.stop_words import STOP_WORDS as PORTUGUESE

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Words that several languages share (a, no, me, once...) say nothing either way.
AMBIGUOUS = frozenset({"a", "no", "me", "he", "once", "son", "die", "come", "in", "per", "con", "so"})


@lru_cache(maxsize=1)
def _foreign_stop_words() -> frozenset[str]:
    english = {w.lower() for w in ENGLISH}
    foreign = {w.lower() for words in (SPANISH, FRENCH, GERMAN, ITALIAN, PORTUGUESE) for w in words}
    return frozenset(foreign - english - AMBIGUOUS)


def _latin_share(letters: list[str]) -> float:
    latin = sum(1 for ch in letters if "LATIN" in unicodedata.name(ch, ""))
    return latin / len(letters)


def looks_non_english(text: str) -> bool:
    """True when the message is clearly in another language (or script) than English."""
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < 3:
        return False
    if _latin_share(letters) < 0.5:
        return True
    words = [w.lower() for w in WORD.findall(text)]
    english = sum(1 for w in words if w in ENGLISH and w not in AMBIGUOUS)
    foreign = sum(1 for w in words if w in _foreign_stop_words())
    return foreign >= 2 and foreign > english
