"""Staff review over HTTP, on SQLite and PostgreSQL (bot.web.staff)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot.storage.models import utcnow
from bot.web.staff import auth
from tests.web.staff_support import (
    PASSWORD,
    T0,
    Staff,
    assessed_conversation,
    red_flag_conversation,
    staff,
    write_conversation,
)

__all__ = ["staff"]

PROTECTED_GET = [
    "/staff",
    "/staff/conversations",
    "/staff/conversations?q=Maria",
    "/staff/conversations/export.csv",
    "/staff/conversations/conv-a",
    "/staff/queues/red-flags",
    "/staff/queues/requests",
    "/staff/audit",
    "/staff/users",
]
PROTECTED_POST = [
    "/staff/logout",
    "/staff/conversations/conv-a/sms",
    "/staff/queues/requests/1/status",
    "/staff/queues/red-flags/1/status",
    "/staff/users",
    "/staff/users/1",
]


def _seed(staff: Staff) -> None:
    write_conversation(staff.url, "conv-a", assessed_conversation(T0))
    write_conversation(staff.url, "conv-b", red_flag_conversation(T0 + 3600))
    staff.add_request("conv-a")
    staff.add_red_flag("conv-b")


@pytest.mark.parametrize("path", PROTECTED_GET)
def test_every_protected_page_redirects_to_login(staff: Staff, path: str) -> None:
    _seed(staff)
    page = staff.client.get(path, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/staff/login"
    assert "Maria" not in page.text and "microdiscectomy" not in page.text


@pytest.mark.parametrize("path", PROTECTED_POST)
def test_every_protected_form_redirects_to_login(staff: Staff, path: str) -> None:
    page = staff.client.post(path, data={"status": "closed"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/staff/login"


def test_json_endpoint_answers_401(staff: Staff) -> None:
    answer = staff.client.get("/staff/api/queue-counts")
    assert answer.status_code == 401
    assert answer.json() == {"error": "login required"}


def test_login_success_and_logout(staff: Staff) -> None:
    staff.add_user("nurse")
    answer = staff.login("Nurse")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/conversations"
    cookie = answer.headers["set-cookie"]
    assert "clinic_staff=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/staff" in cookie
    assert staff.client.get("/staff/api/queue-counts").json() == {"red_flags": 0, "to_review": 0, "requests": 0}
    assert staff.post("/staff/logout", {}).headers["location"] == "/staff/login"
    assert staff.client.get("/staff/conversations", follow_redirects=False).status_code == 303
    actions = [a[1] for a in staff.audit_actions()]
    assert actions == ["login", "logout"]


def test_login_failure_is_generic_and_audited(staff: Staff) -> None:
    staff.add_user("nurse")
    for username in ("nurse", "nobody"):
        answer = staff.login(username, "wrong password!!")
        assert answer.status_code == 401
        assert "Wrong username or password." in answer.text
    assert [a[:2] for a in staff.audit_actions()] == [("nurse", "login_failed"), ("nobody", "login_failed")]


def test_login_needs_its_csrf_token(staff: Staff) -> None:
    staff.add_user("nurse")
    answer = staff.client.post("/staff/login", data={"username": "nurse", "password": PASSWORD})
    assert answer.status_code == 403
    assert staff.client.cookies.get("clinic_staff") is None


def test_forms_without_csrf_are_refused(staff: Staff) -> None:
    _seed(staff)
    staff.add_user("nurse")
    staff.login("nurse")
    answer = staff.client.post("/staff/queues/requests/1/status", data={"status": "contacted"})
    assert answer.status_code == 403
    answer = staff.client.post("/staff/queues/requests/1/status", data={"status": "contacted", "csrf": "forged"})
    assert answer.status_code == 403
    assert "contacted" not in [a[3] for a in staff.audit_actions()]


def test_lockout_after_repeated_failures_survives_restart(staff: Staff) -> None:
    staff.add_user("nurse")
    for _ in range(5):
        assert staff.login("nurse", "wrong password!!").status_code == 401
    locked = staff.login("nurse")  # the right password, but locked
    assert locked.status_code == 429
    assert staff.client.cookies.get("clinic_staff") is None
    staff.client.app.state.staff_store.dispose()  # type: ignore[attr-defined]
    staff.client.app.state.staff_store = None  # type: ignore[attr-defined]
    assert staff.login("nurse").status_code == 429
    assert "login_locked" in [a[1] for a in staff.audit_actions()]


def test_lock_ends_after_its_time(staff: Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    staff.add_user("nurse")
    for _ in range(5):
        staff.login("nurse", "wrong password!!")
    later = utcnow() + timedelta(minutes=16)
    monkeypatch.setattr(auth, "now", lambda: later)
    assert staff.login("nurse").status_code == 303


def test_inactivity_logs_off(staff: Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    staff.add_user("nurse")
    start = utcnow()
    monkeypatch.setattr(auth, "now", lambda: start)
    staff.login("nurse")
    monkeypatch.setattr(auth, "now", lambda: start + timedelta(minutes=14))
    assert staff.client.get("/staff/conversations", follow_redirects=False).status_code == 200
    monkeypatch.setattr(auth, "now", lambda: start + timedelta(minutes=28))  # 14 min after the last request
    assert staff.client.get("/staff/conversations", follow_redirects=False).status_code == 200
    monkeypatch.setattr(auth, "now", lambda: start + timedelta(minutes=44))
    answer = staff.client.get("/staff/conversations", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/staff/login"
    monkeypatch.setattr(auth, "now", lambda: start + timedelta(minutes=45))
    assert staff.client.get("/staff/conversations", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", ["/staff/audit", "/staff/users"])
def test_staff_role_cannot_open_admin_pages(staff: Staff, path: str) -> None:
    staff.add_user("nurse")
    staff.login("nurse")
    assert staff.client.get(path).status_code == 403
    assert staff.post("/staff/users", {"username": "x", "password": PASSWORD, "role": "admin"}).status_code == 403
    assert "Audit log" not in staff.client.get("/staff/conversations").text


def test_admin_manages_users(staff: Staff) -> None:
    staff.add_user("boss", "admin")
    staff.login("boss")
    assert staff.post("/staff/users", {"username": "nurse2", "password": "short", "role": "staff"}).status_code == 400
    assert staff.post("/staff/users", {"username": "nurse2", "password": PASSWORD, "role": "staff"}).status_code == 303
    assert "nurse2" in staff.client.get("/staff/users").text
    with staff.store.transaction() as session:
        from bot.storage.staff_repository import get_user

        user = get_user(session, "nurse2")
        assert user is not None
        user_id = user.id
    new_password = "another long password"
    assert staff.post(f"/staff/users/{user_id}", {"action": "reset", "password": new_password}).status_code == 303
    assert staff.post(f"/staff/users/{user_id}", {"action": "deactivate"}).status_code == 303
    staff.post("/staff/logout", {})
    assert staff.login("nurse2", new_password).status_code == 401  # deactivated
    staff.login("boss")
    audit = staff.client.get("/staff/audit").text
    for action in ("user_create", "user_reset", "user_deactivate", "login_failed"):
        assert action in audit


def test_conversation_list_filters_and_search(staff: Staff) -> None:
    _seed(staff)
    write_conversation(
        staff.url, "conv-sms", assessed_conversation(T0 + 7200, channel="twilio", metadata={"phone": "+13125550188"})
    )
    staff.add_user("nurse")
    staff.login("nurse")

    def ids(query: str) -> list[str]:
        html = staff.client.get("/staff/conversations" + query).text
        return [c for c in ("conv-sms", "conv-b", "conv-a") if f"/staff/conversations/{c}" in html]

    assert ids("") == ["conv-sms", "conv-b", "conv-a"]
    html = staff.client.get("/staff/conversations").text
    assert html.index("conv-sms") < html.index("conv-b") < html.index("conv-a")
    assert ids("?channel=sms") == ["conv-sms"]
    assert ids("?channel=web") == ["conv-b", "conv-a"]
    assert ids("?red_flag=yes") == ["conv-b"]
    assert ids("?red_flag=no") == ["conv-sms", "conv-a"]
    assert ids("?booking=yes") == ["conv-a"]
    assert ids("?finding=post_surgical_swelling") == ["conv-sms", "conv-a"]

    def searched(term: str) -> list[str]:
        html = staff.post("/staff/conversations", {"q": term}).text
        return [c for c in ("conv-sms", "conv-b", "conv-a") if f"/staff/conversations/{c}" in html]

    assert searched("maria") == ["conv-a"]
    assert searched("415-555-2671") == ["conv-a"]
    assert searched("(312) 555-0188") == ["conv-sms"]
    # A name or phone is never read from a URL (browser history, proxies): GET ignores it.
    assert ids("?q=maria") == ["conv-sms", "conv-b", "conv-a"]
    assert ids("?from=2000-01-01&to=2000-01-02") == []


def test_transcript_shows_assessment_and_is_audited(staff: Staff) -> None:
    _seed(staff)
    staff.add_user("nurse")
    staff.login("nurse")
    page = staff.client.get("/staff/conversations/conv-a")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert "I had a microdiscectomy" in html and "When was your surgery?" in html
    assert "Patient said: “burning down my leg and some tingling”" in html
    assert "post_surgical_swelling" in html and "weeks_since_surgery" in html
    assert "Maria Lopez" in html
    assert "banner-red" not in html
    assert ("nurse", "view_transcript", "conv-a", "") in staff.audit_actions()
    assert staff.client.get("/staff/conversations/nope").status_code == 404


def test_patient_text_is_escaped_and_red_flag_bannered(staff: Staff) -> None:
    _seed(staff)
    staff.add_user("nurse")
    staff.login("nurse")
    html = staff.client.get("/staff/conversations/conv-b").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'class="banner-red"' in html and "infection" in html


def test_status_changes_are_recorded_and_audited(staff: Staff) -> None:
    _seed(staff)
    staff.add_user("nurse")
    staff.login("nurse")
    assert "Maria Lopez" in staff.client.get("/staff/queues/requests").text
    assert "infection" in staff.client.get("/staff/queues/red-flags").text
    assert staff.post("/staff/queues/requests/1/status", {"status": "contacted"}).status_code == 303
    assert staff.post("/staff/queues/red-flags/1/status", {"status": "closed"}).status_code == 303
    assert staff.post("/staff/queues/red-flags/1/status", {"status": "booked"}).status_code == 400
    assert staff.post("/staff/queues/requests/99/status", {"status": "closed"}).status_code == 404
    page = staff.client.get("/staff/queues/requests").text
    assert "new → contacted by nurse" in page
    assert "infection" not in staff.client.get("/staff/queues/red-flags").text  # closed ones leave the queue
    assert "infection" in staff.client.get("/staff/queues/red-flags?status=closed").text
    audit = staff.audit_actions()
    assert ("nurse", "status_change", "appointment:1", "new->contacted") in audit
    assert ("nurse", "status_change", "red_flag:1", "new->closed") in audit


def test_csv_export_content_and_injection(staff: Staff) -> None:
    _seed(staff)
    write_conversation(staff.url, "conv-c", assessed_conversation(T0 + 60))
    staff.add_request("conv-c", name='=HYPERLINK("http://x")', phone="+14155550100")
    staff.add_user("nurse")
    staff.login("nurse")
    answer = staff.client.get("/staff/conversations/export.csv?booking=yes")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [row["conversation_id"] for row in rows] == ["conv-c", "conv-a"]
    assert rows[0]["names"] == '\'=HYPERLINK("http://x")'
    assert rows[1]["names"] == "Maria Lopez" and rows[1]["phones"] == "'+14155552671"
    assert rows[1]["findings"] == "too_early_to_judge post_surgical_swelling nerve_recovery_ongoing"
    assert ("nurse", "export", "", "rows=2") in staff.audit_actions()


def test_error_pages_are_generic(staff: Staff) -> None:
    assert not staff.client.app.debug  # type: ignore[attr-defined]
    page = staff.client.get("/staff/nothing-here")
    assert page.status_code == 404 and page.text == "Not found."


def test_the_lists_cover_every_staff_route() -> None:
    from starlette.routing import Route

    from bot.web.staff import routes

    open_routes = {("/staff/login", "GET"), ("/staff/login", "POST"), ("/staff/api/queue-counts", "GET")}
    listed = {p.split("?")[0] for p in PROTECTED_GET + PROTECTED_POST}
    for route in routes():
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method == "HEAD" or (route.path, method) in open_routes:
                continue
            concrete = (
                route.path.replace("{conversation_id}", "conv-a")
                .replace("{queue}", "requests" if "requests" in listed else "red-flags")
                .replace("{record_id:int}", "1")
                .replace("{user_id:int}", "1")
            )
            assert concrete in listed, (route.path, method)


def test_server_errors_are_generic_and_logs_hold_no_patient_data(
    staff: Staff, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from starlette.testclient import TestClient

    from bot.web.staff import conversations

    caplog.set_level(logging.DEBUG)
    _seed(staff)
    staff.add_user("nurse")
    staff.login("nurse")
    assert "Maria Lopez" in staff.client.get("/staff/conversations/conv-a").text
    assert "conv-a" in staff.post("/staff/conversations", {"q": "Maria"}).text
    server_logs = " ".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))  # client-side
    assert "Maria" not in server_logs and "microdiscectomy" not in server_logs

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret patient words")

    monkeypatch.setattr(conversations, "page_conversations", explode)
    client = TestClient(staff.client.app, raise_server_exceptions=False, cookies=staff.client.cookies)
    page = client.get("/staff/conversations")
    assert page.status_code == 500
    assert "secret" not in page.text and "Traceback" not in page.text
    assert page.text.startswith("Something went wrong.")


def test_paging_keeps_the_filters_in_post_forms(staff: Staff, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.web.staff import conversations

    _seed(staff)
    staff.add_user("nurse")
    staff.login("nurse")
    monkeypatch.setattr(conversations, "PAGE_SIZE", 1)
    first = staff.post("/staff/conversations", {"channel": "web"}).text
    assert "Page 1 of 2" in first
    assert '<input type="hidden" name="channel" value="web">' in first
    assert 'href="?' not in first  # no filter ever goes into a link
    second = staff.post("/staff/conversations", {"channel": "web", "page": "2"}).text
    assert "Page 2 of 2" in second and "/staff/conversations/conv-a" in second
