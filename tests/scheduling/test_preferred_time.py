"""Answers to "when would suit you?", read against a fixed today."""

from __future__ import annotations

from datetime import date

import pytest

from bot.scheduling.preferred_time import PreferredTime, clean_text, read_preferred_time

TODAY = date(2026, 3, 4)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow", date(2026, 3, 5)),
        ("Tomorrow!", date(2026, 3, 5)),
        ("tmrw", date(2026, 3, 5)),
        ("today", date(2026, 3, 4)),
        ("the day after tomorrow", date(2026, 3, 6)),
        ("in 3 days", date(2026, 3, 7)),
        ("in two days", date(2026, 3, 6)),
        ("Monday", date(2026, 3, 9)),
        ("monday please", date(2026, 3, 9)),
        ("next Tuesday", date(2026, 3, 10)),
        ("Thurs", date(2026, 3, 5)),
        ("Friday works", date(2026, 3, 6)),
        ("this Friday", date(2026, 3, 6)),
        ("Saturday", date(2026, 3, 7)),
        ("Wednesday", date(2026, 3, 11)),  # today is Wednesday: the next one
        ("this Wednesday", date(2026, 3, 4)),
        ("March 3rd", date(2027, 3, 3)),  # yesterday's date: next year's
        ("March 4th", date(2026, 3, 4)),  # on or after today
        ("march 20", date(2026, 3, 20)),
        ("Mar. 20th", date(2026, 3, 20)),
        ("the 20th of March", date(2026, 3, 20)),
        ("20 March", date(2026, 3, 20)),
        ("April 1, 2026", date(2026, 4, 1)),
        ("Feb 29", date(2028, 2, 29)),
        ("the 15th", date(2026, 3, 15)),
        ("the 2nd", date(2026, 4, 2)),
        ("3/3", date(2027, 3, 3)),
        ("3/20", date(2026, 3, 20)),
        ("12/1/2026", date(2026, 12, 1)),
        ("12/1/26", date(2026, 12, 1)),
        ("2026-04-01", date(2026, 4, 1)),
        ("may 5 at 10am", date(2026, 5, 5)),
        ("Monday or Tuesday", date(2026, 3, 9)),
        ("Tuesday or Monday", date(2026, 3, 9)),  # the earliest
        ("I called yesterday, tomorrow is fine", date(2026, 3, 5)),
        ("I'm busy Monday, Tuesday works", date(2026, 3, 10)),
        ("any day but Monday", None),
        ("not tomorrow", None),
        ("I may be free", None),
        ("Mondays", None),  # a habit, not a day
        ("c'mon, any time", None),
        ("2/30", None),  # no such day
        ("13/45", None),
    ],
)
def test_named_days(text: str, expected: date | None) -> None:
    result = read_preferred_time(text, TODAY)
    assert result.date == expected
    assert result.problem is None


def test_day_first_numeric_dates() -> None:
    assert read_preferred_time("20/3", TODAY, day_first=True).date == date(2026, 3, 20)
    assert read_preferred_time("1/12/2026", TODAY, day_first=True).date == date(
        2026, 12, 1
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yesterday", date(2026, 3, 3)),
        ("the day before yesterday", date(2026, 3, 2)),
        ("last Monday", date(2026, 3, 2)),
        ("last Wednesday", date(2026, 2, 25)),
        ("1/5/2020", date(2020, 1, 5)),
        ("March 3, 2020", date(2020, 3, 3)),
        ("3/3/2026", date(2026, 3, 3)),
        ("2026-03-03", date(2026, 3, 3)),
    ],
)
def test_days_in_the_past(text: str, expected: date) -> None:
    result = read_preferred_time(text, TODAY)
    assert result.problem == "past"
    assert result.date == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "?",
        "?!...",
        "😀",
        "👍👍👍",
        "🙂 ?",
        "\n\t",
        "\x00\x01",
        "\u202e\u202d",
        "—",
        "...",
    ],
)
def test_nothing_usable(text: str) -> None:
    result = read_preferred_time(text, TODAY)
    assert result.problem == "empty"
    assert result.date is None


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("weekday mornings", "morning"),
        ("anytime", None),
        ("any time", None),
        ("as soon as possible", None),
        ("asap", None),
        ("after 3pm", "afternoon"),
        ("after 3 p.m.", "afternoon"),
        ("before 10am", "morning"),
        ("around 9", "morning"),
        ("after 5", "evening"),
        ("at 17:30", "evening"),
        ("at noon", "afternoon"),
        ("before noon", "morning"),
        ("after lunch", "afternoon"),
        ("evenings after work", "evening"),
        ("Tuesday morning", "morning"),
        ("tomorrow afternoon at 2", "afternoon"),
        ("tonight", "evening"),
        ("mornings or afternoons", None),  # both: not one
        ("not mornings, afternoons are best", "afternoon"),
        ("no mornings please", None),
        ("anything but evenings", None),
        ("next week sometime", None),
        ("weekends", None),
        ("by 3/20", None),  # a date, not three o'clock
    ],
)
def test_vague_answers_are_fine(text: str, part: str | None) -> None:
    result = read_preferred_time(text, TODAY)
    assert result.problem is None
    assert result.part_of_day == part


def test_text_is_kept_cleaned() -> None:
    result = read_preferred_time("  Tuesday\n\tmorning\x00 please  ", TODAY)
    assert result == PreferredTime(
        text="Tuesday morning please", date=date(2026, 3, 10), part_of_day="morning"
    )


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE clinic_appointment_requests; --",
        "<script>alert('x')</script>",
        "Robert'); DELETE FROM events;--",
        "{{7*7}} ${jndi:ldap://x}",
    ],
)
def test_hostile_text_is_just_text(text: str) -> None:
    result = read_preferred_time(text, TODAY)
    assert result.text == text
    assert result.date is None
    assert result.problem is None


def test_long_input_is_capped() -> None:
    result = read_preferred_time("Monday " + "x" * 5000, TODAY)
    assert len(result.text) <= 200
    assert result.date == date(2026, 3, 9)
    assert len(read_preferred_time("😀" * 5000, TODAY).text) == 200


@pytest.mark.parametrize(
    "text", ["下周一上午", "mañana por la mañana", "пожалуйста, утром", "صباحا"]
)
def test_other_languages_are_kept_without_a_date(text: str) -> None:
    result = read_preferred_time(text, TODAY)
    assert result == PreferredTime(text=text)


def test_direction_overrides_are_removed() -> None:
    assert clean_text("Mon\u202eday\u2066 am") == "Mon day am"
    assert clean_text("x" * 300) == "x" * 200
    assert clean_text("👨‍👩‍👧") == "👨‍👩‍👧"  # joiners inside emoji are kept
