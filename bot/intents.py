"""How the clinic's rules correct the intent classifier (pure functions, used by ``bot.nlu``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.dialogue.answers import yes_or_no
from bot.language.language_id import looks_non_english
from bot.language.normalise import normalise
from bot.language.red_flag_closeness import CLOSENESS_THRESHOLD, closest_red_flag
from bot.language.red_flags import find_red_flags
from bot.language.unknown import says_dont_know

RED_FLAG_INTENT = "report_red_flag"
POSSIBLE_RED_FLAG_INTENT = "possible_red_flag"
FALLBACK_INTENT = "nlu_fallback"
INFORM_INTENT = "inform"
DONT_KNOW_INTENT = "dont_know"
MIN_WORDS_FOR_CLOSENESS = 3
_WORD = re.compile(r"[^\W\d_]{2,}")
# Intents with no content of their own: a message the lexicons read a clinical fact in is an answer.
FACTS_WIN_OVER = frozenset({FALLBACK_INTENT, "goodbye", "out_of_scope"})
CLINICAL_ENTITIES = frozenset({"surgery_type", "time", "time_problem", "pain_course", "return_speed", "symptom"})


def guard_intent(
    text: str,
    intent: str | None,
    ranking: Sequence[str | None],
    entity_names: Sequence[str | None],
    *,
    red_flag_judged: bool = False,
    close_to_red_flag: bool = False,
    says_dont_know: bool = False,
) -> str:
    """The intent the dialogue should act on.

    - A red flag found by the lexicon always means ``report_red_flag``.
    - A red flag the lexicon did not find, suggested by the classifier or by closeness to the
      red-flag examples (``close_to_red_flag``), is ``possible_red_flag``: the bot asks one
      direct safety question. Where the lexicon found red-flag words but judged them not
      current (``red_flag_judged``: "no fever", "a fever before the surgery, none since"),
      the classifier's guess falls back to the next intent.
    - An empty message, one with no letter or digit (only emoji or punctuation), and one in
      another language are ``nlu_fallback`` (the bot then says what it can read).
    - "I don't know" in any wording (``says_dont_know``), with no fact in it, is ``dont_know``;
      a bare "y" / "n" is ``affirm`` / ``deny``.
    - A fallback, goodbye or out-of-scope message that still carries clinical facts is ``inform``.
    """
    names = set(entity_names)
    if "red_flag" in names:
        return RED_FLAG_INTENT
    if not any(ch.isalnum() for ch in text) or looks_non_english(text):
        return FALLBACK_INTENT
    facts = bool(names & CLINICAL_ENTITIES)
    words = len(_WORD.findall(text))
    # Closeness alone counts only for a message of some words that the lexicons read no fact in
    # ("my leg gives out now and then" is the symptom weakness; "suddenly" answers a question).
    close = close_to_red_flag and words >= MIN_WORDS_FOR_CLOSENESS and not facts and not says_dont_know
    if not red_flag_judged and words and (intent == RED_FLAG_INTENT or close):
        return POSSIBLE_RED_FLAG_INTENT
    if intent == RED_FLAG_INTENT:
        intent = next(
            (name for name in ranking if name and name not in (RED_FLAG_INTENT, FALLBACK_INTENT)),
            FALLBACK_INTENT,
        )
        if names & CLINICAL_ENTITIES:
            return INFORM_INTENT
    if says_dont_know and not facts:
        return DONT_KNOW_INTENT
    if intent not in ("affirm", "deny") and not facts:
        answer = yes_or_no(text)
        if answer is not None and len(text.split()) <= 3:
            return "affirm" if answer else "deny"
    if intent in FACTS_WIN_OVER and facts:
        return INFORM_INTENT  # "outta nowhere" is no goodbye when it answers "suddenly or slowly?"
    return intent or FALLBACK_INTENT


@dataclass(frozen=True)
class MessageClues:
    """What the lexicons say about a message, beyond its entities, for :func:`guard_intent`."""

    red_flag_judged: bool
    close_to_red_flag: bool
    closest_red_flag: str | None
    says_dont_know: bool


def message_clues(text: str) -> MessageClues:
    """Red-flag words judged not current, closeness to the red-flag examples, "I don't know"."""
    plain = normalise(text).text
    judged = any(m.negated for m in find_red_flags(plain))
    closest = closest_red_flag(plain)
    code, score = closest if closest else (None, 0.0)
    return MessageClues(judged, score >= CLOSENESS_THRESHOLD, code, says_dont_know(plain))
