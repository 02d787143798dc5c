"""Turn a patient's message into the entities the dialogue uses (plain dicts, Rasa's shape).

Entity names and roles (the vocabulary of ``domain.yml``):
- ``surgery_type``: decompression | fusion | unknown
- ``time`` (value in weeks) with role ``surgery`` (the surgery was that long ago), ``return_ago``
  (the pain came back that long ago), ``return_after`` (that long after the surgery), ``onset``
  (a symptom began that long ago, or has lasted that long: "my leg started tingling 2 weeks
  ago", "numb for 3 weeks"), ``other`` (something else happened then: "I started PT 3 weeks
  ago", "MRI 2 weeks ago"), ``ago`` (a past point with no subject) or ``duration`` (a bare
  length). ``onset`` and ``other`` times are never the surgery date.
- ``time_problem``: ``future`` for a date after today
- ``pain_course``: one of the five courses (the most specific one the message states)
- ``symptom``: a symptom code; role ``denied`` when the patient says they do not have it
- ``red_flag``: a red-flag code
Denied procedures, courses and red flags are left out.

The finders read the message normalised (``bot.language.normalise``: SMS shorthand written out,
misspelt lexicon words corrected); every entity's ``start`` / ``end`` points into the message as
the patient typed it. A red flag found in the message as typed is kept even if the normalised
text hides it (a missed red flag is the worst defect).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from bot.language.corrections import apply_corrections
from bot.language.normalise import normalise
from bot.language.pain_course import find_pain_courses, find_return_hints
from bot.language.procedures import find_procedures
from bot.language.red_flags import find_red_flags
from bot.language.symptoms import find_symptoms
from bot.language.time_expressions import find_time_mentions, time_events
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
# "not worse than last month", "compared to last week": a point of comparison, no event.
_COMPARED_WITH = re.compile(
    r"\b(?:(?:worse|better|easier|harder|stronger|weaker|different|same)\s+(?:than|as)|compared\s+(?:to|with)"
    r"|vs\.?|versus)\s+(?:(?:it\s+was|it\s+felt|how\s+it\s+was)\s+)?$",
    re.IGNORECASE,
)
# A procedure named just before a time dates the surgery ("disc shaved last Thanksgiving").
_SAME_CLAUSE = re.compile(r"^[^.;!?]{0,25}$")


def with_context(
    mention: TimeMention, text: str, procedures: list[Mention], others: Sequence[TimeMention] = ()
) -> TimeMention:
    """Give a time with no subject the one its surroundings imply, if any.

    ``others``: every time mention of the message (a neighbouring clause holding a time of its
    own is not read for this one); by default only ``mention`` itself.
    """
    if mention.anchor == "after_surgery" or mention.problem:
        return mention
    if _COMPARED_WITH.search(text[max(0, mention.start - 30) : mention.start]):
        return replace(mention, subject="other")
    if mention.subject is not None:
        return mention
    if mention.anchor == "ago":
        if _RELIEF_ENDED.search(text[max(0, mention.start - 20) : mention.start]):
            return replace(mention, subject="return")
        before = _SENTENCE_END.split(text[max(0, mention.start - 40) : mention.start])[-1]
        after = _SENTENCE_END.split(text[mention.end : mention.end + 30])[0]
        if _AGAIN.search(before) or _AGAIN.search(after):
            return replace(mention, subject="return")
    mentions = list(others) if mention in others else [*others, mention]
    mentions.sort(key=lambda m: m.start)
    event = time_events(text, mentions)[mentions.index(mention)]
    if event is not None:
        return replace(mention, subject=event)
    if mention.anchor != "ago":
        return mention
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
    if mention.subject in ("surgery", "onset", "other"):
        return mention.subject
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
    # "it's no better than before", "I don't think it's getting better": denied improvement
    affirmed += [
        replace(m, code="no_improvement", negated=False) for m in mentions if m.negated and m.code == "improving"
    ]
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


def _time_entities(mentions: list[TimeMention], text: str, procedures: list[Mention], today: date) -> list[Entity]:
    entities: list[Entity] = []
    in_context = [with_context(m, text, procedures, mentions) for m in mentions]
    for mention in apply_corrections(in_context, text, lambda part: find_time_mentions(part, today)):
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


def _red_flags_as_typed(found: list[Entity], text: str) -> list[Entity]:
    """Red flags of the message as typed that the normalised reading did not report."""
    codes = {e["value"] for e in found}
    return [e for e in _red_flag_entities(find_red_flags(text)) if e["value"] not in codes]


def extract_entities(text: str, today: date) -> list[Entity]:
    """Every entity of the message, in the order surgery, time, course, return hint, symptoms, red flags.

    Offsets point into ``text`` as given, though the finders read it normalised.
    """
    if not text or not text.strip():
        return []
    normalised = normalise(text)
    clean = normalised.text
    procedures = find_procedures(clean)
    red_flags = _red_flag_entities(find_red_flags(clean))
    entities = (
        _procedure_entities(procedures)
        + _time_entities(find_time_mentions(clean, today), clean, procedures, today)
        + _course_entities(find_pain_courses(clean))
        + _return_hint_entities(find_return_hints(clean))
        + _symptom_entities(find_symptoms(clean))
        + red_flags
    )
    if not normalised.changed:
        return entities
    for entity in entities:
        entity["start"], entity["end"] = normalised.to_original(entity["start"], entity["end"])
    return entities + _red_flags_as_typed(red_flags, text)
