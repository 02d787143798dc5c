"""Hostile input on every patient channel of the real servers, and a burst from one sender.

One Rasa server and one action server (SQLite) serve the whole module. Module fixtures play the
corpus (``tests/hostile/corpus.py``) once per entry point and keep every answer; the tests then
assert the outcomes the issue asks for:

- **0 crashes**: no 5xx on any channel, every turn completes, and the servers still answer
  afterwards (and during the burst);
- **0 corrupted records**: every conversation in the database still loads as a Rasa tracker, every
  event row is the JSON of its type, SQLite's integrity check passes, and the consultation
  requests saved with hostile values read back exactly as typed;
- **0 unescaped output**: the bot never echoes markup (the widget shows text with
  ``textContent`` only, checked in ``static/chat.js``), SMS answers are plain TwiML, and the staff
  pages show every hostile text escaped;
- **bounded memory**: the Rasa server's resident memory after 1,000 messages from one sender.

``HOSTILE_BURST_MESSAGES`` (default 1000) sizes the burst. A summary (counts, durations, memory)
is written to ``results/hostile-input.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from markupsafe import escape
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.channels.text import clean_incoming_text
from bot.channels.twilio import MAX_FORM_BYTES, sms_conversation_id
from bot.scheduling.preferred_time import clean_text
from bot.storage import staff_repository as repo
from bot.storage.conversations import EVENTS
from bot.storage.db import make_engine
from bot.storage.store import ClinicStore
from bot.web import create_app
from bot.web.staff.auth import StaffPolicy
from tests.conversations.harness import PROJECT_ROOT, TWILIO_TEST_TOKEN, BotServer, start_servers
from tests.hostile.clients import (
    MARKUP,
    Answer,
    WidgetSocket,
    rest_post,
    rest_say,
    sms_form,
    sms_post,
)
from tests.hostile.corpus import (
    COMMAND_SLOT_VALUES,
    RASA_INTERNAL_INTENTS,
    RED_FLAG_TEXTS,
    REST_JSON_BODIES,
    REST_RAW_BODIES,
    SMS_FROM_VALUES,
    SMS_RAW_FORMS,
    SMS_UNSIGNABLE,
    SOCKET_PAYLOADS,
    SOCKET_SESSION_REQUESTS,
    TEXTS,
    Hostile,
)
from tests.web.conftest import SETTINGS

pytestmark = pytest.mark.servers

BURST_MESSAGES = int(os.environ.get("HOSTILE_BURST_MESSAGES", "1000"))
BURST_WAVE = 20
"""The burst opens with this many messages at once (the lock store queues them), then goes on back to back."""
RSS_GROWTH_LIMIT_MB = 300
"""Generous: a 1,000-turn conversation legitimately grows what Rasa holds while it runs."""
PARALLEL_CONVERSATIONS = 4
CHUNK = 5
"""Hostile texts per conversation: later ones land mid-question, mid-repair, after a fallback."""
RESULTS = PROJECT_ROOT / "results" / "hostile-input.json"
STAFF_PASSWORD = "correct horse battery"

INTENTS = [h for h in TEXTS if h.kind == "intent"]
BURST_TEXTS = [h.text for h in TEXTS if h.kind not in ("huge", "intent")]


def chunks(items: list[Hostile], size: int = CHUNK) -> list[list[Hostile]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def echoes_markup(answer: Answer, typed: str) -> list[str]:
    """The bot's texts that hold markup, or the patient's markup-laden words as typed."""
    cleaned = clean_incoming_text(typed)
    echoed = len(cleaned) >= 4 and bool(MARKUP.search(cleaned))
    return [text for text in answer.texts if MARKUP.search(text) or (echoed and cleaned in text)]


async def gather_bounded(limit: int, *jobs: Any) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def run(job: Any) -> Any:
        async with gate:
            return await job

    return list(await asyncio.gather(*(run(job) for job in jobs)))


@dataclass
class Run:
    """Everything a part of the run got back, by input id."""

    answers: dict[str, Answer | None] = field(default_factory=dict)
    conversations: dict[str, str] = field(default_factory=dict)  # input id -> conversation id
    seconds: float = 0.0


SUMMARY: dict[str, Any] = {}


def _write_summary() -> None:
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(SUMMARY, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# --- the servers -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotServer]:
    """Rasa + actions on a fresh SQLite database, for the whole module."""
    log_dir = tmp_path_factory.mktemp("hostile-servers")
    server = start_servers(f"sqlite:///{log_dir / 'clinic.sqlite3'}", log_dir)
    try:
        yield server
    finally:
        server.stop()
        _write_summary()


def rss_mb(server: BotServer) -> float:
    """Resident memory of the Rasa server process (``/proc/<pid>/status``)."""
    status = Path(f"/proc/{server.processes[1].pid}/status").read_text()
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return kb / 1024


async def still_answers(server: BotServer) -> None:
    """A new patient gets the introduction and the first question, by REST and by SMS."""
    async with httpx.AsyncClient(base_url=server.rasa_url) as client:
        rest = await rest_say(client, f"alive-{uuid.uuid4().hex}", "hi")
        sms = await sms_post(client, server, sms_form(f"+1312555{uuid.uuid4().int % 10_000:04d}", "hi"))
    for answer in (rest, sms):
        assert answer.status == 200 and answer.texts, (answer.status, answer.body[:300])
    socket = WidgetSocket(server)
    await socket.connect()
    try:
        await socket.start()
        answer = await socket.say("hi")
        assert answer is not None and answer.status == 200 and answer.texts
    finally:
        await socket.close()


# --- playing the corpus ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rest_run(servers: BotServer) -> Run:
    """Every text (5 per conversation, after a first answer), raw body and JSON body, by REST."""
    run = Run()

    async def conversation(client: httpx.AsyncClient, items: list[Hostile]) -> None:
        sender = f"hostile-{uuid.uuid4().hex}"
        await rest_say(client, sender, "I had a fusion")
        for item in items:
            run.answers[item.id] = await rest_say(client, sender, item.text)
            run.conversations[item.id] = sender

    async def raw(client: httpx.AsyncClient, name: str, body: bytes) -> None:
        run.answers[f"raw:{name}"] = await rest_post(client, body)

    async def whole(client: httpx.AsyncClient, name: str, body: Any) -> None:
        run.answers[f"json:{name}"] = await rest_post(client, json.dumps(body).encode())

    async def play() -> None:
        async with httpx.AsyncClient(base_url=servers.rasa_url) as client:
            await gather_bounded(
                PARALLEL_CONVERSATIONS,
                *(conversation(client, items) for items in chunks(TEXTS)),
                *(raw(client, name, body) for name, body in REST_RAW_BODIES),
                *(whole(client, name, body) for name, body in REST_JSON_BODIES),
            )

    started = time.monotonic()
    asyncio.run(play())
    run.seconds = time.monotonic() - started
    SUMMARY["rest"] = {"inputs": len(run.answers), "seconds": round(run.seconds, 1)}
    return run


@pytest.fixture(scope="module")
def socket_run(servers: BotServer) -> Run:
    """Every text (5 per conversation), odd ``user_uttered`` payloads and odd session requests, by socket.io."""
    run = Run()

    async def conversations(items_list: list[list[Hostile]]) -> None:
        socket = WidgetSocket(servers)
        await socket.connect()
        try:
            for items in items_list:
                conversation = await socket.start()
                for item in items:
                    run.answers[item.id] = await socket.say(item.text)
                    run.conversations[item.id] = conversation
        finally:
            await socket.close()

    async def odd_payloads() -> None:
        socket = WidgetSocket(servers)
        await socket.connect()
        try:
            for name, payload in SOCKET_SESSION_REQUESTS:
                confirmed = await socket.request_session(payload)
                run.answers[f"session:{name}"] = Answer(200 if confirmed else 0)
            await socket.start()
            for name, payload in SOCKET_PAYLOADS:
                ignored = not isinstance(payload, dict)
                answer = await socket.send(payload, wait=1.0 if ignored else 60.0)
                # An ignored payload gets no turn; the channel must still take the next message.
                run.answers[f"payload:{name}"] = answer if not ignored else await socket.say("hi")
        finally:
            await socket.close()

    async def raw_packets() -> None:
        """Engine.IO polling bodies no client library would send; the server must shrug them off."""
        origin = {"Origin": WidgetSocket(servers).settings.chat_origins()[0]}
        base = f"{servers.rasa_url}/socket.io/?EIO=4&transport=polling"
        packets = {
            "invalid-utf8": b"\xff\xfe\xfd",
            "deep-brackets": b'42["user_uttered",' + b"[" * 100_000,
            "not-a-packet": b"4" + b"2" * 10,
            "nul": b"\x00" * 100,
            "encoded-surrogate": b'42["user_uttered",{"message":"\xed\xa0\x80"}]',
            "unknown-event": b'42["no_such_event",{"message":"hi"}]',
        }
        async with httpx.AsyncClient() as client:
            for name, body in packets.items():
                handshake = await client.get(base, headers=origin)
                sid = json.loads(handshake.text[1:])["sid"]
                posted = await client.post(f"{base}&sid={sid}", content=body, headers=origin)
                run.answers[f"packet:{name}"] = Answer(posted.status_code, body=posted.text)

    async def play() -> None:
        groups = chunks(TEXTS)
        await asyncio.gather(
            *(conversations(groups[i::PARALLEL_CONVERSATIONS]) for i in range(PARALLEL_CONVERSATIONS)),
            odd_payloads(),
            raw_packets(),
        )

    started = time.monotonic()
    asyncio.run(play())
    run.seconds = time.monotonic() - started
    SUMMARY["socketio"] = {"inputs": len(run.answers), "seconds": round(run.seconds, 1)}
    return run


def _numbers() -> Iterator[str]:
    for n in range(10_000):
        yield f"+1415556{n:04d}"


@pytest.fixture(scope="module")
def sms_run(servers: BotServer) -> Run:
    """Every text (5 per phone number), raw signed forms, unsignable bodies and odd numbers, by SMS."""
    run = Run()
    numbers = _numbers()

    async def phone(client: httpx.AsyncClient, items: list[Hostile], number: str) -> None:
        for item in items:
            answer = run.answers[item.id] = await sms_post(client, servers, sms_form(number, item.text))
            if answer.status == 200:  # a body over 64 KB is refused unread: no conversation
                run.conversations[item.id] = sms_conversation_id(number, TWILIO_TEST_TOKEN)

    async def raw(client: httpx.AsyncClient, name: str, body: bytes) -> None:
        run.answers[f"raw:{name}"] = await sms_post(client, servers, body)

    async def unsigned(client: httpx.AsyncClient, name: str, body: bytes, content_type: str) -> None:
        run.answers[f"unsigned:{name}"] = await sms_post(client, servers, body, signed=False, content_type=content_type)

    async def sender(client: httpx.AsyncClient, index: int, number: str) -> None:
        run.answers[f"from:{index}"] = await sms_post(client, servers, sms_form(number, "hi"))

    async def play() -> None:
        async with httpx.AsyncClient(base_url=servers.rasa_url) as client:
            await gather_bounded(
                PARALLEL_CONVERSATIONS,
                *(phone(client, items, next(numbers)) for items in chunks(TEXTS)),
                *(raw(client, name, body) for name, body in SMS_RAW_FORMS),
                *(unsigned(client, name, body, kind) for name, body, kind in SMS_UNSIGNABLE),
                *(sender(client, index, number) for index, number in enumerate(SMS_FROM_VALUES)),
            )

    started = time.monotonic()
    asyncio.run(play())
    run.seconds = time.monotonic() - started
    SUMMARY["sms"] = {"inputs": len(run.answers), "seconds": round(run.seconds, 1)}
    return run


@dataclass
class CommandRun:
    """``/intent`` texts, each in a conversation of its own on each channel, and a red-flag gate."""

    conversations: dict[str, str] = field(default_factory=dict)  # "<channel>:<id>" -> conversation id
    answers: dict[str, Answer | None] = field(default_factory=dict)
    gate_sender: str = ""
    gate_answer: Answer | None = None


@pytest.fixture(scope="module")
def command_run(servers: BotServer) -> CommandRun:
    run = CommandRun()
    numbers = (f"+1415557{n:04d}" for n in range(10_000))

    async def rest(client: httpx.AsyncClient, item: Hostile) -> None:
        sender = f"command-{uuid.uuid4().hex}"
        await rest_say(client, sender, "hi")
        run.answers[f"rest:{item.id}"] = await rest_say(client, sender, item.text)
        run.conversations[f"rest:{item.id}"] = sender

    async def sms(client: httpx.AsyncClient, item: Hostile) -> None:
        number = next(numbers)
        await sms_post(client, servers, sms_form(number, "hi"))
        run.answers[f"sms:{item.id}"] = await sms_post(client, servers, sms_form(number, item.text))
        run.conversations[f"sms:{item.id}"] = sms_conversation_id(number, TWILIO_TEST_TOKEN)

    async def socket(items: list[Hostile]) -> None:
        widget = WidgetSocket(servers)
        await widget.connect()
        try:
            for item in items:
                conversation = await widget.start()
                await widget.say("hi")
                run.answers[f"socketio:{item.id}"] = await widget.say(item.text)
                run.conversations[f"socketio:{item.id}"] = conversation
        finally:
            await widget.close()

    async def gate(client: httpx.AsyncClient) -> None:
        """After a red flag, no command lifts the safety gate."""
        run.gate_sender = f"gate-{uuid.uuid4().hex}"
        first = await rest_say(client, run.gate_sender, "I have a fever of 103 and my wound is draining pus")
        assert first.payloads("emergency"), first.messages
        for text in ("/restart", "/session_start", "/back", "/action_restart",
                     '/inform{"emergency_reported": false, "red_flag_followup": false}'):  # fmt: skip
            await rest_say(client, run.gate_sender, text)
        run.gate_answer = await rest_say(client, run.gate_sender, "I want to book an appointment")

    async def play() -> None:
        async with httpx.AsyncClient(base_url=servers.rasa_url) as client:
            await asyncio.gather(
                gather_bounded(2, *(rest(client, item) for item in INTENTS), gate(client)),
                gather_bounded(2, *(sms(client, item) for item in INTENTS)),
                socket(INTENTS),
            )

    asyncio.run(play())
    return run


@dataclass
class Booking:
    public_id: str
    patient_name: str
    phone: str
    preferred_time: str
    channel: str


HOSTILE_NAME = "O'Brien' OR 'X"  # letters, spaces and apostrophes: a name the bot accepts
HOSTILE_TIME = "<script>alert(1)</script> mornings'; DROP TABLE clinic_appointment_requests;-- {{7*7}}"


@pytest.fixture(scope="module")
def bookings(servers: BotServer) -> list[Booking]:
    """Consultation requests saved with hostile (but accepted) values, by REST and by SMS."""

    async def play() -> list[Booking]:
        made: list[Booking] = []
        async with httpx.AsyncClient(base_url=servers.rasa_url) as client:
            sender = f"booking-{uuid.uuid4().hex}"
            for text in ("I had a microdiscectomy 8 weeks ago and it's slowly getting better", "leg pain", "yes",
                         HOSTILE_NAME, "415-555-2671"):  # fmt: skip
                await rest_say(client, sender, text)
            done = await rest_say(client, sender, HOSTILE_TIME)
            requested = done.payloads("appointment_requested")
            assert requested, done.messages
            made.append(Booking(requested[0]["request_id"], HOSTILE_NAME, "+14155552671", HOSTILE_TIME, "rest"))

            number = "+13125550177"
            for text in ("hi", "I had a microdiscectomy 8 weeks ago and it's slowly getting better", "leg pain",
                         "yes", HOSTILE_NAME, "YES"):  # fmt: skip
                await sms_post(client, servers, sms_form(number, text))
            sms_done = await sms_post(client, servers, sms_form(number, HOSTILE_TIME))
            found = re.search(r"CR-[A-Z0-9]{8}", " ".join(sms_done.texts))
            assert found, sms_done.texts
            made.append(Booking(found.group(0), HOSTILE_NAME, number, HOSTILE_TIME, "twilio"))
        return made

    return asyncio.run(play())


UNREADABLE_PHONE_TURNS = (
    "I had a microdiscectomy 8 weeks ago and it's slowly getting better", "leg pain", "yes", "Ana Ruiz",
    "<b>no</b>", "'; DROP TABLE events;--", "{{7*7}}", "weekday mornings", "ok",
)  # fmt: skip


@pytest.fixture(scope="module")
def unreadable_phone(servers: BotServer) -> list[tuple[str, Answer]]:
    """A website patient who can't give a phone number, then keeps writing: every turn gets an answer."""

    async def play() -> list[tuple[str, Answer]]:
        sender = f"no-phone-{uuid.uuid4().hex}"
        turns = []
        async with httpx.AsyncClient(base_url=servers.rasa_url) as client:
            for text in UNREADABLE_PHONE_TURNS:
                turns.append((text, await rest_say(client, sender, text)))
        return turns

    return asyncio.run(play())


@dataclass
class Burst:
    messages: int
    statuses: dict[int, int]
    empty_answers: int
    seconds: float
    rss_before_mb: float
    rss_after_mb: float
    other_patient_latencies: list[float]
    other_patient_failures: int


@pytest.fixture(scope="module")
def burst(servers: BotServer, rest_run: Run, socket_run: Run, sms_run: Run) -> Burst:
    """``BURST_MESSAGES`` hostile texts from one sender; meanwhile another patient keeps talking.

    The servers are warmed up by the corpus first, so the memory before is that of a server
    that has already seen every kind of input. The burst opens with a wave of ``BURST_WAVE``
    messages at once, then goes on back to back: Rasa's lock store serialises one sender's
    messages anyway, and polls every second for the next waiting one, so more at once would only
    add waiting.
    """
    sender = f"burst-{uuid.uuid4().hex}"
    statuses: dict[int, int] = {}
    empty = 0
    latencies: list[float] = []
    failures = 0
    finished = asyncio.Event()

    async def one(client: httpx.AsyncClient, index: int) -> None:
        nonlocal empty
        answer = await rest_say(client, sender, BURST_TEXTS[index % len(BURST_TEXTS)])
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
        if answer.status == 200 and not answer.messages:
            empty += 1

    async def other_patient(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while not finished.is_set():
            started = time.monotonic()
            answer = await rest_say(client, f"bystander-{uuid.uuid4().hex}", "I had a fusion 6 weeks ago")
            latencies.append(time.monotonic() - started)
            if answer.status != 200 or not answer.texts:
                failures += 1
            try:
                await asyncio.wait_for(finished.wait(), 5)
            except asyncio.TimeoutError:
                pass

    async def play() -> None:
        async with httpx.AsyncClient(base_url=servers.rasa_url) as client:
            bystander = asyncio.create_task(other_patient(client))
            wave = min(BURST_WAVE, BURST_MESSAGES)
            await asyncio.gather(*(one(client, i) for i in range(wave)))
            for i in range(wave, BURST_MESSAGES):
                await one(client, i)
            finished.set()
            await bystander

    before = rss_mb(servers)
    started = time.monotonic()
    asyncio.run(play())
    result = Burst(
        BURST_MESSAGES, statuses, empty, time.monotonic() - started, before, rss_mb(servers), latencies, failures
    )
    SUMMARY["burst"] = {
        "messages": result.messages,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(result.seconds, 1),
        "rss_before_mb": round(result.rss_before_mb, 1),
        "rss_after_mb": round(result.rss_after_mb, 1),
        "other_patient_turns": len(latencies),
        "other_patient_max_seconds": round(max(latencies, default=0.0), 2),
    }
    return result


# --- 0 crashes -------------------------------------------------------------------------------


def test_the_corpus_is_played_in_full(rest_run: Run, socket_run: Run, sms_run: Run) -> None:
    for run in (rest_run, socket_run, sms_run):
        assert {h.id for h in TEXTS} <= set(run.answers)


def test_rest_never_fails_on_hostile_text(rest_run: Run) -> None:
    failed = {h.id: a.status if a else None for h in TEXTS if (a := rest_run.answers[h.id]) is None or a.status != 200}
    assert not failed
    silent = [h.id for h in TEXTS if not rest_run.answers[h.id].messages]  # type: ignore[union-attr]
    assert not silent, "every message gets an answer"


def test_rest_refuses_bad_bodies_with_a_4xx_never_a_5xx(rest_run: Run) -> None:
    statuses = {key: a.status for key, a in rest_run.answers.items() if a and key.startswith(("raw:", "json:"))}
    assert len(statuses) == len(REST_RAW_BODIES) + len(REST_JSON_BODIES)
    assert {key: s for key, s in statuses.items() if s >= 500 or s not in (200, 400, 413)} == {}
    # JSON where text is expected is read as "no text" and answered; no sender is a 400.
    assert statuses["json:message-object"] == statuses["json:message-list"] == statuses["json:message-number"] == 200
    assert statuses["json:sender-missing"] == statuses["json:sender-object"] == statuses["json:sender-list"] == 400
    assert statuses["raw:deep-lists"] == 400  # json.loads' RecursionError was a 500


def test_socketio_completes_every_turn(socket_run: Run) -> None:
    incomplete = [h.id for h in TEXTS if (a := socket_run.answers[h.id]) is None or a.status != 200]
    assert not incomplete, "every message ends with turn_complete {ok: true}"
    silent = [h.id for h in TEXTS if not socket_run.answers[h.id].messages]  # type: ignore[union-attr]
    assert not silent


def test_socketio_shrugs_off_odd_payloads_and_sessions(socket_run: Run) -> None:
    for name, _ in SOCKET_SESSION_REQUESTS:
        assert socket_run.answers[f"session:{name}"].status == 200, name  # type: ignore[union-attr]
    for name, _ in SOCKET_PAYLOADS:
        answer = socket_run.answers[f"payload:{name}"]
        assert answer is not None and answer.status == 200, name
    for key, answer in socket_run.answers.items():
        if key.startswith("packet:"):
            assert answer is not None and answer.status < 500, key


def test_sms_answers_every_signed_text_with_twiml(sms_run: Run) -> None:
    for item in TEXTS:
        answer = sms_run.answers[item.id]
        assert answer is not None
        if len(sms_form("+14155550000", item.text)) > MAX_FORM_BYTES:
            assert answer.status == 403, item.id  # larger than any Twilio webhook: never read
        else:
            assert answer.status == 200, (item.id, answer.body[:200])


def test_sms_refuses_what_it_cannot_verify_and_never_fails(sms_run: Run) -> None:
    statuses = {key: a.status for key, a in sms_run.answers.items() if a and ":" in key}
    assert {key: s for key, s in statuses.items() if s >= 500} == {}
    for name, _, _ in SMS_UNSIGNABLE:
        assert statuses[f"unsigned:{name}"] == 403, name
    for name, _ in SMS_RAW_FORMS:
        assert statuses[f"raw:{name}"] in (200, 400), name
    for index, _ in enumerate(SMS_FROM_VALUES):
        assert statuses[f"from:{index}"] in (200, 400), SMS_FROM_VALUES[index]


def test_the_servers_still_answer_after_the_corpus(
    servers: BotServer, rest_run: Run, socket_run: Run, sms_run: Run
) -> None:
    asyncio.run(still_answers(servers))


def test_markup_never_hides_a_red_flag(rest_run: Run, socket_run: Run) -> None:
    for input_id, code in RED_FLAG_TEXTS.items():
        for run in (rest_run, socket_run):
            answer = run.answers[input_id]
            assert answer is not None
            flags = [flag for payload in answer.payloads("emergency") for flag in payload["red_flags"]]
            assert code in flags, (input_id, answer.messages)


# --- /intent text ----------------------------------------------------------------------------


def _events(server: BotServer, conversation: str) -> list[dict[str, Any]]:
    engine = make_engine(server.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(EVENTS.c.data).where(EVENTS.c.sender_id == conversation).order_by(EVENTS.c.id)
            ).all()
    finally:
        engine.dispose()
    return [json.loads(data) for (data,) in rows]


def test_intent_commands_set_no_slot_and_reach_no_rasa_intent(servers: BotServer, command_run: CommandRun) -> None:
    assert len(command_run.conversations) == 3 * len(INTENTS)
    for key, conversation in command_run.conversations.items():
        answer = command_run.answers[key]
        assert answer is not None and answer.status == 200, key
        events = _events(servers, conversation)
        assert events, key
        kinds = [e["event"] for e in events]
        assert "restart" not in kinds, (key, "Rasa's action_restart ran")
        assert kinds.count("session_started") == 1, (key, "a second session was started")
        for event in events:
            if event["event"] == "user":
                intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
                assert not (event.get("text") or "").lstrip().startswith("/"), (key, event.get("text"))
                assert intent not in RASA_INTERNAL_INTENTS, (key, intent)
            if event["event"] == "slot" and event.get("name") in COMMAND_SLOT_VALUES:
                forged = COMMAND_SLOT_VALUES[event["name"]]
                if event["name"] not in ("emergency_reported", "red_flag_followup"):  # the bot's own defaults
                    assert event.get("value") != forged, (key, event["name"], event.get("value"))


def test_no_command_lifts_the_red_flag_gate(servers: BotServer, command_run: CommandRun) -> None:
    answer = command_run.gate_answer
    assert answer is not None and answer.status == 200
    asked = [p["slot"] for p in answer.payloads("ask")]
    assert "patient_name" not in asked and "surgery_type" not in asked, answer.messages
    slots: dict[str, Any] = {}
    for event in _events(servers, command_run.gate_sender):
        if event["event"] == "slot":
            slots[event["name"]] = event.get("value")
    assert slots.get("red_flag_followup") or slots.get("emergency_reported"), slots
    assert "infection" in (slots.get("red_flag_codes") or []), slots


# --- 0 unescaped output ----------------------------------------------------------------------


def test_the_bot_never_echoes_markup(rest_run: Run, socket_run: Run, sms_run: Run) -> None:
    for channel, run in (("rest", rest_run), ("socketio", socket_run), ("sms", sms_run)):
        for item in TEXTS:
            answer = run.answers[item.id]
            if answer is not None:
                assert not echoes_markup(answer, item.text), (channel, item.id)


def test_the_widget_puts_message_text_on_the_page_as_text_only() -> None:
    """Bot replies reach the page only through ``textContent`` / text nodes (``static/chat.js``)."""
    script = (PROJECT_ROOT / "bot" / "web" / "static" / "chat.js").read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", script, flags=re.DOTALL)  # comments may name the sinks
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                 "DOMParser", "createContextualFragment", "srcdoc", ".href =", "setAttribute(\"on"):  # fmt: skip
        assert sink not in code, sink
    assert "textContent" in code and "createTextNode" in code


# --- the burst -------------------------------------------------------------------------------


def test_a_burst_from_one_sender_is_answered_in_full(burst: Burst) -> None:
    assert burst.statuses == {200: burst.messages}, burst.statuses
    assert burst.empty_answers == 0


def test_other_patients_are_answered_during_the_burst(burst: Burst) -> None:
    assert burst.other_patient_latencies, "the other patient got no turn at all"
    assert burst.other_patient_failures == 0
    assert max(burst.other_patient_latencies) < 60


def test_memory_stays_bounded_through_the_burst(burst: Burst) -> None:
    growth = burst.rss_after_mb - burst.rss_before_mb
    grew = f"Rasa grew {growth:.0f} MB ({burst.rss_before_mb:.0f} -> {burst.rss_after_mb:.0f} MB)"
    assert growth < RSS_GROWTH_LIMIT_MB, grew


def test_the_servers_still_answer_after_the_burst(servers: BotServer, burst: Burst) -> None:
    asyncio.run(still_answers(servers))


# --- 0 corrupted records ---------------------------------------------------------------------


def test_every_conversation_still_loads(
    servers: BotServer, rest_run: Run, socket_run: Run, sms_run: Run, command_run: CommandRun,
    bookings: list[Booking], burst: Burst,
) -> None:  # fmt: skip
    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    path = servers.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = db.execute("SELECT sender_id, type_name, data FROM events ORDER BY id").fetchall()
    by_sender: dict[str, list[dict[str, Any]]] = {}
    for sender, type_name, data in rows:
        event = json.loads(data)
        assert isinstance(event, dict) and event.get("event") == type_name, (sender, type_name)
        by_sender.setdefault(sender, []).append(event)
    expected = {*rest_run.conversations.values(), *socket_run.conversations.values(),
                *sms_run.conversations.values(), *command_run.conversations.values()}  # fmt: skip
    assert expected <= set(by_sender)
    for sender, events in by_sender.items():
        tracker = DialogueStateTracker.from_dict(sender, events, domain.slots)
        assert len(tracker.events) == len(events), sender
        assert all(isinstance(e, Event) for e in tracker.events)
    SUMMARY["database"] = {"conversations": len(by_sender), "events": len(rows)}


def test_a_patient_whose_number_cannot_be_read_always_gets_an_answer(
    unreadable_phone: list[tuple[str, Answer]],
) -> None:
    for text, answer in unreadable_phone:
        assert answer.status == 200 and answer.messages, f"no answer to {text!r}"
    gave_up = next(
        i for i, (_, answer) in enumerate(unreadable_phone) if "can't pass on your request" in " ".join(answer.texts)
    )
    later = [p["slot"] for _, answer in unreadable_phone[gave_up:] for p in answer.payloads("ask")]
    assert "preferred_time" not in later, "a request that can't be passed on asks for no time"


def test_saved_requests_read_back_exactly_as_typed(servers: BotServer, bookings: list[Booking], burst: Burst) -> None:
    for booking in bookings:
        saved = servers.saved_request(booking.public_id)
        assert saved["patient_name"] == booking.patient_name
        assert saved["phone"] == booking.phone
        assert saved["preferred_time"] == clean_text(booking.preferred_time)
        assert saved["channel"] == booking.channel


# --- staff pages show it all escaped ---------------------------------------------------------


@pytest.fixture(scope="module")
def staff_client(servers: BotServer, burst: Burst) -> Iterator[TestClient]:
    """The staff app on the servers' database, an administrator signed in."""
    url = servers.database_url
    store = ClinicStore(url)
    from bot.storage.staff_models import init_staff_tables

    init_staff_tables(store.engine)
    with store.transaction() as session:
        repo.create_user(session, "hostile-admin", STAFF_PASSWORD, "admin")
    app = create_app(replace(SETTINGS, database_url=url), staff_policy=StaffPolicy())
    with TestClient(app) as client:
        page = client.get("/staff/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        signed_in = client.post(
            "/staff/login",
            data={"csrf": csrf.group(1), "username": "hostile-admin", "password": STAFF_PASSWORD},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303
        yield client
    store.dispose()


def shows_escaped(html: str, stored: str) -> str | None:
    """Why ``html`` does not show ``stored`` as escaped text, or None when it does."""
    if str(escape(stored)) not in html:
        return "not shown (escaped)"
    if any(ch in stored for ch in "<>") and stored in html:
        return "shown raw"
    return None


def test_transcripts_show_every_hostile_text_escaped(
    staff_client: TestClient, rest_run: Run, socket_run: Run, sms_run: Run
) -> None:
    pages: dict[str, str] = {}
    problems = []
    for channel, run in (("rest", rest_run), ("socketio", socket_run), ("sms", sms_run)):
        for item in TEXTS:
            stored = clean_incoming_text(item.text)
            conversation = run.conversations.get(item.id)
            answer = run.answers.get(item.id)
            if not stored or conversation is None or answer is None or answer.status != 200:
                continue
            if channel == "sms" and (stored.upper() in ("STOP", "START", "HELP") or "\ufffd" in stored):
                continue  # keywords never reach the bot; an unencodable character arrives replaced
            if conversation not in pages:
                response = staff_client.get(f"/staff/conversations/{conversation}")
                assert response.status_code == 200, (channel, item.id)
                pages[conversation] = response.text
            problem = shows_escaped(pages[conversation], stored) if item.has_markup else None
            if problem:
                problems.append((channel, item.id, problem))
    assert not problems
    assert pages


def test_an_sms_number_with_markup_is_shown_escaped(staff_client: TestClient, sms_run: Run) -> None:
    for index, number in enumerate(SMS_FROM_VALUES):
        answer = sms_run.answers[f"from:{index}"]
        if answer is None or answer.status != 200 or not any(ch in number for ch in "<>{'"):
            continue
        page = staff_client.get(f"/staff/conversations/{sms_conversation_id(number.strip(), TWILIO_TEST_TOKEN)}")
        assert page.status_code == 200, number
        assert shows_escaped(page.text, number.strip()) is None, number


def test_the_request_queue_shows_hostile_requests_escaped(staff_client: TestClient, bookings: list[Booking]) -> None:
    page = staff_client.get("/staff/queues/requests")
    assert page.status_code == 200
    for booking in bookings:
        assert booking.public_id in page.text
    listing = staff_client.get("/staff/conversations")
    assert listing.status_code == 200
    for html in (page.text, listing.text):
        assert "<script>alert(1)</script>" not in html
    assert shows_escaped(page.text, clean_text(HOSTILE_TIME)) is None
    assert str(escape(HOSTILE_NAME)) in page.text
