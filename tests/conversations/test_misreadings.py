"""Facts read right: which event a time belongs to, compound times, past and possible red flags."""

from __future__ import annotations

import pytest

from tests.conversations.harness import BotServer

pytestmark = pytest.mark.servers


def test_a_symptoms_onset_never_sets_the_surgery_date(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("I had a laminectomy 26 weeks ago and it's no better")
    turn = conversation.say("my leg started tingling 2 weeks ago")
    assessment = turn.payload("assessment")
    assert assessment["facts"]["weeks_since_surgery"] == 26.0
    assert assessment["findings"] == ["failed_decompression", "nerve_recovery_ongoing"]


def test_correcting_the_surgery_date_moves_the_return_time(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("discectomy 10 weeks ago, it went away and then came back suddenly 2 weeks ago")
    first = conversation.say("leg pain")
    assert first.payload("assessment")["facts"]["pain_return_weeks"] == 8.0
    again = conversation.say("sorry, the surgery was 12 weeks ago")
    assert again.payload("assessment")["facts"]["weeks_since_surgery"] == 12.0
    assert again.payload("assessment")["facts"]["pain_return_weeks"] == 10.0


def test_a_compound_time_in_shorthand(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("had a fusion 1 yr n 2 mos ago")
    conversation.say("no better")
    turn = conversation.say("back pain")
    assert turn.payload("assessment")["facts"]["weeks_since_surgery"] == pytest.approx(60.67, abs=0.05)
    assert turn.payload("assessment")["findings"] == ["failed_fusion"]


def test_a_fever_before_the_surgery_is_no_emergency(bot: BotServer) -> None:
    conversation = bot.conversation()
    turn = conversation.say("I had a fever before the surgery but none since")
    assert not turn.payloads("emergency")
    assert turn.asks == ["surgery_type"]


def test_a_red_flag_in_unusual_words_is_an_emergency(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("hi")
    turn = conversation.say("it feels like an elephant is sitting on my chest")
    assert turn.payload("emergency")["red_flags"] == ["blood_clot"]


def test_a_possible_red_flag_gets_one_safety_question(bot: BotServer) -> None:
    conversation = bot.conversation()
    conversation.say("I had a fusion 8 weeks ago")
    asked = conversation.say("there's a heavy weight on my chest")
    assert "One safety question first" in asked.text and not asked.payloads("emergency")
    no = conversation.say("no")
    assert "noted this for our staff" in no.text
    assert no.asks == ["pain_course"]
    conversation = bot.conversation()
    conversation.say("I had a fusion 8 weeks ago")
    conversation.say("there's a heavy weight on my chest")
    assert conversation.say("yes").payload("emergency")["red_flags"] == ["blood_clot"]
