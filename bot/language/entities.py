"""Turn a patient's message into the entities the dialogue uses (plain dicts, Rasa's shape).

Entity names and roles (the vocabulary of ``domain.yml``):
- ``surgery_type``: decompression | fusion | unknown
- ``time`` (value in weeks) with role ``surgery`` (the surgery was that long ago), ``return_ago``
  (the pain came back that long ago), ``return_after`` (that long after the surgery), ``ago``
  (a past point with no subject) or ``duration`` (a bare length)
- ``time_problem``: ``future`` for a date after today
- ``pain_course``: one of the five courses (the most specific one the message states)
- ``symptom``: a symptom code; role ``denied`` when the patient says they do not have it
- ``red_flag``: a red-flag code
Denied procedures, courses and red flags are left out.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Any

from bot.language.pain_course import find_pain_courses, find_return_hints
from bot.language.procedures import find_procedures
from bot.language.red_flags import find_red_flags
from bot.language.symptoms import find_symptoms
from bot.language.time_expressions import find_time_mentions
from bot.language.types import Mention, TimeMention

Entity = dict[str, Any]

# When a message states several courses, the more specific story wins.
COURSE_PRIORITY = (
    "relief_then_sudden_return",
    "relief_then_gradual_return",
    "worse_since_surgery",
    "no_improvement",
    "improving",
)


def _entity(name: str, value: Any, start: int, end: int, role: str | None = None) -> Entity:
    entity: Entity = {"entity": name, "value": value, "start": start, "end": end}
    if role:
        entity["role"] = role
    return entity


# "felt great till March": the time a relief ended is when the pain came back.
_RELIEF_ENDED = re.compile(r"\b(?:till|until|til|up to)\s+(?:about\s+|around\s+|roughly\s+)?$", re.IGNORECASE)
# "my leg went numb again in March": something that came back, dated.
_AGAIN = re.compile(r"\bagain\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.;!?]")
# A procedure named just before a time dates the surgery ("disc shaved last Thanksgiving").
_SAME_CLAUSE = re.compile(r"^[^.;!?]{0,25}$")


def with_context(mention: TimeMention, text: str, procedures: list[Mention]) -> TimeMention:
    """Give a time with no subject the one its surroundings imply, if any."""
    if mention.subject is not None or mention.anchor != "ago":
        return mention
    if _RELIEF_ENDED.search(text[max(0, mention.start - 20) : mention.start]):
        return replace(mention, subject="return")
    before = _SENTENCE_END.split(text[max(0, mention.start - 40) : mention.start])[-1]
    after = _SENTENCE_END.split(text[mention.end : mention.end + 30])[0]
    if _AGAIN.search(before) or _AGAIN.search(after):
        return replace(mention, subject="return")
    for procedure in procedures:
        if procedure.negated or procedure.end > mention.start:
            continue
        if _SAME_CLAUSE.match(text[procedure.end : mention.start]):
            return replace(mention, subject="surgery")
    return mention


def time_role(mention: TimeMention) -> str:
    """The ``time`` entity role for a time mention."""
    if mention.anchor == "after_surgery":
        return "return_after"
    if mention.subject == "surgery":
        return "surgery"
    if mention.subject == "return":
        return "return_ago" if mention.anchor == "ago" else "return_after"
    return "ago" if mention.anchor == "ago" else "duration"


def _procedure_entities(mentions: list[Mention]) -> list[Entity]:
    affirmed = [m for m in mentions if not m.negated]
    for code in ("fusion", "decompression", "unknown"):
        chosen = next((m for m in affirmed if m.code == code), None)
        if chosen:
            return [_entity("surgery_type", code, chosen.start, chosen.end)]
    return []


def _course_entities(mentions: list[Mention]) -> list[Entity]:
    affirmed = [m for m in mentions if not m.negated]
    for code in COURSE_PRIORITY:
        chosen = next((m for m in affirmed if m.code == code), None)
        if chosen:
            return [_entity("pain_course", code, chosen.start, chosen.end)]
    return []


def _return_hint_entities(mentions: list[Mention]) -> list[Entity]:
    """``return_speed``: "returned" (speed not said) wins over a bare "sudden" / "gradual"."""
    affirmed = [m for m in mentions if not m.negated]
    chosen = next((m for m in affirmed if m.code == "returned"), affirmed[0] if affirmed else None)
    return [_entity("return_speed", chosen.code, chosen.start, chosen.end)] if chosen else []


def _symptom_entities(mentions: list[Mention]) -> list[Entity]:
    affirmed = {m.code for m in mentions if not m.negated}
    entities: list[Entity] = []
    seen: set[tuple[str, bool]] = set()
    for mention in mentions:
        denied = mention.negated and mention.code not in affirmed
        if mention.negated and not denied:
            continue
        key = (mention.code, denied)
        if key in seen:
            continue
        seen.add(key)
        role = "denied" if denied else None
        entities.append(_entity("symptom", mention.code, mention.start, mention.end, role))
    return entities


def _time_entities(mentions: list[TimeMention], text: str, procedures: list[Mention]) -> list[Entity]:
    entities: list[Entity] = []
    for mention in (with_context(m, text, procedures) for m in mentions):
        if mention.problem:
            entities.append(_entity("time_problem", mention.problem, mention.start, mention.end))
        else:
            weeks = round(mention.weeks, 2)
            entities.append(_entity("time", weeks, mention.start, mention.end, time_role(mention)))
    return entities


def _red_flag_entities(mentions: list[Mention]) -> list[Entity]:
    entities: list[Entity] = []
    seen: set[str] = set()
    for mention in mentions:
        if mention.negated or mention.code in seen:
            continue
        seen.add(mention.code)
        entities.append(_entity("red_flag", mention.code, mention.start, mention.end))
    return entities


def extract_entities(text: str, today: date) -> list[Entity]:
    """Every entity of the message, in the order surgery, time, course, return hint, symptoms, red flags."""
    if not text or not text.strip():
        return []
    procedures = find_procedures(text)
    return (
        _procedure_entities(procedures)
        + _time_entities(find_time_mentions(text, today), text, procedures)
        + _course_entities(find_pain_courses(text))
        + _return_hint_entities(find_return_hints(text))
        + _symptom_entities(find_symptoms(text))
        + _red_flag_entities(find_red_flags(text))
    )
