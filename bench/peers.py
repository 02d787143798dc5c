"""Run the peer time parsers (dateparser, timefhuman) over messages; meant for bench/.venv-peers.

Reads ``{"items": [{"text": ..., "today": "YYYY-MM-DD"}, ...]}`` on stdin and writes one JSON
result per item: for each peer, the first date it found as ``weeks`` before today (negative =
ahead), what it matched, and the seconds the call took. Runs in its own venv because the peers
need newer regex / python-dateutil / pytz than Rasa 3.6 allows.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from typing import Any

import dateparser.search
from timefhuman import Direction, tfhConfig, timefhuman


def _as_date(value: Any, today: dt.date) -> dt.date | None:
    """A timefhuman value as one date: a range's middle, a list's first, a delta from today."""
    if isinstance(value, list):
        return _as_date(value[0], today) if value else None
    if isinstance(value, tuple):
        start, end = _as_date(value[0], today), _as_date(value[-1], today)
        if start is None or end is None:
            return start or end
        return start + (end - start) / 2
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, dt.timedelta):
        return today + value
    return None


def run_dateparser(text: str, today: dt.date) -> tuple[dt.date | None, str]:
    settings = {"RELATIVE_BASE": dt.datetime(today.year, today.month, today.day), "PREFER_DATES_FROM": "past"}
    found = dateparser.search.search_dates(text, settings=settings)
    if not found:
        return None, ""
    matched, when = found[0]
    return when.date(), matched


def run_timefhuman(text: str, today: dt.date) -> tuple[dt.date | None, str]:
    # timefhuman 0.1.5: `now` is a flag; the reference time goes in tfhConfig(now=...).
    config = tfhConfig(
        now=dt.datetime(today.year, today.month, today.day),
        direction=Direction.previous,
        return_matched_text=True,
    )
    found = timefhuman(text, config=config)
    if not found:
        return None, ""
    matched, _span, value = found[0]
    return _as_date(value, today), str(matched)


WARM_UP = ("I had it done 5 days ago", "on 1/2/2020", "since last winter")
PEERS = {"dateparser": run_dateparser, "timefhuman": run_timefhuman}


def main() -> None:
    items = json.load(sys.stdin)["items"]
    for peer in PEERS.values():  # warm up (imports, grammars) on texts that are not in the corpus
        for text in WARM_UP:
            peer(text, dt.date(2026, 1, 1))
    results: list[dict[str, Any]] = []
    for item in items:
        today = dt.date.fromisoformat(item["today"])
        row: dict[str, Any] = {}
        for name, peer in PEERS.items():
            started = time.perf_counter()
            try:
                when, matched = peer(item["text"], today)
                error = ""
            except Exception as exc:  # a peer crashing on a message counts as finding nothing
                when, matched, error = None, "", type(exc).__name__
            seconds = time.perf_counter() - started
            weeks = None if when is None else (today - when).days / 7
            row[name] = {"weeks": weeks, "matched": matched, "seconds": seconds, "error": error}
        results.append(row)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
