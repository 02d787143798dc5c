"""Staff-initiated text messages: one message at a time through Twilio's REST API.

The bot answers incoming texts as TwiML (:mod:`bot.channels.twilio`); this module is the other
way round, for a staff member texting a patient from the staff app::

    config = OutboundSmsConfig.from_settings(settings)   # None: not configured
    body = prepare_body(text)                             # raises InvalidBody
    sent = await TwilioSmsSender(config).send("+14155552671", body)  # raises SmsSendError

Nothing here holds patient data in an exception message or a log line: errors carry a kind,
the HTTP status and Twilio's numeric error code only (Twilio's own error *message* may quote
the number, so it is never read). Tests pass an ``httpx.MockTransport``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Literal

import httpx

from bot.channels.sms_segments import GSM7_PART, gsm_spelling, segments
from bot.settings import Settings

logger = logging.getLogger(__name__)

TWILIO_API_BASE = "https://api.twilio.com/2010-04-01"
MAX_SEGMENTS = 2
"""A staff text fits in at most two SMS segments, like the bot's own replies."""
MAX_BODY_CHARS = MAX_SEGMENTS * GSM7_PART
"""306: the longest text of plain GSM-7 characters that fits in two segments."""
TIMEOUT_SECONDS = 10.0

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")

BodyProblem = Literal["empty", "too_long", "control_characters"]
FailureKind = Literal["rejected", "unavailable", "network", "bad_response"]


@dataclass(frozen=True)
class OutboundSmsConfig:
    """The Twilio account and sender staff texts go out from."""

    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str = ""
    messaging_service_sid: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundSmsConfig | None:
        """The configuration, or ``None`` when texting patients is not (validly) configured.

        Needs ``TWILIO_ACCOUNT_SID`` (``AC`` + 32 hex digits), ``TWILIO_AUTH_TOKEN``, and
        ``TWILIO_MESSAGING_SERVICE_SID`` (``MG`` + 32 hex digits) or ``TWILIO_FROM_NUMBER``
        (E.164); the messaging service wins when both are set.
        """
        sid = settings.twilio_account_sid
        service = settings.twilio_messaging_service_sid
        sender = settings.twilio_from_number
        if not ACCOUNT_SID.match(sid) or not settings.twilio_auth_token:
            return None
        if service:
            if not MESSAGING_SERVICE_SID.match(service):
                return None
            return cls(sid, settings.twilio_auth_token, messaging_service_sid=service)
        if E164.match(sender):
            return cls(sid, settings.twilio_auth_token, from_number=sender)
        return None

    @property
    def messages_url(self) -> str:
        """Twilio's Messages resource of this account."""
        return f"{TWILIO_API_BASE}/Accounts/{self.account_sid}/Messages.json"


class InvalidBody(ValueError):
    """The text can't be sent as it is: empty, longer than two segments, or with control characters."""

    def __init__(self, problem: BodyProblem) -> None:
        """Say which ``problem`` (never the text itself)."""
        super().__init__(f"invalid text: {problem}")
        self.problem: BodyProblem = problem


class SmsSendError(Exception):
    """Twilio did not accept the message, or could not be reached.

    ``kind`` is "rejected" (4xx), "unavailable" (5xx), "network" (no answer) or "bad_response"
    (an answer we could not read); ``status`` is the HTTP status and ``code`` Twilio's numeric
    error code (e.g. 21610: the number replied STOP), when known.
    """

    def __init__(self, kind: FailureKind, status: int | None = None, code: int | None = None) -> None:
        """Record the kind, HTTP status and Twilio error code (no patient data)."""
        super().__init__(f"text not sent: {kind} status={status} code={code}")
        self.kind: FailureKind = kind
        self.status = status
        self.code = code

    def describe(self) -> str:
        """A short label for the database and the audit log, e.g. ``rejected status=400 code=21211``."""
        parts: list[str] = [self.kind]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code is not None:
            parts.append(f"code={self.code}")
        return " ".join(parts)


@dataclass(frozen=True)
class SentSms:
    """Twilio accepted the message: its SID and first status (usually "queued" or "accepted")."""

    sid: str
    status: str


def prepare_body(text: str) -> str:
    """The text as it will be sent: trimmed, line breaks as ``\\n``, typographic characters in GSM-7.

    Raises:
        InvalidBody: it is empty, holds control characters, or needs more than
            :data:`MAX_SEGMENTS` segments.

    """
    body = gsm_spelling((text or "").replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not body:
        raise InvalidBody("empty")
    if any(not (char.isprintable() or char == "\n") for char in body):
        raise InvalidBody("control_characters")
    if segments(body) > MAX_SEGMENTS:
        raise InvalidBody("too_long")
    return body


def is_sendable_number(phone: str) -> bool:
    """True if ``phone`` is an E.164 number Twilio can text."""
    return bool(E164.match(phone or ""))


class TwilioSmsSender:
    """Sends one text per :meth:`send` through Twilio's Messages API."""

    def __init__(
        self,
        config: OutboundSmsConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        """Send with ``config``; ``transport`` replaces the network (tests: ``httpx.MockTransport``)."""
        self.config = config
        self.transport = transport
        self.timeout = timeout

    def form(self, to: str, body: str) -> dict[str, str]:
        """The form fields of one message."""
        fields = {"To": to, "Body": body}
        if self.config.messaging_service_sid:
            fields["MessagingServiceSid"] = self.config.messaging_service_sid
        else:
            fields["From"] = self.config.from_number
        return fields

    async def send(self, to: str, body: str) -> SentSms:
        """Send ``body`` (see :func:`prepare_body`) to the E.164 number ``to``.

        Raises:
            ValueError: ``to`` is not an E.164 number.
            SmsSendError: Twilio refused the message, failed, or could not be reached.

        """
        if not is_sendable_number(to):
            raise ValueError("the number to text must be in E.164 form")
        try:
            async with httpx.AsyncClient(
                transport=self.transport, timeout=self.timeout, follow_redirects=False
            ) as client:
                answer = await client.post(
                    self.config.messages_url,
                    data=self.form(to, body),
                    auth=(self.config.account_sid, self.config.auth_token),
                    headers={"Accept": "application/json"},
                )
        except httpx.HTTPError as error:
            logger.warning("staff text not sent: %s", type(error).__name__)
            raise SmsSendError("network") from None
        return self._read(answer)

    @staticmethod
    def _read(answer: httpx.Response) -> SentSms:
        payload: object
        try:
            payload = answer.json()
        except ValueError:
            payload = None
        fields = payload if isinstance(payload, dict) else {}
        if answer.status_code >= 400:
            code = fields.get("code")
            failure = SmsSendError(
                "rejected" if answer.status_code < 500 else "unavailable",
                answer.status_code,
                code if isinstance(code, int) and not isinstance(code, bool) else None,
            )
            logger.warning("staff text not sent: %s", failure.describe())
            raise failure
        sid = fields.get("sid")
        if not isinstance(sid, str) or not MESSAGE_SID.match(sid):
            logger.warning("staff text: unreadable answer from Twilio (status=%s)", answer.status_code)
            raise SmsSendError("bad_response", answer.status_code)
        status = fields.get("status")
        return SentSms(sid, status[:32] if isinstance(status, str) else "")
