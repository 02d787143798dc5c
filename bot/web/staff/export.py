"""CSV export of the filtered conversation list, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from bot.storage import staff_repository as repo
from bot.storage.conversations import (
    Conversation,
    ConversationFilter,
    conversation_index,
    load_conversations,
    matching_ids,
)
from bot.web.staff.auth import NO_STORE, current_user, require, store
from bot.web.staff.conversations import filter_params, parse_filter

HEADER = (
    "conversation_id", "started_at", "last_at", "channel", "facts", "findings",
    "red_flags", "booking_status", "names", "phones",
)  # fmt: skip
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 500
"""Rows per chunk of the streamed CSV."""
EXPORT_IN_LIST = 500
"""Up to this many matches, their rows are read by id; more, by joining the filter's query."""


def safe_cell(value: str) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ (or tab/CR) gets a ``'``."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def csv_row(conv: Conversation) -> list[str]:
    """One conversation as CSV cells."""
    cells = [
        conv.id,
        conv.started_at.isoformat(timespec="seconds"),
        conv.last_at.isoformat(timespec="seconds"),
        conv.channel,
        json.dumps(conv.facts, sort_keys=True) if conv.facts else "",
        " ".join(conv.findings),
        " ".join(conv.red_flags),
        conv.booking_status,
        "; ".join(conv.names),
        "; ".join(dict.fromkeys([*conv.phones, *([conv.sms_phone] if conv.sms_phone else [])])),
    ]
    return [safe_cell(cell) for cell in cells]


def to_csv(conversations: Iterable[Conversation]) -> str:
    """The CSV text (with header) of ``conversations``."""
    return "".join(csv_lines(conversations))


def csv_lines(conversations: Iterable[Conversation]) -> Iterator[str]:
    """The header line, then one CSV line per conversation."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    yield out.getvalue()
    for conv in conversations:
        out.seek(0)
        out.truncate()
        writer.writerow(csv_row(conv))
        yield out.getvalue()


def csv_chunks(conversations: list[Conversation], size: int = CHUNK_ROWS) -> Iterator[str]:
    """The CSV of ``conversations``: the header, then one chunk per ``size`` rows."""
    lines = csv_lines(())
    yield next(lines)  # the header
    for start in range(0, len(conversations), size):
        rows = csv_lines(conversations[start : start + size])
        next(rows)  # the header again
        yield "".join(rows)


def export_rows(session: Session, wanted: ConversationFilter) -> list[Conversation]:
    """The matching conversations, newest activity first, as the export needs them (no turns).

    The database finds and orders them; their first messages and payloads are then read in
    one pass, joined to the filter's own query rather than to a list of thousands of ids.
    """
    entries = conversation_index(session, wanted)
    if len(entries) <= EXPORT_IN_LIST:
        loaded = load_conversations(session, [entry.id for entry in entries], turns=False)
    else:
        loaded = load_conversations(session, matching_ids(session, wanted), turns=False)
    found = {conv.id: conv for conv in loaded}
    return [found[entry.id] for entry in entries if entry.id in found]


@require()
async def export_csv(request: Request) -> Response:
    """``GET``/``POST /staff/conversations/export.csv``: the list with the same filters (audited)."""
    wanted = parse_filter(await filter_params(request))
    with store(request).transaction() as session:
        rows = export_rows(session, wanted)
        repo.audit(session, current_user(request).username, "export", detail=f"rows={len(rows)}")
    return StreamingResponse(
        csv_chunks(rows),
        media_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": 'attachment; filename="conversations.csv"'},
    )
