"""Every staff page shows the open red flags, live (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.storage import repository
from bot.storage.models import utcnow
from bot.web.staff import auth
from tests.web.staff_support import T0, Staff, assessed_conversation, staff, write_conversation

__all__ = ["staff"]

PAGES = [
    "/staff/conversations",
    "/staff/conversations/conv-a",
    "/staff/queues/red-flags",
    "/staff/queues/requests",
    "/staff/queues/red-flags?status=closed",
    "/staff/users",
    "/staff/audit",
]


def _seed(helper: Staff) -> None:
    write_conversation(helper.url, "conv-a", assessed_conversation(T0))
    with helper.store.transaction() as session:
        new = repository.record_red_flags(session, "conv-a", "rest", ["infection"])
        contacted = repository.record_red_flags(session, "conv-b", "rest", ["cauda_equina"])
        closed = repository.record_red_flags(session, "conv-c", "rest", ["blood_clot"])
        repository.record_red_flags(session, "conv-d", "rest", ["infection"], kind="review")
        review_closed = repository.record_red_flags(session, "conv-e", "rest", ["infection"], kind="review")
        repository.change_status(session, "red_flag", contacted.id, "contacted", "nurse")
        repository.change_status(session, "red_flag", closed.id, "closed", "nurse")
        repository.change_status(session, "red_flag", review_closed.id, "closed", "nurse")
        assert new.status == "new"
    helper.add_request("conv-a")


def _counts(html: str) -> tuple[int, int]:
    flags = re.search(r'<span data-count="red_flags">(\d+)</span> open red flag', html)
    review = re.search(r'<span data-count="to_review">(\d+)</span> to review', html)
    assert flags is not None and review is not None, html[:2000]
    return int(flags.group(1)), int(review.group(1))


@pytest.mark.parametrize("path", PAGES)
def test_every_staff_page_shows_the_open_red_flags(staff: Staff, path: str) -> None:
    _seed(staff)
    staff.add_user("boss", role="admin")
    staff.login("boss")
    html = staff.client.get(path).text
    # new + contacted red flags; a possible red flag the patient denied is counted apart
    assert _counts(html) == (2, 1)
    assert 'class="alert-counts has-red-flags"' in html and 'aria-live="polite"' in html
    assert '<script src="/static/staff.js" defer></script>' in html


def test_the_counts_follow_the_queue(staff: Staff) -> None:
    _seed(staff)
    staff.add_user("nurse")
    staff.login("nurse")
    assert staff.client.get("/staff/api/queue-counts").json() == {"red_flags": 2, "to_review": 1, "requests": 1}
    assert staff.post("/staff/queues/red-flags/1/status", {"status": "closed"}).status_code == 303
    assert staff.client.get("/staff/api/queue-counts").json() == {"red_flags": 1, "to_review": 1, "requests": 1}
    assert _counts(staff.client.get("/staff/conversations").text) == (1, 1)


def test_the_login_page_has_no_counts(staff: Staff) -> None:
    _seed(staff)
    html = staff.client.get("/staff/login").text
    assert "open red flag" not in html and "staff.js" not in html


def test_polling_the_counts_does_not_keep_a_session_alive(staff: Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(staff)
    staff.add_user("nurse")
    start = utcnow()
    monkeypatch.setattr(auth, "now", lambda: start)
    staff.login("nurse")
    assert staff.client.get("/staff/conversations", follow_redirects=False).status_code == 200
    for minutes in (5, 10, 14):  # the page left open polls every 30 s
        monkeypatch.setattr(auth, "now", lambda minutes=minutes: start + timedelta(minutes=minutes))
        assert staff.client.get("/staff/api/queue-counts").status_code == 200
    monkeypatch.setattr(auth, "now", lambda: start + timedelta(minutes=16))
    assert staff.client.get("/staff/api/queue-counts").status_code == 401  # signed out: idle for 16 minutes
    answer = staff.client.get("/staff/conversations", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/staff/login"


def test_the_script_is_served(staff: Staff) -> None:
    answer = staff.client.get("/static/staff.js")
    assert answer.status_code == 200 and "/staff/api/queue-counts" in answer.text
