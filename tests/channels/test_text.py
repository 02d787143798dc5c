"""Tests for bot.channels.text.clean_incoming_text."""

from __future__ import annotations

import pytest
from rasa.shared.core.training_data.story_reader.yaml_story_reader import (
    YAMLStoryReader,
)
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.channels.text import MAX_TEXT_LENGTH, clean_incoming_text

ATTACKS = [
    "/restart",
    '/inform{"phone":"1"}',
    "  /affirm",
    "//restart",
    "/ /restart",
    "\n\t/restart",
    "\u00a0/restart",
    "\u2003/restart",
    "\x1c/restart",
    "\x85/restart",
    "\u2028/restart",
    "\x00/restart",
    "\uff0frestart",
    "/\uff0f/restart",
    '/inform@1.0{"surgery_type":"fusion"}',
]


@pytest.mark.parametrize("value", [None, 3, 2.5, b"/restart", ["hi"], {"a": 1}, True])
def test_non_strings_become_empty(value: object) -> None:
    assert clean_incoming_text(value) == ""


@pytest.mark.parametrize("typed", ATTACKS)
def test_leading_slash_is_neutralised(typed: str) -> None:
    cleaned = clean_incoming_text(typed)
    assert not cleaned.strip().startswith("/")
    # Rasa itself leaves the message alone: no intent is unpacked from the text.
    message = YAMLStoryReader.unpack_regex_message(Message({TEXT: cleaned}))
    assert message.get(INTENT) is None


@pytest.mark.parametrize("typed", ATTACKS[:3])
def test_the_attack_would_work_without_cleaning(typed: str) -> None:
    message = YAMLStoryReader.unpack_regex_message(Message({TEXT: typed}))
    assert message.get(INTENT) is not None


def test_slash_removal_keeps_the_words() -> None:
    assert clean_incoming_text("/restart") == "restart"
    assert clean_incoming_text("  /affirm") == "affirm"


def test_a_whole_command_with_slot_values_is_dropped() -> None:
    assert clean_incoming_text('/inform{"phone":"1"}') == ""
    assert clean_incoming_text('/inform@1.0{"surgery_type":"fusion"}') == ""
    assert clean_incoming_text('{"surgery_type": "fusion"} without a slash') == (
        '{"surgery_type": "fusion"} without a slash'
    )


def test_inner_slashes_are_kept() -> None:
    assert clean_incoming_text("pain went from 3/10 to 8/10 and/or worse") == (
        "pain went from 3/10 to 8/10 and/or worse"
    )


def test_nfc_normalisation() -> None:
    assert clean_incoming_text("Rene\u0301e") == "Ren\u00e9e"


def test_controls_removed_and_newlines_become_spaces() -> None:
    assert clean_incoming_text("leg\x00 pain\x07\r\nand\ttingling\u2029now") == ("leg pain and tingling now")


def test_lone_surrogates_removed() -> None:
    cleaned = clean_incoming_text("back\ud800 pain")
    assert cleaned == "back pain"
    cleaned.encode("utf-8")


def test_whitespace_collapsed_and_trimmed() -> None:
    assert clean_incoming_text("   6   weeks\n\n ago  ") == "6 weeks ago"


def test_patient_meaning_preserved() -> None:
    text = "Hi, I'm Zoë — my L4/L5 fusion was 6 weeks ago 😣 & it hurts <a lot>!"
    assert clean_incoming_text(text) == text


def test_emoji_sequences_kept() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_incoming_text(f"hi {family}") == f"hi {family}"


def test_length_capped() -> None:
    assert len(clean_incoming_text("a" * 100_000)) == MAX_TEXT_LENGTH
    assert clean_incoming_text("a" * (MAX_TEXT_LENGTH - 1) + " b") == "a" * (MAX_TEXT_LENGTH - 1)


def test_empty_and_blank() -> None:
    assert clean_incoming_text("") == ""
    assert clean_incoming_text(" \n\t ") == ""
    assert clean_incoming_text("/") == ""
