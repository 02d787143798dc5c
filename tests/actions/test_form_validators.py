"""Every required slot of every form has its extract_ and validate_ method (a typo fails silently)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa_sdk.forms import FormValidationAction

from actions.handoff import ValidateCallbackForm
from actions.intake import ValidateIntakeForm
from actions.safety import ValidateRedFlagCheckForm
from actions.scheduling import ValidateBookingForm
from actions.session import ValidateRedFlagFollowupForm

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text())
VALIDATORS: dict[str, type[FormValidationAction]] = {
    "intake_form": ValidateIntakeForm,
    "booking_form": ValidateBookingForm,
    "callback_form": ValidateCallbackForm,
    "red_flag_check_form": ValidateRedFlagCheckForm,
    "red_flag_followup_form": ValidateRedFlagFollowupForm,
}
# The safety question is not one of the contract's facts: it carries no ask payload.
NOT_A_FACT = {"red_flag_confirmed", "red_flag_followup_answer"}


def test_every_form_has_a_validator() -> None:
    assert set(DOMAIN["forms"]) == set(VALIDATORS)
    for form, validator in VALIDATORS.items():
        assert validator().name() == f"validate_{form}"
        assert f"validate_{form}" in DOMAIN["actions"]


@pytest.mark.parametrize(
    ("form", "slot"),
    [(form, slot) for form, spec in DOMAIN["forms"].items() for slot in spec["required_slots"]],
)
def test_each_required_slot_is_extracted_and_validated(form: str, slot: str) -> None:
    validator = VALIDATORS[form]
    assert callable(getattr(validator, f"extract_{slot}", None)), f"extract_{slot} missing"
    assert callable(getattr(validator, f"validate_{slot}", None)), f"validate_{slot} missing"
    assert DOMAIN["slots"][slot]["mappings"] == [{"type": "custom"}]


@pytest.mark.parametrize("form", sorted(VALIDATORS))
def test_no_stray_methods(form: str) -> None:
    """A misspelt method (validate_phon) would never run: every one must name a slot."""
    slots = set(DOMAIN["forms"][form]["required_slots"])
    for attr in dir(VALIDATORS[form]):
        for prefix in ("extract_", "validate_"):
            if attr.startswith(prefix) and attr not in ("validate_slots",):
                name = attr[len(prefix) :]
                if name in ("slots",):
                    continue
                assert name in slots, f"{attr} names no required slot of {form}"


def test_every_ask_response_carries_the_ask_payload() -> None:
    for form in DOMAIN["forms"].values():
        for slot in form["required_slots"]:
            for variation in DOMAIN["responses"][f"utter_ask_{slot}"]:
                if slot in NOT_A_FACT:
                    assert "custom" not in variation
                else:
                    assert variation["custom"] == {"type": "ask", "slot": slot}
