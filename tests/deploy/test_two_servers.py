"""Two real Rasa servers, one action server, PostgreSQL and Redis: conversations go to either server."""

from __future__ import annotations

import json
import threading
import uuid
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import requests
from sqlalchemy import select, text
from twilio.request_validator import RequestValidator

from bot.storage.db import make_engine, session_factory
from bot.storage.models import AppointmentRequest
from tests.conversations.harness import TWILIO_TEST_TOKEN
from tests.deploy.conftest import Cluster

pytestmark = pytest.mark.servers


@dataclass(frozen=True)
class Patient:
    """A scripted patient: the first message, the answer to each question, the findings expected."""

    first: str
    answers: dict[str, str]
    findings: list[str]


BOOKING = {"consent_to_schedule": "yes please", "preferred_time": "weekday mornings"}
PATIENTS = [
    Patient(
        "hi",
        {
            "surgery_type": "a microdiscectomy",
            "weeks_since_surgery": "10 weeks ago",
            "pain_course": "it felt great, then one morning it was suddenly back",
            "pain_return_weeks": "a week ago",
            "symptoms": "pain down my leg and pins and needles",
            "patient_name": "Maria Lopez",
            "phone": "415-555-2671",
            **BOOKING,
        },
        ["recurrent_disc_herniation", "nerve_recovery_ongoing"],
    ),
    Patient(
        "I had a laminectomy 6 weeks ago and the pain is worse than before the operation",
        {"symptoms": "just back pain", "patient_name": "Sam Lee", "phone": "(415) 555-0199", **BOOKING},
        ["too_early_to_judge", "post_surgical_swelling"],
    ),
    Patient(
        "discectomy 8 weeks ago, it's slowly getting better",
        {"symptoms": "leg pain", "patient_name": "Ana Ruiz", "phone": "415 555 0142", **BOOKING},
        ["on_track"],
    ),
    Patient(
        "laminectomy 4 months ago and no change at all",
        {"symptoms": "none", "patient_name": "Lee Park", "phone": "+1 415 555 0188", **BOOKING},
        ["failed_decompression"],
    ),
]


def payloads(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m["custom"] for m in messages if (m.get("custom") or {}).get("type") == kind]


def talk(cluster: Cluster, patient: Patient, sender: str, first_server: int) -> tuple[list[str], str, list[int]]:
    """Play the patient, each turn on the other server; the findings, the request's id and the servers used."""
    servers = cluster.rasa_urls
    used = [first_server % 2]
    messages = cluster.bot.post(sender, patient.first, servers[used[-1]])
    findings: list[str] | None = None
    for _ in range(20):
        for assessment in payloads(messages, "assessment"):
            findings = list(assessment["findings"])
        done = payloads(messages, "appointment_requested")
        if done:
            assert findings is not None, "a request was saved before any assessment"
            return findings, str(done[0]["request_id"]), used
        asked = [p["slot"] for p in payloads(messages, "ask")]
        assert asked, f"the bot asked nothing: {messages}"
        used.append((used[-1] + 1) % 2)
        messages = cluster.bot.post(sender, patient.answers[asked[-1]], servers[used[-1]])
    raise AssertionError("no request after 20 turns")


def saved_requests(cluster: Cluster, sender: str) -> list[AppointmentRequest]:
    engine = make_engine(cluster.bot.database_url)
    try:
        with session_factory(engine)() as session:
            found = session.execute(select(AppointmentRequest).where(AppointmentRequest.conversation_id == sender))
            return list(found.scalars())
    finally:
        engine.dispose()


def stored_events(cluster: Cluster, sender: str) -> list[dict[str, Any]]:
    """The conversation's events as Rasa's tracker store keeps them, in the order written."""
    engine = make_engine(cluster.bot.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender})
            return [json.loads(row.data) for row in rows]
    finally:
        engine.dispose()


def test_conversations_whose_turns_alternate_between_two_servers_end_with_one_request_each(cluster: Cluster) -> None:
    senders = [f"deploy-{uuid.uuid4().hex}" for _ in PATIENTS]
    with ThreadPoolExecutor(len(PATIENTS)) as pool:
        results = list(pool.map(lambda i: talk(cluster, PATIENTS[i], senders[i], i), range(len(PATIENTS))))
    for patient, sender, (findings, request_id, used) in zip(PATIENTS, senders, results, strict=True):
        assert findings == patient.findings
        assert set(used) == {0, 1} and all(a != b for a, b in zip(used, used[1:], strict=False))
        (saved,) = saved_requests(cluster, sender)
        assert saved.public_id == request_id
        assert saved.findings == patient.findings
        assert saved.patient_name == patient.answers["patient_name"]
        assert saved.kind == "consultation" and saved.status == "new"


def test_messages_sent_at_once_to_both_servers_for_one_patient_are_taken_one_at_a_time(cluster: Cluster) -> None:
    sender = f"deploy-{uuid.uuid4().hex}"
    assert cluster.bot.post(sender, "hi", cluster.rasa_urls[0])
    texts = [
        "I had a fusion",
        "what is this chat for?",
        "my lower back hurts",
        "it is no better than before",
        "are you a real person?",
        "some tingling in my foot",
    ]
    start = threading.Barrier(len(texts))

    def send(i: int) -> list[dict[str, Any]]:
        start.wait()
        return cluster.bot.post(sender, texts[i], cluster.rasa_urls[i % 2])

    with ThreadPoolExecutor(len(texts)) as pool:
        answers = list(pool.map(send, range(len(texts))))
    assert all(answers), "a message got no answer"

    events = stored_events(cluster, sender)
    said = [event["text"] for event in events if event["event"] == "user"]
    assert sorted(said) == sorted(["hi", *texts])
    # One turn at a time: every message is followed by the bot's answer and then listening,
    # before the next message is read (turns run side by side would interleave or lose events).
    turns: list[list[dict[str, Any]]] = []
    for event in events:
        if event["event"] == "user":
            turns.append([])
        elif turns:
            turns[-1].append(event)
    assert len(turns) == len(texts) + 1
    for turn in turns:
        assert any(event["event"] == "bot" for event in turn), turn
        listening = [i for i, e in enumerate(turn) if e["event"] == "action" and e.get("name") == "action_listen"]
        assert listening == [len(turn) - 1], turn


def test_a_twilio_retry_reaching_the_other_server_is_not_answered_twice(cluster: Cluster) -> None:
    sid = "SM" + uuid.uuid4().hex
    form = {
        "From": "+14155550107",
        "To": "+15550100999",
        "Body": "hi",
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
    }
    path = "/webhooks/twilio/webhook"
    # Twilio signs the public URL (PUBLIC_URL); either server checks that signature.
    signature = RequestValidator(TWILIO_TEST_TOKEN).compute_signature(cluster.public_url + path, form)
    headers = {"X-Twilio-Signature": signature}
    first = requests.post(cluster.rasa_urls[0] + path, data=form, headers=headers, timeout=60)
    retry = requests.post(cluster.rasa_urls[1] + path, data=form, headers=headers, timeout=60)
    assert first.status_code == retry.status_code == 200
    assert len(ET.fromstring(first.text)) >= 1
    assert len(ET.fromstring(retry.text)) == 0
    client = redis.Redis.from_url(cluster.redis_url)
    try:
        assert 0 < client.ttl(f"{cluster.redis_prefix}:sms-replay:{sid}") <= 3600
    finally:
        client.close()
