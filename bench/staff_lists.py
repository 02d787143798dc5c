"""How fast the staff conversation list and the CSV export are at 10,000 conversations.

Fills a temporary SQLite file and a temporary PostgreSQL database (on the server of
``TEST_POSTGRES_ADMIN_URL``, default ``postgresql://postgres@127.0.0.1:5432/postgres``; skipped
when it can't be reached) with N conversations as Rasa's ``SQLTrackerStore`` writes them (the
same ``events`` table, the same JSON), plus consultation requests, red-flag events and staff
texts, and runs ``ANALYZE`` (a live database has statistics); then signs in to the real staff
app (in-process, Starlette's test client) and times:

- the conversation list, first page, no filter (GET);
- a later page, a red-flag filter, a finding filter, a name search and a phone search (POST);
- the CSV export of every conversation.

It is a benchmark, not a test: it prints figures and exits 0. From the project root::

    .venv/bin/python bench/staff_lists.py                    # 10,000 conversations, both databases
    .venv/bin/python bench/staff_lists.py --conversations 2000 --skip-postgres
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rasa.core.tracker_store import SQLTrackerStore  # noqa: E402
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from bot.settings import Settings  # noqa: E402
from bot.storage import repository  # noqa: E402
from bot.storage import staff_repository as repo  # noqa: E402
from bot.storage.db import make_engine  # noqa: E402
from bot.storage.models import AppointmentRequest, RedFlagEvent  # noqa: E402
from bot.storage.staff_models import StaffText, init_staff_tables  # noqa: E402
from bot.storage.store import ClinicStore  # noqa: E402
from bot.web import create_app  # noqa: E402

PASSWORD = "correct horse battery"
FINDINGS = ["too_early_to_judge", "post_surgical_swelling", "nerve_recovery_ongoing"]
FACTS = {
    "surgery_type": "decompression",
    "weeks_since_surgery": 6.0,
    "pain_course": "worse_since_surgery",
    "pain_return_weeks": None,
    "symptoms": ["leg_pain", "burning", "tingling"],
}
SEARCHED = 4242
"""The conversation the searches look for: an SMS conversation with a request (index % 10,000)."""
REPEAT = 5


def _user(text: str, at: float, channel: str, phone: str | None) -> UserUttered:
    metadata = {"channel": channel, "phone": phone} if phone else None
    return UserUttered(
        text,
        intent={"name": "inform", "confidence": 0.98},
        entities=[],
        input_channel=channel,
        metadata=metadata,
        timestamp=at,
    )


def conversation_events(index: int, start: float, rng: random.Random) -> tuple[str, str, list[Event]]:
    """One conversation: (channel, sms phone or "", events) of one of three shapes."""
    channel = rng.choice(["socketio", "socketio", "rest", "twilio"])
    channel = "twilio" if index == SEARCHED else channel
    phone = f"+1312555{index % 10_000:04d}" if channel == "twilio" else None
    shape = rng.random()
    events: list[Event] = [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start),
        ActionExecuted("action_listen", timestamp=start),
        _user("hi, I had a microdiscectomy and my leg still hurts", start + 1, channel, phone),
        SlotSet("surgery_type", "decompression", timestamp=start + 2),
        BotUttered("When was your surgery? A date or something like '6 weeks ago' is fine.", timestamp=start + 3),
    ]
    if shape < 0.1:
        events += [
            _user("now I have a fever of 102 and chills", start + 20, channel, phone),
            BotUttered(
                "Please call your surgeon now.",
                data={"custom": {"type": "emergency", "red_flags": ["infection"]}},
                timestamp=start + 21,
            ),
        ]
    elif shape < 0.7:
        findings = rng.sample(FINDINGS, 2) if index % 3 else ["on_track"]
        events += [
            _user("6 weeks ago", start + 10, channel, phone),
            SlotSet("weeks_since_surgery", 6.0, timestamp=start + 11),
            BotUttered("How has your pain behaved since the surgery?", timestamp=start + 12),
            _user("it's worse than before the operation", start + 20, channel, phone),
            SlotSet("pain_course", "worse_since_surgery", timestamp=start + 21),
            BotUttered("Which of these do you notice?", timestamp=start + 22),
            _user("burning down my leg and some tingling", start + 30, channel, phone),
            SlotSet("symptoms", ["leg_pain", "burning", "tingling"], timestamp=start + 31),
            BotUttered(
                "Here is what the clinic's information says about situations like yours. " * 3,
                data={"custom": {"type": "assessment", "findings": findings, "facts": FACTS}},
                timestamp=start + 32,
            ),
            BotUttered("Would you like me to ask the clinic to set up a consultation?", timestamp=start + 33),
        ]
    return channel, phone or "", events


def fill(url: str, conversations: int, seed: int = 7) -> None:
    """Write ``conversations`` conversations, with clinic rows, into a fresh database."""
    rng = random.Random(seed)
    engine = make_engine(url)
    SQLTrackerStore.Base.metadata.create_all(engine)  # Rasa's own ``events`` table and index
    engine.dispose()
    store = ClinicStore(url)
    init_staff_tables(store.engine)
    events_table = SQLTrackerStore.SQLEvent.__table__
    now = datetime.now(timezone.utc)
    rows: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []

    def flush_events() -> None:
        if rows:
            with store.engine.begin() as connection:
                connection.execute(insert(events_table), rows)
            rows.clear()

    for index in range(conversations):
        start = (now - timedelta(days=rng.uniform(0, 365))).timestamp()
        sender = f"conv-{index:06d}"
        channel, phone, events = conversation_events(index, start, rng)
        for event in events:
            data = event.as_dict()
            rows.append(
                {
                    "sender_id": sender,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": (data.get("parse_data") or {}).get("intent", {}).get("name"),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                }
            )
        created = datetime.fromtimestamp(start + 40, tz=timezone.utc)
        if rng.random() < 0.3 or index == SEARCHED:
            requests.append(
                {
                    "public_id": repository.new_public_id(),
                    "conversation_id": sender,
                    "channel": channel,
                    "patient_name": f"Patient {index}",
                    "phone": phone or f"+1415555{index % 10_000:04d}",
                    "preferred_time": "weekday mornings",
                    "findings": FINDINGS,
                    "facts": FACTS,
                    "kind": "consultation",
                    "status": rng.choice(["new", "contacted", "booked", "closed"]),
                    "created_at": created,
                    "updated_at": created,
                }
            )
        payloads = [(e.data or {}).get("custom") or {} for e in events if isinstance(e, BotUttered)]
        if any(payload.get("type") == "emergency" for payload in payloads):
            flags.append(
                {
                    "conversation_id": sender,
                    "channel": channel,
                    "red_flags": ["infection"],
                    "kind": "emergency",
                    "status": rng.choice(["new", "contacted", "closed", "closed"]),
                    "created_at": created,
                }
            )
        if phone and rng.random() < 0.1:
            texts.append(
                {
                    "conversation_id": sender,
                    "staff_username": "nurse",
                    "body": "Please call the clinic back.",
                    "sent_at": created + timedelta(hours=1),
                    "status": "sent",
                    "twilio_sid": "SM" + "0" * 32,
                    "failure": "",
                }
            )
        if len(rows) >= 20_000:
            flush_events()
    flush_events()
    with store.engine.begin() as connection:
        for model, values in ((AppointmentRequest, requests), (RedFlagEvent, flags), (StaffText, texts)):
            if values:
                connection.execute(insert(model.__table__), values)
    with store.transaction() as session:
        repo.create_user(session, "nurse", PASSWORD, "staff")
    with store.engine.connect() as connection:  # fresh statistics, as a live database has them
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    store.dispose()


def _login(client: TestClient) -> str:
    page = client.get("/staff/login")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match is not None
    answer = client.post(
        "/staff/login",
        data={"csrf": match.group(1), "username": "nurse", "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.status_code
    page = client.get("/staff/conversations")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def _timed(call: Callable[[], Any], repeat: int = REPEAT) -> tuple[float, Any]:
    """The median wall-clock milliseconds of ``repeat`` calls, and the last result."""
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        began = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), result


def measure(url: str) -> list[tuple[str, float, str]]:
    """Sign in and time each staff view; rows of (what, median ms, note)."""
    settings = replace(Settings(), database_url=url, secret_key="bench-secret", clinic_name="Bench Clinic")
    results: list[tuple[str, float, str]] = []
    with TestClient(create_app(settings)) as client:
        csrf = _login(client)
        name, phone = f"patient {SEARCHED}", f"(312) 555-{SEARCHED:04d}"

        def listed(answer: Any) -> str:
            assert answer.status_code == 200, answer.status_code
            found = re.search(r"<p>([\d,]+) conversations?\.</p>", answer.text)
            return f"{found.group(1) if found else '?'} matching"

        def listing(**form: str) -> Callable[[], Any]:
            return lambda: client.post("/staff/conversations", data={"csrf": csrf, **form})

        cases: list[tuple[str, Callable[[], Any]]] = [
            ("list, page 1", lambda: client.get("/staff/conversations")),
            ("list, page 200", listing(page="200")),
            ("list, red flag = yes", listing(red_flag="yes")),
            ("list, finding", listing(finding="post_surgical_swelling")),
            ("list, name search", listing(q=name)),
            ("list, phone search", listing(q=phone)),
        ]
        for label, call in cases:
            millis, answer = _timed(call)
            results.append((label, millis, listed(answer)))
        millis, answer = _timed(lambda: client.get("/staff/conversations/export.csv"), repeat=3)
        assert answer.status_code == 200, answer.status_code
        lines = answer.text.count("\n") - 1
        results.append(("CSV export, all", millis, f"{lines} rows, {len(answer.content) / 1e6:.1f} MB"))
        millis, answer = _timed(lambda: client.get("/staff/queues/red-flags"))
        results.append(("red-flag queue (open)", millis, f"HTTP {answer.status_code}"))
    return results


def _report(name: str, fill_seconds: float, results: list[tuple[str, float, str]]) -> None:
    print(f"\n{name} (filled in {fill_seconds:.1f} s)")
    print(f"  {'view':<24} {'median ms':>10}  note")
    for label, millis, note in results:
        print(f"  {label:<24} {millis:>10.1f}  {note}")


def _postgres(conversations: int) -> Iterator[tuple[str, float, list[tuple[str, float, str]]]]:
    import pytest

    from tests.conftest import temporary_postgres_database

    try:
        with temporary_postgres_database("clinic_bench") as url:
            began = time.perf_counter()
            fill(url, conversations)
            seconds = time.perf_counter() - began
            yield url, seconds, measure(url)
    except pytest.skip.Exception as skipped:
        print(f"\nPostgreSQL skipped: {skipped}")


def main(argv: list[str] | None = None) -> int:
    """Fill, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args(argv)
    if args.conversations <= SEARCHED:
        parser.error(f"--conversations must be more than {SEARCHED} (the searched-for conversation)")
    print(f"{args.conversations} conversations; each figure is the median of {REPEAT} requests (export: 3)")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        began = time.perf_counter()
        fill(url, args.conversations)
        _report("SQLite", time.perf_counter() - began, measure(url))
    if not args.skip_postgres:
        for _url, seconds, results in _postgres(args.conversations):
            _report("PostgreSQL", seconds, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
