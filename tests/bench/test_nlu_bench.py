"""The benchmark's scoring rules: what counts as right for us and for a date-only peer."""

from __future__ import annotations

import datetime as dt

from bench.nlu import TimeItem, load_time_items, p95_ms, weeks_right
from bench.stock import STOCK_CONFIG, data_hash

TODAY = dt.date(2026, 6, 15)


def item(weeks: float | None, anchor: str | None = "ago", future: bool = False) -> TimeItem:
    return TimeItem("x", TODAY, weeks, anchor, None, 0.5, future, False)


def test_weeks_within_tolerance() -> None:
    assert weeks_right(item(6.0), 6.4, peer=False)
    assert not weeks_right(item(6.0), 6.6, peer=False)
    assert not weeks_right(item(6.0), None, peer=False)


def test_no_time_items_are_right_only_when_nothing_is_found() -> None:
    assert weeks_right(item(None, None), None, peer=True)
    assert not weeks_right(item(None, None), 3.0, peer=True)


def test_a_date_only_peer_cannot_be_right_on_after_surgery_or_duration() -> None:
    assert not weeks_right(item(6.0, "after_surgery"), 6.0, peer=True)
    assert not weeks_right(item(6.0, "duration"), 6.0, peer=True)
    assert weeks_right(item(6.0, "after_surgery"), 6.0, peer=False)


def test_a_peer_future_date_is_compared_as_weeks_ahead() -> None:
    assert weeks_right(item(3.0, future=True), -3.0, peer=True)


def test_p95() -> None:
    assert p95_ms([0.001] * 95 + [0.1] * 5) == 100.0


def test_corpus_loads_and_stock_config_is_rasa_default() -> None:
    assert len(load_time_items()) >= 300
    assert "DIETClassifier" in STOCK_CONFIG and "epochs: 100" in STOCK_CONFIG
    assert len(data_hash()) == 12
