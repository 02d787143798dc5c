"""How the clinic's rules correct the intent classifier (pure functions, used by ``bot.nlu``)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.language.language_id import looks_non_english

RED_FLAG_INTENT = "report_red_flag"
FALLBACK_INTENT = "nlu_fallback"
INFORM_INTENT = "inform"
CLINICAL_ENTITIES = frozenset({"surgery_type", "time", "time_problem", "pain_course", "return_speed", "symptom"})


def guard_intent(
    text: str,
    intent: str | None,
    ranking: Sequence[str | None],
    entity_names: Sequence[str | None],
) -> str:
    """The intent the dialogue should act on.

    - A red flag found by the lexicon always means ``report_red_flag``.
    - ``report_red_flag`` without a red flag (e.g. "no fever") falls back to the next intent.
    - An empty message, one with no letter or digit (only emoji or punctuation), and one in
      another language are ``nlu_fallback`` (the bot then says what it can read).
    - A fallback that still carries clinical facts is ``inform``.
    """
    names = set(entity_names)
    if "red_flag" in names:
        return RED_FLAG_INTENT
    if not any(ch.isalnum() for ch in text) or looks_non_english(text):
        return FALLBACK_INTENT
    if intent == RED_FLAG_INTENT:
        intent = next(
            (name for name in ranking if name and name not in (RED_FLAG_INTENT, FALLBACK_INTENT)),
            FALLBACK_INTENT,
        )
        if names & CLINICAL_ENTITIES:
            return INFORM_INTENT
    if intent == FALLBACK_INTENT and names & CLINICAL_ENTITIES:
        return INFORM_INTENT
    return intent or FALLBACK_INTENT
