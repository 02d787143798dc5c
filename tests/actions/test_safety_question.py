"""The safety question for a possible red flag: asked once per red flag, the message's facts kept."""

from __future__ import annotations

from typing import Any

import pytest

from actions import safety
from actions.safety import ActionResolveRedFlagCheck, ValidateRedFlagCheckForm
from tests.actions.conftest import make_tracker, run_action

SUSPECTED_CLOT = [{"entity": "suspected_red_flag", "value": "blood_clot", "start": 0, "end": 5}]
ASKED_SYMPTOMS = [{"event": "slot", "name": "requested_slot", "value": "symptoms"}, {"event": "user", "text": "x"}]


def _possible(text: str, slots: dict[str, Any] | None = None) -> Any:
    tracker = make_tracker(text, slots, intent="possible_red_flag", form="red_flag_check_form", earlier=ASKED_SYMPTOMS)
    tracker.latest_message["entities"] = tracker.latest_message["entities"] + SUSPECTED_CLOT
    return tracker


def test_the_question_names_the_guessed_red_flag_and_keeps_the_messages_facts() -> None:
    slots, _ = run_action(ValidateRedFlagCheckForm(), _possible("a heavy weight on my chest and my leg burns"))
    assert slots["red_flag_suspected"] == "blood_clot"
    assert slots["symptoms"] == ["leg_pain", "burning"]
    assert "red_flag_confirmed" not in slots  # the question is asked


def test_a_red_flag_already_denied_is_not_asked_about_again() -> None:
    slots, _ = run_action(
        ValidateRedFlagCheckForm(), _possible("a heavy weight on my chest", {"red_flags_checked": ["blood_clot"]})
    )
    assert slots["red_flag_confirmed"] is False and slots["red_flag_check_repeat"] is True


@pytest.mark.parametrize(("answer", "yes"), [("yes", True), ("no", False), ("maybe a little", True), ("nope", False)])
def test_the_answer(answer: str, yes: bool) -> None:
    asked = {"requested_slot": "red_flag_confirmed", "red_flag_suspected": "blood_clot"}
    slots, _ = run_action(ValidateRedFlagCheckForm(), make_tracker(answer, asked, form="red_flag_check_form"))
    assert slots["red_flag_confirmed"] is yes


def test_a_no_is_kept_for_staff_review_and_the_questions_go_on(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded: list[tuple[list[str], str]] = []
    monkeypatch.setattr(safety, "_record", lambda tracker, codes, kind: recorded.append((list(codes), kind)))
    said = {"red_flag_suspected": "blood_clot", "red_flag_confirmed": False}
    slots, messages = run_action(ActionResolveRedFlagCheck(), make_tracker("no", said, form="red_flag_check_form"))
    assert recorded == [(["blood_clot"], "review")]
    assert messages == ["utter_red_flag_check_cleared"]
    assert slots["red_flags_checked"] == ["blood_clot"]
    again = {**said, "red_flag_check_repeat": True, "red_flags_checked": ["blood_clot"]}
    recorded.clear()
    _, messages = run_action(ActionResolveRedFlagCheck(), make_tracker("no", again, form="red_flag_check_form"))
    assert recorded == [] and messages == []


def test_a_yes_is_the_red_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded: list[tuple[list[str], str]] = []
    monkeypatch.setattr(safety, "_record", lambda tracker, codes, kind: recorded.append((list(codes), kind)))
    said = {"red_flag_suspected": "blood_clot", "red_flag_confirmed": True}
    slots, messages = run_action(ActionResolveRedFlagCheck(), make_tracker("yes", said, form="red_flag_check_form"))
    assert slots["emergency_reported"] is True
    assert recorded == [(["blood_clot"], "emergency")]
    assert messages and "911" in messages[0]
