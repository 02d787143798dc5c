"""Tell the clinic's on-call channel about new red flags: an e-mail over SMTP and/or a webhook.

The web app runs :meth:`RedFlagNotifier.run` in the background (``bot.web.app``). It polls
``clinic_red_flag_events`` for red flags nobody was told about yet (``notified_at IS NULL``),
sends one message about all of them and then sets ``notified_at``. Because it works from the
table, and not from the moment a red flag is detected, it also covers red flags written while
the web app was down, or written late (e.g. replayed after a database outage).

What is sent carries no patient data: how many red flags there are, and links into the staff
app (the red-flag queue and each transcript, behind the staff login). No name, number, red-flag
kind or words of the conversation. Logs name an error's type (and an HTTP status) only.

Delivery is at least once: the events are marked after a channel accepted the message, so a
crash in between sends it again. One channel that accepts is enough (the other's failure is
logged). When none does, the poll backs off: the interval doubles up to
:data:`MAX_BACKOFF_SECONDS`, and it keeps trying until the event is older than
``NOTIFY_MAX_AGE_HOURS`` (after that it is left to the staff app's own red-flag count).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import select, update

from bot.settings import Settings
from bot.storage.models import RedFlagEvent, utcnow
from bot.storage.repository import OPEN_STATUSES
from bot.storage.store import ClinicStore

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
"""The most one SMTP conversation or webhook call may take."""
MAX_BACKOFF_SECONDS = 15 * 60.0
BATCH = 50
"""At most this many events per message (more are told in the next one, right after)."""
MAX_LINKS = 10
"""Transcript links in one message; the queue link covers the rest."""
QUEUE_PATH = "/staff/queues/red-flags"


@dataclass(frozen=True)
class NotifyConfig:
    """Where notices go; see ``NOTIFY_*`` and ``PUBLIC_STAFF_URL`` in ``bot.settings``."""

    staff_url: str
    clinic_name: str = "the clinic"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_starttls: bool = True
    email_to: tuple[str, ...] = ()
    email_from: str = ""
    webhook_url: str = field(default="", repr=False)
    poll_seconds: float = 30.0
    max_age: timedelta = timedelta(hours=72)

    @property
    def email(self) -> bool:
        """True when e-mail is configured (host, sender and at least one recipient)."""
        return bool(self.smtp_host and self.email_from and self.email_to)

    @property
    def webhook(self) -> bool:
        """True when a webhook URL is set."""
        return bool(self.webhook_url)

    @classmethod
    def from_settings(cls, settings: Settings) -> NotifyConfig | None:
        """The configuration, or ``None`` when no channel is configured (nothing is polled then)."""
        config = cls(
            staff_url=settings.staff_url(),
            clinic_name=settings.clinic_name,
            smtp_host=settings.notify_smtp_host,
            smtp_port=settings.notify_smtp_port,
            smtp_user=settings.notify_smtp_user,
            smtp_password=settings.notify_smtp_password,
            smtp_starttls=settings.notify_smtp_starttls,
            email_to=settings.notify_email_to,
            email_from=settings.notify_email_from,
            webhook_url=settings.notify_webhook_url,
            poll_seconds=max(0.01, settings.notify_poll_seconds),
            max_age=timedelta(hours=settings.notify_max_age_hours),
        )
        if config.smtp_host and not config.email:
            logger.warning("NOTIFY_SMTP_HOST is set but NOTIFY_EMAIL_FROM or NOTIFY_EMAIL_TO is not: no e-mail")
        return config if config.email or config.webhook else None


@dataclass(frozen=True)
class RedFlagNotice:
    """One message about some red flags: a count and links, nothing about the patients."""

    count: int
    queue_url: str
    transcript_urls: tuple[str, ...]
    clinic_name: str

    @classmethod
    def of(cls, config: NotifyConfig, conversation_ids: list[str], count: int) -> RedFlagNotice:
        """The notice for ``count`` events of these conversations (links to the first few)."""
        base = config.staff_url.rstrip("/")
        links = tuple(
            f"{base}/staff/conversations/{quote(conversation_id, safe='')}"
            for conversation_id in list(dict.fromkeys(conversation_ids))[:MAX_LINKS]
        )
        return cls(count, base + QUEUE_PATH, links, config.clinic_name)

    @property
    def subject(self) -> str:
        """The e-mail subject."""
        flags = "a new red flag" if self.count == 1 else f"{self.count} new red flags"
        return f"{self.clinic_name}: {flags} to follow up"

    def text(self) -> str:
        """The plain-text message."""
        lines = [
            f"The front-desk assistant of {self.clinic_name} caught {self._flags()} in patient conversations. "
            "The patients were told to get urgent care; please follow up.",
            "",
            f"Red-flag queue: {self.queue_url}",
        ]
        if self.transcript_urls:
            lines += ["", "Transcripts (staff login needed):", *self.transcript_urls]
        lines += ["", "This message holds no patient details; they are in the staff app."]
        return "\n".join(lines)

    def _flags(self) -> str:
        return "a red flag" if self.count == 1 else f"{self.count} red flags"

    def payload(self) -> dict[str, Any]:
        """The webhook's JSON body; ``text`` suits chat webhooks (Slack, Mattermost, Teams' incoming webhooks)."""
        return {
            "type": "red_flags",
            "count": self.count,
            "queue_url": self.queue_url,
            "transcript_urls": list(self.transcript_urls),
            "text": f"{self.subject}: {self.queue_url}",
        }


class NotifyError(Exception):
    """A channel did not take the message; ``describe()`` names the channel and the error's type only."""

    def __init__(self, channel: str, kind: str, status: int | None = None) -> None:
        """Record the channel, the error type (and an HTTP status)."""
        super().__init__(f"{channel} notice not delivered: {kind}" + (f" status={status}" if status else ""))
        self.channel = channel
        self.kind = kind
        self.status = status

    def describe(self) -> str:
        """``webhook: HTTPStatusError status=500``-like, for the log."""
        return f"{self.channel}: {self.kind}" + (f" status={self.status}" if self.status else "")


def email_message(config: NotifyConfig, notice: RedFlagNotice) -> EmailMessage:
    """The e-mail for ``notice``."""
    message = EmailMessage()
    message["Subject"] = notice.subject
    message["From"] = config.email_from
    message["To"] = ", ".join(config.email_to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=config.email_from.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(notice.text())
    return message


def send_email(config: NotifyConfig, notice: RedFlagNotice, *, timeout: float = TIMEOUT_SECONDS) -> None:
    """Send ``notice`` by SMTP (blocking: run it in a thread).

    Port 465 means TLS from the start; otherwise STARTTLS unless ``NOTIFY_SMTP_STARTTLS=0``
    (a server that doesn't offer it is then an error: nothing goes out in the clear). Logs in
    when ``NOTIFY_SMTP_USER`` is set.

    Raises:
        NotifyError: the server could not be reached or refused the message.

    """
    try:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if config.smtp_port == 465:
            client = smtplib.SMTP_SSL(config.smtp_host, config.smtp_port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=timeout)
        with client:
            client.ehlo()
            if config.smtp_port != 465 and config.smtp_starttls:
                client.starttls(context=context)
                client.ehlo()
            if config.smtp_user:
                client.login(config.smtp_user, config.smtp_password)
            client.send_message(email_message(config, notice))
    except (OSError, smtplib.SMTPException) as error:  # SMTPException is an OSError; both named for clarity
        raise NotifyError("email", type(error).__name__) from None


async def send_webhook(
    config: NotifyConfig,
    notice: RedFlagNotice,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> None:
    """POST ``notice`` as JSON to ``NOTIFY_WEBHOOK_URL``; any 2xx answer is a delivery.

    Raises:
        NotifyError: no answer, or an answer other than 2xx.

    """
    try:
        async with httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False) as client:
            answer = await client.post(config.webhook_url, json=notice.payload())
    except httpx.HTTPError as error:
        raise NotifyError("webhook", type(error).__name__) from None
    if not 200 <= answer.status_code < 300:
        raise NotifyError("webhook", "refused", answer.status_code)


def next_delay(poll_seconds: float, failures: int) -> float:
    """Seconds until the next poll: the interval, doubled per failure in a row, at most 15 minutes."""
    if failures <= 0:
        return poll_seconds
    return min(MAX_BACKOFF_SECONDS, max(poll_seconds, poll_seconds * 2**failures))


@dataclass(frozen=True)
class PendingEvent:
    """A red-flag event still to be told about (its id and conversation only)."""

    id: int
    conversation_id: str


class RedFlagNotifier:
    """Polls for untold red flags, sends one notice per batch, marks them ``notified_at``."""

    def __init__(
        self,
        config: NotifyConfig,
        store: Callable[[], ClinicStore],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Notify with ``config``; ``store`` gives the database (called on each poll, so a
        database that is down at start-up is simply tried again); ``transport`` replaces the
        network for the webhook (tests)."""
        self.config = config
        self.store = store
        self.transport = transport
        self.clock = clock
        self.failures = 0

    def pending(self) -> list[PendingEvent]:
        """Open red flags (kind "emergency"), not yet told, younger than ``max_age``; oldest first."""
        cutoff = self.clock() - self.config.max_age
        query = (
            select(RedFlagEvent.id, RedFlagEvent.conversation_id)
            .where(
                RedFlagEvent.notified_at.is_(None),
                RedFlagEvent.kind == "emergency",
                RedFlagEvent.status.in_(OPEN_STATUSES),
                RedFlagEvent.created_at >= cutoff,
            )
            .order_by(RedFlagEvent.id)
            .limit(BATCH)
        )
        with self.store().transaction() as session:
            return [PendingEvent(int(row.id), str(row.conversation_id)) for row in session.execute(query)]

    def mark(self, events: list[PendingEvent], at: datetime) -> None:
        """Set ``notified_at`` of ``events`` (those not marked meanwhile)."""
        with self.store().transaction() as session:
            session.execute(
                update(RedFlagEvent)
                .where(RedFlagEvent.id.in_([event.id for event in events]), RedFlagEvent.notified_at.is_(None))
                .values(notified_at=at)
            )

    async def deliver(self, notice: RedFlagNotice) -> list[str]:
        """Send ``notice`` on every configured channel; the channels that took it.

        Raises:
            NotifyError: no channel took it (the last channel's error).

        """
        delivered: list[str] = []
        problem: NotifyError | None = None
        if self.config.email:
            try:
                await asyncio.to_thread(send_email, self.config, notice)
                delivered.append("email")
            except NotifyError as error:
                logger.warning("red-flag notice not delivered by %s", error.describe())
                problem = error
        if self.config.webhook:
            try:
                await send_webhook(self.config, notice, transport=self.transport)
                delivered.append("webhook")
            except NotifyError as error:
                logger.warning("red-flag notice not delivered by %s", error.describe())
                problem = error
        if not delivered:
            raise problem or NotifyError("none", "not configured")
        return delivered

    async def run_once(self) -> int:
        """Tell about the pending red flags (up to :data:`BATCH`); how many were marked.

        Raises:
            NotifyError: no channel took the notice (nothing is marked).
            SQLAlchemyError: the database failed.

        """
        events = await asyncio.to_thread(self.pending)
        if not events:
            return 0
        notice = RedFlagNotice.of(self.config, [event.conversation_id for event in events], len(events))
        delivered = await self.deliver(notice)
        await asyncio.to_thread(self.mark, events, self.clock())
        logger.info("red-flag notice sent for %d event(s) by %s", len(events), " and ".join(delivered))
        return len(events)

    async def step(self) -> float:
        """One poll (and the batches right after a full one); the seconds to wait before the next."""
        try:
            while await self.run_once() == BATCH:
                pass
        except Exception as error:  # any failure: log its type, back off, keep polling
            self.failures += 1
            delay = next_delay(self.config.poll_seconds, self.failures)
            logger.warning(
                "red-flag notices: poll failed (%s); next try in %.0f s",
                error.describe() if isinstance(error, NotifyError) else type(error).__name__,
                delay,
            )
            return delay
        self.failures = 0
        return self.config.poll_seconds

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set."""
        while not stop.is_set():
            delay = await self.step()
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
