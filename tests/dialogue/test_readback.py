"""The read-back line: a time as the date it stands for, unknowns said plainly."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.clinical.engine import Facts
from bot.dialogue.readback import summary, when

TODAY = dt.date(2026, 6, 15)


@pytest.mark.parametrize(
    ("weeks", "said"),
    [
        (9.0, "around mid-April 2026, about 9 weeks ago"),
        (1.0, "on June 8, about 7 days ago"),
        (26.0, "around mid-December 2025, about 6 months ago"),
        (104.0, "around mid-June 2024, about 2 years ago"),
        (60.67, "around mid-April 2025, about 14 months ago"),
    ],
)
def test_a_time_is_shown_as_its_date(weeks: float, said: str) -> None:
    assert when(weeks, TODAY) == said


def test_the_whole_story_in_one_line() -> None:
    facts = Facts(
        surgery_type="decompression",
        weeks_since_surgery=9.0,
        pain_course="relief_then_sudden_return",
        pain_return_weeks=6.0,
        symptoms=frozenset({"tingling", "leg_pain"}),
    )
    assert summary(facts, TODAY) == (
        "a decompression surgery (like a discectomy or laminectomy) around mid-April 2026, about 9 weeks ago; "
        "the pain went away, then came back suddenly, about 6 weeks after the surgery; leg pain and tingling"
    )


def test_unknown_facts_are_said_to_be_unknown() -> None:
    facts = Facts(surgery_type=None, weeks_since_surgery=None, pain_course=None, pain_return_weeks=None, symptoms=())
    said = summary(facts, TODAY, symptoms_known=False)
    assert said == (
        "a surgery of a kind we don't know, date not known; how the pain has gone not known; symptoms not known"
    )
    assert summary(facts, TODAY).endswith("none of the listed symptoms")
