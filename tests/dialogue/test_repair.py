"""Conversation repair: hint, then choices, then "not known"; numbered replies read back."""

from __future__ import annotations

import pytest

from bot.dialogue.repair import (
    CHOICES,
    GIVE_UP,
    HINT,
    NOT_SURE_WORDS,
    RepairState,
    choice_answer,
    chosen_intent,
    chosen_numbers,
    chosen_text,
    decide,
    is_attempt,
    offered_buttons,
    times_asked_in_a_row,
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


def test_side_questions_never_keep_a_question_going_past_three_asks() -> None:
    # "no, he'll call his surgeon" at the consent question, read as a side question every time
    second = decide("consent_to_schedule", RepairState(), progressed=False, attempted=False, asked=2)
    assert second.step == CHOICES and second.gave_up is None
    third = decide("consent_to_schedule", RepairState("consent_to_schedule", CHOICES), False, False, asked=3)
    assert third.gave_up == "consent_to_schedule"
    assert decide("phone", RepairState(), progressed=False, attempted=False, asked=1).step is None


def test_progress_ends_the_repair_however_often_the_question_was_asked() -> None:
    assert decide("symptoms", RepairState("symptoms", CHOICES), True, True, asked=5).gave_up is None


def _ask(slot: str) -> dict:
    return {"event": "bot", "text": "?", "data": {"custom": {"type": "ask", "slot": slot}}}


def _user(text: str = "hm") -> dict:
    return {"event": "user", "text": text}


def test_times_asked_in_a_row_counts_back_to_another_question_or_an_answer() -> None:
    events = [_ask("surgery_type"), _user(), _ask("symptoms"), _user(), {"event": "bot", "text": "side"}]
    events += [_ask("symptoms"), _user(), _ask("symptoms")]
    assert times_asked_in_a_row(events, "symptoms") == 3
    assert times_asked_in_a_row(events, "surgery_type") == 0
    rejected = [*events, {"event": "slot", "name": "symptoms", "value": None}, _ask("symptoms")]
    assert times_asked_in_a_row(rejected, "symptoms") == 4
    answered = [*events, {"event": "slot", "name": "symptoms", "value": ["leg_pain"]}, _ask("symptoms")]
    assert times_asked_in_a_row(answered, "symptoms") == 1
    restarted = [*events, {"event": "session_started"}, _ask("symptoms")]
    assert times_asked_in_a_row(restarted, "symptoms") == 1
    assert times_asked_in_a_row(events, None) == 0


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


PAIN_COURSE_CHOICES = [
    {"title": t, "payload": t}
    for t in (
        "Slowly getting better",
        "No better at all",
        "Worse than before the surgery",
        "It went away, then came back suddenly",
        "It went away, then came back little by little",
        NOT_SURE_WORDS,
    )
]


@pytest.mark.parametrize(
    ("text", "picked"),
    [
        ("suddenly", "It went away, then came back suddenly"),
        ("the sudden one", "It went away, then came back suddenly"),
        ("not better", "No better at all"),
        ("not slowly getting better", "No better at all"),  # a "not" never lands on what it denies
        ("worse", "Worse than before the surgery"),
        ("not sure", NOT_SURE_WORDS),
        ("it came back", None),  # two choices say so: no pick
        ("same as before", None),  # "before" is in every story: it picks nothing
        ("banana", None),
    ],
)
def test_a_choice_picked_in_words(text: str, picked: str | None) -> None:
    assert choice_answer(text, PAIN_COURSE_CHOICES, "pain_course", answers=False) == picked


def test_words_pick_only_for_one_answer_questions_the_lexicons_did_not_answer() -> None:
    assert choice_answer("worse", PAIN_COURSE_CHOICES, "pain_course", answers=True) is None
    assert choice_answer("worse", PAIN_COURSE_CHOICES, "symptoms", answers=False) is None
    assert choice_answer("3", PAIN_COURSE_CHOICES, "symptoms", answers=True) == "Worse than before the surgery"
