"""Staff pages: the filtered conversation list and one conversation's transcript."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot.clinical.engine import Facts, assess
from bot.storage import repository
from bot.storage import staff_repository as repo
from bot.storage.conversations import (
    FACT_SLOTS,
    Conversation,
    ConversationFilter,
    load_conversation,
    search_conversations,
)
from bot.vocabulary import FINDING_CODES
from bot.web.staff.auth import current_user, render, require, store

PAGE_SIZE = 25


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
        search=(params.get("q") or "")[:100],
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
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    with store(request).transaction() as session:
        found = search_conversations(session, wanted)
    rows = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return render(
        request,
        "staff/conversations.html",
        {
            "rows": rows,
            "page": page,
            "pages": max(1, (len(found) + PAGE_SIZE - 1) // PAGE_SIZE),
            "total": len(found),
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


@require()
async def transcript(request: Request) -> Response:
    """``GET /staff/conversations/{conversation_id}``: turns, assessment card, red flags (audited)."""
    conversation_id = request.path_params["conversation_id"]
    user = current_user(request)
    with store(request).transaction() as session:
        conv: Conversation | None = load_conversation(session, conversation_id)
        if conv is None:
            return render(request, "staff/not_found.html", {}, 404)
        requests = repository.list_appointment_requests(session, conversation_id=conversation_id)
        flags = repository.list_red_flag_events(session, conversation_id=conversation_id)
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
        },
    )
