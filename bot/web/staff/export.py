"""CSV export of the filtered conversation list, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json

from starlette.requests import Request
from starlette.responses import Response

from bot.storage import staff_repository as repo
from bot.storage.conversations import Conversation, search_conversations
from bot.web.staff.auth import NO_STORE, current_user, require, store
from bot.web.staff.conversations import filter_params, parse_filter

HEADER = (
    "conversation_id", "started_at", "last_at", "channel", "facts", "findings",
    "red_flags", "booking_status", "names", "phones",
)  # fmt: skip
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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


def to_csv(conversations: list[Conversation]) -> str:
    """The CSV text (with header) of ``conversations``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for conv in conversations:
        writer.writerow(csv_row(conv))
    return out.getvalue()


@require()
async def export_csv(request: Request) -> Response:
    """``GET``/``POST /staff/conversations/export.csv``: the list with the same filters (audited)."""
    wanted = parse_filter(await filter_params(request))
    with store(request).transaction() as session:
        found = search_conversations(session, wanted)
        repo.audit(session, current_user(request).username, "export", detail=f"rows={len(found)}")
    return Response(
        to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": 'attachment; filename="conversations.csv"'},
    )
