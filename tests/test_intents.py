"""The intent guard: red flags by lexicon, empty text, facts in a fallback."""

from __future__ import annotations

from bot.intents import guard_intent


def test_a_red_flag_entity_always_wins() -> None:
    assert guard_intent("I have a fever", "inform", ["inform"], ["red_flag"]) == "report_red_flag"


def test_the_classifier_alone_cannot_raise_a_red_flag() -> None:
    assert guard_intent("no fever", "report_red_flag", ["report_red_flag", "deny"], []) == "deny"
    assert (
        guard_intent("no fever, it burns", "report_red_flag", ["report_red_flag", "deny"], ["symptom"])
        == "inform"
    )


def test_empty_text_is_a_fallback() -> None:
    assert guard_intent("   ", "greet", ["greet"], []) == "nlu_fallback"


def test_emoji_only_and_other_languages_are_fallbacks() -> None:
    assert guard_intent("😀😀😀", "affirm", ["affirm"], []) == "nlu_fallback"
    assert guard_intent("me duele mucho la espalda", "ask_billing", ["ask_billing"], []) == "nlu_fallback"


def test_a_fallback_with_facts_is_inform() -> None:
    assert guard_intent("my foot is dead", "nlu_fallback", ["nlu_fallback"], ["symptom"]) == "inform"
    assert guard_intent("zzz", "nlu_fallback", ["nlu_fallback"], []) == "nlu_fallback"


def test_other_intents_pass_through() -> None:
    assert guard_intent("how much is it", "ask_billing", ["ask_billing"], []) == "ask_billing"
