"""Staff pages: the filtered conversation list and one conversation's transcript (with staff texts)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from bot.clinical.engine import Facts, assess
from bot.sms_outbound import MAX_BODY_CHARS, OutboundSmsConfig, is_sendable_number
from bot.storage import opt_outs, repository
from bot.storage import staff_repository as repo
from bot.storage.conversations import (
    FACT_SLOTS,
    Conversation,
    ConversationFilter,
    load_conversation,
    page_conversations,
)
from bot.storage.staff_models import SENDING, StaffText
from bot.vocabulary import FINDING_CODES
from bot.web.staff.auth import current_user, render, require, store

PAGE_SIZE = 25
MAX_PAGE = 1_000_000


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _yes_no(text: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(text or "")


async def filter_params(request: Request) -> Mapping[str, Any]:
    """The filters of a request: the form of a POST, the query of a GET.

    A name or phone search (``q``) is only read from a POST body, so a patient's name or
    number never stands in a URL (browser history, proxies, server logs).
    """
    if request.method == "POST":
        return {key: str(value) for key, value in (await request.form()).items() if key != "csrf"}
    return {key: value for key, value in request.query_params.items() if key != "q"}


def parse_filter(params: Mapping[str, Any]) -> ConversationFilter:
    """The list's filters from query parameters; unknown values are ignored."""
    since, until = _day(params.get("from")), _day(params.get("to"))
    channel = params.get("channel", "")
    finding = params.get("finding", "")
    return ConversationFilter(
        since=datetime.combine(since, time.min, timezone.utc) if since else None,
        until=datetime.combine(until, time.min, timezone.utc) + timedelta(days=1) if until else None,
        channel=channel if channel in ("web", "sms") else "",
        red_flag=_yes_no(params.get("red_flag")),
        finding=finding if finding in FINDING_CODES else "",
        booking=_yes_no(params.get("booking")),
        # Names and numbers hold no control characters; PostgreSQL can't even compare with NUL (a 500).
        search="".join(ch if ch.isprintable() else " " for ch in (params.get("q") or ""))[:100],
    )


def filter_form(params: Mapping[str, Any]) -> dict[str, str]:
    """The filter fields to show back in the form (and in paging and export links)."""
    keys = ("from", "to", "channel", "red_flag", "finding", "booking", "q")
    return {key: params.get(key, "") for key in keys if params.get(key)}


@require()
async def conversation_list(request: Request) -> Response:
    """``GET``/``POST /staff/conversations``: newest first, filtered and paged."""
    params = await filter_params(request)
    wanted = parse_filter(params)
    try:
        page = min(max(1, int(params.get("page", "1"))), MAX_PAGE)
    except ValueError:
        page = 1
    with store(request).transaction() as session:
        rows, total = page_conversations(session, wanted, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(
        request,
        "staff/conversations.html",
        {
            "rows": rows,
            "page": page,
            "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
            "total": total,
            "form": filter_form(params),
            "finding_codes": FINDING_CODES,
        },
    )


@dataclass(frozen=True)
class FindingView:
    """One finding on the assessment card: its title and the rule's reasons."""

    code: str
    title: str
    reasons: tuple[str, ...]


def explain_findings(facts: dict[str, Any]) -> list[FindingView]:
    """Re-run the clinical engine on stored facts to show which rule fired and why."""
    try:
        surgery = facts.get("surgery_type")
        result = assess(
            Facts(
                surgery_type=surgery if surgery else None,
                weeks_since_surgery=facts.get("weeks_since_surgery"),
                pain_course=facts.get("pain_course"),
                pain_return_weeks=facts.get("pain_return_weeks"),
                symptoms=frozenset(facts.get("symptoms") or ()),
            )
        )
    except (TypeError, ValueError):
        return []
    return [FindingView(f.code, f.title, f.reasons) for f in result.findings]


SMS_NOTICES = {
    "sent": ("status", "Text sent to the patient."),
    "failed": (
        "error",
        "The text could not be sent (it is listed below as not sent). Try again later, or call the patient.",
    ),
    "opted_out": ("error", "Not sent: this number has opted out of texts (STOP)."),
    "not_configured": ("error", "Not sent: texting patients is not configured."),
    "duplicate": ("status", "This text was sent a moment ago (same form or same words), so it was not sent again."),
}
"""What the transcript says after a text (``?sms=<code>``; the code is all the URL holds)."""

SMS_PROBLEMS = {
    "empty": "Write a message first.",
    "too_long": (
        f"The message is too long for two text segments: at most {MAX_BODY_CHARS} characters, "
        "fewer with emoji or letters outside the SMS alphabet."
    ),
    "control_characters": "The message holds characters that can't be sent by text.",
}


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the transcript: a patient or bot turn, or a text a staff member sent."""

    speaker: str  # "patient" | "bot" | "staff"
    at: datetime
    text: str
    custom: dict[str, Any] | None = None
    staff_username: str = ""
    sent: bool = True
    pending: bool = False  # written before sending, Twilio's answer not recorded yet


def timeline(conv: Conversation, texts: list[StaffText]) -> list[TimelineEntry]:
    """The conversation's turns and the staff texts, interleaved by time (a turn first on a tie)."""
    entries = [(turn.at, 0, TimelineEntry(turn.speaker, turn.at, turn.text, turn.custom)) for turn in conv.turns]
    for text in texts:
        entry = TimelineEntry(
            "staff", text.sent_at, text.body, None, text.staff_username, text.status == "sent", text.failure == SENDING
        )
        entries.append((text.sent_at, 1, entry))
    return [entry for _at, _order, entry in sorted(entries, key=lambda item: (item[0], item[1]))]


@dataclass(frozen=True)
class SmsPanel:
    """Whether the transcript offers "Text the patient", and why not."""

    offered: bool = False  # an SMS conversation with a number Twilio can text
    configured: bool = False
    opted_out: bool = False
    max_chars: int = MAX_BODY_CHARS


def sms_panel(request: Request, session: Session, conv: Conversation) -> SmsPanel:
    """The panel of ``conv``: not offered for web conversations."""
    if not conv.is_sms or not is_sendable_number(conv.sms_phone):
        return SmsPanel()
    configured = OutboundSmsConfig.from_settings(request.app.state.settings) is not None
    return SmsPanel(True, configured, opt_outs.is_opted_out(session, conv.sms_phone))


def new_idempotency_key() -> str:
    """A fresh key for one "Text the patient" form (32 URL-safe characters; see ``texts.send_text``)."""
    return secrets.token_urlsafe(24)


def transcript_page(
    request: Request, conversation_id: str, *, draft: str = "", problem: str = "", status: int = 200
) -> Response:
    """The transcript page (audited as a view); ``draft`` and ``problem`` refill the text form."""
    user = current_user(request)
    notice = SMS_NOTICES.get(request.query_params.get("sms", "")) if request.method == "GET" else None
    with store(request).transaction() as session:
        conv: Conversation | None = load_conversation(session, conversation_id)
        if conv is None:
            return render(request, "staff/not_found.html", {}, 404)
        requests = repository.list_appointment_requests(session, conversation_id=conversation_id)
        flags = repository.list_red_flag_events(session, conversation_id=conversation_id)
        texts = repo.list_staff_texts(session, conversation_id)
        panel = sms_panel(request, session, conv)
        repo.audit(session, user.username, "view_transcript", target=conversation_id)
    return render(
        request,
        "staff/transcript.html",
        {
            "conv": conv,
            "fact_names": FACT_SLOTS,
            "explained": explain_findings(conv.facts),
            "requests": requests,
            "flags": flags,
            "timeline": timeline(conv, texts),
            "sms": panel,
            "sms_notice": notice,
            "sms_draft": draft,
            "sms_problem": SMS_PROBLEMS.get(problem, ""),
            "sms_key": new_idempotency_key(),
        },
        status,
    )


@require()
async def transcript(request: Request) -> Response:
    """``GET /staff/conversations/{conversation_id}``: turns, staff texts, assessment card, red flags (audited)."""
    return transcript_page(request, request.path_params["conversation_id"])
