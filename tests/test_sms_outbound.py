"""Sending one staff text through Twilio's REST API (bot.sms_outbound), with httpx.MockTransport."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from bot.settings import Settings
from bot.sms_outbound import (
    MAX_BODY_CHARS,
    InvalidBody,
    OutboundSmsConfig,
    SentSms,
    SmsSendError,
    TwilioSmsSender,
    prepare_body,
)

SID = "AC" + "0123456789abcdef" * 2
SERVICE = "MG" + "0123456789abcdef" * 2
TOKEN = "secret-auth-token"
FROM = "+15550100199"
TO = "+13125550188"
MESSAGE_SID = "SM" + "fedcba9876543210" * 2
CONFIG = OutboundSmsConfig(SID, TOKEN, from_number=FROM)
INVALID_TO = f"The 'To' number {TO} is not valid"
UNSUBSCRIBED = "Attempt to send to unsubscribed recipient"


def _settings(**values: str) -> Settings:
    base = {"twilio_account_sid": SID, "twilio_auth_token": TOKEN, "twilio_from_number": FROM}
    return Settings(**{**base, **values})  # type: ignore[arg-type]


def _send(
    handler: Callable[[httpx.Request], httpx.Response], config: OutboundSmsConfig = CONFIG, body: str = "See you soon"
) -> SentSms:
    sender = TwilioSmsSender(config, transport=httpx.MockTransport(handler))
    return asyncio.run(sender.send(TO, body))


def _form(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.content.decode("utf-8")).items()}


def test_configuration_needs_the_account_the_token_and_a_sender() -> None:
    assert OutboundSmsConfig.from_settings(_settings()) == CONFIG
    assert OutboundSmsConfig.from_settings(Settings()) is None
    assert OutboundSmsConfig.from_settings(_settings(twilio_account_sid="")) is None
    assert OutboundSmsConfig.from_settings(_settings(twilio_account_sid="AC123/../x")) is None
    assert OutboundSmsConfig.from_settings(_settings(twilio_auth_token="")) is None
    assert OutboundSmsConfig.from_settings(_settings(twilio_from_number="")) is None
    assert OutboundSmsConfig.from_settings(_settings(twilio_from_number="(555) 010-0199")) is None
    with_service = OutboundSmsConfig.from_settings(_settings(twilio_messaging_service_sid=SERVICE))
    assert with_service == OutboundSmsConfig(SID, TOKEN, messaging_service_sid=SERVICE)
    assert OutboundSmsConfig.from_settings(_settings(twilio_from_number="", twilio_messaging_service_sid="MG1")) is None
    assert TOKEN not in repr(CONFIG)


def test_a_message_is_posted_with_basic_auth_and_form_fields() -> None:
    seen: list[httpx.Request] = []

    def twilio(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"sid": MESSAGE_SID, "status": "queued", "to": TO})

    assert _send(twilio) == SentSms(MESSAGE_SID, "queued")
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert _form(request) == {"To": TO, "Body": "See you soon", "From": FROM}


def test_a_messaging_service_replaces_the_from_number() -> None:
    seen: list[httpx.Request] = []

    def twilio(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"sid": MESSAGE_SID, "status": "accepted"})

    assert _send(twilio, OutboundSmsConfig(SID, TOKEN, messaging_service_sid=SERVICE)).status == "accepted"
    assert _form(seen[0]) == {"To": TO, "Body": "See you soon", "MessagingServiceSid": SERVICE}


def test_only_e164_numbers_are_texted() -> None:
    def twilio(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    sender = TwilioSmsSender(CONFIG, transport=httpx.MockTransport(twilio))
    for number in ("", "3125550188", "+1 312 555 0188", "+0123"):
        with pytest.raises(ValueError):
            asyncio.run(sender.send(number, "Hello"))


@pytest.mark.parametrize(
    ("answer", "kind", "status", "code"),
    [
        (httpx.Response(400, json={"code": 21211, "message": INVALID_TO}), "rejected", 400, 21211),
        (httpx.Response(400, json={"code": 21610, "message": UNSUBSCRIBED}), "rejected", 400, 21610),
        (httpx.Response(429, json={"code": 20429, "message": "Too Many Requests"}), "rejected", 429, 20429),
        (httpx.Response(404, text="not json"), "rejected", 404, None),
        (httpx.Response(503, text=f"<html>down {TO}</html>"), "unavailable", 503, None),
        (httpx.Response(500, json={"code": "not-a-number"}), "unavailable", 500, None),
        (httpx.Response(201, json={"status": "queued"}), "bad_response", 201, None),
        (httpx.Response(200, json={"sid": "../../x", "status": "queued"}), "bad_response", 200, None),
        (httpx.Response(201, text="not json"), "bad_response", 201, None),
    ],
)  # fmt: skip
def test_twilio_errors_become_typed_and_hold_no_patient_data(
    caplog: pytest.LogCaptureFixture, answer: httpx.Response, kind: str, status: int, code: int | None
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SmsSendError) as raised:
        _send(lambda _request: answer, body="Your MRI shows a disc bulge")
    assert (raised.value.kind, raised.value.status, raised.value.code) == (kind, status, code)
    for text in (str(raised.value), raised.value.describe(), caplog.text):
        assert TO not in text and "MRI" not in text and "not valid" not in text and TOKEN not in text
    assert raised.value.describe().startswith(kind)


@pytest.mark.parametrize(
    "error", [httpx.ConnectError(f"cannot reach {TO}"), httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("x")]
)
def test_network_errors_become_typed(caplog: pytest.LogCaptureFixture, error: Exception) -> None:
    caplog.set_level(logging.DEBUG)

    def twilio(request: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(SmsSendError) as raised:
        _send(twilio)
    assert (raised.value.kind, raised.value.status, raised.value.code) == ("network", None, None)
    assert raised.value.describe() == "network"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert TO not in caplog.text and type(error).__name__ in caplog.text


def test_bodies_are_trimmed_spelt_in_gsm7_and_capped_at_two_segments() -> None:
    assert prepare_body("  It’s Tuesday – 9:30…\r\nSee you  ") == "It's Tuesday - 9:30...\nSee you"
    assert MAX_BODY_CHARS == 306
    assert prepare_body("x" * 306) == "x" * 306
    assert prepare_body("{" * 153) == "{" * 153  # extension characters take two places: 306
    assert prepare_body("é" + "🙂" * 66) == "é" + "🙂" * 66  # UCS-2: 133 units fit in two segments of 67
    for body, problem in [
        ("", "empty"),
        (" \r\n\t ", "empty"),
        ("x" * 307, "too_long"),
        ("{" * 154, "too_long"),
        ("🙂" * 68, "too_long"),
        ("bell\x07", "control_characters"),
        ("nul\x00", "control_characters"),
    ]:
        with pytest.raises(InvalidBody) as raised:
            prepare_body(body)
        assert raised.value.problem == problem
        assert str(raised.value) == f"invalid text: {problem}"
