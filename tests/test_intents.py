"""The intent guard: red flags by lexicon, empty text, facts in a fallback."""

from __future__ import annotations

from bot.intents import guard_intent


def test_a_red_flag_entity_always_wins() -> None:
    assert guard_intent("I have a fever", "inform", ["inform"], ["red_flag"]) == "report_red_flag"


def test_the_classifier_alone_cannot_raise_a_red_flag() -> None:
    judged = {"red_flag_judged": True}  # the lexicon read the red-flag words as denied
    assert guard_intent("no fever", "report_red_flag", ["report_red_flag", "deny"], [], **judged) == "deny"
    assert (
        guard_intent("no fever, it burns", "report_red_flag", ["report_red_flag", "deny"], ["symptom"], **judged)
        == "inform"
    )


def test_a_red_flag_the_lexicon_does_not_know_is_a_possible_one() -> None:
    said = "feels like an elephant is sitting on my chest"
    assert guard_intent(said, "report_red_flag", ["report_red_flag"], []) == "possible_red_flag"
    assert guard_intent(said, "inform", ["inform"], [], close_to_red_flag=True) == "possible_red_flag"
    assert guard_intent(said, "inform", ["inform"], []) == "inform"


def test_closeness_alone_needs_some_words_and_no_fact() -> None:
    close = {"close_to_red_flag": True}
    assert guard_intent("my leg gives out now and then", "inform", ["inform"], ["symptom"], **close) == "inform"
    assert guard_intent("suddenly", "inform", ["inform"], [], **close) == "inform"
    assert guard_intent("415.555.0163", "report_red_flag", ["report_red_flag", "inform"], []) == "inform"


def test_dont_know_in_any_wording_and_bare_yes_no() -> None:
    assert guard_intent("no clue what they did", "deny", ["deny"], [], says_dont_know=True) == "dont_know"
    assert guard_intent("not sure, maybe 6 weeks ago", "inform", ["inform"], ["time"], says_dont_know=True) == "inform"
    assert guard_intent("n", "nlu_fallback", ["nlu_fallback"], []) == "deny"
    assert guard_intent("y", "greet", ["greet"], []) == "affirm"
    assert guard_intent("no numbness", "inform", ["inform"], ["symptom"]) == "inform"


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


def test_a_goodbye_that_carries_a_fact_is_an_answer() -> None:
    assert guard_intent("outta nowhere", "goodbye", ["goodbye"], ["return_speed"]) == "inform"
    assert guard_intent("bye for now", "goodbye", ["goodbye"], []) == "goodbye"
