"""The entities the NLU component adds: roles from context, the chosen course, denied symptoms."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.language.entities import extract_entities

TODAY = date(2026, 6, 15)


def found(text: str) -> list[tuple[str, Any, str | None]]:
    return [(e["entity"], e["value"], e.get("role")) for e in extract_entities(text, TODAY)]


def test_a_whole_story_in_one_message() -> None:
    text = (
        "had my L5 disc shaved last Thanksgiving, felt amazing till around Valentine's, "
        "now it burns and my toes are pins and needles but no weakness"
    )
    assert found(text) == [
        ("surgery_type", "decompression", None),
        ("time", 28.57, "surgery"),  # Thanksgiving 2025-11-27
        ("time", 17.29, "return_ago"),  # Valentine's Day 2026-02-14
        ("pain_course", "relief_then_gradual_return", None),
        ("symptom", "burning", None),
        ("symptom", "tingling", None),
        ("symptom", "weakness", "denied"),
    ]


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("my disc was removed in May", "surgery"),
        ("felt great until last week", "return_ago"),
        ("6 weeks ago", "ago"),
        ("about 2 months after the operation it came back", "return_after"),
        ("for 3 weeks", "duration"),
        ("I had a fusion. Then in March my leg went numb", "onset"),  # the numbness began then
        ("I had a fusion. Then in March everything changed", "ago"),
        ("my leg went numb again in March", "return_ago"),
        ("in March it started hurting again", "return_ago"),
    ],
)
def test_time_roles_from_context(text: str, role: str) -> None:
    roles = [r for name, _, r in found(text) if name == "time"]
    assert roles[0] == role


def test_fusion_wins_over_decompression_and_denials_are_left_out() -> None:
    assert found("laminectomy with fusion")[0] == ("surgery_type", "fusion", None)
    assert ("surgery_type", "fusion", None) not in found("it wasn't a fusion")


def test_a_future_date_is_a_problem_not_a_time() -> None:
    assert found("my surgery is on 12/30/2026") == [("time_problem", "future", None)]


def test_empty_text_has_no_entities() -> None:
    assert found("   ") == []


def times(text: str) -> list[tuple[float, str | None]]:
    return [(e["value"], e.get("role")) for e in extract_entities(text, TODAY) if e["entity"] == "time"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a symptom's onset is its own event: never the surgery date, never the bare "ago"
        ("fusion was 9 months ago, the tingling began last week", [(39.0, "surgery"), (1.0, "onset")]),
        ("my laminectomy was in march. my foot went numb 2 weeks ago", [(13.0, "surgery"), (2.0, "onset")]),
        ("I'm 6 wks post op, numb toes for 10 days now", [(6.0, "surgery"), (1.43, "onset")]),
        # something else that happened: PT, scans, visits, work, a fall
        ("surgery 3 months ago, started physio a month ago", [(13.0, "surgery"), (4.33, "other")]),
        ("had an mri last week and the surgery was 5 weeks ago", [(1.0, "other"), (5.0, "surgery")]),
        ("I fell 4 days ago", [(0.57, "other")]),
        # a return stays a return, even of a symptom
        ("the numbness came back 3 weeks ago", [(3.0, "return_ago")]),
        ("my leg started burning again a week ago", [(1.0, "return_ago")]),
        # across a bare comma the neighbouring clause tells; after "and" / "then" it tells what
        # came next ("6 weeks ago" answers the surgery question here)
        ("2 weeks ago, my leg went numb", [(2.0, "onset")]),
        ("6 weeks ago, and my leg started tingling right after", [(6.0, "ago")]),
        # no event named: as before
        ("2 months ago", [(8.67, "ago")]),
        ("it started 2 weeks ago", [(2.0, "ago")]),
    ],
)
def test_which_event_a_time_belongs_to(text: str, expected: list[tuple[float, str]]) -> None:
    assert times(text) == expected


def test_an_onset_never_looks_like_a_surgery_date_to_the_dialogue() -> None:
    # bot/intake.py reads an unlabelled "ago" (or a bare "duration") as the surgery date
    for text in (
        "my leg started tingling 2 weeks ago",
        "the numbness began a month ago",
        "been having burning for 3 weeks",
        "tingling since last tuesday",
        "I started PT 3 weeks ago",
        "saw my surgeon a week ago",
        "MRI 2 weeks ago",
    ):
        assert {role for _, role in times(text)} <= {"onset", "other"}, text


def test_compound_lengths_in_sms_shorthand() -> None:
    assert times("1 yr n 2 months ago") == [(60.67, "ago")]
    assert times("had my op 1 yr n 2 mos ago") == [(60.67, "surgery")]


def test_a_red_flag_typed_is_kept_whatever_normalisation_does() -> None:
    # "idk" is written out as "I don't know", which doubts (never denies) what follows
    found_flags = [v for name, v, _ in found("idk my bladder wont empty") if name == "red_flag"]
    assert found_flags == ["cauda_equina"]
