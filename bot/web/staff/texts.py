"""Staff text a patient from an SMS conversation's transcript (through Twilio's REST API).

The number is always the conversation's own (never read from the form). Nothing is sent when
texting is not configured, to a number that said STOP, or with an empty or over-long text.
Every attempt is stored in ``clinic_staff_texts`` (with Twilio's SID or why it failed) and
audited; refusals are audited too. Audit entries and logs never hold the number or the text.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.sms_outbound import InvalidBody, OutboundSmsConfig, SmsSendError, TwilioSmsSender, prepare_body
from bot.storage import staff_repository as repo
from bot.storage.conversations import load_conversation
from bot.storage.models import utcnow
from bot.storage.opt_outs import is_opted_out
from bot.storage.staff_models import StaffText
from bot.web.staff.auth import NO_STORE, current_user, render, require, store
from bot.web.staff.conversations import sms_panel, transcript_page

DRAFT_MAX = 2000
"""How much of a refused text is put back into the form."""

DUPLICATE_WINDOW = timedelta(minutes=2)
"""The same text by the same person within this time is taken as a double submit, not sent again."""


def _back(conversation_id: str, code: str) -> Response:
    """To the transcript, with what happened as a code (``?sms=sent``) and nothing else."""
    return RedirectResponse(
        f"/staff/conversations/{quote(conversation_id, safe='')}?sms={code}", status_code=303, headers=NO_STORE
    )


def _just_sent(texts: list[StaffText], username: str, body: str, now: datetime) -> bool:
    """True when ``username`` sent this very text in the conversation within :data:`DUPLICATE_WINDOW`."""
    return any(
        text.status == "sent"
        and text.staff_username == username
        and text.body == body
        and now - text.sent_at < DUPLICATE_WINDOW
        for text in texts
    )


@require()
async def send_text(request: Request) -> Response:
    """``POST /staff/conversations/{conversation_id}/sms``: text the patient of an SMS conversation (audited)."""
    conversation_id = request.path_params["conversation_id"]
    text = str((await request.form()).get("body") or "")
    user = current_user(request)
    with store(request).transaction() as session:
        conv = load_conversation(session, conversation_id)
        if conv is None:
            return render(request, "staff/not_found.html", {}, 404)
        panel = sms_panel(request, session, conv)
        if not panel.offered:
            return render(request, "staff/error.html", {"message": "Texts can only be sent in SMS conversations."}, 400)
        if not panel.configured:
            repo.audit(session, user.username, "sms_refused", target=conversation_id, detail="not_configured")
            return _back(conversation_id, "not_configured")
        phone = conv.sms_phone
    try:
        body = prepare_body(text)
    except InvalidBody as refused:
        return transcript_page(request, conversation_id, draft=text[:DRAFT_MAX], problem=refused.problem, status=400)
    with store(request).transaction() as session:
        # checked again right before sending: the patient may have texted STOP meanwhile
        if is_opted_out(session, phone):
            repo.audit(session, user.username, "sms_refused", target=conversation_id, detail="opted_out")
            return _back(conversation_id, "opted_out")
        if _just_sent(repo.list_staff_texts(session, conversation_id), user.username, body, utcnow()):
            return _back(conversation_id, "duplicate")  # a double-click or a resubmitted form
    config = OutboundSmsConfig.from_settings(request.app.state.settings)
    if config is None:  # checked by the panel above; kept for the type checker
        return _back(conversation_id, "not_configured")
    sender = TwilioSmsSender(config, transport=request.app.state.sms_transport)
    sent_at = utcnow()
    try:
        sent = await sender.send(phone, body)
    except SmsSendError as failure:
        outcome = {"status": "failed", "failure": failure.describe()}
    else:
        outcome = {"status": "sent", "twilio_sid": sent.sid}
    with store(request).transaction() as session:
        row = repo.record_staff_text(
            session,
            conversation_id=conversation_id,
            staff_username=user.username,
            body=body,
            sent_at=sent_at,
            **outcome,
        )
        if outcome["status"] == "failed":
            repo.audit(session, user.username, "sms_failed", target=conversation_id, detail=outcome["failure"])
            return _back(conversation_id, "failed")
        detail = f"text={row.id} sid={outcome['twilio_sid']}"
        repo.audit(session, user.username, "sms_sent", target=conversation_id, detail=detail)
    return _back(conversation_id, "sent")
