"""Helpers for the staff tests: an app per test database, accounts, conversations as Rasa stores them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from starlette.testclient import TestClient

from bot.storage import repository
from bot.storage import staff_repository as repo
from bot.storage.store import ClinicStore
from bot.storage.tracker_store import ClinicTrackerStore
from bot.web import create_app
from bot.web.staff.auth import StaffPolicy
from tests.web.conftest import SETTINGS

PASSWORD = "correct horse battery"
DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [inform]
slots:
  surgery_type: {type: any, mappings: [{type: custom}]}
  weeks_since_surgery: {type: any, mappings: [{type: custom}]}
  pain_course: {type: any, mappings: [{type: custom}]}
  pain_return_weeks: {type: any, mappings: [{type: custom}]}
  symptoms: {type: any, mappings: [{type: custom}]}
"""
)
FACTS = {
    "surgery_type": "decompression",
    "weeks_since_surgery": 6.0,
    "pain_course": "worse_since_surgery",
    "pain_return_weeks": None,
    "symptoms": ["leg_pain", "burning", "tingling"],
}
FINDINGS = ["too_early_to_judge", "post_surgical_swelling", "nerve_recovery_ongoing"]


def user(text: str, at: float, channel: str = "rest", metadata: dict[str, Any] | None = None) -> UserUttered:
    return UserUttered(
        text, intent={"name": "inform", "confidence": 1.0}, input_channel=channel, metadata=metadata, timestamp=at
    )


def write_conversation(url: str, sender: str, events: list[Event]) -> None:
    """Save events through Rasa's own SQLTrackerStore, as the bot does."""
    store = ClinicTrackerStore(database_url=url, domain=DOMAIN)
    tracker = DialogueStateTracker.from_events(sender, events, DOMAIN.slots)
    asyncio.run(store.save(tracker))
    store.engine.dispose()


def assessed_conversation(start: float, *, first_text: str = "I had a microdiscectomy", channel: str = "rest",
                          metadata: dict[str, Any] | None = None) -> list[Event]:  # fmt: skip
    return [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start),
        ActionExecuted("action_listen", timestamp=start),
        user(first_text, start + 1, channel, metadata),
        SlotSet("surgery_type", "decompression", timestamp=start + 2),
        BotUttered("When was your surgery?", timestamp=start + 3),
        user("6 weeks ago", start + 10, channel, metadata),
        SlotSet("weeks_since_surgery", 6.0, timestamp=start + 11),
        user("it's worse than before the operation", start + 20, channel, metadata),
        SlotSet("pain_course", "worse_since_surgery", timestamp=start + 21),
        user("burning down my leg and some tingling", start + 30, channel, metadata),
        SlotSet("symptoms", ["leg_pain", "burning", "tingling"], timestamp=start + 31),
        BotUttered(
            "Here is what the clinic's information says.",
            data={"custom": {"type": "assessment", "findings": FINDINGS, "facts": FACTS}},
            timestamp=start + 32,
        ),
    ]


def red_flag_conversation(start: float) -> list[Event]:
    return [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start),
        user("<script>alert(1)</script> I have a fever of 102", start + 1),
        BotUttered(
            "Please call your surgeon now.",
            data={"custom": {"type": "emergency", "red_flags": ["infection"]}},
            timestamp=start + 2,
        ),
    ]


class Staff:
    """A test app on one database, with helpers to sign in and post forms."""

    def __init__(self, url: str, client: TestClient, store: ClinicStore) -> None:
        self.url = url
        self.client = client
        self.store = store

    def add_user(self, username: str, role: str = "staff", password: str = PASSWORD) -> None:
        with self.store.transaction() as session:
            repo.create_user(session, username, password, role)

    def login_csrf(self) -> str:
        page = self.client.get("/staff/login")
        match = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert match is not None
        return match.group(1)

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        csrf = self.login_csrf()
        return self.client.post(
            "/staff/login",
            data={"csrf": csrf, "username": username, "password": password},
            follow_redirects=False,
        )

    def csrf(self) -> str:
        page = self.client.get("/staff/conversations")
        match = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert match is not None, page.text[:500]
        return match.group(1)

    def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        return self.client.post(path, data={"csrf": self.csrf(), **data}, follow_redirects=False)

    def audit_actions(self) -> list[tuple[str, str, str, str]]:
        from sqlalchemy import select

        from bot.storage.staff_models import AuditEntry

        with self.store.transaction() as session:
            rows = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
            return [(r.actor, r.action, r.target, r.detail) for r in rows]

    def add_request(self, conversation_id: str, name: str = "Maria Lopez", phone: str = "+14155552671") -> int:
        with self.store.transaction() as session:
            request = repository.save_appointment_request(
                session,
                conversation_id=conversation_id,
                channel="rest",
                patient_name=name,
                phone=phone,
                preferred_time="weekday mornings",
                findings=FINDINGS,
                facts=FACTS,
            )
            return int(request.id)

    def add_red_flag(self, conversation_id: str) -> int:
        with self.store.transaction() as session:
            return int(repository.record_red_flags(session, conversation_id, "rest", ["infection"]).id)


NOW = datetime.now(timezone.utc)
T0 = (NOW - timedelta(days=2)).timestamp()


@pytest.fixture
def staff(db_url: str) -> Iterator[Staff]:
    """A web app on each test database (policy: 15 min idle; lock after 5 failures per account, 20 per IP)."""
    settings = replace(SETTINGS, database_url=db_url)
    app = create_app(settings, staff_policy=StaffPolicy())
    store = ClinicStore(db_url)
    from bot.storage.staff_models import init_staff_tables

    init_staff_tables(store.engine)
    with TestClient(app) as client:
        yield Staff(db_url, client, store)
    store.dispose()
