"""Which intake facts a patient's message sets: the logic behind ``validate_intake_form``.

Plain functions over the message's intent and entities (see ``bot.language.entities``) and the
slots known so far, so every rule here is unit-tested without Rasa.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.clinical.engine import Facts
from bot.vocabulary import PAIN_COURSES, SURGERY_TYPES, SYMPTOMS

UNKNOWN = "unknown"  # asked, and the patient does not know
FUTURE = "future"  # a date after today: the validator asks again
RETURNED = "returned"  # the pain came back, speed not said: the validator asks how fast
RETURN_BY_SPEED = {"sudden": "relief_then_sudden_return", "gradual": "relief_then_gradual_return"}
RETURN_COURSES = frozenset({"relief_then_sudden_return", "relief_then_gradual_return"})
INTAKE_SLOTS = (
    "surgery_type",
    "weeks_since_surgery",
    "pain_course",
    "pain_return_weeks",
    "symptoms",
)
# Intents whose message may answer an intake question; side questions never fill a fact.
ANSWER_INTENTS = frozenset({"inform", "nlu_fallback", "deny", "affirm", "dont_know", "greet", "thank"})
LONGEST_PLAUSIBLE_WEEKS = 52 * 80
# Slot: how many weeks ago the pain came back, when the patient dated it from today; a
# corrected surgery date then recomputes the return time (weeks after the surgery).
RETURN_AGO = "pain_return_ago"


@dataclass(frozen=True)
class PatientMessage:
    """The parts of a parsed user message the intake needs."""

    intent: str | None
    entities: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    confidence: float = 1.0
    says_dont_know: bool = False
    """The words say "I don't know" ("not sure when it came back"), whatever else they carry."""
    body_part_pains: tuple[str, ...] = ()
    """``leg_pain`` / ``back_pain`` for body parts the message names (used at the symptom question)."""

    @property
    def unsure(self) -> bool:
        """The patient doesn't know: by the intent, or in so many words."""
        return self.intent == "dont_know" or self.says_dont_know

    def values(self, entity: str, role: str | None = None) -> list[Any]:
        """Values of one entity (and role; ``None`` = no role) in message order."""
        return [e.get("value") for e in self.entities if e.get("entity") == entity and e.get("role") == role]

    def times(self, *roles: str) -> list[float]:
        """Time values, in weeks, with any of the given roles."""
        return [float(e["value"]) for e in self.entities if e.get("entity") == "time" and e.get("role") in roles]


def needs_return_time(pain_course: Any) -> bool:
    """Only the two "relief then return" courses ask when the pain came back."""
    return pain_course in RETURN_COURSES


def required_intake_slots(slots: Mapping[str, Any]) -> list[str]:
    """The intake questions for this patient, in the order they are asked.

    A pain that came back at a speed not yet said ("fine at first, then it came back a year
    after") keeps its return time too: the form reads it now, not after the speed question.
    """
    course = slots.get("pain_course")
    returned = course == RETURNED or (course is None and bool(slots.get("pain_returned")))
    return [slot for slot in INTAKE_SLOTS if slot != "pain_return_weeks" or returned or needs_return_time(course)]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _weeks_since_surgery(message: PatientMessage, requested: str | None, slots: Mapping[str, Any]) -> Any:
    explicit = message.times("surgery")
    if explicit:
        return explicit[-1]
    if requested == "pain_return_weeks":
        return None
    # Of several past points with no subject, the earliest is the surgery (the pain came after).
    ago = message.times("ago")
    if requested == "weeks_since_surgery":
        if message.values("time_problem"):
            return FUTURE
        if ago:
            return max(ago)
        duration = message.times("duration")
        if duration:
            return duration[-1]
        return UNKNOWN if message.unsure else None
    # Not asked: a past point with no subject corrects or gives the surgery date;
    # a bare length only counts while the date is still unknown.
    if ago:
        return max(ago)
    duration = message.times("duration")
    if duration and slots.get("weeks_since_surgery") is None:
        return duration[-1]
    return None


def _pain_return_weeks(message: PatientMessage, requested: str | None, weeks_since_surgery: Any) -> Any:
    surgery_weeks = _number(weeks_since_surgery)
    after = message.times("return_after")
    ago = message.times("return_ago")
    if requested == "pain_return_weeks":
        # asked when the pain came back, "the burning started 3 weeks ago" dates the return
        after = after or message.times("duration")
        ago = ago or message.times("ago", "onset")
        if not after and not ago:
            if message.values("time_problem"):
                return FUTURE
            return UNKNOWN if message.unsure else None
    if after:
        return after[-1]
    if ago:
        # Counted from the surgery date; while that is unknown the question comes later.
        return round(surgery_weeks - ago[-1], 2) if surgery_weeks is not None else None
    return _between_loose_points(message)


def _return_ago(message: PatientMessage, requested: str | None) -> float | None:
    """How long ago the pain came back, when the message dates the return from today."""
    if message.times("return_after") or (requested == "pain_return_weeks" and message.times("duration")):
        return None
    ago = message.times("return_ago") or (message.times("ago", "onset") if requested == "pain_return_weeks" else [])
    return ago[-1] if ago else None


def _between_loose_points(message: PatientMessage) -> float | None:
    # "Surgery at Thanksgiving, fine till Valentine's": the later of two loose points is the return.
    loose = message.times("ago")
    if len(loose) >= 2 and not message.times("surgery"):
        return round(max(loose) - min(loose), 2)
    return None


def _symptoms(message: PatientMessage, requested: str | None, slots: Mapping[str, Any]) -> Any:
    affirmed = [v for v in message.values("symptom") if v in SYMPTOMS]
    denied = {v for v in message.values("symptom", "denied") if v in SYMPTOMS}
    current = slots.get("symptoms")
    known = list(current) if isinstance(current, list) else []
    if affirmed or (denied and isinstance(current, list)):
        merged = [s for s in known if s not in denied] + [s for s in affirmed if s not in known]
        return [s for s in SYMPTOMS if s in merged]
    if requested == "symptoms":
        if message.body_part_pains and not denied and not message.unsure:
            return [s for s in SYMPTOMS if s in set(known) | set(message.body_part_pains)]  # "just my lower back"
        if denied or message.intent == "deny":
            return []
        if message.unsure:
            return UNKNOWN
    return None


def _pain_course(message: PatientMessage, requested: str | None, slots: Mapping[str, Any]) -> Any:
    courses = [v for v in message.values("pain_course") if v in PAIN_COURSES]
    if courses:
        return courses[0]
    if requested == "pain_course" and message.unsure:
        return UNKNOWN
    hints = message.values("return_speed")
    if slots.get("pain_course") in RETURN_COURSES:
        return None  # "it came back in May" dates the return it already named
    if requested == "pain_course" and slots.get("pain_returned"):
        speeds = [RETURN_BY_SPEED[h] for h in hints if h in RETURN_BY_SPEED]
        if speeds:
            return speeds[0]  # "suddenly", answering "did it come back suddenly or little by little?"
    return RETURNED if RETURNED in hints else None


def intake_updates(message: PatientMessage, requested: str | None, slots: Mapping[str, Any]) -> dict[str, Any]:
    """The intake slots this message sets or corrects (absent keys: left as they are)."""
    if message.intent not in ANSWER_INTENTS:
        return {}
    updates: dict[str, Any] = {}

    surgery = [v for v in message.values("surgery_type") if v in SURGERY_TYPES]
    if surgery:
        updates["surgery_type"] = surgery[-1]
    elif requested == "surgery_type" and message.unsure:
        updates["surgery_type"] = UNKNOWN

    weeks = _weeks_since_surgery(message, requested, slots)
    if weeks is not None:
        updates["weeks_since_surgery"] = weeks

    course = _pain_course(message, requested, slots)
    if course is not None:
        updates["pain_course"] = course

    surgery_weeks = updates.get("weeks_since_surgery", slots.get("weeks_since_surgery"))
    returned = _pain_return_weeks(message, requested, surgery_weeks)
    if returned is not None:
        updates["pain_return_weeks"] = returned
        ago = _return_ago(message, requested) if isinstance(returned, float) else None
        if ago is not None or slots.get(RETURN_AGO) is not None:
            updates[RETURN_AGO] = ago
    elif "weeks_since_surgery" in updates and _number(slots.get(RETURN_AGO)) is not None:
        # A corrected surgery date moves a return that was dated from today ("2 weeks ago").
        weeks = _number(surgery_weeks)
        if weeks is not None:
            updates["pain_return_weeks"] = round(weeks - float(slots[RETURN_AGO]), 2)

    symptoms = _symptoms(message, requested, slots)
    if symptoms is not None:
        updates["symptoms"] = symptoms
    return updates


def check_weeks_since_surgery(value: Any) -> str | None:
    """Why a surgery time cannot be used (a problem key), or ``None`` when it is fine."""
    if value == UNKNOWN:
        return None
    if value == FUTURE:
        return "future"
    weeks = _number(value)
    if weeks is None or weeks < 0 or weeks > LONGEST_PLAUSIBLE_WEEKS:
        return "implausible"
    return None


def check_pain_return_weeks(value: Any, weeks_since_surgery: Any) -> str | None:
    """Why a return time cannot be used (a problem key), or ``None`` when it is fine."""
    if value == UNKNOWN:
        return None
    if value == FUTURE:
        return "future"
    weeks = _number(value)
    if weeks is None:
        return "implausible"
    if weeks < 0:
        return "before_surgery"
    surgery = _number(weeks_since_surgery)
    if surgery is not None and weeks > surgery + 0.5:
        return "after_today"
    return None


def facts_from_slots(slots: Mapping[str, Any]) -> Facts:
    """The clinical facts the engine assesses, with every "unknown" as ``None``."""
    surgery = slots.get("surgery_type")
    course = slots.get("pain_course")
    symptoms = slots.get("symptoms")
    return Facts(
        surgery_type=surgery if surgery in SURGERY_TYPES else None,
        weeks_since_surgery=_number(slots.get("weeks_since_surgery")),
        pain_course=course if course in PAIN_COURSES else None,
        pain_return_weeks=(_number(slots.get("pain_return_weeks")) if needs_return_time(course) else None),
        symptoms=frozenset(s for s in symptoms if s in SYMPTOMS) if isinstance(symptoms, list) else frozenset(),
    )


def checked_updates(message: PatientMessage, requested: str | None, slots: Mapping[str, Any]) -> dict[str, Any]:
    """The intake facts of a message handled outside the intake form (a safety question took
    its turn), with only values the form's checks would keep."""
    kept: dict[str, Any] = {}
    for slot, value in intake_updates(replace(message, intent="inform"), requested, slots).items():
        if slot == "weeks_since_surgery" and check_weeks_since_surgery(value):
            continue
        if slot == "pain_return_weeks" and check_pain_return_weeks(value, slots.get("weeks_since_surgery")):
            continue
        if slot == "pain_course" and value == RETURNED:
            kept["pain_returned"] = True
            continue
        kept[slot] = value
    return kept
