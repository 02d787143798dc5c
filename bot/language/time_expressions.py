"""Time expressions in a patient's message, turned into weeks.

``find_time_mentions`` implements the "Time" paragraph of ``clinical-rules.md``: a day is 1/7
week, a month 13/3 weeks, a year 52 weeks; a calendar date counts the days between it and
``today`` / 7; a vague time takes its middle ("last summer": the middle of Jun 1 - Aug 31,
"early March": the 5th, "late March": the 25th, "around Easter": Easter Sunday).

The grammar is regular expressions over a lower-cased copy of the text (same offsets) rather
than spaCy tokens: glued forms ("6wks", "3-month", "3/3/26") need no re-tokenising and a typo is
one more alternative. Two kinds of core are found, and the longest wins where they overlap:

- quantities ("about 6-8 wks", "a year and a half", "3 months 2 weeks", "1 yr n 2 mos"), read in
  their context:
  "... ago" / "it's been ..." (ago), "... after my fusion" / "... later" / "... post-op"
  (after_surgery), "I'm ... post-op" (ago: the surgery), "... before Christmas" (a date),
  "in ..." (future, unless the clause is in the past), otherwise a duration ("for ...");
  "3 days a week", "54 years old" and "2 weeks before surgery" give no mention;
- calendar points ("March 3rd", "3/3/26", "last summer", "right after Thanksgiving",
  "yesterday", "last Monday"): the most recent past occurrence, unless the text names a year
  (which may be ahead: ``problem="future"``) or says "next".

A mention's ``subject`` is the nearest surgery or pain-return word in its clause (or, if it has
none, in the clause after it, then the one before it, within the sentence).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, TypeVar

from bot.language.types import TimeAnchor, TimeMention, TimeSubject

__all__ = ["DAY", "MONTH", "WEEK", "YEAR", "TimeEvent", "find_time_mentions", "time_events"]

DAY = 1 / 7
WEEK = 1.0
MONTH = 13 / 3
YEAR = 52.0


def _rx(pattern: str) -> re.Pattern[str]:
    """Compile a pattern; patterns are written in lower case and matched on lower-cased text."""
    return re.compile(pattern)


@dataclass(frozen=True)
class _Context:
    """The message (lower-cased, same offsets) and the date it counts from."""

    text: str
    today: dt.date

    @property
    def ordinal(self) -> int:
        return self.today.toordinal()

    def before(self, pos: int, width: int = 48) -> str:
        """The text just before ``pos``, for the "...$" context patterns."""
        return self.text[max(0, pos - width) : pos]


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

_ONE_TO_NINE = "one|two|three|four|five|six|seven|eight|nine"
_NUMBER_WORDS: dict[str, float] = {
    word: float(value)
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
        " fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_NUMBER_WORDS.update(twenty=20, thirty=30, forty=40, fourty=40, fifty=50, sixty=60)
_WORD_NUMBER = (
    rf"(?:twenty|thirty|forty|fourty|fifty|sixty)(?:[\s-](?:{_ONE_TO_NINE}))?"
    r"|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
    rf"|{_ONE_TO_NINE}"
)
# Number phrases that are not plain numbers; "the ..." forms only make sense with a unit.
_PHRASE_NUMBERS: dict[str, float] = {
    "a": 1, "an": 1, "half a": 0.5, "half an": 0.5, "a half": 0.5,
    "couple": 2, "a couple": 2, "couple of": 2, "a couple of": 2, "coupla": 2, "a coupla": 2,
    "few": 3, "a few": 3, "several": 4,
    "the": 1, "the next": 1, "the following": 1,
    "the last": 1, "the past": 1, "this past": 1, "past": 1,
}  # fmt: skip
_AND_A_HALF = r"[\s-]*(?:\band\b|\bn\b|&)[\s-]*a[\s-]+half"
_NUMBER = (
    r"(?:\d+(?:\.\d+)?(?:\s*½|\s+(?:and\s+)?1/2)?|½"
    r"|(?:a\s+)?couple(?:\s+of)?|(?:a\s+)?coupla|(?:a\s+)?few|several"
    r"|half\s+an?|a\s+half"
    r"|(?:the|this)\s+(?:last|past)|past|the\s+(?:next|following)|the"
    rf"|{_WORD_NUMBER}|an?)"
    rf"(?:{_AND_A_HALF})?(?:-?ish|\+)?"
)
# Units, with the abbreviations and misspellings patients use; the one-letter ones only after
# digits ("3d", "6w", "2y"). Every spelling starts with the letter of its unit (or "fortnight").
_UNIT_WORD = (
    r"days?|dys?|dayz"
    r"|weeks?|weekes|weeeks?|weks?|wks?|fortnights?"
    r"|months?|monthes|monhts?|mnths?|mths?|monts|mounths?|moths?|mos"
    r"|years?|yeras|yaers|yesrs|yers|yrs?"
)
_UNIT_LETTER = r"d|w|mo|y"
_UNIT = rf"(?:{_UNIT_WORD}|{_UNIT_LETTER})"
# "3 great weeks", "a few more days", "6 long months"
_UNIT_ADJECTIVE = (
    r"(?:good|great|long|short|full|whole|solid|straight|more|painful|pain[\s-]?free|miserable"
    r"|amazing|wonderful|awful|terrible|horrible|hard|rough|blissful|glorious|normal|decent)\s+"
)
_HEDGE = (
    r"about|around|roughly|approximately|approx\.?|almost|nearly|over|well\s+over|just\s+over"
    r"|just\s+under|(?:a\s+)?(?:little|bit|tad)\s+(?:over|under|more\s+than|less\s+than)"
    r"|more\s+than|less\s+than|under|at\s+least|close\s+to|maybe|probably|prob|like|abt|arnd"
    r"|only|just|a\s+good|a\s+solid|exactly|barely|upwards\s+of|round\s+about|some"
)

_SURGERY_WORD = (
    r"surg(?:ery|eries|ury|ey|ary|erey|erys)|sugery|surgey|sx"
    r"|operations?|opperations?|operaton|oparation|op|ops|procedures?"
    r"|fusions?|fussion|(?:micro[\s-]?)?(?:disc|disk)(?:ectomy|ectomies|etomy)"
    r"|lamin(?:ectomy|ectomies|otomy)|lamenectomy|lami|foraminotomy|decompression"
    r"|[tpax]lif|acdf|operated|fused"
)
# "after <this>": the surgery, however the patient words it ("my L4-5 fusion", "I had it done").
_SURGERY_EVENT = (
    rf"(?:[\w'/-]+\s+){{0,3}}?(?:{_SURGERY_WORD})\b(?:\s+on(?:\s+me)?\b)?"
    r"|(?:[\w']+\s+){0,2}?(?:had|got|getting|having)\s+(?:it|this|that)\s+done\b"
)
_BACK_NOUN = (
    r"pain|ache|aches|spasms?|surgery|surgeon|problems?|issues?|injury|brace|muscles?"
    r"|to|into|from|up|on|out|home|at|and\s+forth|in\s+(?:the\s+)?(?:office|hospital|town)"
)
_RETURN = (
    r"(?<!\bi\s)(?<!\bwe\s)\b(?:came|come|comes|coming)\s+(?:right\s+|all\s+|straight\s+)?back\b"
    r"|\breturn(?:ed|s|ing)?\b(?!\s+to\s+(?:work|normal|the\s+(?:office|gym|job)))"
    r"|\brecurr?(?:ed|ence|ing|s)?\b"
    r"|\b(?:started|starting|starts|began|begun|kicked|came|flared)\s+(?:\w+\s+){0,2}?again\b"
    r"|\bback\s+again\b"
    r"|\b(?:crept|creeping|creep|creeps|snuck|sneaking|crawled|crawling)\s+(?:\w+\s+)?back\b"
    rf"|(?:\b(?:is|was|are|were|been)|'s)\s+(?:all\s+|totally\s+|definitely\s+)?back\b"
    rf"(?!\s+(?:{_BACK_NOUN})\b)"
    rf"|\b(?:pain|sciatica|symptoms|burning|numbness|ache)\s+back\b(?!\s+(?:{_BACK_NOUN})\b)"
    r"|\bflared?[\s-]*up\b|\bflare[\s-]*ups?\b|\bflar(?:ed|ing)\b"
    r"|\b(?:hurting|hurts|hurt|aching|aches|pain)\s+again\b"
    r"|\brelapsed?\b"
)
# "my post-op appointment was 2 weeks ago" is not the surgery
_POST_OP_NOUN = (
    r"appointments?|appts?|visits?|checks?|check-?ups?|follow[\s-]?ups?|f/u|pain|meds|medications?"
    r"|instructions|care|period|recovery|x-?rays?|mri|scans?|pt|physical|therapy|nurse|calls?|day"
)
_SURGERY_KEYWORD = _rx(
    rf"(?<!post)(?<!post-)(?<!post\s)\b(?:{_SURGERY_WORD})\b"
    r"|\b(?:had|got)\s+(?:it|this|that)\s+done\b|\bunder\s+the\s+knife\b"
    rf"|\bpost[\s-]?op(?:erative(?:ly)?)?\b(?!\s+(?:{_POST_OP_NOUN})\b)"  # "I've been post-op since March"
    r"|\b(?:rods?|screws|hardware|implants?|cages?)\b(?:\s+[\w-]+){0,3}?\s+(?:put\s+in|placed|installed|inserted)\b"
)
_RETURN_KEYWORD = _rx(_RETURN)
_SURGERY_IS_BEFORE = _rx(rf"\b(?:{_SURGERY_WORD})\b\s*(?:(?:was|is|'s)\s+|[:=-]\s*)?$")  # "surgery was 6 weeks"
_SubjectKind = Literal["surgery", "return"]
_SUBJECT_KEYWORDS: tuple[tuple[re.Pattern[str], _SubjectKind], ...] = (
    (_SURGERY_KEYWORD, "surgery"),
    (_RETURN_KEYWORD, "return"),
)


# --------------------------------------------------------------------------------------------
# Quantities: "about 6-8 wks", "a year and a half", "3 months 2 weeks", "the day"
# --------------------------------------------------------------------------------------------


def _part(tag: str) -> str:
    """One "number unit" part of a quantity, its groups named ``<tag>_...``."""
    return (
        rf"(?P<{tag}>"
        rf"(?:(?P<{tag}_lo>{_NUMBER})"
        rf"(?:(?:\s*[-–—]\s*|\s+(?:to|or|and)\s+)(?P<{tag}_hi>{_NUMBER}))?"
        rf"(?:(?<=\d)\s*-?\s*|\s*-\s*|\s+)(?:{_UNIT_ADJECTIVE})?"
        # without a number only "week and a half": a bare "d" ("micro d 3 months") is no part
        rf"|(?=(?:{_UNIT})\b{_AND_A_HALF}))"
        rf"(?P<{tag}_unit>{_UNIT})\b"
        rf"(?P<{tag}_half>{_AND_A_HALF})?"
        rf"(?:\s+or\s+(?P<{tag}_alt>two|three|four|2|3|4)\b(?!\s*-?\s*{_UNIT}\b))?"
        r"(?:-?ish|\+)?)"
    )


_QUANTITY = _rx(
    rf"(?<![\w./-])(?:(?:{_HEDGE})\s+|~\s*){{0,2}}(?:between\s+)?{_part('a')}"
    rf"(?:\s*,?\s*(?:(?:and|n|plus)\s+|&\s*)?{_part('b')})?(?:\s+or\s+so\b|\s+give\s+or\s+take\b)?"
)
_HALF_SUFFIX = _rx(rf"(?:\s*½|\s+(?:and\s+)?1/2|{_AND_A_HALF})$")


def _number(text: str) -> float | None:
    """The value of a number phrase: "6", "3 1/2", "two and a half", "a couple of", "½"."""
    s = re.sub(r"(?:-?ish|\+)$", "", text.strip().lower())
    value = 0.0
    half = _HALF_SUFFIX.search(s)
    if half:
        value, s = 0.5, s[: half.start()]
    if not s:
        return value or None
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return value + float(s)
    s = " ".join(re.split(r"[\s-]+", s))
    if s in _PHRASE_NUMBERS:
        return value + _PHRASE_NUMBERS[s]
    words = s.split()
    if all(w in _NUMBER_WORDS for w in words):
        return value + sum(_NUMBER_WORDS[w] for w in words)
    return None


def _unit_weeks(unit: str) -> float:
    first = unit[0].lower()
    if unit.lower().startswith("fortnight"):
        return 2 * WEEK
    return {"d": DAY, "w": WEEK, "m": MONTH, "y": YEAR}[first]


@dataclass(frozen=True)
class _Quantity:
    weeks: float
    end: int
    lead: str  # the number as written, lower-cased ("6", "a", "the", "the last", ...)
    unit: float


def _read_part(m: re.Match[str], tag: str) -> _Quantity | None:
    unit = m.group(f"{tag}_unit")
    lo, hi, half, alt = (m.group(f"{tag}_{g}") for g in ("lo", "hi", "half", "alt"))
    if lo is None:
        if not half:
            return None  # a bare "weeks": too vague
        n: float | None = 1.0
        lead = "a"
    else:
        lead = " ".join(lo.lower().split())
        n = _number(lo)
        if unit.lower() in ("d", "w", "mo", "y") and not lo[-1].isdigit():
            return None  # "an d", "a mo": one-letter units only after digits
        if hi is not None:
            top = _number(hi)
            if n is None or top is None or hi.lower().startswith(("the", "this", "past")):
                return None
            n = (n + top) / 2
    if n is None:
        return None
    if half:
        n += 0.5
    if alt:
        n = (n + (_number(alt) or n)) / 2
    weeks = n * _unit_weeks(unit)
    return _Quantity(weeks, m.end(tag), lead, _unit_weeks(unit))


def _read_quantity(m: re.Match[str]) -> _Quantity | None:
    """The weeks of a quantity match; a compound ("a year and 3 months") adds up its parts."""
    first = _read_part(m, "a")
    if first is None:
        return None
    if m.group("b") is None:
        return _Quantity(first.weeks, m.end(), first.lead, first.unit)
    second = _read_part(m, "b")
    if second is None or second.unit >= first.unit or second.lead.startswith(("the", "this", "past")):
        return first  # "6 weeks, 2 weeks": only the first part belongs here
    return _Quantity(first.weeks + second.weeks, m.end(), first.lead, first.unit)


# Context of a quantity: regexes matched right after it (.match) or ending right before it (.search).
_AGE_AFTER = _rx(r"\s*-?\s*(?:old\b|/o\b|\.o\.|of\s+age\b)")
_AGE_BEFORE = _rx(r"\b(?:age|aged|ages)\s+(?:of\s+)?$")
_FREQUENCY_AFTER = _rx(rf"(?:\s*/\s*|\s+(?:a|an|per|each|every)\s+)(?:{_UNIT_WORD}|d|w)\b")
_FREQUENCY_BEFORE = _rx(r"\b(?:every|each|per|once|twice|thrice|times|x|\d+\s*x)\s+(?:other\s+|single\s+)?$")
_PER_BEFORE = _rx(  # "3 days | a week", "10 mg | a day"
    r"(?:\b(?:days?|hours?|hrs?|minutes?|mins?|nights?|mg|pills?|tablets?|doses?|visits?"
    r"|sessions?|appointments?|miles?|steps?)|\d)\s+$"
)
_AGO_AFTER = _rx(rf"\.?\s*(?:ago|agoo|agao|aog|agp|back\b(?!\s+(?:{_BACK_NOUN})\b))\b(?:\s+(?:today|now)\b)?")
_SINCE_AFTER = _rx(
    rf"\s+since\s+(?:(?P<surgery>{_SURGERY_EVENT})|(?P<ret>(?:[\w']+\s+){{0,3}}?(?:{_RETURN}))"
    r"|(?P<then>then|that)\b)?"
)
_POST_SURGERY = (
    rf"\.?\s*-?\s*post(?:[\s-]*(?:op(?:erative(?:ly)?|eration|p|s)?|{_SURGERY_WORD}))?\b"
    rf"|\s+(?:after|following|from|out\s+(?:from|of))\s+(?:{_SURGERY_EVENT})"
)
_AFTER_SURGERY_AFTER = _rx(
    rf"{_POST_SURGERY}"
    r"|\s+out\b(?!\s+(?:of|from)\b)"
    r"|\s+into\s+(?:(?:my|the)\s+)?recovery\b"
    r"|\s+later\b|\s+mark\b"
    r"|\s+in\b(?=\s*(?:[,.;!?]|$|and\b|now\b|but\b))"
    r"|\s+after(?:wards?)?\b(?:\s+(?:that|this)\b)?(?=\s*(?:[,.;:!?)]|$|(?:and|but|then|the\s+pain"
    r"|my\s+pain|pain|it\s+(?:came|was|started|returned|got|flared)|i\s+(?:was|felt|started|noticed))\b))"
)
_OF_SURGERY_AFTER = _rx(rf"\s+(?:of|after|following)\s+(?:{_SURGERY_EVENT})")
_OF_AFTER = _rx(r"\s+of\b")
_SHIFT_AFTER = _rx(r"\s+(?P<dir>after|before|following|prior\s+to)\s+")
_BEFORE_SURGERY_AFTER = _rx(rf"\s+(?:before|prior\s+to|pre)\s*-?\s*(?:{_SURGERY_EVENT}|op\b)")
_FUTURE_AFTER = _rx(r"\s+(?:from\s+(?:now|today)|away\b(?!\s+from\s+(?:work|the\s+office|home)))\b")
# "I'm (now) 6 weeks post-op", "I'm post op 6 weeks": the surgery was that long ago
_IM_BEFORE = _rx(
    r"(?:\bi'?m|\bi\s+am|\bim|\bam\s+now|\bcurrently)\s+"
    r"(?:(?:now|at|on|only|just|almost|already|post[\s-]?op|post[\s-]?surgery)\s+){0,2}$"
)
# "day 10 post op", "POD 10", "week 6 after surgery": the n-th day / week after the surgery
_NTH_UNIT = _rx(
    r"\b(?:(?:pod|post[\s-]?op(?:erative)?\s+day)\s*#?\s*(?P<pod>\d{1,3})"
    r"|(?P<unit>day|week|month)\s+#?(?P<n>\d{1,3})"
    r"|(?P<nth>\d{1,2}(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
    r"|eleventh|twelfth)\s+(?P<nth_unit>day|week|month)"
    r"|(?P<right_after>(?:right|immediately|just|straight|directly)\s+after))\b"
)
_SURGERY_OBJECT = _rx(rf"\s+(?:{_SURGERY_EVENT})")
_POST_SURGERY_AFTER = _rx(_POST_SURGERY)
_IN_WEEK_BEFORE = _rx(r"\b(?:in|around|at|by|during|about)\s+$")
_ITS_BEEN_BEFORE = _rx(
    r"\b(?:it|that|this|its)(?:'s|s|\s+has|\s+is|\s+had)?\s+(?:(?:now|already|only|just)\s+)?been\s+"
    r"(?:(?:now|already|only|just)\s+)?$|\bit'?s\s+(?:(?:now|already|only|just)\s+)?$"
)
_SINCE_BEFORE = _rx(r"\bsince\s+$")
_WITHIN_BEFORE = _rx(r"\b(?:within|inside\s+of|inside)\s+$")
_IN_BEFORE = _rx(r"\bin\s+$")
_DURATION_BEFORE = _rx(r"\b(?:for|last|past|previous|first|next|these|those|following|lasted|took|takes|spent)\s+$")
_AFTER_BEFORE = _rx(r"\b(?:after|at|by)\s+$")
_PAST_TENSE = _rx(r"\b(?:was|were|had|did|came|went|got|felt|began|started|returned|happened|flared|crept|noticed)\b")
_FUTURE_TENSE = _rx(r"\b(?:will|won't|going\s+to|gonna|scheduled|next|appointment|plan(?:ned|ning)?|supposed)\b|'ll\b")


# --------------------------------------------------------------------------------------------
# Calendar points: each resolves to "days before today" (negative: in the future)
# --------------------------------------------------------------------------------------------


YearPoint = Callable[[int], float | None]  # year -> ordinal day (may be fractional), if any


def _recent(ctx: _Context, point: YearPoint, shift: float, strict: bool) -> float | None:
    """Days since the most recent past occurrence of ``point`` (+ ``shift`` days)."""
    for year in range(ctx.today.year + 1, ctx.today.year - 9, -1):
        day = point(year)
        if day is not None and (day + shift < ctx.ordinal or (day + shift == ctx.ordinal and not strict)):
            return ctx.ordinal - day - shift
    return None


def _upcoming(ctx: _Context, point: YearPoint, shift: float) -> float | None:
    """Days since (i.e. minus days until) the next occurrence of ``point`` after today."""
    for year in range(ctx.today.year - 1, ctx.today.year + 9):
        day = point(year)
        if day is not None and day + shift > ctx.ordinal:
            return ctx.ordinal - day - shift
    return None


def _in_year(ctx: _Context, point: YearPoint, year: int, shift: float) -> float | None:
    day = point(year)
    return None if day is None else ctx.ordinal - day - shift


def _date(year: int, month: int, day: int) -> float | None:
    try:
        return float(dt.date(year, month, day).toordinal())
    except ValueError:
        return None


def _full_year(text: str, today: dt.date) -> int:
    """A year as written: "2025", or "25" (2025; "99" is 1999: no more than a year ahead)."""
    year = int(text)
    if len(text) == 2:
        year += 2000 if 2000 + year <= today.year + 1 else 1900
    return year


def _month_days(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


_YEAR_SUFFIX = (
    r"(?:,?\s*(?P<year>(?:19|20)\d{2})\b|,?\s*'(?P<yy>\d{2})\b"
    r"|\s+(?:of\s+)?(?P<lastyear>last\s+year)\b|\s+(?:of\s+)?(?P<thisyear>this\s+year)\b)?"
)
_RELATIVE = r"(?:(?P<rel>last|this\s+past|this|next)\s+)?"


def _by_year(ctx: _Context, m: re.Match[str], point: YearPoint, shift: float, strict: bool) -> float | None:
    """Resolve a yearly ``point`` using the match's year words ("2025", "last year", "next")."""
    groups = m.groupdict()
    if groups.get("year"):
        return _in_year(ctx, point, int(groups["year"]), shift)
    if groups.get("yy"):
        return _in_year(ctx, point, _full_year(groups["yy"], ctx.today), shift)
    if groups.get("lastyear") or groups.get("lastyear0"):
        return _in_year(ctx, point, ctx.today.year - 1, shift)
    rel = " ".join((groups.get("rel") or "").lower().split())
    if groups.get("thisyear") or rel == "this":
        return _in_year(ctx, point, ctx.today.year, shift)
    if rel == "next":
        return _upcoming(ctx, point, shift)
    return _recent(ctx, point, shift, strict=strict or rel in ("last", "this past"))


# Months -------------------------------------------------------------------------------------
_MONTH = (
    r"(?:january|janurary|janaury|february|feburary|febuary|febrary|march|april|may|june|july"
    r"|august|agust|september|septmber|october|november|december|decemeber"
    r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\b(?:\.(?=\s*\d))?"
)
# Months that are also words or names: only with a day, a year, or "in" / "since" / "last"...
_AMBIGUOUS_MONTHS = set("may march jan feb mar apr jun jul aug sep sept oct nov dec".split())
_MONTH_CONTEXT_BEFORE = _rx(
    r"\b(?:in|since|during|until|till|til|from|of|by|around|about|through|between|after|before"
    r"|sometime|into)\s+(?:the\s+)?$"
)


def _month_number(word: str) -> int:
    w = word.lower().rstrip(".")
    return 8 if w == "agust" else "jan feb mar apr may jun jul aug sep oct nov dec".split().index(w[:3]) + 1


_FIRST_TO_NINTH = "first second third fourth fifth sixth seventh eighth ninth".split()
_ORDINAL_WORDS: dict[str, int] = {
    word: i + 1
    for i, word in enumerate(
        _FIRST_TO_NINTH
        + "tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth"
        " seventeenth eighteenth nineteenth twentieth".split()
    )
}
_ORDINAL_WORDS.update({f"twenty {word}": 21 + i for i, word in enumerate(_FIRST_TO_NINTH)})
_ORDINAL_WORDS.update({"thirtieth": 30, "thirty first": 31})
_DAY_OF_MONTH = (
    r"(?:[0-3]?\d(?:\s?(?:st|nd|rd|th))?"
    rf"|twenty[\s-](?:{'|'.join(_FIRST_TO_NINTH)})|thirty[\s-]first"
    rf"|{'|'.join(sorted((w for w in _ORDINAL_WORDS if ' ' not in w), key=len, reverse=True))})"
)


def _part_of(name: str) -> str:
    """Regex for a part of a month, season or year ("early", "mid-", "the end of", "the last
    week of"), group ``name``."""
    return (
        rf"(?P<{name}>early|mid|middle\s+of|late|end\s+of|beginning\s+of|start\s+of"
        r"|the\s+(?:middle|end|beginning|start)\s+of"
        r"|(?:the\s+)?(?:first|1st|second|2nd|third|3rd|fourth|4th|last)\s+week\s+of)[\s-]+"
    )


# "last year in March", "last year around Christmas"
_LAST_YEAR_FIRST = r"(?:(?P<lastyear0>last\s+year),?\s+(?:in|around|during|at|over|on|right\s+after|just\s+before)\s+)?"
# "early March", "last March", "mid last summer"
_PARTS_AND_RELATIVE = rf"{_LAST_YEAR_FIRST}(?:{_part_of('part')})?{_RELATIVE}(?:{_part_of('part2')})?"


def _day_number(text: str) -> int:
    s = " ".join(re.split(r"[\s-]+", text.lower()))
    digits = re.match(r"\d+", s)
    if digits:
        return int(digits.group())
    return _ORDINAL_WORDS.get(s, 0)


PartOf = Literal["start", "early", "mid", "late", "end"]


def _part_kind(part: str | None) -> PartOf | None:
    """Which part of a month, season or year the words name; None: the whole of it."""
    if not part:
        return None
    p = part.lower().removeprefix("the ")
    if p.endswith("week of"):
        p = {"first": "start", "1st": "start", "second": "early", "2nd": "early", "last": "end"}.get(
            p.split()[0], "mid"
        )
    if p.startswith(("beginning", "start")):
        return "start"
    if p.startswith("end"):
        return "end"
    return "early" if p.startswith("early") else "late" if p.startswith("late") else "mid"


_WEEK_OF_MONTH = {
    "first": 4,
    "1st": 4,
    "second": 11,
    "2nd": 11,
    "third": 18,
    "3rd": 18,
    "fourth": 25,
    "4th": 25,
}


def _part_day(part: str | None) -> int | None:
    """The day of the month a part stands for: early ~5th, mid ~15th, late ~25th, the n-th week
    its middle day (the last week: the 28th); None: the middle of the month."""
    words = (part or "").lower().removeprefix("the ").split()
    if words[-2:] == ["week", "of"]:
        return _WEEK_OF_MONTH.get(words[0], 28)
    kind = _part_kind(part)
    return None if kind is None else {"start": 5, "early": 5, "mid": 15, "late": 25, "end": 25}[kind]


_MONTH_DAY = _rx(
    rf"\b(?P<month>{_MONTH})\s*(?:the\s+)?(?P<day>{_DAY_OF_MONTH})\b"
    rf"(?!\s*-?\s*(?:{_UNIT}|times|x|am|pm|mg|%|screws?|levels?|hours?|hrs?)\b|:\d)" + _YEAR_SUFFIX
)
_DAY_MONTH = _rx(rf"\b(?:the\s+)?(?P<day>{_DAY_OF_MONTH})\s+(?P<of>of\s+)?(?P<month>{_MONTH})" + _YEAR_SUFFIX)
_MONTH_ONLY = _rx(rf"\b{_PARTS_AND_RELATIVE}(?P<month>{_MONTH}){_YEAR_SUFFIX}")


def _resolve_month_day(m: re.Match[str], ctx: _Context, shift: float) -> float | None:
    month_word, day_text = m.group("month"), m.group("day")
    ambiguous = month_word.lower().rstrip(".") in ("may", "march")
    no_year = not any(m.group(g) for g in ("year", "yy", "lastyear", "thisyear"))
    if "of" in m.groupdict() and ambiguous and not m.group("of") and day_text.isdigit() and no_year:
        return None  # "2 may", "3 march": not dates ("3 March 2026" is)
    month, day = _month_number(month_word), _day_number(day_text)
    if not 1 <= day <= 31:
        return None
    return _by_year(ctx, m, lambda y: _date(y, month, day), shift, strict=False)


_PUNCTUATION = " \t\n.,!?;:'\"()"


def _resolve_month(m: re.Match[str], ctx: _Context, shift: float) -> float | None:
    word = m.group("month").lower().rstrip(".")
    part = m.group("part") or m.group("part2")
    has_context = any(m.group(g) for g in ("part", "part2", "rel", "year", "yy", "lastyear", "lastyear0", "thisyear"))
    whole_answer = not ctx.text[: m.start()].strip(_PUNCTUATION) and not ctx.text[m.end() :].strip(_PUNCTUATION)
    if (
        word in _AMBIGUOUS_MONTHS
        and not (has_context or whole_answer)
        and not _MONTH_CONTEXT_BEFORE.search(ctx.before(m.start()))
    ):
        return None  # "I may", "march" without "in", "since", a year... ("May." alone is fine)
    if word == "may" and (m.group("rel") or "") == "this" and not m.group("year"):
        return None  # "this may hurt"
    month, day = _month_number(word), _part_day(part)

    def point(year: int) -> float:
        if day is not None:
            return float(dt.date(year, month, day).toordinal())
        first = dt.date(year, month, 1).toordinal()
        return first + (_month_days(year, month) - 1) / 2

    return _by_year(ctx, m, point, shift, strict=True)


# Numeric dates ----------------------------------------------------------------------------
_SLASH_DATE = _rx(
    r"(?<![\w/.-])(?P<month>\d{1,2})/(?P<day>\d{1,2})(?:/(?P<year>\d{4}|\d{2}))?(?![\w/]|\.\d|\s*(?:pain|out\s+of)\b)"
)
_ISO_DATE = _rx(r"(?<![\w/.-])(?P<year>\d{4})[-/](?P<month>\d{1,2})[-/](?P<day>\d{1,2})(?![\w/-])")
_DASH_DATE = _rx(  # "3-3-26", "3.3.2026": only with a year
    r"(?<![\w/.-])(?P<month>\d{1,2})(?P<sep>[-.])(?P<day>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})(?![\w/-]|\.\d)"
)
_DATE_CONTEXT_BEFORE = _rx(r"\b(?:on|since|dated?|date\s+was)\s+$")
_FRACTIONS = {(1, 2), (1, 3), (2, 3), (1, 4), (3, 4)}


def _resolve_numeric(m: re.Match[str], ctx: _Context, shift: float) -> float | None:
    month, day = int(m.group("month")), int(m.group("day"))
    year_text = m.group("year")
    if year_text is None and (day in (5, 10) or (month, day) in _FRACTIONS):
        # "8/10" is a pain score, "4/5" a strength grade, "1/2" a half: dates only after "on", "since"
        if not _DATE_CONTEXT_BEFORE.search(ctx.before(m.start())):
            return None

    def point(year: int) -> float | None:
        return _date(year, month, day)

    if year_text is None:
        return _recent(ctx, point, shift, strict=False)
    year = _full_year(year_text, ctx.today)
    return _in_year(ctx, point, year, shift)


# Years ------------------------------------------------------------------------------------
_YEAR_ONLY = _rx(rf"(?<![\w/.$-])(?:{_part_of('part')})?(?P<year>(?:19|20)\d{{2}})\b(?![/-]\d)")
_BORN_BEFORE = _rx(r"\bborn\s+(?:in\s+)?$")
_YEAR_CONTEXT_BEFORE = _rx(r"\b(?:in|since|during|from|of|around|by|until|till|back\s+in|sometime\s+in)\s+$")


_YEAR_PART = _rx(rf"\b{_part_of('part')}(?P<which>the|this|last|next)\s+year\b")  # "the end of last year"


def _year_part_point(part: str) -> Callable[[int], float]:
    """Where in a year its part lies: the start ~ mid-January, early ~ mid-February, mid ~ early
    July, late ~ mid-November, the end ~ mid-December."""
    day = {"start": 14, "early": 45, "mid": 182, "late": 320, "end": 348}[_part_kind(part) or "mid"]
    return lambda year: float(dt.date(year, 1, 1).toordinal() + day)


def _resolve_year(m: re.Match[str], ctx: _Context, shift: float) -> float | None:
    part = m.group("part")
    before = ctx.before(m.start())
    if not part and (not _YEAR_CONTEXT_BEFORE.search(before) or _BORN_BEFORE.search(before)):
        return None  # "2024" alone is no time; "born in 1970" is an age
    year = int(m.group("year"))
    if part:
        return _in_year(ctx, _year_part_point(part), year, shift)
    start = dt.date(year, 1, 1).toordinal()
    if year == ctx.today.year:
        return ctx.ordinal - (start + ctx.ordinal) / 2 - shift  # the middle of the year so far
    return ctx.ordinal - start - 182 - shift


def _resolve_year_part(m: re.Match[str], ctx: _Context, shift: float) -> float | None:
    point, which = _year_part_point(m.group("part")), m.group("which").lower()
    if which == "the":
        return _recent(ctx, point, shift, strict=True)
    return _in_year(ctx, point, ctx.today.year + {"this": 0, "last": -1, "next": 1}[which], shift)


# Seasons ----------------------------------------------------------------------------------
_SEASON = _rx(
    rf"\b{_PARTS_AND_RELATIVE}(?:the\s+)?"
    r"(?P<season>spring|summer|fall|autumn|winter)(?:time)?\b"
    r"(?:\s+(?:of\s+)?(?P<year>(?:19|20)\d{2})\b|\s+(?:of\s+)?(?P<lastyear>last\s+year)\b)?"
)
_SEASON_MONTHS = {"spring": (3, 5), "summer": (6, 8), "fall": (9, 11), "autumn": (9, 11), "winter": (12, 2)}
_POSSESSIVE_BEFORE = _rx(r"\b(?:my|a|his|her|the)\s+$")  # "my last fall"
_FALL_CONTEXT_BEFORE = _rx(r"\b(?:in|during|over|around|through|throughout|by|until|till)\s+(?:the\s+)?$")


def _season_span(season: str, year: int) -> tuple[int, int]:
    """First and last day of a season; winter ``year`` is the one holding January of ``year``."""
    first_month, last_month = _SEASON_MONTHS[season]
    first_year = year - 1 if season == "winter" else year
    return (
        dt.date(first_year, first_month, 1).toordinal(),
        dt.date(year, last_month, _month_days(year, last_month)).toordinal(),
    )


def _resolve_season(m: re.Match[str], ctx: _Context, shift: float) -> float | None:
    season = m.group("season").lower()
    part = m.group("part") or m.group("part2")
    rel = " ".join((m.group("rel") or "").lower().split())
    before = ctx.before(m.start())
    if season == "fall" and not any(m.group(g) for g in ("part", "part2", "rel", "year", "lastyear", "lastyear0")):
        if not _FALL_CONTEXT_BEFORE.search(before):
            return None  # "a fall", "since the fall": an accident, not autumn
    if rel == "last" and _POSSESSIVE_BEFORE.search(before):
        return None  # "my last fall"

    def point(year: int) -> float:
        first, last = _season_span(season, year)
        kind = _part_kind(part)
        if kind in ("start", "early"):
            return first + 15.0
        if kind in ("late", "end"):
            return last - 15.0
        return (first + last) / 2

    if m.group("year"):
        return _in_year(ctx, point, int(m.group("year")), shift)
    if m.group("lastyear") or m.group("lastyear0"):
        return _in_year(ctx, point, ctx.today.year - 1, shift)
    if rel == "next":
        return _upcoming(ctx, point, shift)
    if rel in ("last", "this past"):  # the most recent season that is over
        for year in range(ctx.today.year + 1, ctx.today.year - 3, -1):
            if _season_span(season, year)[1] < ctx.ordinal:
                return ctx.ordinal - point(year) - shift
        return None
    if rel == "this":  # still going on: the middle of what has passed of it
        for year in (ctx.today.year, ctx.today.year + 1):
            first, last = _season_span(season, year)
            if first <= ctx.ordinal <= last and not part:
                return ctx.ordinal - (first + ctx.ordinal) / 2 - shift
    return _recent(ctx, point, shift, strict=True)


# Holidays ---------------------------------------------------------------------------------
def _easter(year: int) -> dt.date:
    """Easter Sunday (Anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month = (h + el - 7 * m + 114) // 31
    day = (h + el - 7 * m + 114) % 31 + 1
    return dt.date(year, month, day)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The ``n``-th ``weekday`` (Monday 0) of a month; ``n = -1``: the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year, month, _month_days(year, month))
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


_HOLIDAYS: tuple[tuple[str, Callable[[int], dt.date]], ...] = (
    (r"thanks\s*g(?:i|e)?v(?:i|e)?ng|turkey\s+day", lambda y: _nth_weekday(y, 11, 3, 4)),
    (r"black\s+friday", lambda y: _nth_weekday(y, 11, 3, 4) + dt.timedelta(days=1)),
    (r"(?:chr?is?t?mass?|x-?mas)\s+eve", lambda y: dt.date(y, 12, 24)),
    (r"(?:chr?is?t?mass?|x-?mas)(?:\s+day|\s*time)?", lambda y: dt.date(y, 12, 25)),
    (r"new\s*year'?s?\s+eve", lambda y: dt.date(y, 12, 31)),
    (r"new\s*year'?s?(?:\s+day)?", lambda y: dt.date(y, 1, 1)),
    (r"easter(?:\s+sunday|\s+weekend)?", _easter),
    (r"memorial\s+day(?:\s+weekend)?", lambda y: _nth_weekday(y, 5, 0, -1)),
    (r"labou?r\s+day(?:\s+weekend)?", lambda y: _nth_weekday(y, 9, 0, 1)),
    (
        r"(?:the\s+)?(?:fourth|4th)\s+of\s+july|july\s+(?:4th|4|fourth)\b|independence\s+day",
        lambda y: dt.date(y, 7, 4),
    ),
    (r"valentine'?s?(?:\s+day)?|v-?day", lambda y: dt.date(y, 2, 14)),
    (r"hallowe'?en", lambda y: dt.date(y, 10, 31)),
    (r"mother'?s'?\s+day", lambda y: _nth_weekday(y, 5, 6, 2)),
    (r"father'?s'?\s+day", lambda y: _nth_weekday(y, 6, 6, 3)),
    (r"(?:st\.?|saint)\s+patrick'?s?(?:\s+day)?|st\.?\s+paddy'?s(?:\s+day)?", lambda y: dt.date(y, 3, 17)),
    (r"the\s+holidays|the\s+holiday\s+season", lambda y: dt.date(y, 12, 25)),
)
_CLOSE_TO = r"(?:(?:right|just|shortly|immediately|soon)\s+(?:after|before)|around|about|the\s+week\s+of)\s+"
_HOLIDAY = _rx(
    rf"\b{_LAST_YEAR_FIRST}\b(?:{_CLOSE_TO})?"
    + _RELATIVE
    + r"(?:the\s+)?(?:"
    + "|".join(f"(?P<h{i}>{pattern})" for i, (pattern, _) in enumerate(_HOLIDAYS))
    + r")\b"
    + _YEAR_SUFFIX
)


def _resolve_holiday(m: re.Match[str], ctx: _Context, shift: float) -> float | None:
    date_of = next(fn for i, (_, fn) in enumerate(_HOLIDAYS) if m.group(f"h{i}"))
    return _by_year(ctx, m, lambda y: float(date_of(y).toordinal()), shift, strict=False)


# Relative days, weekdays, "on the 3rd" ----------------------------------------------------
_RELATIVE_DAYS: tuple[tuple[str, Callable[[dt.date], float]], ...] = (
    (r"(?:the\s+)?day\s+before\s+yesterday", lambda t: 2.0),
    (r"yesterday(?:\s+(?:morning|afternoon|evening))?|last\s+night", lambda t: 1.0),
    (r"(?:earlier\s+)?today|this\s+(?:morning|afternoon|evening)|tonight|just\s+now", lambda t: 0.0),
    (r"the\s+other\s+day", lambda t: 3.0),
    (r"the\s+week\s+before\s+last", lambda t: 14.0),
    (r"the\s+month\s+before\s+last", lambda t: 2 * MONTH * 7),
    (r"the\s+year\s+before\s+last", lambda t: 2 * YEAR * 7),
    (r"last\s+week", lambda t: 7.0),
    (r"last\s+month", lambda t: MONTH * 7),
    (r"last\s+year", lambda t: YEAR * 7),
    (r"(?:earlier\s+)?this\s+week", lambda t: t.weekday() / 2),
    (r"(?:earlier\s+)?this\s+month", lambda t: (t.day - 1) / 2),
    (r"(?:earlier\s+)?this\s+year", lambda t: (t.timetuple().tm_yday - 1) / 2),
    (
        r"(?:last|this\s+past|over\s+the|during\s+the)\s+weekend",
        lambda t: ((t.weekday() - 5) % 7 or 7) - 0.5,  # Saturday evening of the last weekend
    ),
    (r"(?:the\s+)?day\s+after\s+tomorrow", lambda t: -2.0),
    (r"tomorrow", lambda t: -1.0),
    (r"next\s+week", lambda t: -7.0),
    (r"next\s+month", lambda t: -MONTH * 7),
    (r"next\s+year", lambda t: -YEAR * 7),
)
_RELATIVE_DAY = _rx(
    r"\b(?:" + "|".join(f"(?P<r{i}>{pattern})" for i, (pattern, _) in enumerate(_RELATIVE_DAYS)) + r")\b"
)


_AS_OF_BEFORE = _rx(r"\bas\s+of\s+$")
_TODAY_IS = _rx(
    r",?\s+(?:marks|makes|marked|made|is|was|it'?s|it\s+(?:is|was|has\s+been)|i'?m|i\s+am|i\s+was)\s+(?:(?:exactly|just|about|officially)\s+)?"
    rf"(?:\d|{_ONE_TO_NINE}|ten|eleven|twelve|an?\b|day\b|week\b|month\b)"
)


def _resolve_relative_day(m: re.Match[str], ctx: _Context, shift: float) -> float | None:
    if m.group().endswith(("today", "yesterday")):
        if _AS_OF_BEFORE.search(ctx.before(m.start())) or _TODAY_IS.match(ctx.text, m.end()):
            return None  # "as of today I'm 6 weeks out", "yesterday was 6 weeks": only the reference
    days = next(fn for i, (_, fn) in enumerate(_RELATIVE_DAYS) if m.group(f"r{i}"))
    return days(ctx.today) - shift


_HABIT_BEFORE = _rx(r"\b(?:a|every|each|most|some|any)\s+$")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = _rx(
    r"\b(?:(?P<rel>last|this\s+past|this|next)\s+)?"
    r"(?P<weekday>monday|tuesday|tues|wednesday|wensday|wednsday|weds|thursday|thurs|friday|saturday|sunday)"
    r"\b(?:\s+(?:morning|afternoon|evening|night)\b)?"
)


def _resolve_weekday(m: re.Match[str], ctx: _Context, shift: float) -> float | None:
    if _HABIT_BEFORE.search(ctx.before(m.start())):
        return None  # "on a Tuesday", "every Monday": not one day
    word = m.group("weekday").lower()
    index = next(i for i, name in enumerate(_WEEKDAYS) if name[:3] == word[:3])
    rel = " ".join((m.group("rel") or "").lower().split())
    back = (ctx.today.weekday() - index) % 7
    if rel == "next":
        return -float((index - ctx.today.weekday()) % 7 or 7) - shift
    if rel == "this":
        return float(ctx.today.weekday() - index) - shift  # this week's (Monday-based): maybe ahead
    return float(back or 7) - shift


_DAY_ONLY = _rx(
    r"\bthe\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)\b(?:\s+of\s+(?P<which>this|last)\s+month\b"
    r"|(?!\s+(?:of\b|time|week|day|floor|level|visit|surgery|grade|place|try|attempt|injection)))"
)

_DAY_ONLY_CONTEXT_BEFORE = _rx(r"\b(?:on|since|around|by|until|till)\s+$")


def _resolve_day_only(m: re.Match[str], ctx: _Context, shift: float) -> float | None:
    if not _DAY_ONLY_CONTEXT_BEFORE.search(ctx.before(m.start())):
        return None
    day = int(m.group("day"))
    best: float | None = None
    year, month = ctx.today.year, ctx.today.month
    if m.group("which"):  # "the 15th of last month": that month, even if the day is invalid there
        if m.group("which").lower() == "last":
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        date = _date(year, month, day)
        return None if date is None else ctx.ordinal - date - shift
    for _ in range(3):  # this month, the one before, the one before that
        date = _date(year, month, day)
        if date is not None and date + shift <= ctx.ordinal:
            best = ctx.ordinal - date - shift
            break
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return best


Resolver = Callable[[re.Match[str], _Context, float], float | None]
_POINTS: tuple[tuple[re.Pattern[str], Resolver], ...] = (
    (_MONTH_DAY, _resolve_month_day),
    (_DAY_MONTH, _resolve_month_day),
    (_MONTH_ONLY, _resolve_month),
    (_SLASH_DATE, _resolve_numeric),
    (_ISO_DATE, _resolve_numeric),
    (_DASH_DATE, _resolve_numeric),
    (_YEAR_ONLY, _resolve_year),
    (_YEAR_PART, _resolve_year_part),
    (_SEASON, _resolve_season),
    (_HOLIDAY, _resolve_holiday),
    (_RELATIVE_DAY, _resolve_relative_day),
    (_WEEKDAY, _resolve_weekday),
    (_DAY_ONLY, _resolve_day_only),
)


def _point_at(ctx: _Context, pos: int, shift: float) -> tuple[int, float] | None:
    """The longest calendar point starting exactly at ``pos``: its end and days ago."""
    best: tuple[int, float] | None = None
    for pattern, resolve in _POINTS:
        m = pattern.match(ctx.text, pos)
        if m and m.end() > pos and (best is None or m.end() > best[0]):
            days = resolve(m, ctx, shift)
            if days is not None:
                best = (m.end(), days)
    return best


# --------------------------------------------------------------------------------------------
# Clauses: sentences (split at . ! ? ; "but") and the clauses inside them (", the pain...",
# "and it...", "then", "until")
# --------------------------------------------------------------------------------------------

_SENTENCE_BREAK = r"[.!?;\n]+(?=\s|$)|[!?;\n]+|\s*\b(?:but|though|although|however|whereas)\b"
_CLAUSE_START = (
    r"then|now|i|i'm|im|i've|it|it's|its|my|the|that|this|which|she|he|they|we|pain|since|after"
    r"|before|today|yesterday|last|surgery|operation|fusion"
)
_CLAUSE_BREAK = _rx(
    rf"(?P<sentence>{_SENTENCE_BREAK})"
    r"|\s*\b(?:until|till|til|then)\b"
    rf"|,\s*(?=(?:(?:and|so|but)\s+)?(?:{_CLAUSE_START}|so|and|but)\b)"
    rf"|\s+(?:and|so|plus)\s+(?=(?:{_CLAUSE_START}|about|around|a|an|\d|{_ONE_TO_NINE}|ten|several|few|couple)\b)"
)


@dataclass(frozen=True)
class _Break:
    start: int
    end: int
    sentence: bool  # ends a sentence, not only a clause


def _breaks(text: str, inside: list[tuple[int, int]]) -> list[_Break]:
    """Clause breaks of ``text``, except those falling inside the spans ``inside``."""
    breaks: list[_Break] = []
    for b in _CLAUSE_BREAK.finditer(text):
        if any(s < b.end() and b.start() < e for s, e in inside):
            continue
        sentence = b.group("sentence") is not None
        if breaks and not text[breaks[-1].end : b.start()].strip():  # ", and then": one break
            breaks[-1] = _Break(breaks[-1].start, b.end(), breaks[-1].sentence or sentence)
        else:
            breaks.append(_Break(b.start(), b.end(), sentence))
    return breaks


def _clause_around(breaks: list[_Break], start: int, end: int, length: int) -> tuple[int, int]:
    left = max((b.end for b in breaks if b.end <= start), default=0)
    right = min((b.start for b in breaks if b.start >= end), default=length)
    return left, right


def _clause_of(ctx: _Context, pos: int) -> str:
    """The clause around ``pos`` (used for its tense, before any mention is known)."""
    left, right = _clause_around(_breaks(ctx.text, []), pos, pos, len(ctx.text))
    return ctx.text[left:right]


# --------------------------------------------------------------------------------------------
# Candidates
# --------------------------------------------------------------------------------------------

_Fixed = Literal["surgery", "return", "clause"]


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    weeks: float = 0.0
    anchor: TimeAnchor = "duration"
    subject: _Fixed = "clause"  # "clause": decided by the words around it
    future: bool = False
    keep: bool = True  # False: not a time ("3 days a week", "54 years old"), but still blocks its span


def _from_days(start: int, end: int, days: float, subject: _Fixed = "clause") -> _Candidate:
    return _Candidate(start, end, abs(days) / 7, "ago", subject, future=days < 0)


def _quantity_candidate(m: re.Match[str], ctx: _Context) -> _Candidate | None:
    """Read a quantity in its context: ago, after the surgery, a date shift, or a duration."""
    q = _read_quantity(m)
    if q is None:
        return None
    text, start, end, weeks = ctx.text, m.start(), q.end, q.weeks
    before = ctx.before(start)

    def make(anchor: TimeAnchor, span_end: int = end, subject: _Fixed = "clause") -> _Candidate:
        return _Candidate(start, span_end, weeks, anchor, subject)

    if _AGE_AFTER.match(text, end) or _AGE_BEFORE.search(before):
        return _Candidate(start, end, keep=False)
    if (
        _FREQUENCY_AFTER.match(text, end)
        or _FREQUENCY_BEFORE.search(before)
        or (q.lead in ("a", "an") and _PER_BEFORE.search(before))
    ):
        return _Candidate(start, end, keep=False)
    if q.lead in ("the last", "the past", "this past", "past"):
        return make("duration")
    if q.lead in ("the next", "the following"):
        return make("after_surgery")

    if r := _AGO_AFTER.match(text, end):
        return make("ago", r.end())
    if (r := _SINCE_AFTER.match(text, end)) and q.lead != "the":
        subject: _Fixed = "surgery" if r.group("surgery") else "return" if r.group("ret") else "clause"
        return make("ago", r.end() if r.lastgroup else end, subject)
    if r := _AFTER_SURGERY_AFTER.match(text, end):
        if _DURATION_BEFORE.search(before) and q.lead != "the":
            return make("duration", r.end())  # "for 2 weeks after surgery I was fine"
        if _IM_BEFORE.search(before):
            return make("ago", r.end(), "surgery")  # "I'm 6 weeks post-op": the surgery was 6 weeks ago
        return make("after_surgery", r.end())
    if r := _SHIFT_AFTER.match(text, end):
        sign = -1 if r.group("dir").lower() in ("before", "prior to") else 1
        point = _point_at(ctx, r.end(), sign * weeks * 7)
        if point is not None:
            return _from_days(start, point[0], point[1])
    if _BEFORE_SURGERY_AFTER.match(text, end) or q.lead == "the":
        return _Candidate(start, end, keep=False)  # "2 weeks before surgery": no anchor for that
    if r := _FUTURE_AFTER.match(text, end):
        return _Candidate(start, r.end(), weeks, "ago", future=True)
    if _IM_BEFORE.search(before):
        return make("ago", subject="surgery")  # "I'm 6 weeks", "I am at 3 months"
    if _ITS_BEEN_BEFORE.search(before) or _SINCE_BEFORE.search(before):
        return make("ago")
    if _WITHIN_BEFORE.search(before) or _IN_BEFORE.search(before):
        if r := _OF_SURGERY_AFTER.match(text, end):
            return make("after_surgery", r.end())  # "within a month of the surgery"
    if _DURATION_BEFORE.search(before) or _OF_AFTER.match(text, end):
        return make("duration")  # "for 6 weeks", "after 6 weeks of PT"
    if _AFTER_BEFORE.search(before):
        return make("after_surgery")  # "after about 2 weeks it came back"
    if _IN_BEFORE.search(before):
        clause = _clause_of(ctx, start)
        if _FUTURE_TENSE.search(clause) or not _PAST_TENSE.search(clause):
            return _Candidate(start, end, weeks, "ago", future=True)  # "in 3 weeks"
        return make("duration")  # "in 2 weeks it was back"
    if q.lead in ("a", "an", "one") and q.unit == DAY:
        return _Candidate(start, end, keep=False)  # "one day I bent over": a story, not a time
    return make("duration")


def _nth_unit_candidate(m: re.Match[str], ctx: _Context) -> _Candidate | None:
    """Read "day 10 post op", "POD 3", "week 6 after my fusion", "the 2nd week post-op", "it came
    back in week 7", "right after the surgery" (0 weeks)."""
    if m.group("pod"):
        weeks, end = int(m.group("pod")) * DAY, m.end()
    elif m.group("right_after"):
        surgery = _SURGERY_OBJECT.match(ctx.text, m.end())
        if surgery is None:
            return None  # "right after Christmas" is a calendar point
        weeks, end = 0.0, surgery.end()
    else:
        unit, number = m.group("unit") or m.group("nth_unit"), _day_number(m.group("n") or m.group("nth"))
        weeks = number * _unit_weeks(unit)
        after = _POST_SURGERY_AFTER.match(ctx.text, m.end())
        if after is not None:
            end = after.end()
        elif unit != "day" and _IN_WEEK_BEFORE.search(ctx.before(m.start())) and not _OF_AFTER.match(ctx.text, m.end()):
            end = m.end()  # "it came back in week 7"
        else:
            return None  # "day 3 of antibiotics", "the first week of May"
    if _IM_BEFORE.search(ctx.before(m.start())):
        return _Candidate(m.start(), end, weeks, "ago", "surgery")
    return _Candidate(m.start(), end, weeks, "after_surgery")


def _candidates(ctx: _Context) -> Iterator[_Candidate]:
    for m in _QUANTITY.finditer(ctx.text):
        candidate = _quantity_candidate(m, ctx)
        if candidate is not None:
            yield candidate
    for m in _NTH_UNIT.finditer(ctx.text):
        candidate = _nth_unit_candidate(m, ctx)
        if candidate is not None:
            yield candidate
    for pattern, resolve in _POINTS:
        for m in pattern.finditer(ctx.text):
            days = resolve(m, ctx, 0.0)
            if days is not None:
                yield _from_days(m.start(), m.end(), days)


def _choose(candidates: list[_Candidate]) -> list[_Candidate]:
    """Non-overlapping candidates, the longest first, in text order."""
    chosen: list[_Candidate] = []
    for c in sorted(candidates, key=lambda c: (c.start - c.end, c.start)):
        if all(c.end <= o.start or c.start >= o.end for o in chosen):
            chosen.append(c)
    return sorted(chosen, key=lambda c: c.start)


# --------------------------------------------------------------------------------------------
# Subjects: the nearest surgery / pain-return word in the mention's clause, else in the clause
# right after it ("2 days ago I bent down and it came back"), else the one before it
# --------------------------------------------------------------------------------------------


def _regions(
    breaks: list[_Break], spans: list[tuple[int, int]], start: int, end: int, length: int
) -> Iterator[tuple[int, int]]:
    """The clause around ``start``..``end``, then it joined with the clause after, then with the
    one before (same sentence, and only a neighbour holding no time of its own)."""
    left, right = _clause_around(breaks, start, end, length)
    yield left, right
    following = next((b for b in breaks if b.start >= right), None)
    if following is not None and not following.sentence:
        _, stop = _clause_around(breaks, following.end, following.end, length)
        if not any(following.end <= s < stop for s, _ in spans):
            yield left, stop
    preceding = next((b for b in reversed(breaks) if b.end <= left), None)
    if preceding is not None and not preceding.sentence:
        first, _ = _clause_around(breaks, preceding.start, preceding.start, length)
        if not any(first <= s < preceding.start for s, _ in spans):
            yield first, right


_K = TypeVar("_K", bound=str)


def _nearest(
    keywords: list[tuple[int, int, _K]],
    regions: Iterator[tuple[int, int]],
    start: int,
    end: int,
    wanted: tuple[_K, ...],
) -> _K | None:
    """The keyword of a ``wanted`` kind nearest to ``start``..``end`` in the first region that
    holds one (ties: the earlier kind of ``wanted``)."""
    for left, right in regions:
        found = [
            (start - e if e <= start else s - end, wanted.index(kind), kind)
            for s, e, kind in keywords
            if kind in wanted and left <= s and e <= right and (e <= start or s >= end)
        ]
        if found:
            return min(found)[2]
    return None


def _subjects(ctx: _Context, chosen: list[_Candidate]) -> list[TimeSubject]:
    """The subject of each chosen mention; after_surgery and durations only take "return" from
    the words around them (a duration is "surgery" only in "surgery was 6 weeks")."""
    if not chosen:
        return []
    spans = [(c.start, c.end) for c in chosen]
    keywords: list[tuple[int, int, _SubjectKind | _EventKind]] = [
        (k.start(), k.end(), kind) for pattern, kind in _SUBJECT_KEYWORDS for k in pattern.finditer(ctx.text)
    ]
    breaks = _breaks(ctx.text, spans + [(s, e) for s, e, _ in keywords])
    # an onset or another event named nearer than the surgery takes the time from it ("surgery 3
    # months ago, started PT a month ago": the month is PT's); time_events() says which
    keywords += [(s, e, kind) for s, e, kind in _event_keywords(ctx.text, spans) if kind != "symptom"]
    length = len(ctx.text)

    def nearest(c: _Candidate, wanted: tuple[_SubjectKind | _EventKind, ...]) -> TimeSubject:
        kind = _nearest(keywords, _regions(breaks, spans, c.start, c.end, length), c.start, c.end, wanted)
        return kind if kind in ("surgery", "return") else None

    subjects: list[TimeSubject] = []
    for c in chosen:
        if c.subject != "clause":
            subjects.append(c.subject)
        elif c.anchor == "after_surgery":  # counts from the surgery: only a return can be its subject
            subjects.append(nearest(c, ("return",)))
        elif c.anchor == "duration":  # a length: of the pain's return, or "surgery was 6 weeks"
            surgery_is = _SURGERY_IS_BEFORE.search(ctx.before(c.start))
            subjects.append(nearest(c, ("return",)) or ("surgery" if surgery_is else None))
        else:
            subject = nearest(c, ("return", "surgery"))
            if subject == "surgery":  # unless an onset or another event is named nearer
                subject = nearest(c, ("return", "surgery", "onset", "other"))
            subjects.append(subject)
    return subjects


# --------------------------------------------------------------------------------------------
# Events other than the surgery and the pain's return: a symptom's onset ("my leg started
# tingling 2 weeks ago", "been having burning for 3 weeks", "tingling since last Tuesday"), or
# something else ("I started PT 3 weeks ago", "saw my surgeon a week ago", "MRI 2 weeks ago").
# Only for a mention whose subject is neither (see ``time_event``).
# --------------------------------------------------------------------------------------------

# Symptoms whose start is an event of its own; plain pain words ("it started hurting") are not:
# the dialogue may be asking when the pain came back.
_ONSET_SYMPTOM = (
    r"numb(?:ness|nes|ess)?|numness|tingl\w*|tingel\w*|pins\s+(?:and|n|&)\s+needles|burn(?:ing|s|ed)?"
    r"|burnin|sting(?:ing|s|y)?|gnaw\w*|we[ae]k(?:ness|nes|er)?|sciatica|siatica|sciatic|electric\s+shocks?"
    r"|zaps?|zapping|shooting"
)
_ONSET_VERB = (
    r"start(?:ed|s|ing)?|began|begins?|begun|kicked\s+in|came\s+on|comes\s+on|set\s+in|showed\s+up"
    r"|appeared|developed|develop(?:s|ing)?|hit\s+me|first\s+(?:noticed|felt|appeared|started|came)"
)
_ONSET = _rx(
    rf"\b(?:{_ONSET_SYMPTOM})\b(?:\s+[\w']+){{0,6}}?\s+(?:{_ONSET_VERB})\b"  # "the numbness began"
    rf"|\b(?:{_ONSET_VERB}|noticed|notice|got|getting|felt|woke\s+up\s+with)\s+(?:[\w']+\s+){{0,3}}?"
    rf"(?:{_ONSET_SYMPTOM})\b"  # "started tingling", "noticed some numbness"
    r"|\b(?:went|gone|go|goes|going|got|gotten|getting|became|become|turned)\s+(?:\w+\s+)?"
    r"(?:numb|weak|tingly|dead|funny)\b"  # "my foot went numb"
)
_SYMPTOM = _rx(rf"\b(?:{_ONSET_SYMPTOM})\b")
_OTHER_EVENT = _rx(
    r"\b(?:pt|physio(?:therapy|therapist)?|physical\s+therap(?:y|ist)|therapy|therapist|rehab"
    r"|chiro(?:practor)?|massages?|acupuncture"
    r"|injections?|injected|shots?|epidurals?|esi|nerve\s+blocks?|ablation|rfa"
    r"|mri'?s?|ct(?:\s+scan)?|cat\s+scan|scans?|x-?rays?|emg|nerve\s+(?:conduction\s+)?(?:tests?|study)"
    r"|tests?|bloodwork|blood\s+work|labs?"
    r"|appointments?|appts?|visits?|follow[\s-]?ups?|f/u|check[\s-]?ups?|consult(?:s|ation)?"
    r"|surgeon|doctor|doc|dr|pcp|gp|neurologist|neurosurgeon|specialist|nurse"
    r"|(?:the|to|in|at)\s+er|emergency\s+room|urgent\s+care"
    r"|work|job|gym|meds|medications?|medicines?|pills?|prescriptions?|gabapentin|lyrica|prednisone"
    r"|steroids?|muscle\s+relaxers?|tramadol|oxy\w*|percocet|norco"
    r"|fell|fall|slipped|tripped|accident|crash|vacation|trip|flight|moved)\b"
)
TimeEvent = Literal["onset", "other"]
_EventKind = Literal["onset", "symptom", "other"]
_EVENT_KEYWORDS: tuple[tuple[re.Pattern[str], _EventKind], ...] = (
    (_ONSET, "onset"),
    (_SYMPTOM, "symptom"),
    (_OTHER_EVENT, "other"),
)


def _event_keywords(lowered: str, spans: list[tuple[int, int]]) -> list[tuple[int, int, _EventKind]]:
    """Onset, symptom and other-event words of a lower-cased text, outside the time spans."""
    found = [(k.start(), k.end(), kind) for pattern, kind in _EVENT_KEYWORDS for k in pattern.finditer(lowered)]
    return [(s, e, kind) for s, e, kind in found if not any(ms < e and s < me for ms, me in spans)]


def time_events(text: str, mentions: list[TimeMention]) -> list[TimeEvent | None]:
    """For each mention of ``text`` that has no subject: the event its clause ties it to, if any.

    - ``onset``: a symptom (numbness, tingling, weakness, burning, stinging, gnawing, sciatica)
      began then: "my leg started tingling 2 weeks ago", "the numbness began a month ago",
      "my foot went numb", "tingling since last Tuesday", and a length it has lasted: "been
      having burning for 3 weeks", "numb toes for a couple weeks now";
    - ``other``: something else happened then: therapy, an injection, a scan, a visit, work,
      a fall ("I started PT 3 weeks ago", "saw my surgeon a week ago", "MRI 2 weeks ago").
    The nearest such words in the mention's clause win (then the clause after it, then the one
    before, as for subjects). Times with a subject, and times counted from the surgery, get none.
    """
    if not mentions:
        return []
    lowered = _normalised(text)
    spans = [(m.start, m.end) for m in mentions]
    keywords = _event_keywords(lowered, spans)
    breaks = _breaks(lowered, spans + [(s, e) for s, e, _ in keywords])
    events: list[TimeEvent | None] = []
    for m in mentions:
        if m.subject is not None or m.anchor == "after_surgery" or m.problem:
            events.append(None)
            continue
        wanted: tuple[_EventKind, ...] = ("onset", "other")
        if m.anchor == "duration" or _SINCE_BEFORE.search(lowered[max(0, m.start - 8) : m.start]):
            wanted = ("onset", "symptom", "other")  # "numb for 2 months", "tingling since Tuesday"
        regions = _event_regions(lowered, breaks, spans, m.start, m.end)
        kind = _nearest(keywords, regions, m.start, m.end, wanted)
        events.append(None if kind is None else "other" if kind == "other" else "onset")
    return events


_SEQUENCE_AFTER = _rx(r"\s*(?:and|then|so|but|plus|after|afterwards|later|since)\b")


def _event_regions(
    lowered: str, breaks: list[_Break], spans: list[tuple[int, int]], start: int, end: int
) -> Iterator[tuple[int, int]]:
    """Like :func:`_regions`, but a neighbouring clause counts only across a bare comma: "2 weeks
    ago, my leg went numb" is the numbness; "6 weeks ago, and then my leg went numb" tells what
    came after that time (the surgery's, most likely), not when it began."""
    length = len(lowered)
    left, right = _clause_around(breaks, start, end, length)
    for region in _regions(breaks, spans, start, end, length):
        if region == (left, right):
            yield region
            continue
        joint = next((b for b in breaks if region[0] <= b.start and b.end <= region[1]), None)
        if (
            joint is not None
            and lowered[joint.start : joint.end].strip() == ","
            and not _SEQUENCE_AFTER.match(lowered, joint.end)
        ):
            yield region


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def _normalised(text: str) -> str:
    """``text`` lower-cased with plain apostrophes, keeping every offset."""
    lowered = text.translate(_APOSTROPHES).lower()
    if len(lowered) != len(text):  # a letter like "İ" lower-cases to two characters: keep it as is
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text.translate(_APOSTROPHES))
    return lowered


def find_time_mentions(text: str, today: dt.date) -> list[TimeMention]:
    """Every time expression in ``text``, in text order, converted to weeks (see module doc)."""
    ctx = _Context(_normalised(text), today)
    # A number too long for a float ("999…9 years ago", hundreds of digits) is no time: it would
    # be infinite weeks, which no fact and no JSON can hold. Its span still blocks shorter reads.
    chosen = [c for c in _choose(list(_candidates(ctx))) if c.keep and math.isfinite(c.weeks)]
    return [
        TimeMention(
            text=text[c.start : c.end],
            start=c.start,
            end=c.end,
            weeks=round(c.weeks, 4),
            anchor=c.anchor,
            subject=subject,
            problem="future" if c.future else None,
        )
        for c, subject in zip(chosen, _subjects(ctx, chosen), strict=True)
    ]
