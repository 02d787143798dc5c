"""Tests for bot.channels.twilio with real X-Twilio-Signature values."""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from rasa.core.channels.channel import UserMessage
from twilio.request_validator import RequestValidator

from bot.channels.twilio import (
    MessageSidCache,
    TwilioTwimlInput,
    button_hint,
    render_twiml,
    sms_conversation_id,
    sms_texts,
)
from tests.channels.conftest import FakeAgent, serve

TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_URL = "https://sms.clinic.example"
PATH = "/webhooks/twilio/webhook"
PHONE = "+15550100123"


def twilio_form(**overrides: str | None) -> dict[str, str]:
    """A form as Twilio sends it, including the empty fields it signs too."""
    form: dict[str, str | None] = {
        "ToCountry": "US",
        "SmsMessageSid": "SM0001",
        "NumMedia": "0",
        "FromCity": "",
        "Body": "My back still hurts",
        "From": PHONE,
        "To": "+15550109999",
        "MessageSid": "SM0001",
        "AccountSid": "AC0001",
        "ApiVersion": "2010-04-01",
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def sign(form: dict[str, str], url: str = PUBLIC_URL + PATH, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


async def echo(message: UserMessage) -> None:
    await message.output_channel.send_text_message(message.sender_id, f"got [{message.text}]")


class Exchange:
    """Posts webhooks to a channel served in-process and keeps what the bot saw."""

    def __init__(self, reply: Any = echo, channel: TwilioTwimlInput | None = None) -> None:
        self.agent = FakeAgent(reply)
        self.channel = channel or TwilioTwimlInput(auth_token=TOKEN, public_url=PUBLIC_URL)

    def post(self, requests: list[dict[str, Any]]) -> list[httpx.Response]:
        async def scenario() -> list[httpx.Response]:
            async with serve([self.channel], self.agent) as base_url:
                async with httpx.AsyncClient(base_url=base_url) as client:
                    return [await client.post(PATH, **request) for request in requests]

        return asyncio.run(scenario())

    def post_one(
        self,
        form: dict[str, str],
        signature: str | None = None,
        content: str | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        request: dict[str, Any] = {
            "content": urlencode(form) if content is None else content,
            "headers": headers,
        }
        if params:
            request["params"] = params
        return self.post([request])[0]


def messages(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(answer.text)
    assert root.tag == "Response"
    return [element.text or "" for element in root]


def test_valid_request_reaches_bot_and_answers_twiml() -> None:
    exchange = Exchange()
    form = twilio_form(Body="  /restart  my back")
    answer = exchange.post_one(form, sign(form))
    assert messages(answer) == ["got [restart my back]"]
    (message,) = exchange.agent.received
    assert message.sender_id == sms_conversation_id(PHONE, TOKEN)
    assert PHONE not in message.sender_id
    assert message.input_channel == "twilio"
    assert message.metadata == {"channel": "twilio", "phone": PHONE}


def test_tampered_param_is_refused() -> None:
    exchange = Exchange()
    form = twilio_form()
    signature = sign(form)
    answer = exchange.post_one(twilio_form(From="+15550100999"), signature)
    assert answer.status_code == 403
    assert answer.text == "Forbidden"
    assert exchange.agent.received == []


def test_added_param_is_refused() -> None:
    exchange = Exchange()
    form = twilio_form()
    answer = exchange.post_one({**form, "Extra": "x"}, sign(form))
    assert answer.status_code == 403
    assert exchange.agent.received == []


def test_signature_over_wrong_url_is_refused() -> None:
    exchange = Exchange()
    form = twilio_form()
    answer = exchange.post_one(form, sign(form, url="https://other.example" + PATH))
    assert answer.status_code == 403
    assert exchange.agent.received == []


def test_signature_with_wrong_token_is_refused() -> None:
    exchange = Exchange()
    form = twilio_form()
    answer = exchange.post_one(form, sign(form, token="another-token"))
    assert answer.status_code == 403


def test_missing_header_is_refused() -> None:
    exchange = Exchange()
    answer = exchange.post_one(twilio_form(), signature=None)
    assert answer.status_code == 403
    assert answer.text == "Forbidden"
    assert exchange.agent.received == []


def test_no_token_configured_refuses_everything(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        channel = TwilioTwimlInput(auth_token="", public_url=PUBLIC_URL)
    assert "TWILIO_AUTH_TOKEN" in caplog.text
    exchange = Exchange(channel=channel)
    form = twilio_form()
    assert exchange.post_one(form, sign(form, token="")).status_code == 403
    assert exchange.agent.received == []


def test_json_body_is_refused() -> None:
    exchange = Exchange()
    answer = exchange.post([{"json": twilio_form(), "headers": {"X-Twilio-Signature": sign(twilio_form())}}])[
        0
    ]
    assert answer.status_code == 403


def test_query_string_is_part_of_the_signed_url() -> None:
    exchange = Exchange()
    form = twilio_form()
    good = sign(form, url=PUBLIC_URL + PATH + "?clinic=north")
    assert messages(exchange.post_one(form, good, params={"clinic": "north"}))
    bad = sign(form)
    assert exchange.post_one(form, bad, params={"clinic": "north"}).status_code == 403


def test_missing_body_is_empty_text() -> None:
    exchange = Exchange()
    form = twilio_form(Body=None)
    assert messages(exchange.post_one(form, sign(form))) == ["got []"]
    assert exchange.agent.received[0].text == ""


def test_empty_body_and_blank_fields_verify() -> None:
    exchange = Exchange()
    form = twilio_form(Body="", FromCity="", FromState="")
    assert messages(exchange.post_one(form, sign(form))) == ["got []"]


def test_missing_from_is_a_bad_request() -> None:
    exchange = Exchange()
    form = twilio_form(From=None)
    assert exchange.post_one(form, sign(form)).status_code == 400
    assert exchange.agent.received == []


def test_replayed_message_sid_gets_empty_response() -> None:
    exchange = Exchange()
    form = twilio_form()
    signature = sign(form)
    request = {
        "content": urlencode(form),
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    }
    first, replay = exchange.post([request, request])
    assert messages(first) == ["got [My back still hurts]"]
    assert replay.status_code == 200
    assert messages(replay) == []
    assert "<Response/>" in replay.text
    assert len(exchange.agent.received) == 1


def test_several_replies_buttons_and_custom() -> None:
    async def reply(message: UserMessage) -> None:
        out = message.output_channel
        await out.send_text_message(message.sender_id, "Thanks.")
        await out.send_custom_json(message.sender_id, {"type": "ask", "slot": "consent"})
        await out.send_text_with_buttons(
            message.sender_id,
            "Would you like a consultation?",
            [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
        )
        await out.send_text_message(message.sender_id, "Or call us.")

    exchange = Exchange(reply)
    form = twilio_form()
    assert messages(exchange.post_one(form, sign(form))) == [
        "Thanks.",
        "Would you like a consultation?\nReply YES or NO",
        "Or call us.",
    ]


def test_only_custom_gives_empty_response() -> None:
    async def reply(message: UserMessage) -> None:
        await message.output_channel.send_custom_json(
            message.sender_id, {"type": "emergency", "red_flags": ["cauda_equina"]}
        )

    exchange = Exchange(reply)
    form = twilio_form()
    answer = exchange.post_one(form, sign(form))
    assert messages(answer) == []
    assert "<Response/>" in answer.text
    assert "emergency" not in answer.text


def test_text_is_xml_escaped() -> None:
    async def reply(message: UserMessage) -> None:
        await message.output_channel.send_text_message(
            message.sender_id, "Pain <5> & worse </Message><Message>x\x00"
        )

    exchange = Exchange(reply)
    form = twilio_form()
    answer = exchange.post_one(form, sign(form))
    assert "&lt;5&gt; &amp; worse &lt;/Message&gt;" in answer.text
    assert messages(answer) == ["Pain <5> & worse </Message><Message>x"]


def test_bot_failure_answers_what_was_said(caplog: pytest.LogCaptureFixture) -> None:
    async def reply(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, "Call 911 now.")
        raise RuntimeError(message.text)

    exchange = Exchange(reply)
    form = twilio_form(Body="Jane Doe numb saddle")
    with caplog.at_level(logging.INFO):
        assert messages(exchange.post_one(form, sign(form))) == ["Call 911 now."]
    assert "Jane" not in caplog.text


def test_settings_supply_token_and_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("PUBLIC_URL", PUBLIC_URL + "/")
    channel = TwilioTwimlInput.from_credentials(None)
    assert isinstance(channel, TwilioTwimlInput)
    assert channel.auth_token == TOKEN
    assert channel.public_url == PUBLIC_URL
    assert channel.name() == "twilio"
    assert channel.url_prefix() == "twilio"


def test_compliance_hook_passes_ordinary_messages_on(sqlite_url: str) -> None:
    channel = TwilioTwimlInput(auth_token=TOKEN, public_url=PUBLIC_URL, store=sqlite_url)
    assert asyncio.run(channel.handle_compliance_keyword(PHONE, "My back still hurts")) is None
    assert asyncio.run(channel.handle_compliance_keyword(PHONE, "please don't stop the meds")) is None


def test_bot_replies_are_collected_under_the_twilio_name() -> None:
    """Rasa picks ``channel: twilio`` response variations by the output channel's name."""
    seen: list[str] = []

    async def reply(message: UserMessage) -> None:
        seen.append(message.output_channel.name())
        await message.output_channel.send_text_message(message.sender_id, "ok")

    exchange = Exchange(reply)
    form = twilio_form()
    assert messages(exchange.post_one(form, sign(form))) == ["ok"]
    assert seen == ["twilio"]


def test_typographic_characters_are_sent_in_gsm_spelling() -> None:
    assert sms_texts([{"text": "Here\u2019s what we know:\n\u2022 it\u2019s early \u2013 wait\u2026"}]) == [
        "Here's what we know:\n- it's early - wait..."
    ]
    assert sms_texts([{"text": "Caf\u00e9 \U0001f600"}]) == ["Caf\u00e9 \U0001f600"]  # kept; sent as UCS-2


def test_message_sid_cache_expires_and_is_bounded() -> None:
    now = [0.0]
    cache = MessageSidCache(ttl_seconds=3600, max_entries=2, clock=lambda: now[0])
    assert not cache.seen_before("a")
    assert cache.seen_before("a")
    now[0] = 3599
    assert cache.seen_before("a")
    now[0] = 3600
    assert not cache.seen_before("a")
    assert not cache.seen_before("b")  # now a, b
    assert not cache.seen_before("c")  # the oldest, a, is pushed out
    assert cache.seen_before("c")
    assert not cache.seen_before("a")


def test_button_hint_wording() -> None:
    assert button_hint([]) == ""
    assert button_hint([{"title": "Yes"}]) == "Reply YES"
    assert button_hint([{"title": "Fusion"}, {"title": "Decompression"}, {"title": "Not sure"}]) == (
        "Reply FUSION, DECOMPRESSION or NOT SURE"
    )
    assert button_hint([{"payload": "/x"}, "junk"]) == ""  # type: ignore[list-item]


def test_sms_texts_skip_non_text() -> None:
    assert sms_texts(
        [{"image": "https://x/y.png"}, {"custom": {"a": 1}}, {"text": "  "}, {"text": "ok"}]
    ) == ["ok"]


def test_render_twiml_empty() -> None:
    assert render_twiml([]).endswith("<Response/>")
