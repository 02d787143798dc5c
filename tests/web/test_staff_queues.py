"""The staff queues and the conversation list filter and page in SQL (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from bot.storage import conversations as stored
from bot.storage import repository
from bot.storage.models import RedFlagEvent, utcnow
from bot.web.staff import conversations, export, queues
from tests.web.staff_support import T0, Staff, assessed_conversation, red_flag_conversation, staff, write_conversation

__all__ = ["staff"]


def _signed_in(helper: Staff) -> None:
    helper.add_user("nurse")
    helper.login("nurse")


def _transcript_links(html: str) -> list[str]:
    return re.findall(r'href="/staff/conversations/([^"]+)">Transcript', html)


def test_an_old_open_red_flag_is_not_hidden_by_500_newer_closed_ones(staff: Staff) -> None:
    now = utcnow()
    with staff.store.transaction() as session:
        session.add(
            RedFlagEvent(
                conversation_id="old-open", channel="twilio", red_flags=["cauda_equina"], kind="emergency",
                status="new", created_at=now - timedelta(days=40),
            )
        )  # fmt: skip
        session.add_all(
            RedFlagEvent(
                conversation_id=f"closed-{n:03d}", channel="rest", red_flags=["infection"], kind="emergency",
                status="closed", created_at=now - timedelta(minutes=n),
            )
            for n in range(501)
        )  # fmt: skip
    _signed_in(staff)
    page = staff.client.get("/staff/queues/red-flags").text
    assert _transcript_links(page) == ["old-open"]
    assert "1 open record" in page
    closed = staff.client.get("/staff/queues/red-flags?status=closed").text
    assert "Page 1 of 11" in closed and len(_transcript_links(closed)) == queues.QUEUE_PAGE_SIZE
    last = staff.client.get("/staff/queues/red-flags?status=closed&page=11").text
    assert _transcript_links(last) == ["closed-500"]  # the oldest closed one, on the last page


def test_booked_requests_leave_the_open_view(staff: Staff) -> None:
    ids = {
        status: staff.add_request(f"conv-{status}", name=f"Patient {status}")
        for status in repository.APPOINTMENT_STATUSES
    }
    with staff.store.transaction() as session:
        for status, record_id in ids.items():
            if status != "new":
                repository.change_status(session, "appointment", record_id, status, "nurse")
    _signed_in(staff)
    page = staff.client.get("/staff/queues/requests").text
    assert sorted(_transcript_links(page)) == ["conv-contacted", "conv-new"]
    assert page.index("conv-new") < page.index("conv-contacted")  # new ones first
    assert _transcript_links(staff.client.get("/staff/queues/requests?status=booked").text) == ["conv-booked"]
    assert _transcript_links(staff.client.get("/staff/queues/requests?status=closed").text) == ["conv-closed"]


def test_queues_page_in_sql(staff: Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queues, "QUEUE_PAGE_SIZE", 2)
    for n in range(5):
        staff.add_red_flag(f"conv-{n}")
    _signed_in(staff)
    first = staff.client.get("/staff/queues/red-flags").text
    assert "Page 1 of 3" in first and _transcript_links(first) == ["conv-4", "conv-3"]
    third = staff.client.get("/staff/queues/red-flags?page=3").text
    assert _transcript_links(third) == ["conv-0"] and "Previous" in third and "Next" not in third
    assert "Page 3 of 3" in staff.client.get("/staff/queues/red-flags?page=999").text


def test_the_list_reads_only_the_events_of_its_page(staff: Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(40):
        events = red_flag_conversation(T0 + n * 60) if n % 5 == 0 else assessed_conversation(T0 + n * 60)
        write_conversation(staff.url, f"conv-{n:02d}", events)
    _signed_in(staff)
    monkeypatch.setattr(conversations, "PAGE_SIZE", 5)
    parsed: list[str] = []
    real_load = stored._load

    def counting_load(data: str | None) -> dict[str, object]:
        parsed.append(data or "")
        return real_load(data)

    monkeypatch.setattr(stored, "_load", counting_load)
    page = staff.client.get("/staff/conversations").text
    assert "40 conversations." in page and "Page 1 of 8" in page
    assert _transcript_links(page) == [f"conv-{n:02d}" for n in range(39, 34, -1)]
    # 40 conversations of 5 to 13 events: only the page's first messages and payloads are read
    assert 0 < len(parsed) <= 3 * conversations.PAGE_SIZE, len(parsed)
    csrf = staff.csrf()
    parsed.clear()
    flagged = staff.client.post("/staff/conversations", data={"csrf": csrf, "red_flag": "yes", "page": "2"}).text
    assert "8 conversations." in flagged and _transcript_links(flagged) == ["conv-10", "conv-05", "conv-00"]
    assert len(parsed) <= 3 * conversations.PAGE_SIZE, len(parsed)


@pytest.mark.parametrize("in_list", [100, 2], ids=["read by id", "read by the filter's query"])
def test_the_export_streams_every_match_in_list_order(
    staff: Staff, monkeypatch: pytest.MonkeyPatch, in_list: int
) -> None:
    monkeypatch.setattr(export, "EXPORT_IN_LIST", in_list)
    monkeypatch.setattr(export, "CHUNK_ROWS", 3)
    for n in range(7):
        write_conversation(staff.url, f"conv-{n}", assessed_conversation(T0 + n * 60))
    staff.add_request("conv-3", name="Dana Row", phone="+14155550103")
    _signed_in(staff)
    rows = list(csv.DictReader(io.StringIO(staff.client.get("/staff/conversations/export.csv").text)))
    assert [row["conversation_id"] for row in rows] == [f"conv-{n}" for n in range(6, -1, -1)]
    assert rows[3]["names"] == "Dana Row" and rows[3]["phones"] == "'+14155550103"
    assert rows[0]["findings"] == "too_early_to_judge post_surgical_swelling nerve_recovery_ongoing"
    assert ("nurse", "export", "", "rows=7") in staff.audit_actions()
