"""STOP / START / HELP on the SMS channel, over signed webhooks, with the opt-outs in a real database."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bot.channels import sms_compliance
from bot.channels.sms_compliance import Decision, SmsCompliance, keyword_of
from bot.channels.twilio import TwilioTwimlInput, sms_conversation_id
from bot.storage import opt_outs
from bot.storage.models import RedFlagEvent
from bot.storage.sms_models import SmsOptOut
from bot.storage.store import ClinicStore
from tests.channels.test_twilio import PUBLIC_URL, TOKEN, Exchange, messages, sign, twilio_form

PHONE = "+14155552671"
OTHER = "+14155550132"
STOPPED = "You're unsubscribed from Northside Spine messages. Reply START to resubscribe."
STOP_FAILED = (
    "Sorry, we could not process your request to stop messages from Northside Spine. "
    "Please text STOP again in a few minutes, or call us at (415) 555-0100."
)
RED_FLAG = "I can't hold my bladder and my groin is numb"


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
    "body",
    ["Stop.", " stop ", "STOP!!", "stop\u00a0", "'stop'", "Unsubscribe", "quit", "STOPALL", "End", "cancel", "revoke",
     "OptOut"],
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


@pytest.fixture
def no_pause(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retries' pauses, recorded instead of slept."""
    pauses: list[float] = []
    monkeypatch.setattr(sms_compliance.time, "sleep", pauses.append)
    return pauses


def test_a_failed_opt_out_lookup_never_means_silence(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, no_pause: list[float]
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError(f"connection refused for {PHONE}")

    monkeypatch.setattr(SmsCompliance, "_decide", broken)
    sms = Sms(sqlite_url)
    # An ordinary message (here an emergency) is handled as if the number had not opted out.
    assert sms.send(RED_FLAG, "help") == [
        [f"got [{RED_FLAG}]"],
        [sms_compliance.HELP_TEXT.format(clinic="Northside Spine", phone="(415) 555-0100")],
    ]
    assert sms.bot_saw == [RED_FLAG]
    assert "SMS opt-out check failed (try 1 of 1): RuntimeError" in caplog.text
    assert PHONE not in caplog.text and "bladder" not in caplog.text
    assert no_pause == []


def test_a_stop_that_cannot_be_saved_is_retried_and_never_falsely_confirmed(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, no_pause: list[float]
) -> None:
    calls: list[str] = []

    def broken(self: SmsCompliance, phone: str, *args: object) -> None:
        calls.append(phone)
        raise RuntimeError(f"connection refused for {phone}")

    monkeypatch.setattr(SmsCompliance, "_decide", broken)
    sms = Sms(sqlite_url)
    assert sms.send("STOP") == [[STOP_FAILED]]
    assert len(calls) == sms_compliance.SAVE_ATTEMPTS == 3
    assert no_pause == [0.2, 0.5]
    assert sms.bot_saw == []
    assert "SMS opt-out save failed (try 3 of 3): RuntimeError" in caplog.text
    assert PHONE not in caplog.text
    with ClinicStore(sqlite_url).transaction() as session:
        assert not opt_outs.is_opted_out(session, PHONE)


def test_a_stop_saved_on_a_retry_is_confirmed(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, no_pause: list[float]
) -> None:
    real = SmsCompliance._decide
    failures = iter([True])

    def flaky(self: SmsCompliance, *args: Any) -> Decision:
        if next(failures, False):
            raise ConnectionError("database restarting")
        return real(self, *args)

    monkeypatch.setattr(SmsCompliance, "_decide", flaky)
    sms = Sms(sqlite_url)
    assert sms.send("STOP", "hello?") == [[STOPPED], []]
    assert no_pause == [0.2]
    with ClinicStore(sqlite_url).transaction() as session:
        assert opt_outs.is_opted_out(session, PHONE)


def test_a_start_that_cannot_be_saved_says_so(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, no_pause: list[float]
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("down")

    monkeypatch.setattr(SmsCompliance, "_decide", broken)
    ((text,),) = Sms(sqlite_url).send("START")
    assert text.startswith("Sorry, we could not process your request") and "START again" in text


# ---------------------------------------------------------------------------------------------
# A red flag texted after STOP: read, kept on the conversation, raised for staff; nothing sent.


def _red_flag_rows(url: str) -> list[tuple[str, str, list[str], str]]:
    store = ClinicStore(url)
    try:
        with store.transaction() as session:
            rows = session.execute(select(RedFlagEvent).order_by(RedFlagEvent.id)).scalars()
            return [(row.conversation_id, row.channel, list(row.red_flags), row.kind) for row in rows]
    finally:
        store.dispose()


def test_a_red_flag_texted_after_stop_is_raised_for_staff_and_not_answered(sqlite_url: str) -> None:
    sms = Sms(sqlite_url)
    answers = sms.send("STOP", RED_FLAG, "hello?")
    assert answers == [[STOPPED], [], []]  # nothing is texted to the number
    assert sms.bot_saw == []  # the bot never answers it
    conversation = sms_conversation_id(PHONE, sms.channel.auth_token)
    processor = sms.exchange.agent.processor
    # Both texts are read and kept on the conversation, marked as sent while opted out ...
    tracker = processor.trackers[conversation]
    assert [event[1] for event in tracker.events if isinstance(event, tuple)] == [RED_FLAG, "hello?"]
    assert all(event[2]["sms_opted_out"] is True for event in tracker.events if isinstance(event, tuple))
    assert processor.saved == [conversation, conversation]
    assert sms.exchange.agent.lock_store.locked == [conversation, conversation]
    # ... the red flag goes to the staff's queue ...
    assert _red_flag_rows(sqlite_url) == [(conversation, "twilio", ["cauda_equina"], "emergency")]
    # ... and the conversation keeps the gate, for when the patient comes back.
    assert tracker.slots["emergency_reported"] is True
    assert tracker.slots["red_flag_followup"] is True
    assert tracker.slots["red_flag_codes"] == ["cauda_equina"]
    assert tracker.slots["red_flag_about"] == "new bladder or bowel trouble or groin numbness"


def test_a_message_without_a_red_flag_after_stop_is_kept_but_raises_nothing(sqlite_url: str) -> None:
    sms = Sms(sqlite_url)
    assert sms.send("STOP", "my back still hurts") == [[STOPPED], []]
    conversation = sms_conversation_id(PHONE, sms.channel.auth_token)
    assert sms.exchange.agent.processor.saved == [conversation]
    assert _red_flag_rows(sqlite_url) == []


def test_when_an_opted_out_text_cannot_be_read_it_is_silent_and_raised_for_review(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sms = Sms(sqlite_url)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"tracker store down, text was {RED_FLAG}")

    monkeypatch.setattr(sms.exchange.agent.processor, "log_message", broken)
    assert sms.send("STOP", RED_FLAG) == [[STOPPED], []]
    assert "could not be read: RuntimeError" in caplog.text
    assert "bladder" not in caplog.text
    # The lexicon alone still finds the sign: staff are asked to review it.
    conversation = sms_conversation_id(PHONE, sms.channel.auth_token)
    assert _red_flag_rows(sqlite_url) == [(conversation, "twilio", ["cauda_equina"], "review")]


def test_when_an_opted_out_text_cannot_be_kept_the_red_flag_is_still_raised(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sms = Sms(sqlite_url)

    async def broken(*args: object) -> None:
        raise RuntimeError("tracker store down")

    monkeypatch.setattr(sms.exchange.agent.processor, "save_tracker", broken)
    assert sms.send("STOP", RED_FLAG) == [[STOPPED], []]
    assert "could not be kept: RuntimeError" in caplog.text
    conversation = sms_conversation_id(PHONE, sms.channel.auth_token)
    assert _red_flag_rows(sqlite_url) == [(conversation, "twilio", ["cauda_equina"], "emergency")]


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
        ("Revoke", "stop"),
        ("optout", "stop"),
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
