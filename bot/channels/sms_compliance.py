"""Carrier keywords on the SMS channel: STOP, START and HELP, handled before the bot sees a message.

- STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT (the whole message, any case, surrounding
  spaces and punctuation ignored) opt the number out in ``clinic_sms_opt_outs`` and are
  answered once with a confirmation. From then on every message from that number is answered
  with an empty ``<Response/>`` and never reaches the bot, except the keywords below.
- START, UNSTOP, and YES while opted out, opt the number back in, with a confirmation.
  (YES from a subscribed number is an ordinary answer, e.g. to the consultation offer.)
- HELP, INFO answer with the clinic's name and phone and how to stop (or restart), without
  reaching the bot, opted out or not: carriers expect HELP to be answered.

If the opt-out table cannot be read or written, a STOP is still confirmed (the patient's wish is
clear; the failure is logged) and any other message is answered with silence, never passed on:
a number that may have opted out is not texted.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from typing import Literal

from bot.settings import load_settings
from bot.storage import opt_outs
from bot.storage.store import ClinicStore, get_store

logger = logging.getLogger(__name__)

STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
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
        keyword = keyword_of(text)
        settings = load_settings()
        words = {"clinic": settings.clinic_name, "phone": settings.clinic_phone}
        try:
            return self._decide(phone, keyword, words)
        except Exception as error:  # noqa: BLE001 - never text a number that may have opted out
            logger.error("SMS opt-out check failed: %s", type(error).__name__)
            return [STOP_CONFIRMATION.format(**words)] if keyword == "stop" else []

    def _decide(self, phone: str, keyword: Keyword | None, words: dict[str, str]) -> list[str] | None:
        with self.store.transaction() as session:
            if keyword == "stop":
                newly = opt_outs.record_opt_out(session, phone)
                return [STOP_CONFIRMATION.format(**words)] if newly else []
            opted_out = opt_outs.is_opted_out(session, phone)
            if keyword == "start" or (keyword == "yes" and opted_out):
                if opt_outs.record_opt_in(session, phone):
                    return [RESUBSCRIBED.format(**words)]
                return [SUBSCRIBED.format(**words)]
            if keyword == "help":
                return [(HELP_TEXT_OPTED_OUT if opted_out else HELP_TEXT).format(**words)]
            return [] if opted_out else None

    def dispose(self) -> None:
        """Close the store's connections if this object built it from a URL."""
        if self._url and self._store is not None:
            self._store.dispose()
