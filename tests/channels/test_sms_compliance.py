"""STOP / START / HELP on the SMS channel, over signed webhooks, with the opt-outs in a real database."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bot.channels.sms_compliance import SmsCompliance, keyword_of
from bot.channels.twilio import TwilioTwimlInput
from bot.storage import opt_outs
from bot.storage.sms_models import SmsOptOut
from bot.storage.store import ClinicStore
from tests.channels.test_twilio import PUBLIC_URL, TOKEN, Exchange, messages, sign, twilio_form

PHONE = "+14155552671"
OTHER = "+14155550132"
STOPPED = "You're unsubscribed from Northside Spine messages. Reply START to resubscribe."


@pytest.fixture(autouse=True)
def clinic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINIC_NAME", "Northside Spine")
    monkeypatch.setenv("CLINIC_PHONE", "(415) 555-0100")


class Sms:
    """Signed SMS webhooks from one or more numbers, each with a fresh MessageSid."""

    def __init__(self, store: ClinicStore | str | None) -> None:
        self.channel = TwilioTwimlInput(auth_token=TOKEN, public_url=PUBLIC_URL, store=store)
        self.exchange = Exchange(channel=self.channel)
        self.count = 0

    def request(self, body: str, phone: str = PHONE) -> dict[str, Any]:
        self.count += 1
        form = twilio_form(Body=body, From=phone, MessageSid=f"SM{self.count:04d}", SmsMessageSid=f"SM{self.count:04d}")
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sign(form)}
        return {"content": urlencode(form), "headers": headers}

    def send(self, *bodies: str, phone: str = PHONE) -> list[list[str]]:
        answers = self.exchange.post([self.request(body, phone) for body in bodies])
        return [messages(answer) for answer in answers]

    @property
    def bot_saw(self) -> list[str]:
        return [message.text for message in self.exchange.agent.received]


def test_stop_confirms_once_then_silence(sqlite_url: str) -> None:
    sms = Sms(sqlite_url)
    answers = sms.send("STOP", "hello?", "My back still hurts", "STOP", "stop")
    assert answers == [[STOPPED], [], [], [], []]
    assert sms.bot_saw == []


def test_the_silence_is_an_empty_response(sqlite_url: str) -> None:
    sms = Sms(sqlite_url)
    stop, after = sms.exchange.post([sms.request("STOP"), sms.request("hi")])
    assert "<Message>" in stop.text
    assert after.status_code == 200
    assert after.text.endswith("<Response/>")


@pytest.mark.parametrize(
    "body", ["Stop.", " stop ", "STOP!!", "stop\u00a0", "'stop'", "Unsubscribe", "quit", "STOPALL", "End", "cancel"]
)
def test_stop_keywords_any_case_and_punctuation(sqlite_url: str, body: str) -> None:
    sms = Sms(sqlite_url)
    assert sms.send(body, "hi") == [[STOPPED], []]
    assert sms.bot_saw == []


@pytest.mark.parametrize(
    "body", ["please don't stop the meds", "stop it hurts", "I want to cancel my appointment", "help me", "yes please"]
)
def test_messages_containing_a_keyword_reach_the_bot(sqlite_url: str, body: str) -> None:
    sms = Sms(sqlite_url)
    assert sms.send(body) == [[f"got [{body}]"]]
    assert sms.bot_saw == [body]


def test_start_resubscribes(sqlite_url: str) -> None:
    sms = Sms(sqlite_url)
    stop, start, after = sms.send("STOP", "Start", "my leg burns")
    assert stop == [STOPPED]
    assert start == ["You're resubscribed to Northside Spine messages. Reply HELP for help or STOP to unsubscribe."]
    assert after == ["got [my leg burns]"]
    assert sms.bot_saw == ["my leg burns"]


def test_unstop_and_yes_resubscribe_only_while_opted_out(sqlite_url: str) -> None:
    sms = Sms(sqlite_url)
    answers = sms.send("yes", "STOP", "YES!", "yes", "stop", "unstop")
    assert answers[0] == ["got [yes]"]  # an ordinary answer, e.g. to the consultation offer
    assert answers[1] == [STOPPED]
    assert answers[2][0].startswith("You're resubscribed")
    assert answers[3] == ["got [yes]"]
    assert answers[4] == [STOPPED]  # confirmed again: it is a new opt-out
    assert answers[5][0].startswith("You're resubscribed")
    assert sms.bot_saw == ["yes", "yes"]


def test_start_while_subscribed_confirms_without_the_bot(sqlite_url: str) -> None:
    sms = Sms(sqlite_url)
    assert sms.send("START") == [
        ["You're subscribed to Northside Spine messages. Reply HELP for help or STOP to unsubscribe."]
    ]
    assert sms.bot_saw == []


def test_help_and_info_answer_with_the_clinic(sqlite_url: str) -> None:
    sms = Sms(sqlite_url)
    help_answer, info_answer = sms.send("HELP", "info?")
    assert help_answer == info_answer
    (text,) = help_answer
    assert "Northside Spine" in text
    assert "(415) 555-0100" in text
    assert "Reply STOP to unsubscribe" in text
    assert sms.bot_saw == []


def test_help_while_opted_out_says_how_to_come_back(sqlite_url: str) -> None:
    sms = Sms(sqlite_url)
    _, (text,) = sms.send("STOP", "help")
    assert "START" in text
    assert "(415) 555-0100" in text
    assert sms.bot_saw == []


def test_one_number_stopping_leaves_others_alone(sqlite_url: str) -> None:
    sms = Sms(sqlite_url)
    assert sms.send("STOP") == [[STOPPED]]
    assert sms.send("hello", phone=OTHER) == [["got [hello]"]]


def test_opt_out_survives_a_new_channel(db_url: str) -> None:
    store = ClinicStore(db_url)
    try:
        assert Sms(store).send("STOP") == [[STOPPED]]
        later = Sms(db_url)  # a new channel (as after a restart), building its own store from the URL
        assert later.send("are you there?", "STOP") == [[], []]
        assert later.bot_saw == []
        with store.transaction() as session:
            (row,) = session.execute(select(SmsOptOut)).scalars()
            assert row.phone == PHONE
            assert row.opted_out is True
            assert row.opted_out_at is not None and row.opted_in_at is None
        later.channel.compliance.dispose()
    finally:
        store.dispose()


def test_default_store_is_the_process_wide_one() -> None:
    """Without a store the channel uses get_store() (DATABASE_URL; a temp file in these tests)."""
    sms = Sms(None)
    assert sms.send("STOP", "hi") == [[STOPPED], []]
    with sms.channel.compliance.store.transaction() as session:
        assert opt_outs.is_opted_out(session, PHONE)


def test_database_failure_confirms_stop_and_passes_nothing_on(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError(f"connection refused for {PHONE}")

    monkeypatch.setattr(SmsCompliance, "_decide", broken)
    sms = Sms(sqlite_url)
    assert sms.send("STOP", "my leg is numb") == [[STOPPED], []]
    assert sms.bot_saw == []
    assert "RuntimeError" in caplog.text
    assert PHONE not in caplog.text


def test_replayed_stop_is_not_confirmed_twice(sqlite_url: str) -> None:
    sms = Sms(sqlite_url)
    request = sms.request("STOP")
    first, replay = sms.exchange.post([request, request])
    assert messages(first) == [STOPPED]
    assert messages(replay) == []


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", "stop"),
        ("  Stop. ", "stop"),
        ("stop!", "stop"),
        ("\u201cstop\u201d", "stop"),
        ("ＳＴＯＰ", "stop"),
        ("stopall", "stop"),
        ("UNSUBSCRIBE", "stop"),
        ("start", "start"),
        ("Unstop", "start"),
        ("yes", "yes"),
        ("Help?", "help"),
        ("info", "help"),
        ("stop please", None),
        ("don't stop", None),
        ("st op", None),
        ("", None),
        ("...", None),
        ("yes please", None),
    ],
)
def test_keyword_of(text: str, keyword: str | None) -> None:
    assert keyword_of(text) == keyword
