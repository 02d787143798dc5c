"""Whole conversations over the REST channel, one or more per finding code and pain course.

``CLINIC_TODAY`` is 2026-06-15 for the servers (see the harness), so dates are reproducible.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conversations.harness import BotServer, Conversation, Turn

pytestmark = pytest.mark.servers


def tell(bot: BotServer, *messages: str) -> tuple[Conversation, Turn]:
    """Say each message in turn; return the conversation and the turn with the assessment."""
    conversation = bot.conversation()
    for text in messages:
        turn = conversation.say(text)
        if turn.payloads("assessment"):
            return conversation, turn
    raise AssertionError(f"no assessment after {messages}: {[t.messages for t in conversation.turns]}")


def facts(turn: Turn) -> dict[str, Any]:
    return dict(turn.payload("assessment")["facts"])


def findings(turn: Turn) -> list[str]:
    return list(turn.payload("assessment")["findings"])


def test_the_contract_example_step_by_step(bot: BotServer) -> None:
    conversation = bot.conversation()
    first = conversation.say("hi")
    assert "not a doctor" in first.text
    assert "911" in first.text
    assert first.asks == ["surgery_type"]
    assert conversation.say("a microdiscectomy").asks == ["weeks_since_surgery"]
    assert conversation.say("10 weeks ago").asks == ["pain_course"]
    assert conversation.say("it felt great, then one morning it was suddenly back").asks == ["pain_return_weeks"]
    assert conversation.say("a week ago").asks == ["symptoms"]
    turn = conversation.say("pain down my leg and pins and needles")
    assert turn.payload("assessment") == {
        "type": "assessment",
        "findings": ["recurrent_disc_herniation", "nerve_recovery_ongoing"],
        "facts": {
            "surgery_type": "decompression",
            "weeks_since_surgery": 10.0,
            "pain_course": "relief_then_sudden_return",
            "pain_return_weeks": 9.0,
            "symptoms": ["leg_pain", "tingling"],
        },
    }
    assert "disc" in turn.text
    assert turn.asks == ["consent_to_schedule"]


def test_worse_early_after_decompression(bot: BotServer) -> None:
    _, turn = tell(
        bot,
        "I had a laminectomy 6 weeks ago and the pain is worse than before the operation",
        "just back pain",
    )
    assert findings(turn) == ["too_early_to_judge", "post_surgical_swelling"]
    assert facts(turn)["pain_course"] == "worse_since_surgery"


def test_improving_is_on_track(bot: BotServer) -> None:
    _, turn = tell(bot, "discectomy 8 weeks ago, it's slowly getting better", "leg pain")
    assert findings(turn) == ["on_track"]
    assert facts(turn)["pain_course"] == "improving"


def test_no_improvement_after_three_months_of_decompression(bot: BotServer) -> None:
    _, turn = tell(bot, "laminectomy 4 months ago and no change at all", "none")
    assert findings(turn) == ["failed_decompression"]
    assert facts(turn)["weeks_since_surgery"] == pytest.approx(17.33, abs=0.01)


def test_scar_tissue_when_the_pain_crept_back_at_eight_weeks(bot: BotServer) -> None:
    _, turn = tell(
        bot,
        "I had a fusion 20 weeks ago",
        "it was good at first but it crept back over a few weeks",
        "about 8 weeks after the surgery",
        "back pain",
    )
    assert facts(turn)["pain_return_weeks"] == pytest.approx(8.0, abs=0.1)
    assert findings(turn) == ["epidural_fibrosis", "fusion_still_healing"]


def test_scar_tissue_with_unknown_return_time_and_burning(bot: BotServer) -> None:
    _, turn = tell(
        bot,
        "microdiscectomy 5 months ago, felt fine then the pain slowly came back",
        "I don't know",
        "it burns",
    )
    assert facts(turn)["pain_return_weeks"] is None
    assert findings(turn) == ["epidural_fibrosis", "recurrent_stenosis"]


def test_recurrent_stenosis_without_scar_tissue_signs(bot: BotServer) -> None:
    _, turn = tell(
        bot,
        "I had a laminectomy a year and a half ago, felt better, then it gradually returned",
        "about 40 weeks after the surgery",
        "leg pain",
    )
    assert findings(turn) == ["recurrent_stenosis"]


def test_numbness_after_two_years(bot: BotServer) -> None:
    _, turn = tell(bot, "discectomy 2 years ago, it has slowly been getting better", "my foot is numb")
    assert findings(turn) == ["on_track", "permanent_nerve_damage_possible"]


def test_fusion_not_improving_after_two_years(bot: BotServer) -> None:
    _, turn = tell(bot, "rods and screws put in 2 years ago, never got better", "back pain")
    assert facts(turn)["surgery_type"] == "fusion"
    assert findings(turn) == ["failed_fusion"]


def test_fusion_relief_then_gradual_return_years_later(bot: BotServer) -> None:
    _, turn = tell(
        bot,
        "TLIF 3 years ago, I was fine for a long time and then it slowly came back",
        "about 2 years after the surgery",
        "back pain",
    )
    assert findings(turn) == ["adjacent_segment_disease"]


def test_arachnoiditis_pattern(bot: BotServer) -> None:
    _, turn = tell(
        bot,
        "fusion 30 weeks ago and it's no better",
        "burning, numbness and tingling in both legs",
    )
    assert findings(turn) == [
        "nerve_recovery_ongoing",
        "fusion_still_healing",
        "arachnoiditis",
    ]


def test_nothing_specific_when_little_is_known(bot: BotServer) -> None:
    _, turn = tell(bot, "hello", "not sure what they did", "I don't remember", "it hasn't improved", "none")
    assert facts(turn) == {
        "surgery_type": "unknown",
        "weeks_since_surgery": None,
        "pain_course": "no_improvement",
        "pain_return_weeks": None,
        "symptoms": [],
    }
    assert findings(turn) == ["no_specific_pattern"]
    assert turn.asks == ["consent_to_schedule"]
