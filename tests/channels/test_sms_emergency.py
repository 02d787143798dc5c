"""The urgent-care text message fits in two segments for every combination of red flags.

Measured as the SMS channel sends it (``sms_texts``: GSM-7 spelling), so what is counted is what
Twilio bills and the phone shows.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from bot.channels import sms_compliance
from bot.channels.sms_segments import is_gsm7, segments
from bot.channels.twilio import sms_texts
from bot.clinical.red_flags import emergency_text, load_red_flags, reminder_text
from bot.vocabulary import RED_FLAG_CODES

COMBINATIONS = [
    combination
    for size in range(1, len(RED_FLAG_CODES) + 1)
    for combination in itertools.combinations(RED_FLAG_CODES, size)
]


def test_there_are_fifteen_combinations_of_the_four_flags() -> None:
    assert len(RED_FLAG_CODES) == 4
    assert len(COMBINATIONS) == 15


@pytest.mark.parametrize("codes", COMBINATIONS, ids=lambda codes: "+".join(codes))
def test_every_combination_of_red_flags_fits_two_segments_by_sms(codes: tuple[str, ...]) -> None:
    (text,) = sms_texts([{"text": emergency_text(codes, sms=True)}])
    assert is_gsm7(text), text
    assert segments(text) <= 2, f"{segments(text)} segments ({len(text)} characters): {text!r}"
    assert text.startswith("URGENT:")
    assert text.count("911") == 1
    assert text.endswith("Don't wait for a clinic appointment.")


@pytest.mark.parametrize("codes", [c for c in COMBINATIONS if len(c) > 1], ids=lambda codes: "+".join(codes))
def test_several_flags_by_sms_still_name_each_sign(codes: tuple[str, ...]) -> None:
    text = emergency_text(codes, sms=True)
    flags = {flag.code: flag for flag in load_red_flags()}
    positions = [text.lower().index(flags[code].short.lower()) for code in codes]
    assert positions == sorted(positions)  # in table order


def test_the_reminder_names_the_flags_in_plain_words() -> None:
    assert reminder_text(["progressive_weakness"]) == "sudden or worsening leg weakness"
    both = reminder_text(["infection", "cauda_equina"])
    assert both.index("bladder") < both.index("fever")
    assert "; and " in both


LONG_CLINIC = {"clinic": "Northside Spine & Pain Center of Oakland", "phone": "(415) 555-0100"}


@pytest.mark.parametrize("codes", COMBINATIONS, ids=lambda codes: "+".join(codes))
def test_the_returning_patients_question_fits_two_segments_by_sms(codes: tuple[str, ...]) -> None:
    domain = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text())
    variations = domain["responses"]["utter_ask_red_flag_followup_answer"]
    (variation,) = [v for v in variations if v.get("channel") == "twilio"]
    (text,) = sms_texts([{"text": variation["text"].format(red_flag_about=reminder_text(codes))}])
    assert "Reply YES or NO" in text
    assert segments(text) <= 2, f"{segments(text)} segments ({len(text)} characters): {text!r}"


def test_the_opt_out_failure_answers_fit_two_segments() -> None:
    for template in (sms_compliance.STOP_FAILED, sms_compliance.START_FAILED):
        (text,) = sms_texts([{"text": template.format(**LONG_CLINIC)}])
        assert segments(text) <= 2, text
