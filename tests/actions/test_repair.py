"""The form validators' repair: hint, choices (a numbered reply reads as the choice), not known."""

from __future__ import annotations

from actions.intake import ValidateIntakeForm
from actions.scheduling import ValidateBookingForm
from tests.actions.conftest import DOMAIN, make_tracker, run_action

ASKED_SURGERY = {"requested_slot": "surgery_type"}


def test_a_first_unusable_answer_moves_to_the_hint() -> None:
    slots, said = run_action(ValidateIntakeForm(), make_tracker("banana", ASKED_SURGERY))
    assert slots == {"repair_step": "hint", "repair_slot": "surgery_type"}
    assert said == []  # the hint is the question's own variation


def test_a_second_one_offers_choices_and_a_third_notes_it_as_not_known() -> None:
    hinted = {**ASKED_SURGERY, "repair_step": "hint", "repair_slot": "surgery_type"}
    slots, _ = run_action(ValidateIntakeForm(), make_tracker("banana", hinted))
    assert slots == {"repair_step": "choices", "repair_slot": "surgery_type"}
    offered = {**hinted, "repair_step": "choices"}
    slots, said = run_action(ValidateIntakeForm(), make_tracker("banana", offered))
    assert slots["surgery_type"] == "unknown"
    assert slots["requested_slot"] == "weeks_since_surgery"
    assert slots["repair_step"] is None
    assert said == ["utter_gave_up_surgery_type"]


def test_a_side_question_is_left_to_its_rule() -> None:
    tracker = make_tracker("does insurance cover it", ASKED_SURGERY, intent="ask_billing")
    assert run_action(ValidateIntakeForm(), tracker)[0] == {}


def test_an_answer_ends_the_repair() -> None:
    hinted = {**ASKED_SURGERY, "repair_step": "hint", "repair_slot": "surgery_type"}
    slots, _ = run_action(ValidateIntakeForm(), make_tracker("a fusion", hinted))
    assert slots["surgery_type"] == "fusion"
    assert slots["repair_step"] is None


def _offered(response: str, condition: dict[str, object], channel: str | None = "twilio") -> list[dict[str, str]]:
    for variation in DOMAIN["responses"][response]:
        conditions = {c["name"]: c["value"] for c in variation.get("condition") or []}
        if conditions == condition and variation.get("channel") == channel:
            buttons: list[dict[str, str]] = variation["buttons"]
            return buttons
    raise AssertionError(f"no such variation of {response}")


def test_a_number_answers_the_menu_it_was_offered() -> None:
    buttons = _offered("utter_ask_surgery_type", {"repair_step": "choices"})
    earlier = [{"event": "user", "text": "banana"}, {"event": "bot", "text": "Reply 1 …", "data": {"buttons": buttons}}]
    offered = {**ASKED_SURGERY, "repair_step": "choices", "repair_slot": "surgery_type"}
    slots, _ = run_action(ValidateIntakeForm(), make_tracker("2", offered, intent="nlu_fallback", earlier=earlier))
    assert slots["surgery_type"] == "fusion"
    slots, _ = run_action(ValidateIntakeForm(), make_tracker("0", offered, intent="nlu_fallback", earlier=earlier))
    assert slots["surgery_type"] == "unknown"


def test_several_numbers_pick_several_symptoms() -> None:
    buttons = _offered("utter_ask_symptoms", {"repair_step": "choices"})
    earlier = [{"event": "user", "text": "?"}, {"event": "bot", "text": "Reply …", "data": {"buttons": buttons}}]
    offered = {"requested_slot": "symptoms", "repair_step": "choices", "repair_slot": "symptoms"}
    slots, _ = run_action(ValidateIntakeForm(), make_tracker("1 6", offered, intent="nlu_fallback", earlier=earlier))
    assert slots["symptoms"] == ["leg_pain", "numbness"]
    slots, _ = run_action(ValidateIntakeForm(), make_tracker("9", offered, intent="nlu_fallback", earlier=earlier))
    assert slots["symptoms"] == []


def test_every_choice_reads_as_what_it_says() -> None:
    """Each offered choice, sent as typed text, fills its question (the not-sure one: unknown)."""
    for response, slot, condition in (
        ("utter_ask_surgery_type", "surgery_type", {"repair_step": "choices"}),
        ("utter_ask_weeks_since_surgery", "weeks_since_surgery", {"repair_step": "choices"}),
        ("utter_ask_pain_course", "pain_course", {"pain_returned": None, "repair_step": "choices"}),
        ("utter_ask_pain_return_weeks", "pain_return_weeks", {"repair_step": "choices"}),
    ):
        for button in _offered(response, condition, channel=None):
            asked = {"requested_slot": slot, "weeks_since_surgery": 104.0, "pain_course": "relief_then_gradual_return"}
            if slot == "pain_course":
                asked = {"requested_slot": slot}
            intent = "dont_know" if button["payload"] == "I'm not sure" else "inform"
            slots, _ = run_action(ValidateIntakeForm(), make_tracker(button["payload"], asked, intent=intent))
            assert slots.get(slot) is not None, f"{response}: {button['payload']!r} answered nothing"


def test_a_name_that_could_not_be_given_is_noted_and_the_number_asked() -> None:
    offered = {
        "consent_to_schedule": True,
        "requested_slot": "patient_name",
        "repair_step": "choices",
        "repair_slot": "patient_name",
    }
    slots, said = run_action(
        ValidateBookingForm(), make_tracker("!!", offered, intent="nlu_fallback", form="booking_form")
    )
    assert slots["patient_name"] == "(name not given)"
    assert slots.get("requested_slot") in (None, "phone")  # Rasa's form asks the next one
    assert said == ["utter_gave_up_patient_name"]
    slots, _ = run_action(ValidateBookingForm(), make_tracker("skip", offered, form="booking_form"))
    assert slots["patient_name"] == "(name not given)"


def test_a_correction_while_booking_is_left_to_the_rule_that_goes_back_to_the_facts() -> None:
    asked = {"requested_slot": "consent_to_schedule", "assessment_done": True}
    tracker = make_tracker("actually the surgery was 4 months ago", asked, form="booking_form")
    assert run_action(ValidateBookingForm(), tracker)[0] == {}  # no slot: the form rejects the message


def test_a_return_dated_from_today_is_kept_for_a_later_correction() -> None:
    said = "discectomy 10 weeks ago, it went away and then came back suddenly 2 weeks ago"
    slots, _ = run_action(ValidateIntakeForm(), make_tracker(said))
    assert slots["pain_return_weeks"] == 8.0 and slots["pain_return_ago"] == 2.0


def test_asking_for_a_call_while_giving_a_number_is_part_of_the_answer() -> None:
    asked = {"consent_to_schedule": True, "patient_name": "Maria", "requested_slot": "phone"}
    tracker = make_tracker("call me anytime", asked, intent="request_human", form="booking_form")
    slots, _ = run_action(ValidateBookingForm(), tracker)
    assert slots["repair_step"] == "hint"  # not a new call-back request: the number is asked again
