"""Properties of the time and symptom readers on generated text (hypothesis).

The corpora check what a reader finds in real sentences; these check what must hold for *any*
text: the readers never fail, their spans point at the patient's own characters, times are
finite and never negative, a time built from known parts reads back as its value, and a
symptom denied in a simple sentence is never reported as present.
"""

from __future__ import annotations

import datetime as dt
import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.language.entities import extract_entities
from bot.language.symptoms import SYMPTOM_CODES, body_part_pains, find_symptoms
from bot.language.time_expressions import DAY, MONTH, WEEK, YEAR, find_time_mentions, time_events
from bot.language.types import Mention, TimeMention
from bot.vocabulary import PAIN_COURSES, RED_FLAG_CODES, SURGERY_TYPES

TODAY = dt.date(2026, 6, 15)
# Load spaCy and the lexicons now, not inside the first example (hypothesis' deadline is per example).
extract_entities("warm up: no numbness, a fusion 6 weeks ago", TODAY)
MONTHS = "January February March April May June July August September October November December".split()
days_to_read = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31))

# Text that reaches the grammar: numbers, units, anchors, dates and noise glued together.
FRAGMENTS = (
    "6", "12", "0", "1.5", "999999", "9" * 40, "9" * 400, "½", "a", "an", "a couple of", "few", "two and a half",
    "twenty-one", "the", "last", "next", "about", "around", "~", "between", "-", "–", "to", "or", "and", "n", "&",
    "day", "days", "d", "wk", "wks", "weeks", "w", "month", "mos", "mo", "year", "yrs", "y", "fortnight",
    "ago", "back", "later", "after", "before", "since", "in", "for", "post-op", "post op", "POD", "day 10",
    "after my surgery", "after the fusion", "before surgery", "from now", "it's been", "I'm",
    "my surgery was", "it came back", "flared up", "started tingling", "PT", "MRI", "old", "a week",
    "March", "may", "3rd", "3/3/26", "12/31/9999", "2020-02-30", "0001", "9999", "last summer", "Easter",
    "Thanksgiving", "yesterday", "last Monday", "early", "late", "mid", ",", ".", "?", "!", ";", "\n", "'", "’",
    "İ", "ß", "ﬁ", "😀", "\u200b", "\u202e", "\x00",
)  # fmt: skip
timeish = st.lists(st.sampled_from(FRAGMENTS), max_size=14).map(" ".join)
any_text = st.one_of(st.text(max_size=300), timeish)


def check_time_mentions(text: str, found: list[TimeMention]) -> None:
    previous_end = 0
    for m in found:
        assert 0 <= previous_end <= m.start < m.end <= len(text), "in text order, not overlapping"
        assert text[m.start : m.end] == m.text, "the span is the patient's own characters"
        assert isinstance(m.weeks, float) and math.isfinite(m.weeks) and m.weeks >= 0, m
        assert m.anchor in ("ago", "after_surgery", "duration")
        assert m.subject in ("surgery", "return", None)
        assert m.problem in ("future", None)
        previous_end = m.end


def check_mentions(text: str, found: list[Mention], codes: tuple[str, ...]) -> None:
    for m in found:
        assert m.code in codes
        assert 0 <= m.start < m.end <= len(text)
        assert text[m.start : m.end] == m.text
        assert isinstance(m.negated, bool)


# --- time expressions ----------------------------------------------------------------------


@given(any_text, days_to_read)
def test_time_reader_never_fails_and_times_are_finite_and_never_negative(text: str, today: dt.date) -> None:
    found = find_time_mentions(text, today)
    check_time_mentions(text, found)
    events = time_events(text, found)
    assert len(events) == len(found)
    assert set(events) <= {"onset", "other", None}


@settings(max_examples=40)
@given(st.integers(min_value=16, max_value=2000), st.sampled_from(("weeks ago", "years ago", "days after my surgery")))
def test_a_huge_number_is_never_an_infinite_time(digits: int, unit: str) -> None:
    text = f"I had my surgery {'9' * digits} {unit}"
    check_time_mentions(text, find_time_mentions(text, TODAY))


UNITS = {"day": DAY, "week": WEEK, "month": MONTH, "year": YEAR}


@given(st.integers(min_value=1, max_value=60), st.sampled_from(sorted(UNITS)), days_to_read)
def test_n_units_ago_reads_back_as_its_value(n: int, unit: str, today: dt.date) -> None:
    text = f"I had my surgery {n} {unit}{'s' if n > 1 else ''} ago"
    found = find_time_mentions(text, today)
    assert len(found) == 1, found
    assert found[0].anchor == "ago" and found[0].subject == "surgery"
    assert math.isclose(found[0].weeks, n * UNITS[unit], abs_tol=1e-3)


@given(st.integers(min_value=1, max_value=40), st.sampled_from(("weeks", "months")))
def test_a_return_after_the_surgery_reads_back_as_its_value(n: int, unit: str) -> None:
    text = f"it was better at first, then the pain came back {n} {unit} after the surgery"
    found = find_time_mentions(text, TODAY)
    assert [(m.anchor, m.subject) for m in found] == [("after_surgery", "return")]
    assert math.isclose(found[0].weeks, n * UNITS[unit[:-1]], abs_tol=1e-3)


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=TODAY - dt.timedelta(days=1)))
def test_a_past_calendar_date_is_the_days_since_over_seven(day: dt.date) -> None:
    expected = (TODAY - day).days / 7
    for written in (f"{MONTHS[day.month - 1]} {day.day}, {day.year}", f"{day.month}/{day.day}/{day.year}"):
        text = f"My surgery was on {written}"
        found = find_time_mentions(text, TODAY)
        assert len(found) == 1, (text, found)
        assert found[0].subject == "surgery" and found[0].problem is None
        assert math.isclose(found[0].weeks, expected, abs_tol=1e-3), text


@given(st.dates(min_value=TODAY + dt.timedelta(days=1), max_value=dt.date(2099, 12, 31)))
def test_a_future_calendar_date_is_flagged_not_negative(day: dt.date) -> None:
    text = f"My surgery was on {MONTHS[day.month - 1]} {day.day}, {day.year}"
    found = find_time_mentions(text, TODAY)
    assert len(found) == 1
    assert found[0].problem == "future"
    assert math.isclose(found[0].weeks, (day - TODAY).days / 7, abs_tol=1e-3)


# --- symptoms ------------------------------------------------------------------------------

symptomish = st.lists(
    st.sampled_from(
        ("no", "not", "never", "numb", "numbness", "tingling", "pins and needles", "burning", "burns", "stinging",
         "gnawing", "weak", "weakness", "leg", "legs", "back", "my", "in", "down", "and", "or", "but", "now", "since",
         "before surgery", "gone", "except", "?", ",", ".", "!", "don't", "can't", "feel", "foot", "toes", "pain",
         "ache", "sciatica", "if", "what if", "fever", "bladder", "😀", "\u200f", "'", "\n")
    ),
    max_size=16,
).map(" ".join)  # fmt: skip


@given(st.one_of(st.text(max_size=300), symptomish))
def test_symptom_reader_never_fails_and_spans_are_the_patients_words(text: str) -> None:
    check_mentions(text, find_symptoms(text), SYMPTOM_CODES)
    assert set(body_part_pains(text)) <= {"leg_pain", "back_pain"}


# (phrase, code); "? no" only follows a bare symptom word (see DENIALS).
PHRASES = (
    ("numbness", "numbness"), ("tingling", "tingling"), ("burning", "burning"), ("weakness", "weakness"),
    ("stinging", "stinging"), ("leg pain", "leg_pain"), ("back pain", "back_pain"), ("sciatica", "leg_pain"),
    ("pins and needles", "tingling"), ("gnawing pain", "gnawing"), ("burning pain", "burning"),
    ("numbness in my feet", "numbness"), ("tingling in my toes", "tingling"),
)  # fmt: skip
DENIALS = (
    "no {p}", "No {p}.", "I have no {p}", "I don't have any {p}", "I do not have {p}", "there is no {p}",
    "without any {p}", "no {p} at all", "I never had any {p}", "zero {p}", "nope, no {p}", "I don't get {p}",
)  # fmt: skip
BARE_DENIALS = ("{P}? no.", "{P}: none.")
AFFIRMATIONS = ("I have {p}", "there's {p}", "lots of {p}", "{P} since the surgery", "I get {p}", "I've got {p}")
NEUTRAL = (
    "", "I had a fusion in March.", "It has been a rough few weeks.", "My surgeon said to write to you.",
    "Thanks for asking.", "I am 54.", "It was 6 weeks ago.",
)  # fmt: skip


def present(text: str, code: str) -> bool:
    return any(m.code == code and not m.negated for m in find_symptoms(text))


@given(st.sampled_from(PHRASES), st.sampled_from(DENIALS + BARE_DENIALS), st.sampled_from(NEUTRAL),
       st.sampled_from(NEUTRAL))  # fmt: skip
def test_a_denied_symptom_is_never_reported_present(
    phrase: tuple[str, str], template: str, before: str, after: str
) -> None:
    words, code = phrase
    assume(template not in BARE_DENIALS or " " not in words)
    text = " ".join(part for part in (before, template.format(p=words, P=words.capitalize()), after) if part)
    assert not present(text, code), text


@given(st.sampled_from(PHRASES), st.sampled_from(AFFIRMATIONS), st.sampled_from(NEUTRAL), st.sampled_from(NEUTRAL))
def test_a_stated_symptom_is_reported_present(phrase: tuple[str, str], template: str, before: str, after: str) -> None:
    words, code = phrase
    text = " ".join(part for part in (before, template.format(p=words, P=words.capitalize()), after) if part)
    assert present(text, code), text


@given(st.sampled_from(PHRASES), st.sampled_from(PHRASES))
def test_one_symptom_stated_and_another_denied(kept: tuple[str, str], denied: tuple[str, str]) -> None:
    assume(kept[1] != denied[1])
    text = f"I have {kept[0]} but no {denied[0]}"
    assert present(text, kept[1]), text
    assert not present(text, denied[1]), text


# --- the whole reader ----------------------------------------------------------------------

ENTITY_VALUES = {
    "surgery_type": set(SURGERY_TYPES),
    "pain_course": set(PAIN_COURSES),
    "symptom": set(SYMPTOM_CODES),
    "red_flag": set(RED_FLAG_CODES),
    "suspected_red_flag": set(RED_FLAG_CODES),
    "time_problem": {"future"},
    "return_speed": {"sudden", "gradual"},
}


@settings(max_examples=80)
@given(st.one_of(st.text(max_size=300), timeish, symptomish), days_to_read)
def test_every_entity_is_in_the_vocabulary_and_times_are_finite(text: str, today: dt.date) -> None:
    for entity in extract_entities(text, today):
        assert 0 <= entity["start"] <= entity["end"] <= len(text), entity
        name, value = entity["entity"], entity["value"]
        if name == "time":
            assert isinstance(value, float) and math.isfinite(value) and value >= 0, entity
        else:
            assert name in ENTITY_VALUES, entity
            assert value in ENTITY_VALUES[name], entity
