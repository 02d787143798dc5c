"""SMS opt-outs in clinic_sms_opt_outs, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect

from bot.storage import opt_outs
from bot.storage.store import ClinicStore

PHONE = "+14155552671"
T0 = datetime(2026, 6, 15, 9, 0, tzinfo=timezone.utc)


def test_init_db_creates_the_table(store: ClinicStore) -> None:
    assert "clinic_sms_opt_outs" in inspect(store.engine).get_table_names()
    columns = {c["name"] for c in inspect(store.engine).get_columns("clinic_sms_opt_outs")}
    assert {"phone", "opted_out", "opted_out_at", "opted_in_at"} <= columns


def test_unknown_number_is_not_opted_out(store: ClinicStore) -> None:
    with store.transaction() as session:
        assert not opt_outs.is_opted_out(session, PHONE)
        assert opt_outs.get_opt_out(session, PHONE) is None
        assert opt_outs.record_opt_in(session, PHONE) is False


def test_opt_out_then_in_then_out_again(store: ClinicStore) -> None:
    with store.transaction() as session:
        assert opt_outs.record_opt_out(session, PHONE, now=T0) is True
        assert opt_outs.record_opt_out(session, PHONE, now=T0 + timedelta(minutes=1)) is False
    with store.transaction() as session:
        row = opt_outs.get_opt_out(session, PHONE)
        assert row is not None
        assert (row.phone, row.opted_out, row.opted_out_at, row.opted_in_at) == (PHONE, True, T0, None)
        assert opt_outs.is_opted_out(session, PHONE)
        assert PHONE not in repr(row)
    with store.transaction() as session:
        assert opt_outs.record_opt_in(session, PHONE, now=T0 + timedelta(days=1)) is True
        assert opt_outs.record_opt_in(session, PHONE) is False
    with store.transaction() as session:
        assert not opt_outs.is_opted_out(session, PHONE)
        assert opt_outs.get_opt_out(session, PHONE).opted_in_at == T0 + timedelta(days=1)  # type: ignore[union-attr]
        assert opt_outs.record_opt_out(session, PHONE, now=T0 + timedelta(days=2)) is True
    with store.transaction() as session:
        row = opt_outs.get_opt_out(session, PHONE)
        assert row is not None and row.opted_out and row.opted_out_at == T0 + timedelta(days=2)


def test_list_opt_outs(store: ClinicStore) -> None:
    with store.transaction() as session:
        opt_outs.record_opt_out(session, "+14155550001", now=T0)
        opt_outs.record_opt_out(session, "+14155550002", now=T0 + timedelta(hours=1))
        opt_outs.record_opt_out(session, "+14155550003", now=T0 + timedelta(hours=2))
        opt_outs.record_opt_in(session, "+14155550003")
    with store.transaction() as session:
        assert [r.phone for r in opt_outs.list_opt_outs(session)] == ["+14155550002", "+14155550001"]
        assert len(opt_outs.list_opt_outs(session, only_current=False)) == 3


def test_concurrent_first_stops_keep_one_row(store: ClinicStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes seeing no row: the second insert hits the unique phone and reads the first's row."""
    with store.transaction() as first:
        assert opt_outs.record_opt_out(first, PHONE)
    with store.transaction() as second:
        original = opt_outs.get_opt_out
        calls = []

        def stale_then_real(session: object, phone: str) -> object:
            calls.append(phone)
            return None if len(calls) == 1 else original(session, phone)  # type: ignore[arg-type]

        monkeypatch.setattr(opt_outs, "get_opt_out", stale_then_real)
        assert opt_outs.record_opt_out(second, PHONE) is False
        monkeypatch.setattr(opt_outs, "get_opt_out", original)
    with store.transaction() as session:
        assert len(opt_outs.list_opt_outs(session, only_current=False)) == 1


@pytest.mark.parametrize("phone", ["", "   ", "+1" + "9" * 70, "+1415\n5552671"])
def test_bad_phone_is_refused(store: ClinicStore, phone: str) -> None:
    with store.transaction() as session, pytest.raises(ValueError):
        opt_outs.record_opt_out(session, phone)
