""" "I don't know", in any wording: "no clue", "can't remember", "beats me", "idk", "?".

Lexicon: ``lexicons/unknown.yml`` (its header lists what is left out on purpose). The message
is normalised first (``bot.language.normalise``), so "idk", "dunno" and typos are covered.

- :func:`find_dont_know`: the wordings of not-knowing in a message (offsets in the original).
- :func:`says_dont_know`: whether the message says it anywhere.
- :func:`dont_know`: whether not-knowing is what the message is about. Its one exception: a
  cue that only doubts the fact right after it ("I don't know if it's burning") in a message
  that then states something else plainly ("... but my leg is numb") is not a "don't know"
  answer. A message that gives a fact with its doubt ("not sure, maybe 6 weeks ago") still
  counts; the dialogue reads the entities first.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.language.lexicon import (
    CompiledLexicon,
    Parsed,
    compile_lexicon,
    load_yaml,
    longest_first,
    mention_of,
    parse,
    string_list,
)
from bot.language.normalise import find_normalised, normalise
from bot.language.pain_course import find_pain_courses
from bot.language.procedures import find_procedures
from bot.language.red_flags import find_red_flags
from bot.language.symptoms import find_symptoms
from bot.language.types import Mention

__all__ = ["dont_know", "find_dont_know", "says_dont_know"]

_ONLY_QUESTION_MARKS = re.compile(r"^\s*[?¿？]+[\s?!.¿？]*$")
_CONTRAST = re.compile(r"\b(?:but|though|although|however|except)\b|[.;!]")
_DOUBLE_DENIAL = frozenset({"not", "n't", "nt", "never"})


@lru_cache(maxsize=1)
def _lexicon() -> CompiledLexicon:
    return compile_lexicon("unknown")


@lru_cache(maxsize=1)
def _hedge_followers() -> frozenset[str]:
    words = string_list(load_yaml("unknown").get("hedge_followers", []), "unknown.hedge_followers")
    return frozenset(w.lower() for w in words)


def _find(text: str) -> list[Mention]:
    parsed = parse(text)
    found = longest_first(_lexicon().candidates(parsed))
    mentions = []
    for cand in found:
        if _denied(parsed, cand.start):
            continue  # "it's not that I don't remember", "never said I wasn't sure"
        mentions.append(mention_of(parsed, "dont_know", cand.start, cand.end, negated=False))
    return mentions


def _denied(parsed: Parsed, start: int) -> bool:
    """A not-knowing cue that is itself denied ("not that I don't know")."""
    window = {parsed.lower(i) for i in range(max(0, start - 3), start)}
    return "that" in window and bool(window & _DOUBLE_DENIAL)


def find_dont_know(text: str) -> list[Mention]:
    """Every wording of not-knowing in the message (code ``dont_know``), in text order."""
    if not text or not text.strip():
        return []
    if _ONLY_QUESTION_MARKS.match(text):
        start = len(text) - len(text.lstrip())
        end = len(text.rstrip())
        return [Mention(code="dont_know", text=text[start:end], start=start, end=end)]
    return find_normalised(_find, text)


def says_dont_know(text: str) -> bool:
    """Whether the message says, in any wording, that the patient does not know."""
    return bool(find_dont_know(text))


def _hedges_only(parsed: Parsed, cues: list[Mention]) -> bool:
    """Whether every cue is followed by the fact it doubts ("not sure if it's ...")."""
    followers = _hedge_followers()
    for cue in cues:
        span = parsed.token_span(cue.start, cue.end)
        if span is None or parsed.lower(span[1]) not in followers:
            return False
    return True


def _plain_fact_after(text: str, position: int) -> bool:
    """Whether, after a contrast following ``position``, the message affirms a clinical fact."""
    contrast = _CONTRAST.search(text, position)
    if contrast is None:
        return False
    mentions = find_symptoms(text) + find_procedures(text) + find_pain_courses(text) + find_red_flags(text)
    return any(not m.negated and m.start >= contrast.end() for m in mentions)


def dont_know(text: str) -> bool:
    """Whether the message's main content is not knowing (see the module doc)."""
    if not text or not text.strip():
        return False
    if _ONLY_QUESTION_MARKS.match(text):
        return True
    clean = normalise(text).text
    cues = _find(clean)
    if not cues:
        return False
    return not (_hedges_only(parse(clean), cues) and _plain_fact_after(clean, cues[-1].end))
