"""Every text the bot can send by SMS fits in two segments (GSM-7 160/153, UCS-2 70/67).

Texts are measured as the SMS channel sends them (``sms_texts``: button hints added, typographic
characters in GSM-7 spelling), with a long clinic name filled in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

from actions import scheduling
from bot.booking import booking_confirmation
from bot.channels import sms_compliance
from bot.channels.sms_segments import gsm_spelling, is_gsm7, segments
from bot.channels.twilio import TwilioCollectingOutput, sms_texts
from bot.clinical.engine import Assessment, Facts, FindingResult, load_findings
from bot.clinical.explain import explain
from bot.clinical.red_flags import emergency_text, load_red_flags
from bot.vocabulary import RED_FLAG_CODES

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[1] / "domain.yml").read_text())
RESPONSES: dict[str, list[dict[str, Any]]] = DOMAIN["responses"]
SLOTS = {"clinic_name": "Northside Spine & Pain Center of Oakland", "clinic_phone": "(415) 555-0100"}
MAX_SEGMENTS = 2
SMS = TwilioCollectingOutput.name()


def sent(message: dict[str, Any]) -> str:
    """The one SMS body the channel makes of a bot message."""
    (text,) = sms_texts([message])
    return text


def sms_variations(name: str) -> list[dict[str, Any]]:
    """What Rasa can pick for the SMS channel: the twilio variations, and the ones without a
    channel unless a plain twilio variation takes precedence over them."""
    variations = RESPONSES[name]
    twilio = [v for v in variations if v.get("channel") == SMS]
    if any(not v.get("condition") for v in twilio):
        return twilio
    return twilio + [v for v in variations if not v.get("channel")]


def filled(variation: dict[str, Any]) -> dict[str, Any]:
    nlg = TemplatedNaturalLanguageGenerator({"r": [variation]})
    # a conditional variation is measured with its condition met
    condition = {c["name"]: c["value"] for c in variation.get("condition") or []}
    message = nlg.generate_from_slots("r", {**SLOTS, **condition}, variation.get("channel") or "collector")
    assert message is not None
    return message


def test_the_output_channel_is_named_twilio() -> None:
    assert SMS == "twilio"


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_response_fits_two_segments_by_sms(name: str) -> None:
    for variation in sms_variations(name):
        text = sent(filled(variation))
        assert segments(text) <= MAX_SEGMENTS, f"{name}: {segments(text)} segments: {text!r}"


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_long_or_button_responses_have_an_sms_variation(name: str) -> None:
    defaults = [v for v in RESPONSES[name] if not v.get("channel")]
    needs_one = any(v.get("buttons") or len(filled(v)["text"]) > 320 for v in defaults)
    twilio = [v for v in RESPONSES[name] if v.get("channel") == SMS]
    if needs_one:
        assert twilio, f"{name} needs a channel: twilio variation"
    for variation in twilio:
        if variation.get("buttons"):  # SMS shows no buttons: a numbered menu, read back against them
            assert "Reply" in variation["text"] and "0 " in variation["text"], variation["text"]
        # the ask payload contract holds on every channel
        assert variation.get("custom") == defaults[0].get("custom")


def test_rasa_picks_the_twilio_variation_for_our_output_channel() -> None:
    nlg = TemplatedNaturalLanguageGenerator(RESPONSES)
    by_sms = nlg.generate_from_slots("utter_ask_consent_to_schedule", SLOTS, SMS)
    on_web = nlg.generate_from_slots("utter_ask_consent_to_schedule", SLOTS, "collector")
    assert by_sms is not None and on_web is not None
    assert by_sms["text"].endswith("Reply YES or NO.") and not by_sms.get("buttons")
    assert by_sms["custom"] == on_web["custom"] == {"type": "ask", "slot": "consent_to_schedule"}
    assert on_web["buttons"]
    intro = nlg.generate_from_slots("utter_intro", SLOTS, SMS)
    assert intro is not None and "Reply STOP" in intro["text"]


def test_by_sms_the_phone_question_asks_to_confirm_the_number_texted_from() -> None:
    nlg = TemplatedNaturalLanguageGenerator(RESPONSES)
    by_sms = nlg.generate_from_slots("utter_ask_phone", SLOTS, SMS)
    declined = nlg.generate_from_slots("utter_ask_phone", {**SLOTS, "sender_phone_declined": True}, SMS)
    on_web = nlg.generate_from_slots("utter_ask_phone", {**SLOTS, "sender_phone_declined": True}, "collector")
    assert by_sms is not None and declined is not None and on_web is not None
    assert "texting from" in by_sms["text"] and "Reply YES" in by_sms["text"]
    assert "texting from" not in declined["text"] and "area code" in declined["text"]
    assert on_web["text"] == "What phone number can the clinic call you on?"
    ask = {"type": "ask", "slot": "phone"}
    assert by_sms["custom"] == declined["custom"] == on_web["custom"] == ask
    for message in (by_sms, declined):
        assert segments(sent(message)) == 1
        assert not any(char.isdigit() for char in message["text"])  # the number is never repeated


def _result(rule: Any) -> FindingResult:
    return FindingResult(
        code=rule.code,
        title=rule.title,
        says=rule.says,
        source=rule.source,
        reasons=(),
        sms=rule.sms,
        fallback=rule.is_fallback,
    )


@pytest.mark.parametrize("rule", load_findings(), ids=lambda rule: rule.code)
def test_each_finding_explained_by_sms_fits_two_segments(rule: Any) -> None:
    text = sent({"text": explain(Assessment(Facts(), (_result(rule),)), sms=True)})
    assert is_gsm7(text), "the explanation should not need UCS-2"
    assert segments(text) <= MAX_SEGMENTS, f"{rule.code}: {segments(text)} segments: {text!r}"


@pytest.mark.parametrize("code", RED_FLAG_CODES)
def test_each_red_flag_by_sms_fits_two_segments(code: str) -> None:
    text = sent({"text": emergency_text([code], sms=True)})
    assert segments(text) <= MAX_SEGMENTS, f"{code}: {segments(text)} segments: {text!r}"
    assert len(load_red_flags()) == len(RED_FLAG_CODES)


def test_action_and_keyword_texts_fit_two_segments() -> None:
    words = {"clinic": SLOTS["clinic_name"], "phone": SLOTS["clinic_phone"]}
    texts = [
        scheduling.PAST_TIME,
        scheduling.PHONE_AS_NAME,
        scheduling.SAVE_FAILED.format(phone=SLOTS["clinic_phone"]),
        booking_confirmation("CR-23456789", "+14155552671", "+14155552671"),
        booking_confirmation("CR-23456789", "+14155552671"),
        sms_compliance.STOP_CONFIRMATION.format(**words),
        sms_compliance.RESUBSCRIBED.format(**words),
        sms_compliance.SUBSCRIBED.format(**words),
        sms_compliance.HELP_TEXT.format(**words),
        sms_compliance.HELP_TEXT_OPTED_OUT.format(**words),
    ]
    for text in texts:
        assert segments(sent({"text": text})) <= MAX_SEGMENTS, text
    assert segments(sms_compliance.STOP_CONFIRMATION.format(**words)) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("[" * 80, 1),  # extension characters take two places
        ("[" * 81, 2),
        ("é" * 160, 1),  # é is GSM-7
        ("• " + "a" * 68, 1),  # one non-GSM character: UCS-2, 70 per segment
        ("• " + "a" * 69, 2),
        ("• " + "a" * 132, 2),  # 134 = 2 x 67
        ("• " + "a" * 133, 3),
        ("\U0001f600" * 35, 1),  # an emoji is two UTF-16 units
        ("\U0001f600" * 36, 2),
    ],
)
def test_segments(text: str, expected: int) -> None:
    assert segments(text) == expected


def test_gsm_spelling() -> None:
    assert gsm_spelling("\u2022 it\u2019s \u201cfine\u201d \u2013 ok\u2026") == '- it\'s "fine" - ok...'
    assert is_gsm7(gsm_spelling("\u2022 it\u2019s \u201cfine\u201d \u2013 ok\u2026"))
    assert not is_gsm7("\u2022")
