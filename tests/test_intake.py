"""The intake logic: which facts a message sets, corrections, "I don't know", checks."""

from __future__ import annotations

from typing import Any

import pytest

from bot.intake import (
    FUTURE,
    RETURNED,
    UNKNOWN,
    PatientMessage,
    check_pain_return_weeks,
    check_weeks_since_surgery,
    facts_from_slots,
    intake_updates,
    required_intake_slots,
)


def msg(intent: str = "inform", *entities: dict[str, Any]) -> PatientMessage:
    return PatientMessage(intent=intent, entities=entities)


def time(weeks: float, role: str) -> dict[str, Any]:
    return {"entity": "time", "value": weeks, "role": role}


def ent(name: str, value: str, role: str | None = None) -> dict[str, Any]:
    entity = {"entity": name, "value": value}
    if role:
        entity["role"] = role
    return entity


def test_a_whole_story_fills_every_fact_at_once() -> None:
    message = msg(
        "inform",
        ent("surgery_type", "decompression"),
        time(10, "surgery"),
        ent("pain_course", "relief_then_sudden_return"),
        time(1, "return_ago"),
        ent("symptom", "leg_pain"),
        ent("symptom", "tingling"),
    )
    assert intake_updates(message, None, {}) == {
        "surgery_type": "decompression",
        "weeks_since_surgery": 10.0,
        "pain_course": "relief_then_sudden_return",
        "pain_return_weeks": 9.0,
        "pain_return_ago": 1.0,
        "symptoms": ["leg_pain", "tingling"],
    }


def test_return_time_is_counted_from_the_known_surgery_time() -> None:
    updates = intake_updates(msg("inform", time(2, "ago")), "pain_return_weeks", {"weeks_since_surgery": 20.0})
    assert updates == {"pain_return_weeks": 18.0, "pain_return_ago": 2.0}


def test_a_corrected_surgery_date_moves_a_return_dated_from_today() -> None:
    slots = {"weeks_since_surgery": 10.0, "pain_course": "relief_then_sudden_return", "pain_return_weeks": 8.0}
    updates = intake_updates(msg("inform", time(12, "surgery")), "symptoms", {**slots, "pain_return_ago": 2.0})
    assert updates == {"weeks_since_surgery": 12.0, "pain_return_weeks": 10.0}
    # a return dated from the surgery ("2 months after") stays where it was
    assert intake_updates(msg("inform", time(12, "surgery")), "symptoms", slots) == {"weeks_since_surgery": 12.0}


def test_a_bare_length_answers_the_return_question_as_weeks_after_surgery() -> None:
    updates = intake_updates(msg("inform", time(8.67, "duration")), "pain_return_weeks", {"weeks_since_surgery": 20.0})
    assert updates == {"pain_return_weeks": 8.67}


def test_a_bare_length_answers_the_surgery_question() -> None:
    assert intake_updates(msg("inform", time(6, "duration")), "weeks_since_surgery", {}) == {"weeks_since_surgery": 6.0}


def test_a_later_past_time_corrects_the_surgery_date() -> None:
    slots = {"weeks_since_surgery": 6.0, "surgery_type": "fusion"}
    assert intake_updates(msg("inform", time(17.33, "ago")), "symptoms", slots) == {"weeks_since_surgery": 17.33}


def test_a_length_during_the_symptom_question_is_not_the_surgery_date() -> None:
    slots = {"weeks_since_surgery": 6.0}
    updates = intake_updates(msg("inform", time(3, "duration"), ent("symptom", "burning")), "symptoms", slots)
    assert updates == {"symptoms": ["burning"]}


def test_a_correction_of_the_surgery_type() -> None:
    assert intake_updates(
        msg("inform", ent("surgery_type", "fusion")), "symptoms", {"surgery_type": "decompression"}
    ) == {"surgery_type": "fusion"}


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("surgery_type", "unknown"),
        ("weeks_since_surgery", UNKNOWN),
        ("pain_course", UNKNOWN),
        ("pain_return_weeks", UNKNOWN),
        ("symptoms", UNKNOWN),
    ],
)
def test_i_dont_know_answers_the_question_asked(requested: str, expected: str) -> None:
    assert intake_updates(msg("dont_know"), requested, {}) == {requested: expected}


def test_no_to_the_symptom_question_means_none() -> None:
    assert intake_updates(msg("deny"), "symptoms", {}) == {"symptoms": []}


def test_denied_symptoms_are_removed_and_new_ones_added() -> None:
    message = msg("inform", ent("symptom", "numbness", "denied"), ent("symptom", "burning"))
    assert intake_updates(message, None, {"symptoms": ["numbness", "tingling"]}) == {
        "symptoms": ["burning", "tingling"]
    }


def test_a_denial_alone_does_not_answer_an_unasked_symptom_question() -> None:
    assert intake_updates(msg("inform", ent("symptom", "numbness", "denied")), "pain_course", {}) == {}


def test_side_questions_never_fill_facts() -> None:
    assert intake_updates(msg("ask_billing", ent("surgery_type", "fusion")), "surgery_type", {}) == {}
    assert intake_updates(msg("report_red_flag", ent("symptom", "weakness")), "symptoms", {}) == {}


def test_a_future_date_is_flagged_for_the_question_asked() -> None:
    message = msg("inform", {"entity": "time_problem", "value": "future"})
    assert intake_updates(message, "weeks_since_surgery", {}) == {"weeks_since_surgery": FUTURE}
    assert check_weeks_since_surgery(FUTURE) == "future"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (6.0, None),
        (0, None),
        (UNKNOWN, None),
        (-1, "implausible"),
        (99999, "implausible"),
        ("x", "implausible"),
    ],
)
def test_surgery_time_checks(value: Any, problem: str | None) -> None:
    assert check_weeks_since_surgery(value) == problem


@pytest.mark.parametrize(
    ("value", "surgery", "problem"),
    [
        (8.0, 20.0, None),
        (-2.0, 20.0, "before_surgery"),
        (25.0, 20.0, "after_today"),
        (UNKNOWN, 20.0, None),
        (8.0, UNKNOWN, None),
    ],
)
def test_return_time_checks(value: Any, surgery: Any, problem: str | None) -> None:
    assert check_pain_return_weeks(value, surgery) == problem


def test_return_question_only_for_relief_then_return_courses() -> None:
    assert "pain_return_weeks" in required_intake_slots({"pain_course": "relief_then_gradual_return"})
    assert "pain_return_weeks" in required_intake_slots({"pain_course": "relief_then_sudden_return"})
    assert "pain_return_weeks" not in required_intake_slots({"pain_course": "improving"})
    assert "pain_return_weeks" not in required_intake_slots({})
    # "fine at first, then it came back a year after": the return time is kept before the speed is asked
    assert "pain_return_weeks" in required_intake_slots({"pain_course": "returned"})
    assert "pain_return_weeks" in required_intake_slots({"pain_course": None, "pain_returned": True})


def test_facts_turn_unknowns_into_none() -> None:
    facts = facts_from_slots(
        {
            "surgery_type": "unknown",
            "weeks_since_surgery": UNKNOWN,
            "pain_course": "improving",
            "pain_return_weeks": 4.0,
            "symptoms": UNKNOWN,
        }
    )
    assert facts.weeks_since_surgery is None
    assert facts.pain_return_weeks is None  # not a relief-then-return course
    assert facts.symptoms == frozenset()


def test_two_loose_past_points_are_surgery_then_return() -> None:
    message = msg("inform", time(28.57, "ago"), time(17.29, "ago"), ent("pain_course", "relief_then_gradual_return"))
    updates = intake_updates(message, None, {})
    assert updates["weeks_since_surgery"] == 28.57
    assert updates["pain_return_weeks"] == 11.28


def test_a_return_without_its_speed_asks_how_fast() -> None:
    returned = msg("inform", ent("return_speed", "returned"))
    assert intake_updates(returned, "pain_course", {}) == {"pain_course": RETURNED}
    assert intake_updates(returned, None, {"pain_course": "improving"}) == {"pain_course": RETURNED}
    # A return already named is only being dated.
    assert intake_updates(returned, "pain_return_weeks", {"pain_course": "relief_then_sudden_return"}) == {}


@pytest.mark.parametrize(
    "speed, course", [("sudden", "relief_then_sudden_return"), ("gradual", "relief_then_gradual_return")]
)
def test_the_speed_answers_the_follow_up(speed: str, course: str) -> None:
    answer = msg("inform", ent("return_speed", speed))
    assert intake_updates(answer, "pain_course", {"pain_returned": True}) == {"pain_course": course}
    # Without the follow-up, a bare "suddenly" says nothing about the course.
    assert intake_updates(answer, "pain_course", {}) == {}
    assert intake_updates(answer, "symptoms", {"pain_returned": True}) == {}


def test_a_whole_course_wins_over_hints() -> None:
    both = msg("inform", ent("pain_course", "improving"), ent("return_speed", "returned"))
    assert intake_updates(both, "pain_course", {"pain_returned": True}) == {"pain_course": "improving"}


def test_a_body_part_named_at_the_symptom_question_is_pain_there() -> None:
    said = PatientMessage("inform", (), body_part_pains=("back_pain",))
    assert intake_updates(said, "symptoms", {}) == {"symptoms": ["back_pain"]}
    assert intake_updates(said, "pain_course", {}) == {}
