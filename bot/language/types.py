"""What the language layer finds in a patient's message: plain, frozen records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TimeAnchor = Literal["ago", "after_surgery", "duration"]
TimeSubject = Literal["surgery", "return", "onset", "other"] | None


@dataclass(frozen=True)
class Mention:
    """A span of the message that names a code (a symptom, a procedure, a pain course, a red flag)."""

    code: str
    text: str
    start: int
    end: int
    negated: bool = False


@dataclass(frozen=True)
class TimeMention:
    """A time expression turned into weeks.

    ``anchor`` says what ``weeks`` counts from:
    - ``ago``: a point in the past, ``weeks`` before today ("6 weeks ago", "March 3rd", "last spring");
    - ``after_surgery``: ``weeks`` after the surgery ("two months after the operation");
    - ``duration``: a bare length with no anchor ("6 weeks", "about two months").
    ``subject`` is what the sentence ties the time to, when it says: the surgery, or the pain's return
    (``find_time_mentions``); ``bot.language.entities.with_context`` adds ``onset`` (a symptom began
    then, or has lasted that long) and ``other`` (something else happened then: PT, a scan, a visit).
    ``problem`` is ``"future"`` for a date after today (the bot asks again instead of guessing).
    """

    text: str
    start: int
    end: int
    weeks: float
    anchor: TimeAnchor
    subject: TimeSubject = None
    problem: Literal["future"] | None = None
