"""The red-flag table, the emergency payload and the urgent-care messages."""

from __future__ import annotations

import copy
import itertools
import re
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]

from bot.clinical.red_flags import (
    DEFAULT_RED_FLAGS_PATH,
    RED_FLAG_CODES,
    RedFlag,
    RedFlagsError,
    emergency_payload,
    emergency_text,
    load_red_flags,
    parse_red_flags,
)

FLAGS = load_red_flags()
FLAG_IDS = [flag.code for flag in FLAGS]
EMERGENCY = ["cauda_equina", "progressive_weakness", "blood_clot"]


def test_the_four_red_flags_in_table_order() -> None:
    assert [flag.code for flag in FLAGS] == [
        "cauda_equina",
        "progressive_weakness",
        "infection",
        "blood_clot",
    ]
    assert list(RED_FLAG_CODES) == [flag.code for flag in FLAGS]
    assert all(flag.title and flag.describes for flag in FLAGS)


def test_payload_is_the_contract_shape() -> None:
    assert emergency_payload(["cauda_equina"]) == {
        "type": "emergency",
        "red_flags": ["cauda_equina"],
    }


def test_payload_is_in_table_order_and_deduplicated() -> None:
    payload = emergency_payload(
        ["blood_clot", "infection", "blood_clot", "cauda_equina"]
    )
    assert payload == {
        "type": "emergency",
        "red_flags": ["cauda_equina", "infection", "blood_clot"],
    }


def test_a_single_code_string_is_one_code() -> None:
    assert emergency_payload("infection") == {
        "type": "emergency",
        "red_flags": ["infection"],
    }


@pytest.mark.parametrize("codes", [[], ["fever"], ["infection", "bleeding"]])
def test_unknown_or_no_codes_are_refused(codes: list[str]) -> None:
    with pytest.raises(ValueError):
        emergency_payload(codes)
    with pytest.raises(ValueError):
        emergency_text(codes)


@pytest.mark.parametrize("code", EMERGENCY)
def test_emergency_flags_send_to_911_or_the_emergency_department(code: str) -> None:
    for sms in (False, True):
        text = emergency_text([code], sms=sms)
        assert text.startswith(
            (
                "Please call 911 or go to the nearest emergency department now.",
                "URGENT: Call 911",
            )
        )
        assert "surgeon" not in text


def test_infection_sends_to_the_surgeon_then_urgent_care_then_911() -> None:
    for sms in (False, True):
        text = emergency_text(["infection"], sms=sms)
        surgeon, reach, urgent, emergency = (
            text.find("surgeon now"),
            text.find("can't reach them"),
            text.find("urgent care"),
            text.find("call 911"),
        )
        assert -1 < surgeon < reach < urgent < emergency, text


def test_the_most_urgent_instruction_wins_and_is_given_once() -> None:
    text = emergency_text(["infection", "cauda_equina"])
    assert text.startswith(
        "Please call 911 or go to the nearest emergency department now."
    )
    assert "surgeon" not in text
    assert text.count("911") == 1
    assert "bladder" in text and "fever" in text
    assert text.index("bladder") < text.index("fever")


@pytest.mark.parametrize("flag", FLAGS, ids=FLAG_IDS)
def test_single_flag_messages(flag: RedFlag) -> None:
    assert emergency_text([flag.code]) == flag.says
    assert emergency_text([flag.code], sms=True) == flag.sms
    assert flag.warning in flag.says
    assert flag.sms_warning in flag.sms
    assert len(flag.sms) <= 300
    assert len(flag.sms) < len(flag.says)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_every_combination_gives_one_unmistakable_instruction(n: int) -> None:
    for combo in itertools.combinations(RED_FLAG_CODES, n):
        for sms in (False, True):
            text = emergency_text(combo, sms=sms)
            assert "911" in text
            assert text.count("911") == 1
            assert (
                len(re.findall(r"\bnow\b", text.split(".")[0])) == 1
            )  # the first sentence says act now
            assert not re.search(
                r"\b(schedul\w*|book\w*|would you like)\b", text, re.IGNORECASE
            )


def test_messages_make_no_diagnosis() -> None:
    for flag in FLAGS:
        for text in (flag.says, flag.sms):
            assert "you have" not in text.lower()


# ---------------------------------------------------------------------------------------------
# Validation


def shipped() -> dict[str, Any]:
    """A fresh copy of the shipped YAML data."""
    data: dict[str, Any] = yaml.safe_load(
        DEFAULT_RED_FLAGS_PATH.read_text(encoding="utf-8")
    )
    return copy.deepcopy(data)


def test_the_shipped_data_parses() -> None:
    assert parse_red_flags(shipped()).flags == FLAGS


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["red_flags"][0].update(code="saddle"), "unknown code 'saddle'"),
        (
            lambda d: d["red_flags"][0].update(level="soon"),
            "'soon' is not one of emergency, surgeon",
        ),
        (lambda d: d["red_flags"][0].update(extra="x"), "unknown key 'extra'"),
        (lambda d: d["red_flags"].pop(), "red_flags must be exactly"),
        (lambda d: d["red_flags"].reverse(), "red_flags must be exactly"),
        (
            lambda d: d["instructions"].reverse(),
            "instructions must be given for the levels",
        ),
        (lambda d: d["red_flags"][2].update(sms_warning="x " * 100), "at most 300"),
        (lambda d: d["closing"].pop("sms"), "missing key 'sms'"),
        (
            lambda d: d["red_flags"][1].update(warning=""),
            "warning: expected non-empty text",
        ),
    ],
)
def test_table_errors_are_clear(change: Any, message: str) -> None:
    data = shipped()
    change(data)
    with pytest.raises(RedFlagsError) as raised:
        parse_red_flags(data)
    assert message in str(raised.value)
