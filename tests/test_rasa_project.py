"""Rasa's own checks on the project: data validation and the test stories."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bot.dialogue.repair import GIVE_UP
from tests.conversations.harness import PROJECT_ROOT, trained_model

RASA = str(Path(sys.executable).parent / "rasa")
# Responses the forms and custom actions send; Rasa's validator only looks in stories and rules.
SENT_BY_FORMS_AND_ACTIONS = {
    "utter_ask_surgery_type",
    "utter_ask_weeks_since_surgery",
    "utter_ask_pain_course",
    "utter_ask_pain_return_weeks",
    "utter_ask_symptoms",
    "utter_ask_consent_to_schedule",
    "utter_ask_patient_name",
    "utter_ask_phone",
    "utter_ask_preferred_time",
    "utter_intro",
    "utter_booking_declined",
    "utter_already_requested",
    "utter_restart",
    "utter_ask_red_flag_confirmed",
    "utter_readback",
    "utter_red_flag_check_cleared",
    "utter_callback_failed",
    "utter_records_unavailable",
    "utter_ask_red_flag_followup_answer",
    "utter_red_flag_followup_unclear",
    "utter_red_flag_followup_checked",
    "utter_red_flag_followup_misread",
    *(f"utter_gave_up_{slot}" for slot in GIVE_UP),
}
# Set by bot.nlu.intent_guard, never predicted by the classifier, so it has no training examples.
GUARD_ONLY_INTENT = "The intent 'possible_red_flag' is listed in the domain file, but is not found in the NLU"


def _rasa(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", RASA_TELEMETRY_ENABLED="false")
    return subprocess.run([RASA, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)


def test_rasa_data_validate_is_clean() -> None:
    result = _rasa("data", "validate")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    unused = set(re.findall(r"The utterance '(\w+)' is not used in any story or rule", output))
    assert unused <= SENT_BY_FORMS_AND_ACTIONS, unused - SENT_BY_FORMS_AND_ACTIONS
    other_warnings = [
        line
        for line in output.splitlines()
        if "UserWarning" in line and "is not used in any story or rule" not in line and GUARD_ONLY_INTENT not in line
    ]
    assert not other_warnings, other_warnings


def test_stories_pass_with_no_prediction_errors(tmp_path: Path) -> None:
    result = _rasa(
        "test",
        "core",
        "--model",
        str(trained_model()),
        "--stories",
        "tests/stories",
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
