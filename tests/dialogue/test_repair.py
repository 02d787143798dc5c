"""Conversation repair: hint, then choices, then "not known"; numbered replies read back."""

from __future__ import annotations

import pytest

from bot.dialogue.repair import (
    CHOICES,
    GIVE_UP,
    HINT,
    NOT_SURE_WORDS,
    RepairState,
    chosen_intent,
    chosen_numbers,
    chosen_text,
    decide,
    is_attempt,
    offered_buttons,
)

BUTTONS = [{"title": "A discectomy", "payload": "A discectomy"}, {"title": "A fusion", "payload": "A fusion"}]
BUTTONS += [{"title": NOT_SURE_WORDS, "payload": NOT_SURE_WORDS}]


def test_three_unusable_answers_hint_then_choices_then_give_up() -> None:
    state = RepairState()
    first = decide("surgery_type", state, progressed=False, attempted=True)
    assert first.step == HINT and first.gave_up is None
    second = decide("surgery_type", RepairState("surgery_type", HINT), progressed=False, attempted=True)
    assert second.step == CHOICES
    third = decide("surgery_type", RepairState("surgery_type", CHOICES), progressed=False, attempted=True)
    assert third.step is None and third.gave_up == "surgery_type"


def test_any_progress_ends_the_repair() -> None:
    decision = decide("symptoms", RepairState("symptoms", CHOICES), progressed=True, attempted=True)
    assert decision.step is None and decision.gave_up is None
    assert decision.slot_updates("symptoms") == {"repair_step": None, "repair_slot": None}


def test_a_side_question_leaves_the_step_where_it_was() -> None:
    decision = decide("phone", RepairState("phone", HINT), progressed=False, attempted=False)
    assert decision.step == HINT and decision.gave_up is None


def test_another_questions_step_does_not_count() -> None:
    assert decide("phone", RepairState("patient_name", CHOICES), False, True).step == HINT


def test_no_question_no_repair() -> None:
    assert decide(None, RepairState(), False, True).step is None


def test_every_question_has_a_give_up_value() -> None:
    assert set(GIVE_UP) == {
        "surgery_type",
        "weeks_since_surgery",
        "pain_course",
        "pain_return_weeks",
        "symptoms",
        "consent_to_schedule",
        "patient_name",
        "phone",
        "preferred_time",
    }


@pytest.mark.parametrize(
    ("intent", "confidence", "attempt"),
    [
        ("inform", 0.9, True),
        ("nlu_fallback", 0.3, True),
        ("ask_billing", 0.95, False),
        ("goodbye", 0.5, True),  # "call me anytime" read as goodbye, unsure: an answer after all
        ("report_red_flag", 1.0, False),
        ("request_human", 0.6, False),
    ],
)
def test_what_counts_as_an_attempt(intent: str, confidence: float, attempt: bool) -> None:
    assert is_attempt(intent, confidence) is attempt


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("2", [2]),
        ("#1", [1]),
        (" 0 ", [0]),
        ("1 6", [1, 6]),
        ("1,3 and 7", [1, 3, 7]),
        ("option 2", [2]),
        ("the 2nd one", [2]),
        ("two", [2]),
        ("the first one", [1]),
        ("one", [1]),
    ],
)
def test_numbered_replies(text: str, numbers: list[int]) -> None:
    assert chosen_numbers(text) == numbers


@pytest.mark.parametrize("text", ["2 weeks ago", "415 555 0132", "", "12", "the blue one", "none", "one of them"])
def test_other_text_is_not_a_numbered_reply(text: str) -> None:
    assert chosen_text(text, BUTTONS) is None


def test_numbers_pick_the_offered_choices_and_zero_is_not_sure() -> None:
    assert chosen_text("2", BUTTONS) == "A fusion"
    assert chosen_text("0", BUTTONS) == NOT_SURE_WORDS
    assert chosen_text("3", BUTTONS) is None  # "not sure" is 0, never its position
    assert chosen_text("1 2", BUTTONS) == "A discectomy, A fusion"
    assert chosen_text("1", []) is None


def test_the_intent_of_a_choice() -> None:
    assert chosen_intent(NOT_SURE_WORDS) == "dont_know"
    assert chosen_intent("None of these") == "deny"
    assert chosen_intent("A fusion") == "inform"


def test_the_buttons_offered_are_those_of_the_last_bot_turn() -> None:
    events = [
        {"event": "user", "text": "hi"},
        {"event": "bot", "text": "Which?", "data": {"buttons": BUTTONS}},
        {"event": "slot", "name": "x"},
        {"event": "user", "text": "2"},
    ]
    assert offered_buttons(events) == BUTTONS
    older = [*events[:2], {"event": "user", "text": "?"}, {"event": "bot", "text": "plain"}, events[-1]]
    assert offered_buttons(older) == []
