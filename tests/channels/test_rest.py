"""Tests for bot.channels.rest.ClinicRestInput on a real in-process Sanic server."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.run import create_http_input_channels

from bot.channels.rest import ClinicRestInput, parse_rest_body
from tests.channels.conftest import FakeAgent, serve

URL = "/webhooks/rest/webhook"


async def echo(message: UserMessage) -> None:
    await message.output_channel.send_text_message(message.sender_id, f"got [{message.text}]")


async def post(agent: FakeAgent, **kwargs: Any) -> httpx.Response:
    async with serve([ClinicRestInput()], agent) as base_url:
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
