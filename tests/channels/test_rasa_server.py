"""The three channels from a credentials file, in the app ``rasa run`` builds."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import socketio
from rasa.core.channels.channel import UserMessage
from rasa.core.run import configure_app, create_http_input_channels
from twilio.request_validator import RequestValidator

import bot.channels.socketio
from tests.channels.conftest import FakeAgent, serve

CREDENTIALS = """\
bot.channels.rest.ClinicRestInput:

bot.channels.socketio.ClinicSocketIOInput:
  user_message_evt: user_uttered
  bot_message_evt: bot_uttered
  session_persistence: true

bot.channels.twilio.TwilioTwimlInput:
"""
TOKEN = "server-test-token"
PUBLIC_URL = "https://sms.clinic.example"


async def reply(message: UserMessage) -> None:
    await message.output_channel.send_text_message(
        message.sender_id, f"{message.input_channel}: [{message.text}]"
    )


def test_rasa_run_serves_all_three_channels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("PUBLIC_URL", PUBLIC_URL)
    monkeypatch.setenv("WEB_PORT", "8000")
    quick = functools.partial(socketio.AsyncServer, ping_interval=0.2, ping_timeout=0.5)
    monkeypatch.setattr(bot.channels.socketio, "AsyncServer", quick)
    credentials = tmp_path / "credentials.yml"
    credentials.write_text(CREDENTIALS)
    channels = create_http_input_channels(None, str(credentials))
    agent = FakeAgent(reply)
    form = {"From": "+15550100123", "Body": "/restart", "MessageSid": "SM1"}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + "/webhooks/twilio/webhook", form)

    async def scenario() -> tuple[list[str], list[object]]:
        app = configure_app(channels, enable_api=False, route="/webhooks/")
        async with serve(channels, agent, app=app) as url:
            async with httpx.AsyncClient(base_url=url) as client:
                rest = await client.post(
                    "/webhooks/rest/webhook", json={"sender": "r1", "message": "/restart"}
                )
                sms = await client.post(
                    "/webhooks/twilio/webhook",
                    content=urlencode(form),
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "X-Twilio-Signature": signature,
                    },
                )
                api = await client.get("/conversations/r1/tracker")
            received: list[object] = []
            confirmed = asyncio.Event()
            sio = socketio.AsyncClient()
            sio.on("bot_uttered", received.append)
            sio.on("session_confirm", lambda _: confirmed.set())
            await sio.connect(url, headers={"Origin": "http://localhost:8000"}, transports=["polling"])
            await sio.emit("session_request", {"session_id": None})
            await asyncio.wait_for(confirmed.wait(), 5)
            await sio.emit("user_uttered", {"message": "/restart"})
            for _ in range(100):
                if received:
                    break
                await asyncio.sleep(0.05)
            await sio.disconnect()
        return [rest.text, sms.text, str(api.status_code)], received

    answers, received = asyncio.run(scenario())
    rest, sms, api_status = answers
    assert '"rest: [restart]"' in rest
    assert "<Message>twilio: [restart]</Message>" in sms
    assert api_status == "404"  # the Rasa HTTP API (trackers) is not exposed
    assert received == [{"text": "socketio: [restart]"}]
