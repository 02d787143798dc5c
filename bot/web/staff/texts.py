"""Staff text a patient from an SMS conversation's transcript (through Twilio's REST API).

The number is always the conversation's own (never read from the form). Nothing is sent when
texting is not configured, to a number that said STOP, or with an empty or over-long text.
Every attempt is stored in ``clinic_staff_texts`` (with Twilio's SID or why it failed) and
audited; refusals are audited too. Audit entries and logs never hold the number or the text.

Once per form: the form carries a key made when the transcript was rendered; the row is written
with it (unique in the table) *before* Twilio is called, so a double click or two requests at
once find it, or are refused by the database, and send nothing. Twilio's answer is then
written into the row, tried three times; if the database still fails, the answer is kept in
memory (:class:`UnrecordedOutcomes`, logged with its SID) and written again by the web app's
background task (``bot.web.app``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.sms_outbound import InvalidBody, OutboundSmsConfig, SmsSendError, TwilioSmsSender, prepare_body
from bot.storage import staff_repository as repo
from bot.storage.conversations import load_conversation
from bot.storage.models import utcnow
from bot.storage.opt_outs import is_opted_out
from bot.storage.staff_models import SENDING, StaffText
from bot.storage.store import ClinicStore
from bot.web.staff.auth import NO_STORE, app_store, current_user, render, require, store
from bot.web.staff.conversations import sms_panel, transcript_page

logger = logging.getLogger(__name__)

DRAFT_MAX = 2000
"""How much of a refused text is put back into the form."""

DUPLICATE_WINDOW = timedelta(minutes=2)
"""The same text by the same person within this time is taken as a resubmitted form, not sent again."""

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
"""The form's key: made when the transcript is rendered (``conversations.new_idempotency_key``),
unique in ``clinic_staff_texts``."""

RESERVE_ATTEMPTS = 3
OUTCOME_ATTEMPTS = 3
RETRY_PAUSE_SECONDS = 0.2
"""Pause before the second write attempt; it doubles for the third."""


@dataclass(frozen=True)
class TextOutcome:
    """What Twilio answered for one reserved text, to be written into its row."""

    text_id: int
    conversation_id: str
    staff_username: str
    status: str  # "sent" | "failed"
    twilio_sid: str | None = None
    failure: str = ""


class UnrecordedOutcomes:
    """The fallback for answers that could not be written (the database was failing).

    Kept in the web app's memory and written by :func:`retry_unrecorded` (every
    ``RETRY_INTERVAL`` seconds while the app runs, and once more when it stops); each is also
    logged with its text id and Twilio SID, so it can be reconciled by hand after a crash.
    """

    def __init__(self) -> None:
        """Start empty."""
        self._items: list[TextOutcome] = []
        self._lock = threading.Lock()
        self.failed_at = 0.0
        """``time.monotonic()`` of the latest failed write (the next retry waits from there)."""

    def add(self, item: TextOutcome) -> None:
        """Keep ``item`` for a later write (its write just failed)."""
        with self._lock:
            self._items.append(item)
            self.failed_at = time.monotonic()

    def take(self) -> list[TextOutcome]:
        """Everything kept so far (now removed from here)."""
        with self._lock:
            items, self._items = self._items, []
        return items

    def __len__(self) -> int:
        """How many are waiting."""
        with self._lock:
            return len(self._items)


def unrecorded(app: Any) -> UnrecordedOutcomes:
    """The app's fallback of unrecorded outcomes."""
    found: UnrecordedOutcomes | None = getattr(app.state, "unrecorded_texts", None)
    if found is None:
        found = app.state.unrecorded_texts = UnrecordedOutcomes()
    return found


def _back(conversation_id: str, code: str) -> Response:
    """To the transcript, with what happened as a code (``?sms=sent``) and nothing else."""
    return RedirectResponse(
        f"/staff/conversations/{quote(conversation_id, safe='')}?sms={code}", status_code=303, headers=NO_STORE
    )


def _just_sent(texts: list[StaffText], username: str, body: str, now: datetime) -> bool:
    """True when ``username`` sent (or is sending) this very text here within :data:`DUPLICATE_WINDOW`."""
    return any(
        (text.status == "sent" or text.failure == SENDING)
        and text.staff_username == username
        and text.body == body
        and now - text.sent_at < DUPLICATE_WINDOW
        for text in texts
    )


def _reserve_once(
    clinic_store: ClinicStore, conversation_id: str, username: str, phone: str, body: str, key: str
) -> int | str:
    """Write the text's row before it goes out; its id, or why not ("opted_out", "duplicate")."""
    with clinic_store.transaction() as session:
        # checked again right before sending: the patient may have texted STOP meanwhile
        if is_opted_out(session, phone):
            repo.audit(session, username, "sms_refused", target=conversation_id, detail="opted_out")
            return "opted_out"
        if repo.get_staff_text_by_key(session, key) is not None:
            return "duplicate"  # a double click: this very form was sent already
        if _just_sent(repo.list_staff_texts(session, conversation_id), username, body, utcnow()):
            return "duplicate"  # the same words again from a reloaded page
        row = repo.record_staff_text(
            session,
            conversation_id=conversation_id,
            staff_username=username,
            body=body,
            sent_at=utcnow(),
            status="failed",  # until Twilio answers
            failure=SENDING,
            idempotency_key=key,
        )
        return int(row.id)


async def _reserve(
    clinic_store: ClinicStore, conversation_id: str, username: str, phone: str, body: str, key: str
) -> int | str:
    """:func:`_reserve_once`; the unique key decides between two requests with the same form.

    PostgreSQL refuses the second insert (``IntegrityError``). SQLite may instead refuse the
    second writer's transaction (``OperationalError``, "database is locked"); it is tried
    again, and then finds the first request's row.
    """
    for attempt in range(RESERVE_ATTEMPTS):
        try:
            return _reserve_once(clinic_store, conversation_id, username, phone, body, key)
        except IntegrityError:
            return "duplicate"
        except OperationalError:
            if attempt == RESERVE_ATTEMPTS - 1:
                raise
            await asyncio.sleep(RETRY_PAUSE_SECONDS * 2**attempt)
    raise AssertionError("unreachable")


def write_outcome(clinic_store: ClinicStore, outcome: TextOutcome) -> None:
    """Write Twilio's answer into the reserved row and audit it (without the number or the words).

    A row deleted meanwhile (the patient was forgotten) is left deleted.
    """
    with clinic_store.transaction() as session:
        try:
            repo.complete_staff_text(
                session,
                outcome.text_id,
                status=outcome.status,
                twilio_sid=outcome.twilio_sid,
                failure=outcome.failure,
            )
        except LookupError:
            logger.warning("staff text %s: its row is gone; its outcome is not recorded", outcome.text_id)
            return
        if outcome.status == "sent":
            action, detail = "sms_sent", f"text={outcome.text_id} sid={outcome.twilio_sid}"
        else:
            action, detail = "sms_failed", outcome.failure
        repo.audit(session, outcome.staff_username, action, target=outcome.conversation_id, detail=detail)


async def _record(app: Any, outcome: TextOutcome) -> bool:
    """Write ``outcome``, trying :data:`OUTCOME_ATTEMPTS` times; else keep it for later (False).

    Logs name the error's type only: a database error's text can hold the values it was
    writing.
    """
    problem = ""
    for attempt in range(OUTCOME_ATTEMPTS):
        try:
            write_outcome(app_store(app), outcome)
            return True
        except SQLAlchemyError as error:
            problem = type(error).__name__
            if attempt < OUTCOME_ATTEMPTS - 1:
                await asyncio.sleep(RETRY_PAUSE_SECONDS * 2**attempt)
    unrecorded(app).add(outcome)
    logger.error(
        "staff text %s: Twilio's answer (%s) could not be recorded (%s); kept to write again later",
        outcome.text_id,
        outcome.twilio_sid or outcome.failure,
        problem,
    )
    return False


def retry_unrecorded(app: Any) -> int:
    """Write the kept outcomes (:class:`UnrecordedOutcomes`) once; returns how many are still waiting."""
    waiting = unrecorded(app)
    items = waiting.take()
    for position, outcome in enumerate(items):
        try:
            write_outcome(app_store(app), outcome)
        except Exception as error:  # kept, whatever failed; only the type is logged
            logger.warning("staff text outcomes still not recorded (%s)", type(error).__name__)
            for item in items[position:]:
                waiting.add(item)
            break
        logger.info("staff text %s: outcome recorded after a retry", outcome.text_id)
    return len(waiting)


@require()
async def send_text(request: Request) -> Response:
    """``POST /staff/conversations/{conversation_id}/sms``: text the patient of an SMS conversation (audited).

    The row is written (with the form's idempotency key) before Twilio is called, so a second
    request from the same form finds it, or is refused by the database, and sends nothing.
    Twilio's answer is then written into the row.
    """
    conversation_id = request.path_params["conversation_id"]
    form = await request.form()
    text = str(form.get("body") or "")
    key = str(form.get("idempotency_key") or "")
    user = current_user(request)
    if not IDEMPOTENCY_KEY.match(key):
        message = "The form expired. Reload the page and send the text again."
        return render(request, "staff/error.html", {"message": message}, 400)
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
    config = OutboundSmsConfig.from_settings(request.app.state.settings)
    if config is None:  # checked by the panel above; kept for the type checker
        return _back(conversation_id, "not_configured")
    reserved = await _reserve(store(request), conversation_id, user.username, phone, body, key)
    if isinstance(reserved, str):
        return _back(conversation_id, reserved)
    sender = TwilioSmsSender(config, transport=request.app.state.sms_transport)
    try:
        sent = await sender.send(phone, body)
    except SmsSendError as failure:
        outcome = TextOutcome(reserved, conversation_id, user.username, "failed", failure=failure.describe())
    else:
        outcome = TextOutcome(reserved, conversation_id, user.username, "sent", twilio_sid=sent.sid)
    await _record(request.app, outcome)
    return _back(conversation_id, "sent" if outcome.status == "sent" else "failed")
