"""Carrier keywords on the SMS channel: STOP, START and HELP, handled before the bot sees a message.

- STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT (the whole message, any case,
  surrounding spaces and punctuation ignored; Twilio's own list) opt the number out in
  ``clinic_sms_opt_outs`` and are answered once with a confirmation. From then on every message
  from that number is answered with an empty ``<Response/>``: nothing is sent to it, except the
  answers to the keywords below. The message is still read and kept on the conversation, and a
  red flag in it is raised for staff, who can call (:class:`Decision` ``opted_out``; the channel
  does it, :mod:`bot.channels.twilio`).
- START, UNSTOP, and YES while opted out, opt the number back in, with a confirmation.
  (YES from a subscribed number is an ordinary answer, e.g. to the consultation offer.)
- HELP, INFO answer with the clinic's name and phone and how to stop (or restart), without
  reaching the bot, opted out or not: carriers expect HELP to be answered.

If the opt-out table cannot be read or written (the error type is logged, never the number):

- an ordinary message is handled as if the number had not opted out: passed to the bot, so an
  emergency is never met with silence (Twilio's own STOP filtering, on by default, still blocks
  replies to a number that texted STOP);
- HELP gets the ordinary help text;
- STOP (and START) are saved with a few quick retries; a STOP is confirmed only once it is saved.
  If every try fails, the answer says the request could not be processed and to text STOP again
  or call the clinic (:data:`STOP_FAILED`), so nobody is told they are unsubscribed when they
  are not.
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bot.settings import load_settings
from bot.storage import opt_outs
from bot.storage.store import ClinicStore, get_store

logger = logging.getLogger(__name__)

STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
START_KEYWORDS = frozenset({"START", "UNSTOP"})
START_WHILE_OPTED_OUT = frozenset({"YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})

STOP_CONFIRMATION = "You're unsubscribed from {clinic} messages. Reply START to resubscribe."
RESUBSCRIBED = "You're resubscribed to {clinic} messages. Reply HELP for help or STOP to unsubscribe."
SUBSCRIBED = "You're subscribed to {clinic} messages. Reply HELP for help or STOP to unsubscribe."
HELP_TEXT = (
    "Front desk of {clinic}: help with pain after back surgery. Call us at {phone}. "
    "In an emergency, call 911. Reply STOP to unsubscribe. Msg&data rates may apply."
)
HELP_TEXT_OPTED_OUT = (
    "Front desk of {clinic}: you're unsubscribed and get no messages from us. Call us at {phone}. "
    "In an emergency, call 911. Reply START to resubscribe."
)
STOP_FAILED = (
    "Sorry, we could not process your request to stop messages from {clinic}. "
    "Please text STOP again in a few minutes, or call us at {phone}."
)
START_FAILED = (
    "Sorry, we could not process your request to get messages from {clinic} again. "
    "Please text START again in a few minutes, or call us at {phone}."
)

SAVE_ATTEMPTS = 3
"""How many times a STOP or START is tried before the patient is told it could not be processed."""
RETRY_DELAYS_SECONDS = (0.2, 0.5)
"""Pauses between those tries (Twilio waits 15 s for the webhook's answer)."""

Keyword = Literal["stop", "start", "yes", "help"]


def _is_edge_noise(char: str) -> bool:
    """Whitespace, punctuation, symbols and invisible characters around a keyword."""
    return char.isspace() or unicodedata.category(char)[0] in ("P", "S", "Z", "C")


def keyword_of(text: str) -> Keyword | None:
    """The compliance keyword the whole message is, or ``None`` ("Stop." is; "don't stop" is not)."""
    start, end = 0, len(text)
    while start < end and _is_edge_noise(text[start]):
        start += 1
    while end > start and _is_edge_noise(text[end - 1]):
        end -= 1
    word = unicodedata.normalize("NFKC", text[start:end]).upper()
    if word in STOP_KEYWORDS:
        return "stop"
    if word in START_KEYWORDS:
        return "start"
    if word in START_WHILE_OPTED_OUT:
        return "yes"
    if word in HELP_KEYWORDS:
        return "help"
    return None


@dataclass(frozen=True)
class Decision:
    """What to do with one incoming SMS.

    ``texts``: the answer instead of the bot (``[]`` for an empty ``<Response/>``), or ``None`` to
    pass the message to the bot. ``opted_out``: the number is opted out and the message is not a
    keyword; nothing is sent, but the message is to be read and kept, and a red flag in it raised
    for staff.
    """

    texts: list[str] | None
    opted_out: bool = False


class SmsCompliance:
    """Decides, per incoming SMS, whether the bot may see it and what the keyword answer is.

    ``store`` is a :class:`ClinicStore`, a database URL (a store is built on first use), or
    ``None`` for the process-wide :func:`get_store` (also on first use).
    """

    def __init__(self, store: ClinicStore | str | None = None) -> None:
        """Remember where the opt-outs are; no database is touched yet."""
        self._store = store if isinstance(store, ClinicStore) else None
        self._url = store if isinstance(store, str) else None
        self._lock = threading.Lock()

    @property
    def store(self) -> ClinicStore:
        """The store holding ``clinic_sms_opt_outs`` (built on first use)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = ClinicStore(self._url) if self._url else get_store()
        return self._store

    def handle(self, phone: str, text: str) -> list[str] | None:
        """The SMS texts to answer with instead of the bot (``[]``: silence), or None to pass on."""
        return self.decide(phone, text).texts

    def decide(self, phone: str, text: str, sleep: Callable[[float], None] | None = None) -> Decision:
        """What to do with an SMS from ``phone`` (see the module doc); never raises.

        ``sleep`` pauses between the tries of a STOP or START (default :func:`time.sleep`; this runs
        in a worker thread, off the event loop).
        """
        pause = sleep or time.sleep
        keyword = keyword_of(text)
        settings = load_settings()
        words = {"clinic": settings.clinic_name, "phone": settings.clinic_phone}
        attempts = SAVE_ATTEMPTS if keyword in ("stop", "start") else 1
        for attempt in range(attempts):
            try:
                return self._decide(phone, keyword, words)
            except Exception as error:  # noqa: BLE001 - the type only: errors can quote the number
                logger.error(
                    "SMS opt-out %s failed (try %d of %d): %s",
                    "save" if attempts > 1 else "check",
                    attempt + 1,
                    attempts,
                    type(error).__name__,
                )
                if attempt + 1 < attempts:
                    pause(RETRY_DELAYS_SECONDS[min(attempt, len(RETRY_DELAYS_SECONDS) - 1)])
        if keyword == "stop":
            return Decision([STOP_FAILED.format(**words)])
        if keyword == "start":
            return Decision([START_FAILED.format(**words)])
        if keyword == "help":
            return Decision([HELP_TEXT.format(**words)])
        return Decision(None)  # as if not opted out: an emergency is never met with silence

    def _decide(self, phone: str, keyword: Keyword | None, words: dict[str, str]) -> Decision:
        with self.store.transaction() as session:
            if keyword == "stop":
                newly = opt_outs.record_opt_out(session, phone)
                return Decision([STOP_CONFIRMATION.format(**words)] if newly else [])
            opted_out = opt_outs.is_opted_out(session, phone)
            if keyword == "start" or (keyword == "yes" and opted_out):
                if opt_outs.record_opt_in(session, phone):
                    return Decision([RESUBSCRIBED.format(**words)])
                return Decision([SUBSCRIBED.format(**words)])
            if keyword == "help":
                return Decision([(HELP_TEXT_OPTED_OUT if opted_out else HELP_TEXT).format(**words)])
            return Decision([], opted_out=True) if opted_out else Decision(None)

    def dispose(self) -> None:
        """Close the store's connections if this object built it from a URL."""
        if self._url and self._store is not None:
            self._store.dispose()
