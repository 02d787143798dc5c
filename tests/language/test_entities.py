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
        ("I had a fusion. Then in March my leg went numb", "ago"),
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
