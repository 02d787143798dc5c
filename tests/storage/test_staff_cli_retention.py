"""Staff accounts, retention and forgetting: ``python -m bot.cli`` and bot.storage.retention."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot import cli
from bot.storage import repository
from bot.storage import staff_repository as repo
from bot.storage.conversations import EVENTS, Conversation, load_conversations
from bot.storage.models import AppointmentRequest, RedFlagEvent, StatusChange
from bot.storage.staff_models import AuditEntry, StaffUser, init_staff_tables
from bot.storage.store import ClinicStore
from tests.web.staff_support import assessed_conversation, red_flag_conversation, write_conversation

PASSWORD = "correct horse battery"
OLD = (datetime.now(timezone.utc) - timedelta(days=400)).timestamp()
RECENT = (datetime.now(timezone.utc) - timedelta(days=3)).timestamp()


def _store(url: str) -> ClinicStore:
    store = ClinicStore(url)
    init_staff_tables(store.engine)
    return store


def _seed(url: str) -> None:
    write_conversation(url, "old-web", assessed_conversation(OLD))
    write_conversation(url, "new-web", red_flag_conversation(RECENT))
    write_conversation(
        url, "new-sms", assessed_conversation(RECENT, channel="twilio", metadata={"phone": "+13125550188"})
    )
    store = _store(url)
    with store.transaction() as session:
        old = repository.save_appointment_request(
            session, conversation_id="old-web", channel="rest", patient_name="Old Patient",
            phone="+14155552671", preferred_time="any",
        )  # fmt: skip
        old.created_at = datetime.fromtimestamp(OLD, tz=timezone.utc)
        session.flush()
        repository.change_status(session, "appointment", old.id, "contacted", "nurse")
        repository.record_red_flags(session, "new-web", "rest", ["infection"])
    store.dispose()


def _counts(url: str) -> dict[str, int]:
    store = _store(url)
    with store.transaction() as session:
        counts = {
            sender: session.execute(select(func.count()).where(EVENTS.c.sender_id == sender)).scalar_one()
            for sender in ("old-web", "new-web", "new-sms")
        }
        counts["requests"] = session.execute(select(func.count()).select_from(AppointmentRequest)).scalar_one()
        counts["red_flags"] = session.execute(select(func.count()).select_from(RedFlagEvent)).scalar_one()
        counts["changes"] = session.execute(select(func.count()).select_from(StatusChange)).scalar_one()
    store.dispose()
    return counts


def _audit(url: str) -> list[tuple[str, str, str, str]]:
    store = _store(url)
    with store.transaction() as session:
        rows = [(e.actor, e.action, e.target, e.detail) for e in session.execute(select(AuditEntry)).scalars()]
    store.dispose()
    return rows


def test_create_staff_user_from_stdin(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    args = ["--database-url", db_url, "create-staff-user", "--username", "Admin1", "--role", "admin"]
    assert cli.main([*args, "--password-stdin"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main([*args, "--password-stdin"]) == 1  # taken
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert cli.main(["--database-url", db_url, "create-staff-user", "--username", "b", "--password-stdin"]) == 1
    store = _store(db_url)
    with store.transaction() as session:
        user = session.execute(select(StaffUser)).scalar_one()
        assert (user.username, user.role, user.active) == ("admin1", "admin", True)
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert repo.authenticate(session, "ADMIN1", PASSWORD) is not None
        assert repo.authenticate(session, "admin1", PASSWORD + "x") is None
    store.dispose()
    assert _audit(db_url) == [("cli", "user_create", "admin1", "role=admin")]


def test_cli_prompts_when_not_reading_stdin(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([PASSWORD, PASSWORD + "?"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: next(answers))
    assert cli.main(["--database-url", sqlite_url, "create-staff-user", "--username", "x"]) == 1  # they differ


def test_purge_deletes_only_old_conversations(db_url: str) -> None:
    _seed(db_url)
    before = _counts(db_url)
    assert before["old-web"] > 0 and before["requests"] == 1 and before["changes"] == 1
    assert cli.main(["--database-url", db_url, "purge", "--older-than-days", "30"]) == 0
    after = _counts(db_url)
    assert after["old-web"] == 0 and after["requests"] == 0 and after["changes"] == 0
    assert after["new-web"] == before["new-web"] and after["new-sms"] == before["new-sms"]
    assert after["red_flags"] == 1
    (entry,) = _audit(db_url)
    assert entry[:2] == ("cli", "purge") and "conversations=1" in entry[3]


def test_forget_by_phone_and_by_conversation(db_url: str) -> None:
    _seed(db_url)
    assert cli.main(["--database-url", db_url, "forget", "--phone", "(312) 555-0188"]) == 0
    assert _counts(db_url)["new-sms"] == 0
    assert cli.main(["--database-url", db_url, "forget", "--phone", "415-555-2671"]) == 0
    counts = _counts(db_url)
    assert counts["old-web"] == 0 and counts["requests"] == 0
    assert cli.main(["--database-url", db_url, "forget", "--conversation", "new-web"]) == 0
    counts = _counts(db_url)
    assert counts["new-web"] == 0 and counts["red_flags"] == 0
    store = _store(db_url)
    with store.transaction() as session:
        assert load_conversations(session) == []
    store.dispose()
    audit = _audit(db_url)
    assert [a[1] for a in audit] == ["forget", "forget", "forget"]
    assert all("555" not in " ".join(a) for a in audit)  # the phone is not logged
    assert cli.main(["--database-url", db_url, "forget", "--phone", "12"]) == 1


def test_module_entry_point_runs(sqlite_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--database-url", sqlite_url, "purge", "--older-than-days", "30"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "deleted conversations=0" in result.stdout


def test_lockout_counts_and_backs_off(db_url: str) -> None:
    store = _store(db_url)
    policy = repo.ThrottlePolicy(account_failures=3)
    start = datetime.now(timezone.utc)
    with store.transaction() as session:
        for _ in range(2):
            assert not repo.record_failure(session, "user:a", 3, policy, start)
        assert repo.locked_until(session, ["user:a"], start) is None
        assert repo.record_failure(session, "user:a", 3, policy, start)
        assert repo.locked_until(session, ["user:a", "ip:x"], start) == start + policy.lock_for
        assert repo.record_failure(session, "user:a", 3, policy, start)
        assert repo.locked_until(session, ["user:a"], start) == start + 2 * policy.lock_for
        repo.clear_failures(session, "user:a")
        assert repo.locked_until(session, ["user:a"], start) is None
    store.dispose()


@pytest.mark.parametrize(
    "channel, label",
    [("twilio", "SMS"), ("socketio", "website chat"), ("rest", "REST API"), ("", "website chat"), ("other", "other")],
)
def test_staff_see_channels_by_plain_names(channel: str, label: str) -> None:
    now = datetime.now(timezone.utc)
    assert Conversation("c", now, now, channel=channel).channel_label == label
