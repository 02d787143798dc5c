"""A time corrected in the same message: the correction stands for the time it corrects."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.language.entities import extract_entities

TODAY = dt.date(2026, 6, 15)


def _times(text: str) -> list[tuple[str | None, float]]:
    return [(e.get("role"), e["value"]) for e in extract_entities(text, TODAY) if e["entity"] == "time"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fusion 2 years ago no wait 3 years", [("surgery", 156.0)]),
        ("had my op 5 wks ago, sorry i mean 6", [("surgery", 6.0)]),
        ("surgery was last October I think... no wait, it was September", [("surgery", 38.93)]),
        ("about 8 weeks ago. make that 9", [("ago", 9.0)]),
        ("the operation was 2 days ago, oops, 2 months", [("surgery", 8.67)]),
    ],
)
def test_the_later_time_replaces_the_one_it_corrects(text: str, expected: list[tuple[str, float]]) -> None:
    assert _times(text) == [(role, pytest.approx(weeks, abs=0.6)) for role, weeks in expected]


@pytest.mark.parametrize(
    "text",
    [
        "surgery 6 weeks ago, sorry to bother you, the pain came back 2 weeks ago",
        "I had the fusion 10 weeks ago, actually the leg pain started 3 weeks ago",
        "sorry, surgery was 6 weeks ago and it came back 2 weeks ago",
    ],
)
def test_a_second_event_is_not_a_correction(text: str) -> None:
    roles = [role for role, _ in _times(text)]
    assert len(roles) == 2 and roles[0] == "surgery"


def test_no_marker_no_correction() -> None:
    assert [w for _, w in _times("fusion 2 years ago, then 3 weeks of physio")][0] == pytest.approx(104.0)


@pytest.mark.parametrize(
    "text", ["pain in her legs and they feel weak, not worse than last month", "about the same as 2 weeks ago"]
)
def test_a_point_of_comparison_is_no_event(text: str) -> None:
    assert [role for role, _ in _times(text)] == ["other"]


def test_more_than_is_a_hedge_not_a_comparison() -> None:
    assert _times("surgery was more than 6 weeks ago") == [("surgery", 6.0)]
