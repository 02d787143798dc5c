"""SMS over Twilio: signed webhooks in, TwiML out in the same HTTP response.

Load it from ``credentials.yml`` as::

    bot.channels.twilio.TwilioTwimlInput:

The auth token comes from ``TWILIO_AUTH_TOKEN`` and the signed URL from ``PUBLIC_URL``
(see :mod:`bot.settings`). Do not list Rasa's own ``twilio:`` beside it: both would claim
``/webhooks/twilio/webhook``.

STOP / START / HELP are answered here, before the bot (see :mod:`bot.channels.sms_compliance`);
an opted-out number gets an empty ``<Response/>``. The bot's replies are collected by an output
channel named ``twilio``, so ``channel: twilio`` response variations in ``domain.yml`` apply, and
typographic characters are sent in their GSM-7 spelling (see :mod:`bot.channels.sms_segments`).

**A text from an opted-out number** gets no reply (nothing may be texted to it), but it is not
thrown away (:meth:`TwilioTwimlInput.read_without_answering`): it is read by the NLU and kept on
the conversation (Rasa's ``log_message``: no action runs, no reply is made or stored, the
message's metadata says ``sms_opted_out``), and a red flag in it is raised for staff in
``clinic_red_flag_events`` (kind ``emergency``; ``review`` for a possible one), so that they can
call. The conversation keeps the red-flag gate (``emergency_reported``, ``red_flag_followup``): if
the patient texts START and comes back, they are first asked whether it has been checked.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from asyncio import CancelledError
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.events import ActiveLoop, SlotSet
from redis.exceptions import RedisError  # type: ignore[import-untyped]  # no stubs
from sanic import Blueprint, response
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels.sms_compliance import Decision, SmsCompliance
from bot.channels.sms_segments import gsm_spelling
from bot.channels.text import clean_incoming_text
from bot.clinical.red_flags import reminder_text
from bot.settings import load_settings
from bot.shared_state import RedisBreaker, redis_client, sms_replay_prefix
from bot.storage import repository
from bot.storage.store import ClinicStore
from bot.vocabulary import RED_FLAG_CODES

logger = logging.getLogger(__name__)

MAX_FORM_BYTES = 64 * 1024
"""Largest webhook body read; Twilio's are a few hundred bytes."""

TWIML_CONTENT_TYPE = "text/xml; charset=utf-8"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class MessageSidCache:
    """Remembers the ``MessageSid``s handled in the last ``ttl_seconds`` (an in-memory LRU).

    It lives in one process, so it forgets on restart and is not shared between several Rasa
    processes: with ``REDIS_URL`` they share a :class:`RedisMessageSidCache` instead.
    """

    def __init__(
        self,
        ttl_seconds: float = 3600.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Keep at most ``max_entries`` ids, each for ``ttl_seconds`` by ``clock``."""
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def seen_before(self, message_sid: str) -> bool:
        """True if ``message_sid`` was handled within the TTL; else remember it now."""
        now = self._clock()
        while self._seen:
            oldest_sid, seen_at = next(iter(self._seen.items()))
            if now - seen_at < self.ttl_seconds:
                break
            del self._seen[oldest_sid]
        if message_sid in self._seen:
            return True
        self._seen[message_sid] = now
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return False


class RedisMessageSidCache:
    """The ``MessageSid``s handled in the last ``ttl_seconds`` by any Rasa server: one Redis key each.

    ``SET <prefix><MessageSid> 1 NX EX ttl``: only the first server to see a text sets the key.
    While Redis can't be reached, this process's own :class:`MessageSidCache` stands in (a retry
    reaching another server is then answered again, as with one server's restart); after a
    failure Redis is left alone for a few seconds (:class:`~bot.shared_state.RedisBreaker`).
    """

    def __init__(self, client: Any, prefix: str, ttl_seconds: float = 3600.0) -> None:
        """Keys ``prefix`` + sid on the ``redis.Redis`` ``client``, each for ``ttl_seconds``."""
        self.client = client
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.fallback = MessageSidCache(ttl_seconds=ttl_seconds)
        self.breaker = RedisBreaker("SMS replay cache")

    def seen_before(self, message_sid: str) -> bool:
        """True if some server handled ``message_sid`` within the TTL; else remember it now."""
        if not self.breaker.allows():
            return self.fallback.seen_before(message_sid)
        try:
            created = self.client.set(self.prefix + message_sid, b"1", nx=True, ex=max(int(self.ttl_seconds), 1))
        except RedisError as error:
            self.breaker.failed(type(error).__name__)
            return self.fallback.seen_before(message_sid)
        self.breaker.succeeded()
        self.fallback.seen_before(message_sid)  # a retry during a later outage is still caught here
        return not created


def default_replay_cache() -> MessageSidCache | RedisMessageSidCache:
    """The replay cache for the settings: in Redis with ``REDIS_URL`` (shared by every server), else in memory."""
    settings = load_settings()
    if settings.redis_url:
        return RedisMessageSidCache(redis_client(settings), sms_replay_prefix(settings))
    return MessageSidCache()


def button_hint(buttons: Iterable[dict[str, Any]]) -> str:
    """A short SMS line for buttons, e.g. ``Reply YES or NO``; "" when none have titles."""
    titles = [
        str(button.get("title")).strip().upper()
        for button in buttons
        if isinstance(button, dict) and str(button.get("title") or "").strip()
    ]
    if not titles:
        return ""
    if len(titles) == 1:
        return f"Reply {titles[0]}"
    return f"Reply {', '.join(titles[:-1])} or {titles[-1]}"


def sms_texts(messages: Iterable[dict[str, Any]]) -> list[str]:
    """The SMS bodies for a turn's collected bot messages: one per text reply.

    Buttons become a "Reply …" line under their text, unless the text already has one (the
    numbered menus of ``domain.yml``); ``custom`` payloads, images and
    attachments are not sent as SMS text. Typographic look-alikes (``•``, ``’``, ``–``) are
    spelt in GSM-7, so that one of them does not make the whole message UCS-2 (more segments).
    """
    texts: list[str] = []
    for message in messages:
        text = message.get("text")
        parts = [text.strip()] if isinstance(text, str) and text.strip() else []
        buttons = message.get("buttons")
        # A numbered menu ("Reply 1 for …") already says how to answer its buttons.
        if isinstance(buttons, list) and "Reply " not in (text if isinstance(text, str) else ""):
            hint = button_hint(buttons)
            if hint:
                parts.append(hint)
        if parts:
            texts.append(gsm_spelling("\n".join(parts)))
    return texts


def render_twiml(texts: Iterable[str]) -> str:
    """TwiML answering with one ``<Message>`` per text, or an empty ``<Response/>``."""
    body = "".join(f"<Message>{escape(_XML_INVALID.sub('', text))}</Message>" for text in texts)
    if not body:
        return EMPTY_TWIML
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'


def sms_conversation_id(phone: str, key: str) -> str:
    """The conversation id for a phone number: a keyed hash, so nobody can guess it.

    With the bare number as the id, anyone reaching the REST channel could send that number as
    ``sender`` and continue a patient's SMS conversation.
    """
    digest = hmac.new(key.encode("utf-8"), phone.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"sms-{digest[:32]}"


def _codes_of(entities: Iterable[Any], entity: str) -> list[str]:
    """The red-flag codes among the NLU's ``entities`` of one kind, in table order."""
    found = {e.get("value") for e in entities if isinstance(e, dict) and e.get("entity") == entity}
    return [code for code in RED_FLAG_CODES if code in found]


def _lexicon_red_flags(text: str) -> list[str]:
    """The red flags the lexicon finds in ``text`` (no context rules), or [] if even that fails."""
    try:
        from bot.language.entities import extract_entities

        return _codes_of(extract_entities(text, load_settings().today()), "red_flag")
    except Exception as error:  # noqa: BLE001 - the type only
        logger.error("The red-flag lexicon failed on a text from an opted-out number: %s", type(error).__name__)
        return []


def _twiml(texts: Iterable[str] = ()) -> HTTPResponse:
    return response.text(render_twiml(texts), content_type=TWIML_CONTENT_TYPE)


def _forbidden() -> HTTPResponse:
    return response.text("Forbidden", status=403)


class TwilioCollectingOutput(CollectingOutputChannel):
    """Collects a turn's replies; named ``twilio`` so Rasa picks ``channel: twilio`` variations.

    (Rasa chooses a response variation by the *output* channel's name; the plain collector is
    called ``collector``.)
    """

    @classmethod
    def name(cls) -> str:
        """The name response variations are matched against."""
        return "twilio"


class TwilioTwimlInput(InputChannel):
    """Twilio SMS webhooks (``POST /webhooks/twilio/webhook``) answered with TwiML.

    Only requests whose ``X-Twilio-Signature`` verifies over ``PUBLIC_URL`` + path (+ query)
    and the form parameters reach the bot; anything else gets 403. The sender id is a keyed
    hash of the ``From`` number (:func:`sms_conversation_id`), the metadata
    ``{"channel": "twilio", "phone": From}``. A
    ``MessageSid`` already handled in the last hour, by this server or (with ``REDIS_URL``) any
    other, is answered with an empty ``<Response/>`` (:func:`default_replay_cache`). STOP / START / HELP
    and messages from opted-out numbers never reach the bot (:mod:`bot.channels.sms_compliance`).
    """

    @classmethod
    def name(cls) -> str:
        """The channel name, which is also its URL prefix: ``/webhooks/twilio``."""
        return "twilio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel; its token and URL come from the settings, not the file."""
        return cls()

    def __init__(
        self,
        auth_token: str | None = None,
        public_url: str | None = None,
        replay_cache: MessageSidCache | RedisMessageSidCache | None = None,
        store: ClinicStore | str | None = None,
    ) -> None:
        """Use the given token and public URL, each defaulting to :func:`load_settings`.

        ``store`` (a :class:`ClinicStore` or a database URL) holds the SMS opt-outs; by default
        the process-wide store, opened on the first message.
        """
        if auth_token is None or public_url is None:
            settings = load_settings()
            auth_token = settings.twilio_auth_token if auth_token is None else auth_token
            public_url = settings.public_url if public_url is None else public_url
        self.auth_token = auth_token
        self.public_url = public_url.rstrip("/")
        self.replay_cache = replay_cache or default_replay_cache()
        self.compliance = SmsCompliance(store)
        if not self.auth_token:
            logger.warning("TWILIO_AUTH_TOKEN is not set: every SMS webhook will be refused (403).")

    def signed_url(self, request: Request) -> str:
        """The URL Twilio signed: ``PUBLIC_URL`` + path, plus the query string if any."""
        url = self.public_url + request.path
        if request.query_string:
            url += "?" + request.query_string
        return url

    def verified_form(self, request: Request) -> RequestParameters | None:
        """The form parameters if the request's signature verifies, else None."""
        signature = request.headers.get("X-Twilio-Signature")
        if not self.auth_token or not signature or len(request.body) > MAX_FORM_BYTES:
            return None
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type.lower() != "application/x-www-form-urlencoded":
            return None
        try:
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        # Sanic's own request.form drops empty values, but Twilio signs them too.
        form = RequestParameters(parse_qs(body, keep_blank_values=True))
        validator = RequestValidator(self.auth_token)
        if not validator.validate(self.signed_url(request), form, signature):
            return None
        return form

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        """``{"channel": "twilio", "phone": From}`` for a verified request."""
        form: RequestParameters | None = getattr(request.ctx, "twilio_form", None)
        phone = (form.get("From") or "").strip() if form is not None else ""
        return {"channel": self.name(), "phone": phone or None}

    async def handle_compliance_keyword(self, phone: str, text: str) -> list[str] | None:
        """STOP / START / HELP, and silence for opted-out numbers (:class:`SmsCompliance`).

        Returns the SMS texts to answer with instead of passing the message to the bot
        (``[]`` for an empty ``<Response/>``), or None to pass it on. The database work runs
        in a worker thread, off the event loop.
        """
        return (await self.compliance_decision(phone, text)).texts

    async def compliance_decision(self, phone: str, text: str) -> Decision:
        """The full :class:`~bot.channels.sms_compliance.Decision`, worked out off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.compliance.decide, phone, text)

    async def read_without_answering(self, request: Request, message: UserMessage) -> tuple[list[str], list[str]]:
        """Keep a message from an opted-out number on its conversation, unanswered.

        The message goes through the NLU and is stored (Rasa's ``log_message``), under the
        conversation's lock, but no action runs and nothing is sent. A red flag in it sets the
        conversation's red-flag gate. Returns ``(red flags, possible red flags)``.
        """
        agent = getattr(request.app.ctx, "agent", None)
        processor = getattr(agent, "processor", None)
        if agent is None or processor is None:
            raise RuntimeError("no agent to read the message")
        async with agent.lock_store.lock(message.sender_id):
            tracker = await processor.log_message(message, should_save_tracker=False)
            latest = tracker.latest_message
            intent = ((latest.intent if latest is not None else None) or {}).get("name")
            entities = (latest.entities if latest is not None else None) or []
            codes = _codes_of(entities, "red_flag") if intent == "report_red_flag" else []
            suspected = _codes_of(entities, "suspected_red_flag") if intent == "possible_red_flag" else []
            if codes:
                pending = tracker.get_slot("red_flag_codes") if tracker.get_slot("red_flag_followup") else None
                together = [c for c in RED_FLAG_CODES if c in set(codes) | set(pending or [])]
                for event in (
                    ActiveLoop(None),  # whatever was being asked is stale by the time they come back
                    SlotSet("requested_slot", None),
                    SlotSet("emergency_reported", True),
                    SlotSet("red_flag_followup", True),
                    SlotSet("red_flag_codes", together),
                    SlotSet("red_flag_about", reminder_text(together)),
                ):
                    tracker.update(event, processor.domain)
            try:
                await processor.save_tracker(tracker)
            except Exception as error:  # noqa: BLE001 - staff still get the red flag (the caller raises it)
                logger.error("A text from an opted-out number could not be kept: %s", type(error).__name__)
        return codes, suspected

    def _raise_for_staff(self, conversation: str, codes: list[str], kind: str) -> None:
        """A red-flag event for staff (runs in a worker thread)."""
        with self.compliance.store.transaction() as session:
            repository.record_red_flags(session, conversation, self.name(), codes, kind=kind)

    async def handle_opted_out(self, request: Request, phone: str, text: str) -> None:
        """Read and keep a text from an opted-out number, and raise a red flag in it for staff; never raises."""
        conversation = sms_conversation_id(phone, self.auth_token)
        metadata = {**(self.get_metadata(request) or {}), "sms_opted_out": True}
        message = UserMessage(
            text, TwilioCollectingOutput(), conversation, input_channel=self.name(), metadata=metadata
        )
        loop = asyncio.get_running_loop()
        try:
            codes, suspected = await self.read_without_answering(request, message)
        except Exception as error:  # noqa: BLE001 - the type only: errors can quote the patient's words
            logger.error("A text from an opted-out number could not be read: %s", type(error).__name__)
            # Without the NLU, the lexicon alone still finds the signs; staff are asked to review them.
            codes, suspected = [], await loop.run_in_executor(None, _lexicon_red_flags, text)
        if not codes and not suspected:
            return
        kind = "emergency" if codes else "review"
        try:
            await loop.run_in_executor(None, self._raise_for_staff, conversation, codes or suspected, kind)
        except Exception as error:  # noqa: BLE001 - the message is on the conversation all the same
            logger.error("Could not raise a red flag texted after STOP: %s", type(error).__name__)
        else:
            logger.warning("A red flag was texted by an opted-out number: raised for staff (%s).", kind)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes ``GET /`` (health) and ``POST /webhook`` under ``/webhooks/twilio``."""
        webhook = Blueprint("clinic_twilio_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            form = self.verified_form(request)
            if form is None:
                return _forbidden()
            return await self.handle_verified(request, form, on_new_message)

        return webhook

    async def handle_verified(
        self,
        request: Request,
        form: RequestParameters,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> HTTPResponse:
        """Pass a verified SMS to the bot and answer with its replies as TwiML."""
        phone = (form.get("From") or "").strip()
        if not phone or len(phone) > 64 or not phone.isprintable():
            return response.text("Bad Request", status=400)
        message_sid = form.get("MessageSid") or form.get("SmsSid")
        if message_sid and self.replay_cache.seen_before(message_sid):
            return _twiml()
        request.ctx.twilio_form = form
        text = clean_incoming_text(form.get("Body") or "")

        decision = await self.compliance_decision(phone, text)
        if decision.opted_out:
            await self.handle_opted_out(request, phone, text)
            return _twiml()  # nothing is texted to a number that said STOP
        if decision.texts is not None:
            return _twiml(decision.texts)

        collector = TwilioCollectingOutput()
        try:
            await on_new_message(
                UserMessage(
                    text,
                    collector,
                    sms_conversation_id(phone, self.auth_token),
                    input_channel=self.name(),
                    metadata=self.get_metadata(request),
                )
            )
        except CancelledError:
            logger.error("SMS message handling timed out.")
        except Exception as error:  # noqa: BLE001 - answer what was collected
            logger.error("SMS message handling failed: %s", type(error).__name__)
            logger.debug("SMS message handling failure", exc_info=True)
        return _twiml(sms_texts(collector.messages))
