"""A patient's answer to "when would suit you?": their words, and the day if they name one."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

PartOfDay = Literal["morning", "afternoon", "evening"]
Problem = Literal["past", "empty"]

TEXT_MAX = 200

_WEEKDAYS = {
    "monday": 0, "mon": 0,
    "tuesday": 1, "tues": 1, "tue": 1,
    "wednesday": 2, "weds": 2, "wed": 2,
    "thursday": 3, "thurs": 3, "thur": 3, "thu": 3,
    "friday": 4, "fri": 4,
    "saturday": 5,
    "sunday": 6,
}  # fmt: skip
_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
    "april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10,
    "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_NUMBER_WORDS = {
    "a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "a couple": 2,
}  # fmt: skip

_WEEKDAY = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_NUMBER = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_ORDINAL = r"(?:st|nd|rd|th)?"
_NOT_A_TIME = r"(?!\s*(?:am\b|pm\b|a\.m|p\.m|:|o'?clock))"
_YEAR = r"(?:,?\s+(\d{4}))?"

# Words that, shortly before a day or time in the same clause, mean "not then".
_NEGATIONS = {
    "not", "no", "except", "excluding", "never", "cannot", "can't", "cant", "avoid",
    "unavailable", "besides", "busy",
}  # fmt: skip
_NEGATING_PAIRS = {
    ("anything", "but"), ("any", "but"), ("day", "but"), ("time", "but"), ("other", "than"),
    ("can", "not"),
}  # fmt: skip


@dataclass(frozen=True)
class PreferredTime:
    """What a patient said about when they can come in.

    ``text`` is their answer, cleaned (control characters removed, whitespace collapsed, at
    most 200 characters); ``date`` the specific day they named, if any; ``part_of_day`` the
    one part of the day they asked for, if exactly one; ``problem`` is ``"past"`` when the only
    day named is before today (``date`` then holds it) and ``"empty"`` when there is nothing
    usable. Accept the answer only when ``problem`` is ``None``.
    """

    text: str
    date: dt.date | None = None
    part_of_day: PartOfDay | None = None
    problem: Problem | None = None


def clean_text(text: str, limit: int = TEXT_MAX) -> str:
    """``text`` with control and text-direction characters removed and whitespace collapsed."""
    chars = []
    for ch in unicodedata.normalize("NFC", text or ""):
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs", "Co", "Zl", "Zp") or ch in "\u202a\u202b\u202c\u202d\u202e":
            chars.append(" ")
        elif ch not in "\u2066\u2067\u2068\u2069\ufeff":
            chars.append(ch)
    collapsed = " ".join("".join(chars).split())
    return collapsed[:limit].rstrip()


def _has_content(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def _negated(lowered: str, start: int) -> bool:
    """Whether the clause before ``start`` says "not" within its last three words."""
    clause = re.split(r"[,.;:!?()]", lowered[:start])[-1]
    words = re.findall(r"[\w']+", clause)[-3:]
    if any(word in _NEGATIONS for word in words):
        return True
    return any(pair in _NEGATING_PAIRS for pair in itertools.pairwise(words))


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _next_on_or_after(today: dt.date, month: int, day: int) -> dt.date | None:
    """The first ``month``/``day`` on or after ``today`` (Feb 29 waits for a leap year)."""
    for year in range(today.year, today.year + 9):
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _with_year(today: dt.date, month: int, day: int, year: str | None) -> dt.date | None:
    if year is None:
        return _next_on_or_after(today, month, day)
    number = int(year)
    return _safe_date(number + 2000 if number < 100 else number, month, day)


def _weekday(today: dt.date, qualifier: str | None, name: str) -> dt.date:
    target = _WEEKDAYS[name]
    if qualifier in ("last", "past"):
        return today - dt.timedelta(days=(today.weekday() - target - 1) % 7 + 1)
    if qualifier == "this" and target == today.weekday():
        return today
    return today + dt.timedelta(days=(target - today.weekday() - 1) % 7 + 1)


def _day_of_month(today: dt.date, day: int) -> dt.date | None:
    """The next ``day`` of a month, on or after today."""
    year, month = today.year, today.month
    for _ in range(3):
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


DateReader = Callable[["re.Match[str]", dt.date, bool], "dt.date | None"]


def _offset(days: int) -> DateReader:
    return lambda _m, today, _day_first: today + dt.timedelta(days=days)


def _numeric(m: re.Match[str], today: dt.date, day_first: bool) -> dt.date | None:
    first, second = int(m.group(1)), int(m.group(2))
    month, day = (second, first) if day_first else (first, second)
    return _with_year(today, month, day, m.group(3))


# Order matters: longer phrases first; each match hides its span from the later patterns.
_DATE_PATTERNS: list[tuple[re.Pattern[str], DateReader]] = [
    (re.compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b"), _offset(2)),
    (re.compile(r"\b(?:the\s+)?day\s+before\s+yesterday\b"), _offset(-2)),
    (re.compile(r"\b(?:tomorrow|tomorow|tommorow|tommorrow|tmrw|tmr)\b"), _offset(1)),
    (re.compile(r"\byesterday\b"), _offset(-1)),
    (re.compile(r"\b(?:today|tonight)\b"), _offset(0)),
    (re.compile(r"\bthis\s+(?:morning|afternoon|evening)\b"), _offset(0)),
    (
        re.compile(rf"\bin\s+({_NUMBER}|\d{{1,2}})\s+days?\b"),
        lambda m, today, _f: today + dt.timedelta(days=_NUMBER_WORDS.get(m.group(1)) or int(m.group(1))),
    ),
    (
        re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"),
        lambda m, _t, _f: _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3))),
    ),
    (
        re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}}){_ORDINAL}\b{_NOT_A_TIME}{_YEAR}"),
        lambda m, today, _f: _with_year(today, _MONTHS[m.group(1)], int(m.group(2)), m.group(3)),
    ),
    (
        re.compile(rf"\b(\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?({_MONTH})\b\.?{_YEAR}"),
        lambda m, today, _f: _with_year(today, _MONTHS[m.group(2)], int(m.group(1)), m.group(3)),
    ),
    (
        re.compile(r"(?<![\d/.])(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\d/])"),
        _numeric,
    ),
    (
        re.compile(r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b"),
        lambda m, today, _f: _day_of_month(today, int(m.group(1))),
    ),
    (
        re.compile(rf"(?<!')\b(?:(next|this|coming|last|past)\s+)?({_WEEKDAY})\b\.?"),
        lambda m, today, _f: _weekday(today, m.group(1), m.group(2)),
    ),
]

_PART_WORDS: list[tuple[re.Pattern[str], PartOfDay]] = [
    (
        re.compile(r"\b(?:mornings?|before\s+noon|before\s+lunch|breakfast)\b"),
        "morning",
    ),
    (
        re.compile(r"\b(?:afternoons?|after\s+lunch|lunch\s*time|lunch|noon|midday)\b"),
        "afternoon",
    ),
    (
        re.compile(r"\b(?:evenings?|tonight|nights?|after\s+work|after\s+dinner)\b"),
        "evening",
    ),
]
_CLOCK = re.compile(r"\b(\d{1,2})(?::([0-5]\d))?\s*(am|pm|a\.m\.?|p\.m\.?)(?!\w)")
_BARE_HOUR = re.compile(r"\b(?:at|around|by|after|before|from|between)\s+(\d{1,2})(?::([0-5]\d))?\b")


def _part_for_hour(hour: int) -> PartOfDay | None:
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 23:
        return "evening"
    return None


def _bare_hour_part(hour: int) -> PartOfDay | None:
    """A clock hour said without am/pm, read as a clinic's day: 7-11 am, 12-4 pm, 5-6 pm."""
    if hour >= 13:
        return _part_for_hour(hour)
    if 7 <= hour <= 11:
        return "morning"
    if hour == 12 or 1 <= hour <= 4:
        return "afternoon"
    if 5 <= hour <= 6:
        return "evening"
    return None


def _hide(pattern: re.Pattern[str], text: str) -> str:
    """``text`` with the matches of ``pattern`` blanked out (positions are kept)."""
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def _parts_of_day(lowered: str, without_dates: str) -> set[PartOfDay]:
    """The parts of the day asked for (not negated) in words, clock times or bare hours."""
    parts: set[PartOfDay] = set()
    masked = lowered
    for pattern, part in _PART_WORDS:
        parts.update(part for m in pattern.finditer(masked) if not _negated(masked, m.start()))
        masked = _hide(pattern, masked)
    for m in _CLOCK.finditer(without_dates):
        hour = int(m.group(1))
        if hour > 12 or _negated(without_dates, m.start()):
            continue
        is_pm = m.group(3).startswith("p")
        clock_part = _part_for_hour(hour % 12 + (12 if is_pm else 0))
        if clock_part:
            parts.add(clock_part)
    masked = _hide(_CLOCK, without_dates)
    for m in _BARE_HOUR.finditer(masked):
        bare_part = _bare_hour_part(int(m.group(1)))
        if bare_part and not _negated(masked, m.start()):
            parts.add(bare_part)
    return parts


def _dates(lowered: str, today: dt.date, day_first: bool) -> tuple[list[dt.date], str]:
    """Every day named in ``lowered`` and not negated, in order of mention.

    Also returns ``lowered`` with those mentions blanked out.
    """
    found: list[tuple[int, dt.date]] = []
    masked = lowered
    for pattern, read in _DATE_PATTERNS:
        for m in pattern.finditer(masked):
            when = read(m, today, day_first)
            if when is not None and not _negated(masked, m.start()):
                found.append((m.start(), when))
        masked = _hide(pattern, masked)
    return [when for _, when in sorted(found, key=lambda item: item[0])], masked


def read_preferred_time(text: str, today: dt.date, *, day_first: bool = False) -> PreferredTime:
    """Read a patient's preferred time ("next Tuesday morning", "3/3", "weekday mornings").

    A weekday ("Monday", "next Tuesday") is its next occurrence after today; a day without a
    year ("March 3rd", "3/3") the next one on or after today. Numeric dates are month first
    unless ``day_first``. Vague answers ("anytime", "after 3pm", "as soon as possible") are
    fine and have no ``date``; of several days named, the earliest not in the past is taken.
    """
    cleaned = clean_text(text)
    if not _has_content(cleaned):
        return PreferredTime(text=cleaned, problem="empty")
    lowered = cleaned.casefold().replace("\u2019", "'")
    named, without_dates = _dates(lowered, today, day_first)
    parts = _parts_of_day(lowered, without_dates)
    part_of_day = next(iter(parts)) if len(parts) == 1 else None
    upcoming = [when for when in named if when >= today]
    if upcoming:
        return PreferredTime(cleaned, min(upcoming), part_of_day)
    if named:
        return PreferredTime(cleaned, named[0], part_of_day, problem="past")
    return PreferredTime(cleaned, None, part_of_day)
