"""The staff list's filters run in SQL and agree with the Python reference (``matches``), on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from rasa.shared.core.events import BotUttered, Event

from bot.storage import repository
from bot.storage.conversations import (
    ConversationFilter,
    conversation_index,
    load_conversations,
    matches,
    page_conversations,
    search_conversations,
)
from bot.storage.store import ClinicStore
from tests.web.staff_support import FACTS, assessed_conversation, red_flag_conversation, user, write_conversation

NOW = datetime.now(timezone.utc)
RECENT = (NOW - timedelta(days=2)).timestamp()
OLD = (NOW - timedelta(days=400)).timestamp()


def _assessment(findings: list[str], at: float) -> BotUttered:
    payload = {"custom": {"type": "assessment", "findings": findings, "facts": FACTS}}
    return BotUttered("Here is what I found.", data=payload, timestamp=at)


def _seed(url: str, store: ClinicStore) -> None:
    sms = {"phone": "+13125550188"}
    conversations: dict[str, list[Event]] = {
        "web-plain": assessed_conversation(RECENT),
        "web-corrected": [*assessed_conversation(RECENT + 10), _assessment(["failed_fusion"], RECENT + 50),
                          user("no wait, it was a discectomy", RECENT + 60), _assessment(["on_track"], RECENT + 70)],
        "sms-one": assessed_conversation(RECENT + 20, channel="twilio", metadata=sms),
        "sms-two": assessed_conversation(RECENT + 25, channel="twilio", metadata={"phone": "+523125550177"}),
        "web-flag-payload": red_flag_conversation(RECENT + 30),
        "web-flag-row": assessed_conversation(RECENT + 40),
        "web-review": assessed_conversation(RECENT + 45),
        "web-lookalike": assessed_conversation(RECENT + 55, first_text='he wrote "type": "emergency" and "on_track"'),
        "web-old": assessed_conversation(OLD),
        "web-names": assessed_conversation(RECENT + 65),
    }  # fmt: skip
    for sender, events in conversations.items():
        write_conversation(url, sender, events)
    with store.transaction() as session:
        for conversation_id, name, phone, channel in (
            ("sms-one", "Maria Lopez", "+14155552671", "twilio"),
            ("web-plain", "Ann Lee", "+14155550100", "rest"),
            ("web-names", "Zoë ÜNAL", "+442079460958", "rest"),
            ("web-old", "Old Timer", "+13125550100", "rest"),
        ):
            repository.save_appointment_request(
                session, conversation_id=conversation_id, channel=channel, patient_name=name, phone=phone,
                preferred_time="any",
            )  # fmt: skip
        repository.record_red_flags(session, "web-flag-row", "rest", ["cauda_equina"])
        repository.record_red_flags(session, "web-review", "rest", ["blood_clot"], kind="review")


FILTERS = [
    ConversationFilter(),
    ConversationFilter(channel="sms"),
    ConversationFilter(channel="web"),
    ConversationFilter(red_flag=True),
    ConversationFilter(red_flag=False),
    ConversationFilter(booking=True),
    ConversationFilter(booking=False),
    ConversationFilter(finding="on_track"),
    ConversationFilter(finding="failed_fusion"),  # only in an assessment that was corrected since
    ConversationFilter(finding="post_surgical_swelling"),
    ConversationFilter(since=NOW - timedelta(days=30)),
    ConversationFilter(until=NOW - timedelta(days=30)),
    ConversationFilter(since=NOW - timedelta(days=500), until=NOW - timedelta(days=300)),
    ConversationFilter(search="maria"),
    ConversationFilter(search="LEE"),
    ConversationFilter(search="n_l"),  # LIKE's wildcards are taken literally
    ConversationFilter(search="%"),
    ConversationFilter(search="zoë ünal"),
    ConversationFilter(search="(312) 555-0188"),
    ConversationFilter(search="5550"),
    ConversationFilter(search="0177"),
    ConversationFilter(search="555"),  # fewer than 4 digits: names only
    ConversationFilter(search="415 555 2671"),
    ConversationFilter(channel="sms", search="0188"),
    ConversationFilter(channel="web", red_flag=False, booking=True, since=NOW - timedelta(days=30)),
]


@pytest.fixture
def seeded(db_url: str) -> ClinicStore:
    store = ClinicStore(db_url)
    _seed(db_url, store)
    return store


def test_sql_filters_agree_with_the_reference(seeded: ClinicStore) -> None:
    with seeded.transaction() as session:
        everything = load_conversations(session)
        for wanted in FILTERS:
            reference = [conv.id for conv in everything if matches(conv, wanted)]
            in_sql = [entry.id for entry in conversation_index(session, wanted)]
            page, total = page_conversations(session, wanted, limit=3, offset=0)
            searched = search_conversations(session, wanted)
            assert in_sql == reference, wanted
            assert total == len(reference) and [conv.id for conv in page] == reference[:3], wanted
            assert [conv.id for conv in searched] == reference, wanted
    seeded.dispose()


def test_expected_matches(seeded: ClinicStore) -> None:
    def ids(**wanted: object) -> set[str]:
        with seeded.transaction() as session:
            return {entry.id for entry in conversation_index(session, ConversationFilter(**wanted))}  # type: ignore[arg-type]

    assert ids(red_flag=True) == {"web-flag-payload", "web-flag-row"}
    assert ids(channel="sms") == {"sms-one", "sms-two"}
    assert ids(finding="failed_fusion") == set() and ids(finding="on_track") == {"web-corrected"}
    assert ids(search="n_l") == set() and ids(search="ann lee") == {"web-plain"}
    assert ids(search="zoë ünal") == {"web-names"}
    assert ids(search="0188") == {"sms-one"} and ids(search="0177") == {"sms-two"}
    seeded.dispose()


def test_pages_cover_every_conversation_once(seeded: ClinicStore) -> None:
    with seeded.transaction() as session:
        everything = [entry.id for entry in conversation_index(session, ConversationFilter())]
        paged: list[str] = []
        for offset in range(0, 12, 4):
            page, total = page_conversations(session, ConversationFilter(), limit=4, offset=offset)
            assert total == len(everything) == 10
            paged += [conv.id for conv in page]
        beyond, total = page_conversations(session, ConversationFilter(), limit=4, offset=40)
    seeded.dispose()
    assert paged == everything and beyond == [] and total == 10


def test_summaries_hold_what_the_list_shows(seeded: ClinicStore) -> None:
    with seeded.transaction() as session:
        full = {conv.id: conv for conv in load_conversations(session)}
        light = {conv.id: conv for conv in load_conversations(session, list(full), turns=False)}
    seeded.dispose()
    assert set(light) == set(full)
    for conv_id, conv in full.items():
        summary = light[conv_id]
        assert summary.turns == [] and conv.turns
        assert (summary.started_at, summary.last_at, summary.channel, summary.sms_phone) == (
            conv.started_at, conv.last_at, conv.channel, conv.sms_phone,
        )  # fmt: skip
        assert (summary.facts, summary.findings, summary.red_flags, summary.review_flags) == (
            conv.facts, conv.findings, conv.red_flags, conv.review_flags,
        )  # fmt: skip
        assert (summary.booking_status, summary.names, summary.phones) == (conv.booking_status, conv.names, conv.phones)
