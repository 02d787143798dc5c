"""A patient correcting a time in the same message: the later time replaces the earlier one.

"2 yrs ago wait no 3", "the 12th of May. No wait, the 19th", "5 months ago, sorry I mean 6
months", "surgery 10 days ago, sorry 10 weeks!! typo", "October of last year. Or was it
November?". A correction marker (``no wait``, ``sorry``, ``I mean``, ``actually``, ``or was it``,
``more like``, …) between two times, close to both, makes the second one stand for the first:
it takes the first one's subject (the surgery, the pain's return, …). A bare number after the
marker ("Correction: 11") is read with the first time's words ("11 weeks ago").

A second time with a subject of its own ("6 weeks ago, sorry, the pain came back 2 weeks ago")
is another event, not a correction: it is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from bot.language.types import TimeMention

_MARKER = re.compile(
    r"\b(?:no\s*,?\s*wait|wait\s*,?\s*no|wait|sorry|oops|i\s+mean[t]?|actually(?:\s*,?\s*no)?|correction"
    r"|scratch\s+that|make\s+(?:that|it)|or\s+(?:maybe\s+)?(?:more\s+like|closer\s+to|was\s+it)"
    r"|more\s+like|closer\s+to|rather|typo|no\s*,|no(?=\s+\d))(?![\w'])",
    re.IGNORECASE,
)
NEAR = 30
"""Most characters between the first time and the marker, and between the marker and the second."""

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    "|sixteen|seventeen|eighteen|nineteen|twenty|thirty"
)
_FIRST_NUMBER = re.compile(rf"\b(?:\d+(?:\.\d+)?(?:st|nd|rd|th)?|{_NUMBER_WORDS})\b", re.IGNORECASE)
_BARE_NUMBER = re.compile(
    rf"^[\s,.:;!?-]*(?:(?:no|the|maybe|about|around|like|it\s+was|it's|its|more\s+like|closer\s+to)\s+)*"
    rf"(?P<n>\d+(?:\.\d+)?(?:st|nd|rd|th)?|{_NUMBER_WORDS})\b(?!\s*(?:/|\.\d))",
    re.IGNORECASE,
)

Reader = Callable[[str], Sequence[TimeMention]]

# Words that may stand between the marker and the correcting time ("no wait, it was September");
# any other word ("sorry, the leg pain started 3 weeks ago") makes the second time its own event.
_FILLERS = frozenset(
    "it it's its was is were the a on in at of around about like more closer to maybe probably i "
    "mean meant think guess no yes sorry actually wait so my surgery op operation procedure had done "
    "right just or and um oh ok yeah then".split()
)


def _only_fillers(gap: str) -> bool:
    return all(word in _FILLERS for word in re.findall(r"[a-z']+", gap.lower().replace("\u2019", "'")))


def _ordinal(word: str) -> str:
    return re.sub(r"^\d+", "", word)


def _renumbered(first: TimeMention, number: str, read: Reader) -> TimeMention | None:
    """``first`` read again with ``number`` in place of its own ("3 weeks ago" + "4")."""
    old = _FIRST_NUMBER.search(first.text)
    if old is None or bool(_ordinal(old.group(0))) != bool(_ordinal(number)):
        return None  # "the 12th" is corrected by "the 19th", "3 weeks" by "4"
    found = read(first.text[: old.start()] + number + first.text[old.end() :])
    if len(found) != 1:
        return None
    return replace(found[0], start=first.start, end=first.end, subject=first.subject)


def apply_corrections(mentions: Sequence[TimeMention], text: str, read: Reader) -> list[TimeMention]:
    """``mentions`` with each corrected time replaced by its correction (see the module docstring).

    ``read`` finds the time mentions of a piece of text (for a bare corrected number).
    """
    kept = sorted(mentions, key=lambda m: m.start)
    for marker in _MARKER.finditer(text):
        before = [m for m in kept if m.end <= marker.start() and marker.start() - m.end <= NEAR]
        if not before:
            continue
        first = before[-1]
        after = [m for m in kept if m.start >= marker.end() and m.start - marker.end() <= NEAR]
        if after:
            second = after[0]
            if second.subject not in (None, first.subject) or not _only_fillers(text[marker.end() : second.start]):
                continue  # another event ("…, sorry, the pain came back 2 weeks ago")
            anchor = first.anchor if second.anchor == "duration" else second.anchor
            corrected = replace(second, subject=first.subject, anchor=anchor)
            kept = [m for m in kept if m is not first and m is not second]
        else:
            bare = _BARE_NUMBER.match(text[marker.end() : marker.end() + NEAR])
            renumbered = _renumbered(first, bare.group("n"), read) if bare else None
            if renumbered is None:
                continue
            corrected = renumbered
            kept = [m for m in kept if m is not first]
        kept = sorted([*kept, corrected], key=lambda m: m.start)
    return kept
