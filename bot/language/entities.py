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

from datetime import date
from typing import Any

from bot.language.pain_course import find_pain_courses
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


def _time_entities(mentions: list[TimeMention]) -> list[Entity]:
    entities: list[Entity] = []
    for mention in mentions:
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
    """Every entity of the message, in the order surgery, time, course, symptoms, red flags."""
    if not text or not text.strip():
        return []
    return (
        _procedure_entities(find_procedures(text))
        + _time_entities(find_time_mentions(text, today))
        + _course_entities(find_pain_courses(text))
        + _symptom_entities(find_symptoms(text))
        + _red_flag_entities(find_red_flags(text))
    )
