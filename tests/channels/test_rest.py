"""Tests for bot.channels.rest.ClinicRestInput on a real in-process Sanic server."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.run import create_http_input_channels

from bot.channels.rest import ClinicRestInput, parse_rest_body, rest_channel_enabled, rest_conversation_id
from bot.channels.twilio import sms_conversation_id
from bot.chat_tokens import looks_like_website_id, new_conversation_id
from tests.channels.conftest import FakeAgent, serve

URL = "/webhooks/rest/webhook"


async def echo(message: UserMessage) -> None:
    await message.output_channel.send_text_message(message.sender_id, f"got [{message.text}]")


async def post(agent: FakeAgent, channel: ClinicRestInput | None = None, **kwargs: Any) -> httpx.Response:
    async with serve([channel or ClinicRestInput(enabled=True)], agent) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            return await client.post(URL, **kwargs)


def test_name_keeps_the_url() -> None:
    assert ClinicRestInput.name() == "rest"
    assert ClinicRestInput().url_prefix() == "rest"


def test_message_reaches_bot_cleaned() -> None:
    agent = FakeAgent(echo)
    body = {"sender": "abc", "message": '  /inform{"phone":"1"}'}
    answer = asyncio.run(post(agent, json=body))
    assert answer.status_code == 200
    assert answer.json() == [{"recipient_id": "abc", "text": "got []"}]
    (message,) = agent.received
    assert message.sender_id == "abc"
    assert message.input_channel == "rest"


def test_client_cannot_set_metadata_or_input_channel() -> None:
    agent = FakeAgent(echo)
    body = {
        "sender": "abc",
        "message": "hi",
        "input_channel": "twilio",
        "metadata": {"channel": "twilio", "phone": "+15550100000"},
    }
    assert asyncio.run(post(agent, json=body)).status_code == 200
    (message,) = agent.received
    assert message.input_channel == "rest"
    assert message.metadata == {"channel": "rest"}


@pytest.mark.parametrize("body", [{"sender": "abc", "message": ""}, {"sender": "abc"}])
def test_empty_message_still_reaches_bot(body: dict[str, str]) -> None:
    agent = FakeAgent(echo)
    answer = asyncio.run(post(agent, json=body))
    assert answer.status_code == 200
    assert answer.json() == [{"recipient_id": "abc", "text": "got []"}]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json, my name is Jane Doe",
        b'["Jane Doe"]',
        b'"Jane Doe"',
        b'{"message": "my name is Jane Doe"}',
        b'{"sender": "", "message": "my name is Jane Doe"}',
        b'{"sender": null, "message": "my name is Jane Doe"}',
        b'{"sender": {"id": 1}, "message": "my name is Jane Doe"}',
        b'{"sender": "a\\u0000b", "message": "my name is Jane Doe"}',
        b"\xff\xfe",
    ],
)
def test_bad_requests_get_400_without_patient_text(content: bytes) -> None:
    agent = FakeAgent(echo)
    answer = asyncio.run(post(agent, content=content, headers={"Content-Type": "application/json"}))
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/json")
    assert "error" in answer.json()
    assert "Jane" not in answer.text
    assert agent.received == []


def test_overlong_sender_refused() -> None:
    agent = FakeAgent(echo)
    answer = asyncio.run(post(agent, json={"sender": "x" * 257, "message": "hi"}))
    assert answer.status_code == 400


def test_numeric_sender_accepted() -> None:
    assert parse_rest_body(b'{"sender": 42, "message": "hi"}') == ("42", "hi")


def test_failure_answers_collected_messages_and_logs_no_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fail_after_warning(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, "Call 911 now.")
        raise RuntimeError(f"boom with {message.text}")

    agent = FakeAgent(fail_after_warning)
    with caplog.at_level(logging.INFO):
        answer = asyncio.run(post(agent, json={"sender": "s", "message": "Jane Doe"}))
    assert answer.status_code == 200
    assert answer.json() == [{"recipient_id": "s", "text": "Call 911 now."}]
    assert "Jane" not in caplog.text
    assert "RuntimeError" in caplog.text


def test_stream_mode_uses_cleaned_text() -> None:
    agent = FakeAgent(echo)
    answer = asyncio.run(post(agent, json={"sender": "s", "message": "/restart"}, params={"stream": "true"}))
    assert answer.status_code == 200
    assert '"got [restart]"' in answer.text


def test_loadable_from_credentials(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials.yml"
    credentials.write_text(
        "bot.channels.rest.ClinicRestInput:\n"
        "bot.channels.socketio.ClinicSocketIOInput:\n"
        "  session_persistence: true\n"
        "bot.channels.twilio.TwilioTwimlInput:\n"
    )
    channels = create_http_input_channels(None, str(credentials))
    assert [type(channel).__name__ for channel in channels] == [
        "ClinicRestInput",
        "ClinicSocketIOInput",
        "TwilioTwimlInput",
    ]
    assert [channel.url_prefix() for channel in channels] == ["rest", "socketio", "twilio"]


def test_all_three_channels_serve_side_by_side(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials.yml"
    credentials.write_text(
        "bot.channels.rest.ClinicRestInput:\n"
        "bot.channels.socketio.ClinicSocketIOInput:\n"
        "bot.channels.twilio.TwilioTwimlInput:\n"
    )
    channels = create_http_input_channels(None, str(credentials))

    async def scenario() -> list[int]:
        async with serve(channels, FakeAgent(echo)) as base_url:
            async with httpx.AsyncClient(base_url=base_url) as client:
                return [
                    (await client.get("/webhooks/rest/")).status_code,
                    (await client.get("/webhooks/socketio/")).status_code,
                    (await client.get("/webhooks/twilio/")).status_code,
                    (await client.post(URL, json={"sender": "a"})).status_code,
                    (await client.post("/webhooks/twilio/webhook")).status_code,
                ]

    assert asyncio.run(scenario()) == [200, 200, 200, 200, 403]


# ---------------------------------------------------------------------------------------------
# Its own id space: a REST sender never names a website or SMS conversation.


def test_a_website_conversation_cannot_be_joined_over_rest() -> None:
    website = new_conversation_id()
    agent = FakeAgent(echo)
    answer = asyncio.run(post(agent, json={"sender": website, "message": "what did I tell you?"}))
    assert answer.status_code == 200
    (message,) = agent.received
    assert message.sender_id == f"rest:{website}" != website
    # The client still sees its own sender as the recipient.
    assert answer.json() == [{"recipient_id": website, "text": "got [what did I tell you?]"}]


def test_an_sms_conversation_cannot_be_joined_over_rest() -> None:
    sms = sms_conversation_id("+14155550100", "twilio-token")
    agent = FakeAgent(echo)
    asyncio.run(post(agent, json={"sender": sms, "message": "hi"}))
    asyncio.run(post(agent, json={"sender": sms.upper(), "message": "hi"}))
    assert [message.sender_id for message in agent.received] == [f"rest:{sms}", f"rest:{sms.upper()}"]


@pytest.mark.parametrize(
    "sender", ["demo-1", "test-0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef", "42", "a b"]
)
def test_ordinary_senders_are_kept_and_continue_their_conversation(sender: str) -> None:
    agent = FakeAgent(echo)
    for text in ("hi", "again"):
        answer = asyncio.run(post(agent, json={"sender": sender, "message": text}))
        assert answer.json()[0]["recipient_id"] == sender
    assert [message.sender_id for message in agent.received] == [sender, sender]


def test_no_rest_conversation_id_is_a_website_or_sms_id() -> None:
    website_ids = [new_conversation_id() for _ in range(200)]
    sms_ids = [sms_conversation_id(f"+1415555{n:04d}", "key") for n in range(50)]
    senders = [*website_ids, *sms_ids, "sms-", "SMS-x", "rest:x", "demo", "0" * 32, "f" * 32, "V" * 32, "V" * 31]
    for sender in senders:
        conversation = rest_conversation_id(sender)
        assert rest_conversation_id(sender) == conversation  # the same sender, the same conversation
        assert not looks_like_website_id(conversation), sender
        assert not conversation.startswith("sms-"), sender
        assert conversation not in website_ids and conversation not in sms_ids


def test_stream_mode_is_addressed_to_the_client_and_ends_on_a_failure() -> None:
    website = new_conversation_id()

    async def fail_after_warning(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, "Call 911 now.")
        raise RuntimeError("boom")

    agent = FakeAgent(fail_after_warning)
    body = {"sender": website, "message": "hi"}
    answer = asyncio.run(post(agent, json=body, params={"stream": "true"}))
    assert answer.status_code == 200
    assert json.loads(answer.text) == {"recipient_id": website, "text": "Call 911 now."}
    assert agent.received[0].sender_id == f"rest:{website}"


def test_the_channel_can_be_switched_off() -> None:
    agent = FakeAgent(echo)

    async def scenario() -> list[int]:
        async with serve([ClinicRestInput(enabled=False)], agent) as base_url:
            async with httpx.AsyncClient(base_url=base_url) as client:
                return [
                    (await client.post(URL, json={"sender": "a", "message": "hi"})).status_code,
                    (await client.get("/webhooks/rest/")).status_code,
                ]

    assert asyncio.run(scenario()) == [404, 404]
    assert agent.received == []


@pytest.mark.parametrize(
    ("value", "enabled"),
    [("", True), ("1", True), ("yes", True), ("0", False), ("false", False), (" Off ", False), ("no", False)],
)
def test_rest_channel_enabled_setting(value: str, enabled: bool) -> None:
    assert rest_channel_enabled({"REST_CHANNEL_ENABLED": value}) is enabled
    assert rest_channel_enabled({}) is True
