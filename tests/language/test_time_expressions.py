"""Tests for ``bot.language.time_expressions``: the labelled corpus, then focused unit tests."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.language.entities import extract_entities
from bot.language.time_expressions import DAY, MONTH, WEEK, YEAR, find_time_mentions
from bot.language.types import TimeMention

CORPUS_PATH = Path(__file__).parent / "corpus" / "time_expressions.yml"
CORPUS: dict[str, Any] = yaml.safe_load(CORPUS_PATH.read_text(encoding="utf-8"))
ITEMS: list[dict[str, Any]] = CORPUS["items"]
DEFAULT_TODAY: dt.date = CORPUS["today"]
TODAY = dt.date(2026, 6, 15)  # a Monday
NEW_YEAR = dt.date(2026, 1, 5)


def mentions(text: str, today: dt.date = TODAY) -> list[TimeMention]:
    return find_time_mentions(text, today)


def first(text: str, today: dt.date = TODAY) -> TimeMention:
    found = mentions(text, today)
    assert found, f"no time mention found in {text!r}"
    return found[0]


def weeks_to(date: str, today: dt.date = TODAY) -> float:
    return (today - dt.date.fromisoformat(date)).days / 7


# --- the corpus ------------------------------------------------------------------------------


def test_corpus_is_big_and_varied() -> None:
    assert len(ITEMS) >= 300
    assert sum(1 for item in ITEMS if item.get("none")) >= 20
    assert {item.get("anchor") for item in ITEMS} >= {"ago", "after_surgery", "duration"}
    assert {item.get("subject") for item in ITEMS} >= {"surgery", "return", None}
    assert len({(item["text"], item.get("today")) for item in ITEMS}) == len(ITEMS)


@pytest.mark.parametrize(
    "item",
    [pytest.param(i, marks=[pytest.mark.xfail] * bool(i.get("xfail"))) for i in ITEMS],  # `xfail: true`: known failure
    ids=[f"{i:03d}-{item['text'][:40]}" for i, item in enumerate(ITEMS)],
)
def test_corpus_item(item: dict[str, Any]) -> None:
    text: str = item["text"]
    today: dt.date = item.get("today", DEFAULT_TODAY)
    found = find_time_mentions(text, today)
    for mention in found:
        assert text[mention.start : mention.end] == mention.text
    if item.get("none"):
        assert found == [], f"expected no time in {text!r}, got {found}"
        return
    assert found, f"no time mention found in {text!r}"
    mention = found[0]
    tolerance = float(item.get("tolerance", 0.5))
    assert mention.weeks == pytest.approx(item["weeks"], abs=tolerance), mention
    assert mention.anchor == item["anchor"], mention
    assert mention.subject == item.get("subject"), mention
    assert mention.problem == item.get("problem"), mention
    if "role" in item:
        roles = [e.get("role") for e in extract_entities(text, today) if e["entity"] == "time"]
        assert roles[:1] == [item["role"]], f"{text!r}: time roles {roles}"


# --- units -----------------------------------------------------------------------------------


def test_unit_constants() -> None:
    assert (DAY, WEEK, MONTH, YEAR) == (1 / 7, 1.0, 13 / 3, 52.0)


@pytest.mark.parametrize(
    ("text", "weeks"),
    [
        ("3 months", 13.0),
        ("1 year", 52.0),
        ("2 years", 104.0),
        ("7 days", 1.0),
        ("14 days", 2.0),
        ("6 months", 26.0),
        ("half a year", 26.0),
        ("a year and a half", 78.0),
        ("12 weeks", 12.0),
    ],
)
def test_unit_arithmetic_is_exact(text: str, weeks: float) -> None:
    assert first(text).weeks == weeks


def test_three_months_is_past_the_twelve_week_mark() -> None:
    assert first("surgery was 3 months ago").weeks > 12


def test_one_month_is_thirteen_thirds() -> None:
    assert first("a month ago").weeks == pytest.approx(13 / 3, abs=1e-4)
    assert first("two months after the operation").weeks == pytest.approx(26 / 3, abs=1e-4)


@pytest.mark.parametrize(
    ("text", "today", "days"),
    [
        ("on 6/1", dt.date(2026, 6, 15), 14),
        ("March 3rd", dt.date(2026, 6, 15), 104),
        ("2026-06-14", dt.date(2026, 6, 15), 1),
        ("12/31/2025", dt.date(2026, 1, 5), 5),
        ("Feb 29 2024", dt.date(2024, 3, 7), 7),
    ],
)
def test_dates_count_days_over_seven(text: str, today: dt.date, days: int) -> None:
    assert first(text, today).weeks == pytest.approx(days / 7, abs=1e-4)


def test_ranges_take_their_middle() -> None:
    assert first("6-8 weeks").weeks == 7
    assert first("6 to 8 weeks ago").weeks == 7
    assert first("2 or 3 days ago").weeks == pytest.approx(2.5 / 7, abs=1e-4)


# --- the most recent past occurrence ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "today", "date"),
    [
        ("in January", NEW_YEAR, "2025-01-16"),  # this January's middle is still ahead
        ("in December", NEW_YEAR, "2025-12-16"),
        ("in March", dt.date(2026, 3, 20), "2026-03-16"),  # the middle has passed: this March
        ("in March", dt.date(2026, 3, 10), "2025-03-16"),  # not yet: last year's
        ("last March", dt.date(2026, 4, 1), "2026-03-16"),
        ("on December 25th", TODAY, "2025-12-25"),
        ("12/30", NEW_YEAR, "2025-12-30"),
        ("January 20th", NEW_YEAR, "2025-01-20"),
        ("at Christmas", NEW_YEAR, "2025-12-25"),
        ("at Christmas", dt.date(2025, 12, 24), "2024-12-25"),
        ("at Christmas", dt.date(2025, 12, 25), "2025-12-25"),  # today counts for a day...
        ("last Christmas", dt.date(2025, 12, 25), "2024-12-25"),  # ...but "last" means before it
        ("right after Thanksgiving", NEW_YEAR, "2025-11-27"),
        ("last Thanksgiving", dt.date(2025, 11, 20), "2024-11-28"),
        ("New Year's Day", NEW_YEAR, "2026-01-01"),
        ("New Year's Day", dt.date(2025, 12, 31), "2025-01-01"),
        ("new years eve", NEW_YEAR, "2025-12-31"),
        ("the week after Christmas", NEW_YEAR, "2026-01-01"),
        ("the week after Christmas", dt.date(2025, 12, 28), "2025-01-01"),  # Jan 1, 2026 is ahead
        ("Halloween", dt.date(2026, 10, 30), "2025-10-31"),
    ],
)
def test_most_recent_past_occurrence(text: str, today: dt.date, date: str) -> None:
    mention = first(text, today)
    assert mention.weeks == pytest.approx(weeks_to(date, today), abs=1e-3)
    assert mention.anchor == "ago"
    assert mention.problem is None


@pytest.mark.parametrize(
    ("year", "easter", "thanksgiving", "memorial", "labor"),
    [
        (2024, "2024-03-31", "2024-11-28", "2024-05-27", "2024-09-02"),
        (2025, "2025-04-20", "2025-11-27", "2025-05-26", "2025-09-01"),
        (2026, "2026-04-05", "2026-11-26", "2026-05-25", "2026-09-07"),
        (2027, "2027-03-28", "2027-11-25", "2027-05-31", "2027-09-06"),
    ],
)
def test_moving_holidays(year: int, easter: str, thanksgiving: str, memorial: str, labor: str) -> None:
    today = dt.date(year, 12, 31)
    for text, date in (
        ("around Easter", easter),
        ("Thanksgiving", thanksgiving),
        ("Memorial Day", memorial),
        ("Labor Day", labor),
    ):
        assert first(text, today).weeks == pytest.approx(weeks_to(date, today), abs=1e-3), text


def test_seasons_take_the_middle_of_the_most_recent_past_one() -> None:
    # last summer = Jun 1 - Aug 31, 2025; its middle is Jul 16, noon
    assert first("last summer").weeks == pytest.approx((weeks_to("2025-07-16") * 7 - 0.5) / 7, abs=1e-3)
    # winter holds January: "last winter" in June 2026 is Dec 2025 - Feb 2026
    assert first("last winter").weeks == pytest.approx((weeks_to("2025-12-01") * 7 - 44.5) / 7, abs=1e-3)


# --- the future ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "weeks"),
    [
        ("12/30/2026", 198 / 7),
        ("in 3 weeks", 3.0),
        ("next week", 1.0),
        ("3 weeks from now", 3.0),
        ("Christmas 2026", 193 / 7),
        ("next Monday", 1.0),
    ],
)
def test_future_is_flagged_with_weeks_ahead(text: str, weeks: float) -> None:
    mention = first(text)
    assert mention.problem == "future"
    assert mention.weeks == pytest.approx(weeks, abs=1e-3)
    assert mention.weeks > 0


@pytest.mark.parametrize("text", ["on December 25th", "June 20", "in August", "last Thanksgiving", "summer"])
def test_dates_without_a_year_are_never_future(text: str) -> None:
    assert first(text).problem is None


def test_explicit_past_year_is_not_future() -> None:
    mention = first("12/30/2025")
    assert mention.problem is None
    assert mention.weeks == pytest.approx(weeks_to("2025-12-30"), abs=1e-3)


# --- several mentions, offsets, subjects ----------------------------------------------------


def test_surgery_and_return_in_one_message() -> None:
    text = "surgery was in March and the pain came back two weeks ago"
    found = mentions(text)
    assert [(m.text, m.anchor, m.subject) for m in found] == [
        ("March", "ago", "surgery"),
        ("two weeks ago", "ago", "return"),
    ]
    assert found[0].weeks == pytest.approx(13.0, abs=1e-3)
    assert found[1].weeks == 2.0


def test_mentions_come_in_text_order_with_exact_offsets() -> None:
    text = "Had a fusion on 3/3/26. Felt fine for a month; it came back 2 weeks ago, 10 weeks after surgery."
    found = mentions(text)
    assert [m.text for m in found] == ["3/3/26", "a month", "2 weeks ago", "10 weeks after surgery"]
    assert [m.anchor for m in found] == ["ago", "duration", "ago", "after_surgery"]
    assert [m.subject for m in found] == ["surgery", None, "return", "return"]
    assert [m.start for m in found] == sorted(m.start for m in found)
    for m in found:
        assert text[m.start : m.end] == m.text


def test_after_surgery_is_never_subject_surgery() -> None:
    mention = first("two months after the surgery")
    assert (mention.anchor, mention.subject) == ("after_surgery", None)
    mention = first("the pain came back two months after the surgery")
    assert (mention.anchor, mention.subject) == ("after_surgery", "return")


def test_since_the_surgery_is_the_surgery() -> None:
    mention = first("it's been 4 months since my surgery")
    assert (mention.anchor, mention.subject) == ("ago", "surgery")
    assert mention.weeks == pytest.approx(52 / 3, abs=1e-3)


@pytest.mark.parametrize(
    ("text", "anchor", "subject"),
    [
        ("a week post-op", "after_surgery", None),
        ("6 weeks post op the pain came back", "after_surgery", "return"),
        ("about 2 months later", "after_surgery", None),
        # said in the present tense, it dates the surgery itself: 6 weeks ago
        ("I'm 6 weeks post-op", "ago", "surgery"),
        ("im 8 weeks out from my discectomy", "ago", "surgery"),
        ("I am now 3 months post surgery", "ago", "surgery"),
    ],
)
def test_post_op(text: str, anchor: str, subject: str | None) -> None:
    mention = first(text)
    assert (mention.anchor, mention.subject) == (anchor, subject)


def test_before_the_surgery_has_no_anchor_and_is_left_out() -> None:
    assert mentions("the leg pain started 2 weeks before surgery") == []


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("2 weeks after Thanksgiving", "2025-12-11"),
        ("a week before Easter", "2026-03-29"),
        ("the day after Christmas", "2025-12-26"),
        ("3 days after March 3rd", "2026-03-06"),
        ("the day before yesterday", "2026-06-13"),
    ],
)
def test_shifted_dates(text: str, date: str) -> None:
    assert first(text).weeks == pytest.approx(weeks_to(date), abs=1e-3)


@pytest.mark.parametrize(
    ("text", "subjects"),
    [
        # the return is in the next clause, which has no time of its own
        ("then 2 days ago i bent down and it came back", ["return"]),
        # ...but not when that clause has its own time
        ("My back has hurt for 6 weeks and I had surgery last year", [None, "surgery"]),
        # a fronted phrase takes the clause after the comma
        ("3 weeks after the operation, the sciatica returned", ["return"]),
        ("The pain came back 2 weeks ago. Surgery was 10 weeks ago.", ["return", "surgery"]),
        ("I'm 6 wks postop, pain came back 3 days ago", ["surgery", "return"]),
        ("I saw my surgeon 2 weeks ago", [None]),
    ],
)
def test_subjects_come_from_the_clause(text: str, subjects: list[str | None]) -> None:
    assert [m.subject for m in mentions(text)] == subjects


@pytest.mark.parametrize(
    "text",
    ["I go to PT 3 days a week", "once a week", "every 2 weeks", "my 3 year old", "54 y/o", "age 54 years"],
)
def test_frequencies_and_ages_are_not_times(text: str) -> None:
    assert mentions(text) == []


def test_curly_apostrophes_and_case() -> None:
    mention = first("IT\u2019S BEEN 6 WEEKS SINCE MY SURGERY")
    assert (mention.weeks, mention.anchor, mention.subject) == (6.0, "ago", "surgery")


@pytest.mark.parametrize(
    "text",
    ["pain is 8/10", "10/10 pain", "L4-5", "L5-S1", "100.4 degrees", "555-123-4567", "2 screws", "I'm 54"],
)
def test_not_times(text: str) -> None:
    assert mentions(text) == []


def test_a_while_ago_is_too_vague() -> None:
    assert mentions("the surgery was a while ago") == []


@pytest.mark.parametrize(
    ("text", "date", "future"),
    [
        ("3/3/26", "2026-03-03", False),
        ("12/31/99", "1999-12-31", False),
        ("1/2/27", "2027-01-02", True),  # next year is still read as next year, and flagged
        ("March 3, '25", "2025-03-03", False),
    ],
)
def test_two_digit_years(text: str, date: str, future: bool) -> None:
    mention = first(text)
    assert (mention.problem == "future") is future
    assert mention.weeks == pytest.approx(abs(weeks_to(date)), abs=1e-3)


def test_offsets_survive_letters_that_change_length_when_lowered() -> None:
    text = "\u0130stanbul trip, then SURGERY 6 weeks ago"  # "İ" lower-cases to two characters
    mention = first(text)
    assert (mention.text, mention.weeks, mention.subject) == ("6 weeks ago", 6.0, "surgery")
    assert text[mention.start : mention.end] == mention.text


@pytest.mark.parametrize(
    "text", ["This may sound silly", "I may need surgery", "this may hurt", "on a Tuesday"]
)
def test_words_that_look_like_dates(text: str) -> None:
    assert mentions(text) == []


def test_empty_message() -> None:
    assert mentions("") == []


# --- speed -----------------------------------------------------------------------------------


def test_well_under_a_millisecond_per_message() -> None:
    texts = [str(item["text"]) for item in ITEMS]
    find_time_mentions(texts[0], TODAY)  # warm up
    rounds = 3
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            find_time_mentions(text, TODAY)
    per_message = (time.perf_counter() - started) / (rounds * len(texts))
    assert per_message < 0.001, f"{per_message * 1000:.3f} ms per message"
