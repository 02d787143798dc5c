"""`make bench-dialogue`: simulated patients talk to the real bot over the REST channel.

Each patient is a persona of ``bench/dialogue/tuning.yml`` or ``bench/dialogue/held_out.yml``:
ground-truth facts, red flags, whether they want a consultation, an opening message and the
replies they give each time the bot asks for a fact (the ``ask`` payload's slot). The runner
starts Rasa and the action server on free ports (a temporary SQLite database,
``CLINIC_TODAY=2026-06-15``), plays every persona, scores each conversation against the ground
truth and the findings the clinic's own engine computes from it, prints the figures and writes
``bench/reports/dialogue.md``, ``dialogue.json`` and ``dialogue-failures.md``.

It is a benchmark, not a test: it exits 0 whatever the figures (non-zero only when it cannot
run at all). From the project root::

    CLINIC_MODEL=models/clinic-….tar.gz .venv/bin/python bench/dialogue.py
    .venv/bin/python bench/dialogue.py --only t012          # one persona, transcript printed
    .venv/bin/python bench/dialogue.py --split held_out --jobs 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.clinical.engine import Facts, assess  # noqa: E402
from bot.vocabulary import PAIN_COURSES, RED_FLAG_CODES, SURGERY_TYPES, SYMPTOMS  # noqa: E402

PERSONA_DIR = ROOT / "bench" / "dialogue"
SPLITS: tuple[str, ...] = ("tuning", "held_out")
REPORT_DIR = ROOT / "bench" / "reports"
TODAY = dt.date(2026, 6, 15)
MAX_TURNS = 40
#: A slot asked this many times in a row (side questions aside) counts as a loop.
LOOP_AT = 3
INTAKE_SLOTS: tuple[str, ...] = (
    "surgery_type",
    "weeks_since_surgery",
    "pain_course",
    "pain_return_weeks",
    "symptoms",
)
BOOKING_SLOTS: tuple[str, ...] = ("consent_to_schedule", "patient_name", "phone", "preferred_time")
ASK_SLOTS: tuple[str, ...] = INTAKE_SLOTS + BOOKING_SLOTS
RETURN_COURSES = frozenset({"relief_then_sudden_return", "relief_then_gradual_return"})
#: What a persona wants once the bot offers a consultation.
CONSULT_CHOICES: tuple[str, ...] = ("book", "decline", "human", "none")
#: How many times a run starts the servers again when they stop under it.
MAX_RESTARTS = 3
#: The patient walks away when one slot is asked this many times in a row.
GIVE_UP_AT = 6
#: Said when the bot asks something the persona has no reply for (recorded as an unexpected ask).
FALLBACK_REPLY = "sorry, I'm not sure what you're asking"
#: Said, in order, when the bot asks nothing and no explanation has come yet.
DEFAULT_IDLE: tuple[str, ...] = ("ok", "so what now?")
ASK_FOR_BOOKING = "I'd like to book a consultation please"
KNOWN_PAYLOADS = frozenset({"ask", "assessment", "emergency", "appointment_requested"})


class PersonaError(ValueError):
    """A persona file does not validate; the message lists every problem."""


# --------------------------------------------------------------------------------------------
# Times in the ground truth


_UNIT_WEEKS = {"d": 1 / 7, "w": 1.0, "m": 13 / 3, "y": 52.0}
_SPAN = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*([dwmy])\s*)+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([dwmy])")


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _span_weeks(text: str) -> float | None:
    """ "1y 2m" → 60.67, "6w" → 6, "10d" → 1.43 (a month is 13/3 weeks, a year 52)."""
    if not _SPAN.match(text):
        return None
    return sum(float(n) * _UNIT_WEEKS[u] for n, u in _PART.findall(text))


def surgery_weeks(value: object) -> tuple[float | None, dt.date | None]:
    """The ground truth's ``weeks_since_surgery``: a number of weeks, a span ("4m") or a date.

    Returns the weeks (rounded to 2 decimals) and the surgery date when one was given.
    """
    if value is None:
        return None, None
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, (int, float)):
        return round(float(value), 2), None
    day = _as_date(value)
    if day is not None:
        return round((TODAY - day).days / 7, 2), day
    if isinstance(value, str):
        weeks = _span_weeks(value)
        if weeks is not None:
            return round(weeks, 2), None
    raise ValueError(f"not a time: {value!r} (a number of weeks, a span like '1y 2m' or '6w', or a date)")


def return_weeks(value: object, weeks: float | None, surgery_date: dt.date | None) -> float | None:
    """The ground truth's ``pain_return_weeks``: weeks after the surgery.

    A number, a span ("2m": two months after the surgery), a date (needs a surgery date) or
    "W-<span>" ("W-1w": it came back a week ago, so one week less than weeks_since_surgery).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, (int, float)):
        return round(float(value), 2)
    day = _as_date(value)
    if day is not None:
        if surgery_date is None:
            raise ValueError("a return date needs weeks_since_surgery given as a date")
        return round((day - surgery_date).days / 7, 2)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("W-"):
            ago = _span_weeks(text[2:])
            if ago is None or weeks is None:
                raise ValueError(f"{value!r}: 'W-<span>' needs a span and a known weeks_since_surgery")
            return round(weeks - ago, 2)
        span = _span_weeks(text)
        if span is not None:
            return round(span, 2)
    raise ValueError(f"not a time: {value!r}")


# --------------------------------------------------------------------------------------------
# Personas


@dataclass(frozen=True)
class Persona:
    """One simulated patient: ground truth, and how they answer."""

    id: str
    split: str
    style: tuple[str, ...]
    surgery_type: str
    weeks_since_surgery: float | None
    pain_course: str | None
    pain_return_weeks: float | None
    symptoms: frozenset[str]
    red_flags: tuple[str, ...]
    consult: str
    opening: str
    answers: Mapping[str, tuple[str, ...]]
    interject: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    idle: tuple[str, ...] = DEFAULT_IDLE
    told: tuple[str, ...] = ()
    tolerance: Mapping[str, float] = field(default_factory=dict)
    note: str = ""

    def facts(self) -> Facts:
        """The ground truth as the engine's facts (unknowns as ``None``, as ``facts_from_slots`` does)."""
        return Facts(
            surgery_type=self.surgery_type,
            weeks_since_surgery=self.weeks_since_surgery,
            pain_course=self.pain_course,
            pain_return_weeks=self.pain_return_weeks if self.pain_course in RETURN_COURSES else None,
            symptoms=self.symptoms,
        )

    def truth_payload(self) -> dict[str, Any]:
        """The ``facts`` object the assessment payload should carry."""
        return self.facts().as_payload()

    def expected_findings(self) -> list[str]:
        """The findings the project's engine gives for the ground truth."""
        return assess(self.facts()).codes()

    def tolerance_for(self, fact: str) -> float:
        """How far a number fact may be off: the persona's own, else max(1 week, 10 %)."""
        if fact in self.tolerance:
            return float(self.tolerance[fact])
        value = getattr(self, fact)
        return max(1.0, 0.1 * value) if value is not None else 1.0

    @property
    def has_red_flag(self) -> bool:
        return bool(self.red_flags)


_PERSON = re.compile(r"\b(person|human|someone|somebody|staff|nurse|receptionist|call me)\b", re.I)
_PERSONA_KEYS = {
    "id",
    "style",
    "note",
    "truth",
    "tolerance",
    "consult",
    "opening",
    "told",
    "answers",
    "interject",
    "idle",
}
_TRUTH_KEYS = {"surgery_type", "weeks_since_surgery", "pain_course", "pain_return_weeks", "symptoms", "red_flags"}


def _replies(value: object, where: str, problems: list[str]) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            problems.append(f"{where}: every reply must be a non-empty string (quote yes/no/numbers), found {item!r}")
        else:
            out.append(item)
    if not out:
        problems.append(f"{where}: no reply")
    return tuple(out)


def parse_persona(raw: object, split: str) -> tuple[Persona | None, list[str]]:
    """One persona from its YAML mapping, and the problems found (empty when it is valid)."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        return None, [f"{split}: a persona must be a mapping, found {raw!r}"]
    pid = str(raw.get("id") or "?")
    where = f"{split}:{pid}"
    for key in set(raw) - _PERSONA_KEYS:
        problems.append(f"{where}: unknown key {key!r}")
    truth = raw.get("truth")
    if not isinstance(truth, dict):
        return None, problems + [f"{where}: 'truth' must be a mapping"]
    for key in set(truth) - _TRUTH_KEYS:
        problems.append(f"{where}.truth: unknown key {key!r}")
    for key in _TRUTH_KEYS - set(truth):
        problems.append(f"{where}.truth: missing {key!r} (null when unknown)")

    surgery = truth.get("surgery_type")
    if surgery not in SURGERY_TYPES:
        problems.append(f"{where}.truth.surgery_type: {surgery!r} is not one of {SURGERY_TYPES}")
    course = truth.get("pain_course")
    if course is not None and course not in PAIN_COURSES:
        problems.append(f"{where}.truth.pain_course: {course!r} is not one of {PAIN_COURSES} or null")
    weeks: float | None = None
    surgery_date: dt.date | None = None
    try:
        weeks, surgery_date = surgery_weeks(truth.get("weeks_since_surgery"))
    except ValueError as error:
        problems.append(f"{where}.truth.weeks_since_surgery: {error}")
    if weeks is not None and weeks < 0:
        problems.append(f"{where}.truth.weeks_since_surgery: in the future")
    returned: float | None = None
    try:
        returned = return_weeks(truth.get("pain_return_weeks"), weeks, surgery_date)
    except ValueError as error:
        problems.append(f"{where}.truth.pain_return_weeks: {error}")
    if returned is not None and course not in RETURN_COURSES:
        problems.append(f"{where}.truth.pain_return_weeks: only for the relief_then_* courses")
    if returned is not None and (returned < 0 or (weeks is not None and returned > weeks)):
        problems.append(f"{where}.truth.pain_return_weeks: {returned} is outside 0..weeks_since_surgery")
    symptoms = truth.get("symptoms")
    if not isinstance(symptoms, list) or any(s not in SYMPTOMS for s in symptoms):
        problems.append(f"{where}.truth.symptoms: a list of {SYMPTOMS}, found {symptoms!r}")
        symptoms = []
    flags = truth.get("red_flags")
    if not isinstance(flags, list) or any(f not in RED_FLAG_CODES for f in flags):
        problems.append(f"{where}.truth.red_flags: a list of {RED_FLAG_CODES}, found {flags!r}")
        flags = []

    consult = raw.get("consult")
    if consult not in CONSULT_CHOICES:
        problems.append(f"{where}.consult: one of {CONSULT_CHOICES}, found {consult!r}")
    if consult == "none" and not flags:
        problems.append(f"{where}.consult: 'none' is only for red-flag personas (the others are offered one)")
    opening = raw.get("opening")
    if not isinstance(opening, str) or not opening.strip():
        problems.append(f"{where}.opening: a non-empty string")
        opening = ""

    answers: dict[str, tuple[str, ...]] = {}
    raw_answers = raw.get("answers") or {}
    if not isinstance(raw_answers, dict):
        problems.append(f"{where}.answers: a mapping of slot to replies")
        raw_answers = {}
    for slot, replies in raw_answers.items():
        if slot == "safety_check":
            answers[slot] = _replies(replies, f"{where}.answers.{slot}", problems)
            if len(answers[slot]) != 2:
                problems.append(f"{where}.answers.safety_check: two replies, the no and the yes")
            continue
        if slot not in ASK_SLOTS:
            problems.append(f"{where}.answers: unknown slot {slot!r}")
            continue
        answers[slot] = _replies(replies, f"{where}.answers.{slot}", problems)
    needed = [s for s in INTAKE_SLOTS if s != "pain_return_weeks" or course in RETURN_COURSES]
    if consult in ("book", "decline", "human"):
        needed.append("consent_to_schedule")
    if consult in ("book", "human"):
        needed += ["patient_name", "phone"]
    if consult == "book":
        needed.append("preferred_time")
    for slot in needed:
        if slot not in answers:
            problems.append(f"{where}.answers: no reply for {slot!r}")

    interject: dict[str, tuple[str, ...]] = {}
    raw_interject = raw.get("interject") or {}
    if not isinstance(raw_interject, dict):
        problems.append(f"{where}.interject: a mapping of slot to lines")
        raw_interject = {}
    for slot, lines in raw_interject.items():
        if slot not in ASK_SLOTS:
            problems.append(f"{where}.interject: unknown slot {slot!r}")
            continue
        interject[slot] = _replies(lines, f"{where}.interject.{slot}", problems)
    if consult == "human" and not any(
        asks_for_person(line) for line in [str(opening), *(line for lines in interject.values() for line in lines)]
    ):
        problems.append(f"{where}: a 'human' persona must ask for a person in its opening or an interject line")
    idle = _replies(raw["idle"], f"{where}.idle", problems) if "idle" in raw else DEFAULT_IDLE
    told = raw.get("told") or []
    if not isinstance(told, list) or any(s not in INTAKE_SLOTS for s in told):
        problems.append(f"{where}.told: a list of intake slots, found {told!r}")
        told = []
    tolerance = raw.get("tolerance") or {}
    if not isinstance(tolerance, dict) or any(
        k not in ("weeks_since_surgery", "pain_return_weeks") or isinstance(v, bool) or not isinstance(v, (int, float))
        for k, v in tolerance.items()
    ):
        problems.append(f"{where}.tolerance: weeks_since_surgery / pain_return_weeks in weeks, found {tolerance!r}")
        tolerance = {}
    style = raw.get("style") or []
    if not isinstance(style, list) or not all(isinstance(s, str) for s in style):
        problems.append(f"{where}.style: a list of words")
        style = []
    if problems:
        return None, problems
    persona = Persona(
        id=pid,
        split=split,
        style=tuple(style),
        surgery_type=str(surgery),
        weeks_since_surgery=weeks,
        pain_course=course,
        pain_return_weeks=returned,
        symptoms=frozenset(symptoms),
        red_flags=tuple(flags),
        consult=str(consult),
        opening=str(opening),
        answers=answers,
        interject=interject,
        idle=idle,
        told=tuple(told),
        tolerance={k: float(v) for k, v in tolerance.items()},
        note=str(raw.get("note") or ""),
    )
    return persona, stability_problems(persona)


def stability_problems(persona: Persona) -> list[str]:
    """Findings must not change inside the tolerance window, or the two metrics would disagree."""
    base = persona.expected_findings()
    problems = []
    for fact in ("weeks_since_surgery", "pain_return_weeks"):
        value = getattr(persona, fact)
        if value is None or (fact == "pain_return_weeks" and persona.pain_course not in RETURN_COURSES):
            continue
        tol = persona.tolerance_for(fact)
        for probe in (max(0.0, value - tol), value + tol):
            changed = Facts(**{**_facts_kwargs(persona.facts()), fact: probe})
            if assess(changed).codes() != base:
                problems.append(
                    f"{persona.split}:{persona.id}: findings change within the {fact} tolerance "
                    f"({value} ± {tol:g} → {probe:g}); move the time off the boundary or narrow the tolerance"
                )
                break
    return problems


def _facts_kwargs(facts: Facts) -> dict[str, Any]:
    return {
        "surgery_type": facts.surgery_type,
        "weeks_since_surgery": facts.weeks_since_surgery,
        "pain_course": facts.pain_course,
        "pain_return_weeks": facts.pain_return_weeks,
        "symptoms": facts.symptoms,
    }


def persona_file(split: str) -> Path:
    return PERSONA_DIR / f"{split}.yml"


def load_split(split: str, path: Path | None = None) -> tuple[list[Persona], list[str]]:
    """The personas of one split and every problem found in its file."""
    file = path or persona_file(split)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        return [], [f"{file}: {error}"]
    if not isinstance(data, list):
        return [], [f"{file}: expected a list of personas"]
    personas: list[Persona] = []
    problems: list[str] = []
    for raw in data:
        persona, found = parse_persona(raw, split)
        problems += found
        if persona is not None:
            personas.append(persona)
    return personas, problems


def load_personas(split: str = "all") -> list[Persona]:
    """The personas of ``tuning``, ``held_out`` or ``all``; raises :class:`PersonaError` if any is invalid."""
    splits = SPLITS if split == "all" else (split,)
    if any(s not in SPLITS for s in splits):
        raise PersonaError(f"unknown split {split!r}; use tuning, held_out or all")
    personas: list[Persona] = []
    problems: list[str] = []
    for name in splits:
        found, trouble = load_split(name)
        personas += found
        problems += trouble
    seen: Counter[str] = Counter(p.id for p in personas)
    problems += [f"persona id {pid!r} is used {n} times" for pid, n in seen.items() if n > 1]
    if problems:
        raise PersonaError("\n".join(problems))
    return personas


def normalised_opening(text: str) -> str:
    """An opening line compared across splits: lower case, words only."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


# --------------------------------------------------------------------------------------------
# Playing a conversation


@dataclass
class Exchange:
    """One patient message and the bot's answer to it.

    ``role``: opening | answer (to ``slot``) | side (an interjection: side question, correction,
    request for a person) | check (the answer to a yes/no safety question) | idle (the bot asked
    nothing) | unexpected (a slot the persona has no reply for) | booking (asking for the
    consultation the bot did not offer).
    """

    patient: str
    role: str
    slot: str | None
    bot: list[dict[str, Any]]

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        return [m["custom"] for m in self.bot if isinstance(m.get("custom"), dict) and m["custom"].get("type") == kind]

    @property
    def asks(self) -> list[str]:
        return [str(p.get("slot")) for p in self.payloads("ask")]

    @property
    def ask(self) -> str | None:
        """The slot the bot waits for after this turn (the last ask of the turn)."""
        asks = self.asks
        return asks[-1] if asks else None

    @property
    def text(self) -> str:
        return "\n".join(str(m["text"]) for m in self.bot if m.get("text"))

    @property
    def is_yes_no_check(self) -> bool:
        """A yes/no question with no ``ask`` payload (the bot's safety question): Yes / No buttons."""
        titles = {str(b.get("title", "")).strip().lower() for m in self.bot for b in m.get("buttons") or []}
        return not self.asks and {"yes", "no"} <= titles

    def to_json(self) -> dict[str, Any]:
        return {"patient": self.patient, "role": self.role, "slot": self.slot, "bot": self.bot}


@dataclass
class Transcript:
    persona_id: str
    exchanges: list[Exchange] = field(default_factory=list)
    stopped: str = ""  # why the patient stopped
    error: str = ""

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        return [p for e in self.exchanges for p in e.payloads(kind)]


Send = Callable[[str], list[dict[str, Any]]]


def play(persona: Persona, send: Send, max_turns: int = MAX_TURNS) -> Transcript:
    """Talk to the bot as ``persona`` until an emergency, a saved request, the end of the flow or the cap."""
    transcript = Transcript(persona.id)
    asked: Counter[str] = Counter()
    interjected: Counter[str] = Counter()
    idle = list(persona.idle)
    message, role, slot = persona.opening, "opening", None
    asked_for_booking = False
    assessed = declined = False
    for _ in range(max_turns):
        try:
            bot = send(message)
        except Exception as error:  # a benchmark records the failure and goes on
            transcript.error = f"{type(error).__name__}: {error}"
            transcript.stopped = "error"
            return transcript
        exchange = Exchange(message, role, slot, bot)
        transcript.exchanges.append(exchange)
        if exchange.payloads("emergency"):
            transcript.stopped = "emergency"
            return transcript
        if exchange.payloads("appointment_requested"):
            transcript.stopped = "appointment requested"
            return transcript
        if exchange.payloads("assessment"):
            assessed = True
        if role == "answer" and slot == "consent_to_schedule" and persona.consult == "decline":
            declined = True
        ask = exchange.ask
        if ask is None and exchange.is_yes_no_check:
            message, role, slot = check_reply(persona, exchange.text), "check", None
            continue
        if ask is not None:
            slot = ask
            pending = persona.interject.get(ask, ())
            if interjected[ask] < len(pending):
                message, role = pending[interjected[ask]], "side"
                interjected[ask] += 1
                continue
            if run_length(transcript.exchanges, ask) >= GIVE_UP_AT:
                transcript.stopped = f"patient gave up: {ask} asked {GIVE_UP_AT} times in a row"
                return transcript
            replies = persona.answers.get(ask)
            if replies:
                message, role = replies[min(asked[ask], len(replies) - 1)], "answer"
                asked[ask] += 1
            elif persona.has_red_flag and ask == "consent_to_schedule":
                message, role = "no thanks", "unexpected"
            else:
                message, role = FALLBACK_REPLY, "unexpected"
            continue
        if declined or (assessed and persona.consult != "book"):
            transcript.stopped = "end of flow"
            return transcript
        if assessed and not asked_for_booking:
            message, role, slot, asked_for_booking = ASK_FOR_BOOKING, "booking", None, True
            continue
        if assessed or not idle:
            transcript.stopped = "end of flow" if assessed else "bot asked nothing more"
            return transcript
        message, role, slot = idle.pop(0), "idle", None
    transcript.stopped = f"turn cap ({max_turns})"
    return transcript


#: Words of a safety question that point at one red flag.
CHECK_WORDS: dict[str, re.Pattern[str]] = {
    "cauda_equina": re.compile(r"bladder|bowel|groin|between your legs|inner thigh|saddle", re.I),
    "progressive_weakness": re.compile(r"weak|foot drop|give out|giving out", re.I),
    "infection": re.compile(r"fever|chills|wound|incision", re.I),
    "blood_clot": re.compile(r"calf|chest|breath", re.I),
}


def check_reply(persona: Persona, question: str) -> str:
    """The truthful answer to a yes/no safety question: yes only if it names one of the persona's red flags.

    A question naming no red flag at all is answered yes by a red-flag persona, no by the others.
    A persona may word its answers with ``answers.safety_check: [no-reply, yes-reply]``.
    """
    named = {code for code, words in CHECK_WORDS.items() if words.search(question)}
    yes = bool(set(persona.red_flags) & named) if named else persona.has_red_flag
    no_reply, yes_reply = (persona.answers.get("safety_check") or ("no", "yes"))[:2]
    return yes_reply if yes else no_reply


# --------------------------------------------------------------------------------------------
# Scoring (pure functions over transcripts)


def ask_runs(exchanges: Sequence[Exchange]) -> list[tuple[int, str, int]]:
    """For each turn that asks for a slot: (turn index, slot, times asked in a row so far).

    A re-ask right after the patient's side line (a side question, a correction, a request for a
    person) does not lengthen the run: the patient did not answer that time. A yes/no safety
    question in between neither ends nor lengthens it: the patient answered the slot, was asked
    the safety question, then the slot again.
    """
    runs: list[tuple[int, str, int]] = []
    run, current = 0, None
    for index, exchange in enumerate(exchanges):
        ask = exchange.ask
        if ask is None:
            if not exchange.is_yes_no_check:
                run, current = 0, None
            continue
        if ask == current:
            if exchange.role != "side":
                run += 1
        else:
            run, current = 1, ask
        runs.append((index, ask, run))
    return runs


def max_asked_in_a_row(exchanges: Sequence[Exchange]) -> tuple[int, str | None]:
    """The longest run of bot turns asking for the same slot (see :func:`ask_runs`), and that slot."""
    best, best_slot = 0, None
    for _, slot, run in ask_runs(exchanges):
        if run > best:
            best, best_slot = run, slot
    return best, best_slot


def run_length(exchanges: Sequence[Exchange], slot: str) -> int:
    """How many times in a row, up to the last turn, the bot has asked for ``slot``."""
    runs = ask_runs(exchanges)
    if not runs or not exchanges or runs[-1][0] != len(exchanges) - 1 or runs[-1][1] != slot:
        return 0
    return runs[-1][2]


def _number_ok(expected: float | None, got: object, tolerance: float) -> bool:
    if expected is None:
        return got is None
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False
    return abs(float(got) - expected) <= tolerance + 1e-9


def fact_errors(persona: Persona, got: Mapping[str, Any]) -> dict[str, str]:
    """The facts of an assessment payload that do not match the ground truth, with why."""
    truth = persona.truth_payload()
    errors: dict[str, str] = {}
    if got.get("surgery_type") != truth["surgery_type"]:
        errors["surgery_type"] = f"expected {truth['surgery_type']}, got {got.get('surgery_type')}"
    for fact in ("weeks_since_surgery", "pain_return_weeks"):
        if not _number_ok(truth[fact], got.get(fact), persona.tolerance_for(fact)):
            errors[fact] = f"expected {_fmt(truth[fact])} (±{persona.tolerance_for(fact):g}), got {_fmt(got.get(fact))}"
    if got.get("pain_course") != truth["pain_course"]:
        errors["pain_course"] = f"expected {truth['pain_course']}, got {got.get('pain_course')}"
    got_symptoms = set(got.get("symptoms") or [])
    want = set(truth["symptoms"])
    if got_symptoms != want:
        parts = []
        if want - got_symptoms:
            parts.append("missed " + ", ".join(s for s in SYMPTOMS if s in want - got_symptoms))
        if got_symptoms - want:
            parts.append("added " + ", ".join(sorted(got_symptoms - want)))
        errors["symptoms"] = "; ".join(parts)
    return errors


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return "null" if value is None else str(value)


@dataclass
class Failure:
    metric: str
    kind: str
    detail: str
    at: int | None = None  # the exchange it shows at, for the excerpt


@dataclass
class Result:
    persona: Persona
    transcript: Transcript
    outcome: str
    turns: int
    max_in_a_row: int
    loop_slot: str | None
    facts: dict[str, Any] | None
    fact_errors: dict[str, str] | None
    findings: list[str] | None
    expected_findings: list[str]
    emergency: list[str]
    booking_saved: bool | None
    decline_respected: bool | None
    human_handled: bool | None
    retold: list[str]
    unexpected: list[str]
    safety_checks: int
    other_payloads: list[str]
    failures: list[Failure]

    @property
    def reached(self) -> bool:
        return self.outcome in ("assessment", "emergency")

    @property
    def facts_right(self) -> bool:
        return self.fact_errors == {}

    @property
    def findings_right(self) -> bool:
        return self.findings is not None and self.findings == self.expected_findings


def _first(exchanges: Sequence[Exchange], test: Callable[[Exchange], bool]) -> int | None:
    return next((i for i, e in enumerate(exchanges) if test(e)), None)


def score(persona: Persona, transcript: Transcript) -> Result:
    """Score one conversation against its persona."""
    ex = transcript.exchanges
    failures: list[Failure] = []
    emergencies = transcript.payloads("emergency")
    flags = sorted({str(f) for p in emergencies for f in p.get("red_flags") or []})
    assessments = transcript.payloads("assessment")
    appointment = bool(transcript.payloads("appointment_requested"))
    if transcript.error:
        outcome = "error"
    elif emergencies:
        outcome = "emergency"
    elif assessments:
        outcome = "assessment"
    else:
        outcome = "none"
    run, loop_slot = max_asked_in_a_row(ex)
    if run >= LOOP_AT and loop_slot:
        at = _last_answer(ex, loop_slot, _first_run_end(ex, loop_slot, run))
        failures.append(Failure("asked in a row", f"asked {LOOP_AT}+ times in a row: {loop_slot}", f"{run}×", at))

    facts = errors = findings = None
    if persona.has_red_flag:
        if not emergencies:
            for code in persona.red_flags:
                failures.append(Failure("red flag", f"missed red flag: {code}", f"got outcome {outcome}"))
        elif not set(persona.red_flags) & set(flags):
            failures.append(
                Failure("red flag", "emergency with another code", f"expected {persona.red_flags}, got {flags}")
            )
    else:
        if emergencies:
            at = _first(ex, lambda e: bool(e.payloads("emergency")))
            failures.append(Failure("false alarm", f"false alarm: {', '.join(flags)}", "", at))
        if not assessments and not emergencies:
            last = ex[-1] if ex else None
            where = f"last ask {last.ask}" if last and last.ask else "bot asked nothing"
            failures.append(
                Failure(
                    "explanation",
                    f"no explanation: {transcript.stopped or 'stopped'}",
                    f"{where}; {transcript.error}".strip("; "),
                    _last_answer(ex, last.ask, len(ex) - 1) if last and last.ask else len(ex) - 1,
                )
            )
        if assessments:
            last_assessment = assessments[-1]
            facts = dict(last_assessment.get("facts") or {})
            findings = [str(f) for f in last_assessment.get("findings") or []]
            errors = fact_errors(persona, facts)
            at = max(i for i, e in enumerate(ex) if e.payloads("assessment"))
            for fact, why in errors.items():
                failures.append(Failure("facts", _fact_kind(fact, why, persona, facts), why, at))
            if findings != persona.expected_findings():
                kind = "findings differ (facts right)" if not errors else "findings differ (from wrong facts)"
                failures.append(
                    Failure("findings", kind, f"expected {persona.expected_findings()}, got {findings}", at)
                )

    booking_saved = decline_respected = human_handled = None
    if not persona.has_red_flag and not emergencies:
        if persona.consult == "book":
            booking_saved = appointment
            if not appointment:
                last_ask = next((e.ask for e in reversed(ex) if e.ask), None)
                failures.append(
                    Failure(
                        "booking",
                        "booking not saved",
                        f"stopped at {last_ask or 'no question'} ({transcript.stopped})",
                        len(ex) - 1,
                    )
                )
        elif persona.consult == "decline":
            declined_at = _first(ex, lambda e: e.role == "answer" and e.slot == "consent_to_schedule")
            later = ex[declined_at:] if declined_at is not None else []
            # Scored once the patient could decline: offered, or explained (then it should have been).
            if declined_at is not None or assessments:
                decline_respected = (
                    declined_at is not None
                    and not appointment
                    and not any(e.ask in ("patient_name", "phone") for e in later)
                )
            if decline_respected is False:
                why = "never offered" if declined_at is None else "asked for name/phone after a no"
                failures.append(Failure("booking", f"decline: {why}", "", declined_at))
    if persona.consult == "human":
        request_at = _first(ex, lambda e: e.role in ("side", "opening") and asks_for_person(e.patient))
        after = ex[request_at:] if request_at is not None else []
        asked_after = {s for e in after for s in e.asks}
        human_handled = {"patient_name", "phone"} <= asked_after
        if not human_handled:
            failures.append(
                Failure(
                    "human",
                    "human call-back: name and phone not asked",
                    f"asked afterwards: {sorted(asked_after) or 'nothing'}",
                    request_at,
                )
            )

    checks = [i for i, e in enumerate(ex) if e.role == "check"]
    if checks and not persona.has_red_flag:
        first = checks[0] - 1
        failures.append(Failure("safety question", "yes/no safety question without a red flag", "", first))
    retold: list[str] = []
    for slot in persona.told:
        at = _first(ex, lambda e, s=slot: s in e.asks)  # type: ignore[misc]
        if at is not None:
            retold.append(slot)
            failures.append(Failure("re-asked", f"re-asked a fact told in the opening: {slot}", "", at))
    unexpected = sorted({e.slot for e in ex if e.role == "unexpected" and e.slot}) if not persona.has_red_flag else []
    for slot in unexpected:
        at = _first(ex, lambda e, s=slot: e.role == "unexpected" and e.slot == s)  # type: ignore[misc]
        failures.append(Failure("unexpected ask", f"asked for {slot}, which this story does not need", "", at))
    other = sorted(
        {
            str(m["custom"].get("type"))
            for e in ex
            for m in e.bot
            if isinstance(m.get("custom"), dict) and m["custom"].get("type") not in KNOWN_PAYLOADS
        }
    )
    return Result(
        persona=persona,
        transcript=transcript,
        outcome=outcome,
        turns=len(ex),
        max_in_a_row=run,
        loop_slot=loop_slot,
        facts=facts,
        fact_errors=errors,
        findings=findings,
        expected_findings=persona.expected_findings(),
        emergency=flags,
        booking_saved=booking_saved,
        decline_respected=decline_respected,
        human_handled=human_handled,
        retold=retold,
        unexpected=unexpected,
        safety_checks=len(checks),
        other_payloads=other,
        failures=failures,
    )


def asks_for_person(text: str) -> bool:
    """A line that asks for a person (how a 'human' persona's request is found in its transcript)."""
    return bool(_PERSON.search(text))


def _last_answer(exchanges: Sequence[Exchange], slot: str, until: int | None) -> int | None:
    """The last exchange up to ``until`` where the patient answered ``slot`` (else ``until``)."""
    end = len(exchanges) - 1 if until is None else until
    found = [i for i in range(end + 1) if exchanges[i].role == "answer" and exchanges[i].slot == slot]
    return found[-1] if found else until


def _first_run_end(exchanges: Sequence[Exchange], slot: str, run: int) -> int | None:
    return next((i for i, asked, n in ask_runs(exchanges) if asked == slot and n >= run), None)


def _fact_kind(fact: str, why: str, persona: Persona, got: Mapping[str, Any]) -> str:
    """A failure kind that groups like mistakes ("pain_course: improving read as no_improvement")."""
    truth = persona.truth_payload()
    if fact in ("surgery_type", "pain_course"):
        return f"{fact}: {truth[fact]} read as {got.get(fact)}"
    if fact == "symptoms":
        return f"symptoms: {why.split(';')[0].strip()}"
    value = got.get(fact)
    if truth[fact] is None:
        return f"{fact}: unknown to the patient, got a number"
    if value is None:
        return f"{fact}: given, but left null"
    return f"{fact}: off by more than the tolerance"


# --------------------------------------------------------------------------------------------
# Summaries


def rate(part: int, whole: int) -> dict[str, Any]:
    return {"n": part, "of": whole, "rate": round(part / whole, 3) if whole else None}


def red_flag_figures(results: Iterable[Result]) -> dict[str, dict[str, Any]]:
    """Recall (red-flag personas that got an emergency payload), with the right code, and false alarms."""
    results = list(results)
    flagged = [r for r in results if r.persona.has_red_flag]
    clean = [r for r in results if not r.persona.has_red_flag]
    caught = [r for r in flagged if r.emergency]
    right = [r for r in caught if set(r.persona.red_flags) & set(r.emergency)]
    alarms = [r for r in clean if r.emergency]
    return {
        "recall": rate(len(caught), len(flagged)),
        "recall_right_code": rate(len(right), len(flagged)),
        "false_alarms": rate(len(alarms), len(clean)),
    }


def summarise(results: Sequence[Result]) -> dict[str, Any]:
    """The figures for one group of conversations."""
    clean = [r for r in results if not r.persona.has_red_flag]
    assessed = [r for r in clean if r.facts is not None]
    per_fact = {
        fact: rate(sum(1 for r in assessed if fact not in (r.fact_errors or {})), len(assessed))
        for fact in INTAKE_SLOTS
    }
    book = [r for r in results if r.booking_saved is not None]
    decline = [r for r in results if r.decline_respected is not None]
    human = [r for r in results if r.human_handled is not None]
    runs = [r.max_in_a_row for r in results]
    told = [r for r in results if r.persona.told]
    return {
        "conversations": len(results),
        "errors": sum(1 for r in results if r.outcome == "error"),
        "reached_explanation_or_emergency": rate(sum(1 for r in results if r.reached), len(results)),
        "explanation_reached": rate(sum(1 for r in clean if r.outcome == "assessment"), len(clean)),
        "facts_all_right": rate(sum(1 for r in clean if r.facts is not None and r.facts_right), len(clean)),
        "facts_all_right_when_explained": rate(sum(1 for r in assessed if r.facts_right), len(assessed)),
        "per_fact_when_explained": per_fact,
        "findings_as_expected": rate(sum(1 for r in clean if r.findings_right), len(clean)),
        "max_asked_in_a_row_mean": round(statistics.fmean(runs), 2) if runs else None,
        "max_asked_in_a_row_max": max(runs) if runs else None,
        "looping_conversations": rate(sum(1 for n in runs if n >= LOOP_AT), len(runs)),
        **red_flag_figures(results),
        "booking_saved": rate(sum(1 for r in book if r.booking_saved), len(book)),
        "decline_respected": rate(sum(1 for r in decline if r.decline_respected), len(decline)),
        "human_callback_asked_name_and_phone": rate(sum(1 for r in human if r.human_handled), len(human)),
        "re_asked_a_told_fact": rate(sum(1 for r in told if r.retold), len(told)),
        "safety_question_without_red_flag": rate(sum(1 for r in clean if r.safety_checks), len(clean)),
        "turns_median": statistics.median([r.turns for r in results]) if results else None,
        "all_metrics_passed": rate(sum(1 for r in results if not r.failures), len(results)),
    }


def failure_kinds(results: Iterable[Result]) -> list[tuple[str, int, Result, Failure]]:
    """Failure kinds, most common first: the number of conversations, and an example.

    The example is the first tuning conversation with that kind (held-out ones only when no
    tuning conversation has it): the held-out conversations are not for reading while tuning.
    """
    counts: Counter[str] = Counter()
    example: dict[str, tuple[Result, Failure]] = {}
    for result in results:
        for kind in {f.kind for f in result.failures}:
            counts[kind] += 1
            held_out_example = kind in example and example[kind][0].persona.split != "tuning"
            if kind not in example or (held_out_example and result.persona.split == "tuning"):
                example[kind] = (result, next(f for f in result.failures if f.kind == kind))
    return [(kind, n, *example[kind]) for kind, n in counts.most_common()]


# --------------------------------------------------------------------------------------------
# Reports


def _short(text: str, limit: int = 180) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def render_exchange(exchange: Exchange, limit: int = 180) -> list[str]:
    lines = [f"> {exchange.patient}" + ("" if exchange.role in ("answer", "opening") else f"   [{exchange.role}]")]
    for message in exchange.bot:
        if message.get("text"):
            lines.append(f"  BOT: {_short(str(message['text']), limit)}")
        if message.get("buttons"):
            lines.append(f"  BUTTONS: {[b.get('title') for b in message['buttons']]}")
        if isinstance(message.get("custom"), dict):
            lines.append(f"  CUSTOM: {json.dumps(message['custom'], ensure_ascii=False)}")
    return lines


def excerpt(transcript: Transcript, at: int | None, before: int = 2, after: int = 0, limit: int = 140) -> str:
    ex = transcript.exchanges
    if not ex:
        return "(no exchange)"
    end = len(ex) - 1 if at is None else min(at, len(ex) - 1)
    lines = []
    for exchange in ex[max(0, end - before) : end + after + 1]:
        lines += render_exchange(exchange, limit)
    return "\n".join(lines)


def _pct(figure: Mapping[str, Any]) -> str:
    if not figure["of"]:
        return "n/a"
    return f"{100 * figure['n'] / figure['of']:.1f}% ({figure['n']}/{figure['of']})"


ROWS: tuple[tuple[str, str], ...] = (
    ("reached_explanation_or_emergency", "reached an explanation or an emergency"),
    ("explanation_reached", "explanation reached (personas without red flag)"),
    ("facts_all_right", "all five facts right (of personas without red flag)"),
    ("facts_all_right_when_explained", "all five facts right, when explained"),
    ("findings_as_expected", "findings = expected (of personas without red flag)"),
    ("looping_conversations", f"a slot asked {LOOP_AT}+ times in a row"),
    ("recall", "red-flag recall (emergency payload)"),
    ("recall_right_code", "red-flag recall with the right code"),
    ("false_alarms", "false alarms (emergency without red flag)"),
    ("booking_saved", "booking saved (personas who want one)"),
    ("decline_respected", "a 'no thanks' respected"),
    ("human_callback_asked_name_and_phone", "asked for a person: name and phone then asked"),
    ("re_asked_a_told_fact", "re-asked a fact the opening told"),
    ("safety_question_without_red_flag", "yes/no safety question asked without a red flag"),
    ("all_metrics_passed", "conversations with no failure at all"),
)


def summary_table(groups: Mapping[str, Mapping[str, Any]]) -> list[str]:
    names = list(groups)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines.append("| conversations | " + " | ".join(str(groups[n]["conversations"]) for n in names) + " |")
    for key, label in ROWS:
        lines.append(f"| {label} | " + " | ".join(_pct(groups[n][key]) for n in names) + " |")
    for fact in INTAKE_SLOTS:
        lines.append(
            f"| {fact} right, when explained | "
            + " | ".join(_pct(groups[n]["per_fact_when_explained"][fact]) for n in names)
            + " |"
        )
    lines.append(
        "| max times one slot asked in a row: mean / worst | "
        + " | ".join(f"{groups[n]['max_asked_in_a_row_mean']} / {groups[n]['max_asked_in_a_row_max']}" for n in names)
        + " |"
    )
    lines.append("| median turns | " + " | ".join(str(groups[n]["turns_median"]) for n in names) + " |")
    lines.append("| conversations that hit an error | " + " | ".join(str(groups[n]["errors"]) for n in names) + " |")
    return lines


def render_report(meta: Mapping[str, Any], groups: Mapping[str, Mapping[str, Any]], results: Sequence[Result]) -> str:
    lines = [
        "# Dialogue benchmark (`make bench-dialogue`)",
        "",
        f"Run on {meta['date']} with `{meta['model']}`, `CLINIC_TODAY={meta['clinic_today']}`, "
        f"{meta['personas']} simulated patients ({meta['scope']}), {meta['seconds']:.0f} s.",
        "Personas: `bench/dialogue/tuning.yml` and `bench/dialogue/held_out.yml` (never tuned on). "
        "Expected findings come from `bot.clinical.engine.assess` over each persona's ground truth. "
        "See [bench/README.md](../README.md#dialogue-benchmark-make-bench-dialogue).",
        "",
        *summary_table(groups),
        "",
        "## Most common failure kinds",
        "",
        "Conversations with each kind (a conversation may have several); the full list with "
        "transcripts is in [dialogue-failures.md](dialogue-failures.md).",
        "",
        "| # | kind | conversations | example |",
        "|---|---|---|---|",
    ]
    for i, (kind, n, result, failure) in enumerate(failure_kinds(results)[:25], 1):
        said = _example_line(result, failure)
        lines.append(f"| {i} | {_cell(kind)} | {n} | {result.persona.id}: {_cell(said)} |")
    lines.append("")
    return "\n".join(lines)


def _example_line(result: Result, failure: Failure) -> str:
    ex = result.transcript.exchanges
    said = ""
    if failure.at is not None and 0 <= failure.at < len(ex):
        said = f'"{_short(ex[failure.at].patient, 90)}"'
    return " ".join(part for part in (said, failure.detail) if part)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_failures(meta: Mapping[str, Any], results: Sequence[Result]) -> str:
    failing = [r for r in results if r.failures]
    tuning = [r for r in failing if r.persona.split == "tuning"]
    held_out = [r for r in failing if r.persona.split != "tuning"]
    lines = [
        "# Dialogue benchmark: failing conversations",
        "",
        f"Run on {meta['date']} with `{meta['model']}`: {len(failing)} of {len(results)} conversations "
        "have at least one failure.",
        "",
        "Tuning conversations come with what failed and the transcript (`[side]` marks a side line, `[idle]` "
        "a line said when the bot asked nothing). Held-out ones are listed at the end by id and failure "
        "only: they are never tuned on (their transcripts are in `dialogue.json`, for auditing the benchmark).",
        "",
    ]
    for result in tuning:
        persona = result.persona
        lines += [
            f"## {persona.id} ({', '.join(persona.style) or 'no style'})",
            "",
            f"- truth: `{json.dumps(persona.truth_payload())}`"
            + (f", red flags `{list(persona.red_flags)}`" if persona.red_flags else "")
            + f", consult: {persona.consult}",
            f"- expected findings: `{result.expected_findings}`; got `{result.findings}`; outcome {result.outcome}"
            + (f" `{result.emergency}`" if result.emergency else "")
            + f"; stopped: {result.transcript.stopped}",
        ]
        for failure in result.failures:
            lines.append(f"- **{failure.metric}**: {failure.kind}" + (f" — {failure.detail}" if failure.detail else ""))
        lines += ["", "```text", *[line for e in result.transcript.exchanges for line in render_exchange(e)], "```", ""]
    if held_out:
        lines += ["## Held-out (figures only: do not tune on these)", "", "| persona | failures |", "|---|---|"]
        for result in held_out:
            kinds = "; ".join(sorted({f"{f.metric}: {f.kind}" for f in result.failures}))
            lines.append(f"| {result.persona.id} | {_cell(kinds)} |")
        lines.append("")
    return "\n".join(lines)


def result_json(result: Result) -> dict[str, Any]:
    return {
        "id": result.persona.id,
        "split": result.persona.split,
        "style": list(result.persona.style),
        "outcome": result.outcome,
        "stopped": result.transcript.stopped,
        "turns": result.turns,
        "max_asked_in_a_row": result.max_in_a_row,
        "loop_slot": result.loop_slot,
        "truth": result.persona.truth_payload(),
        "red_flags": list(result.persona.red_flags),
        "facts": result.facts,
        "fact_errors": result.fact_errors,
        "expected_findings": result.expected_findings,
        "findings": result.findings,
        "emergency": result.emergency,
        "booking_saved": result.booking_saved,
        "decline_respected": result.decline_respected,
        "human_handled": result.human_handled,
        "safety_checks": result.safety_checks,
        "other_payloads": result.other_payloads,
        "failures": [{"metric": f.metric, "kind": f.kind, "detail": f.detail} for f in result.failures],
        "transcript": [e.to_json() for e in result.transcript.exchanges],
    }


def report_json(
    meta: Mapping[str, Any], groups: Mapping[str, Any], kinds: list[dict[str, Any]], results: Sequence[Result]
) -> str:
    """The JSON report: the figures indented, then one line per conversation (smaller, and diffs by persona)."""
    head = json.dumps({**meta, "summary": groups, "failure_kinds": kinds}, indent=1, ensure_ascii=False)
    lines = ",\n".join(json.dumps(result_json(r), ensure_ascii=False, separators=(",", ":")) for r in results)
    return head[: head.rindex("}")].rstrip() + ',\n "conversations": [\n' + lines + "\n ]\n}\n"


def print_summary(groups: Mapping[str, Mapping[str, Any]], results: Sequence[Result], top: int = 15) -> None:
    print()
    print("\n".join(summary_table(groups)))
    kinds = failure_kinds(results)
    if kinds:
        print(f"\nMost common failure kinds (of {len(kinds)}):")
        for kind, n, result, failure in kinds[:top]:
            print(f"  {n:4d}  {kind}   e.g. {result.persona.id}: {_example_line(result, failure)}")


# --------------------------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_model(named: str | None) -> Path:
    """``--model``, else ``CLINIC_MODEL``, else the newest ``models/clinic-*.tar.gz``."""
    chosen = named or os.environ.get("CLINIC_MODEL")
    if chosen:
        path = Path(chosen)
        return path if path.is_absolute() else ROOT / path
    models = sorted((ROOT / "models").glob("clinic-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit("No trained model: run 'make train', or pass --model / CLINIC_MODEL.")
    return models[-1]


@dataclass
class Servers:
    rasa_url: str
    actions_url: str
    database_url: str
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]

    def healthy(self) -> bool:
        """Both servers still running and answering."""
        import requests

        if any(process.poll() is not None for process in self.processes):
            return False
        try:
            return all(
                requests.get(url, timeout=5).status_code == 200 for url in (f"{self.actions_url}/health", self.rasa_url)
            )
        except requests.RequestException:
            return False

    def send(self, sender: str, message: str) -> list[dict[str, Any]]:
        import requests

        response = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=120
        )
        response.raise_for_status()
        answer: list[dict[str, Any]] = response.json()
        return answer

    def saved(self, public_id: str) -> bool:
        """Whether a consultation request with this id is in the database."""
        from bot.storage import repository
        from bot.storage.db import make_engine, session_factory

        engine = make_engine(self.database_url)
        try:
            with session_factory(engine)() as session:
                return repository.get_appointment_by_public_id(session, public_id) is not None
        finally:
            engine.dispose()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(
            f"--- {log}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for log in self.logs
            if log.exists()
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a server exited with {process.returncode} before {url} answered")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def start_servers(model: Path, work_dir: Path, round_: int = 1) -> Servers:
    """Rasa and the action server on free ports, on a fresh SQLite file, with CLINIC_TODAY fixed."""
    from bot.run import server_commands, server_environment
    from bot.settings import load_settings

    rasa_port, actions_port = free_port(), free_port()
    database_url = f"sqlite:///{work_dir / 'clinic.sqlite3'}"
    env = dict(os.environ)
    env.update(
        CLINIC_TODAY=TODAY.isoformat(),
        DATABASE_URL=database_url,
        RASA_PORT=str(rasa_port),
        ACTIONS_PORT=str(actions_port),
        PUBLIC_URL=f"http://127.0.0.1:{rasa_port}",
    )
    env = server_environment(load_settings(env), env)
    commands = server_commands(load_settings(env), str(model))
    servers = Servers(f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{actions_port}", database_url, [], [])
    try:
        for name in ("actions", "rasa"):
            log = work_dir / (f"{name}.log" if round_ == 1 else f"{name}-{round_}.log")
            servers.logs.append(log)
            with log.open("wb") as out:
                servers.processes.append(
                    subprocess.Popen(commands[name], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
                )
        _wait_for(f"{servers.actions_url}/health", servers.processes[0], 120)
        _wait_for(f"{servers.rasa_url}/", servers.processes[1], 300)
    except Exception as error:
        tail = servers.tail()
        servers.stop()
        raise SystemExit(f"Could not start the servers: {error}\n{tail}") from error
    return servers


# --------------------------------------------------------------------------------------------
# Main


def run_all(personas: Sequence[Persona], servers: Servers, jobs: int) -> tuple[list[Result], set[str]]:
    """Play the personas; also the ids of conversations that may have run while a server was down.

    A watcher checks both servers every 2 s. Rasa answers even when the action server is gone
    (with the actions' events lost), so a conversation that was under way when a check failed is
    suspect, not only one that got an HTTP error.
    """
    down = threading.Event()
    finished = threading.Event()
    suspect: set[str] = set()
    running: set[str] = set()
    lock = threading.Lock()

    def watch() -> None:
        while not finished.wait(2):
            if not servers.healthy():
                with lock:
                    suspect.update(running)
                down.set()
                return

    def one(persona: Persona) -> Result:
        with lock:
            if down.is_set():
                suspect.add(persona.id)
            running.add(persona.id)
        sender = f"bench-{persona.id}-{uuid.uuid4().hex[:8]}"
        transcript = play(persona, lambda text: servers.send(sender, text))
        with lock:
            running.discard(persona.id)
            if down.is_set():
                suspect.add(persona.id)
        result = score(persona, transcript)
        for payload in transcript.payloads("appointment_requested"):
            request_id = str(payload.get("request_id") or "")
            try:
                saved = bool(request_id) and servers.saved(request_id)
            except Exception as error:  # the payload alone still counts
                saved, request_id = True, f"{request_id} (not checked: {type(error).__name__})"
            if not saved:
                result.failures.append(Failure("booking", "request id not in the database", request_id))
        mark = "ok " if not result.failures else "FAIL"
        print(
            f"  {mark} {persona.id:<8} {result.outcome:<10} {result.turns:>2} turns  "
            + "; ".join(sorted({f.kind for f in result.failures}))[:150],
            flush=True,
        )
        return result

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            results = list(pool.map(one, personas))
    finally:
        finished.set()
        watcher.join()
    return results, suspect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("all", *SPLITS), default="all")
    parser.add_argument("--only", action="append", metavar="ID", help="play only this persona (repeatable)")
    parser.add_argument("--model", help="the trained model (default: CLINIC_MODEL, else the newest in models/)")
    parser.add_argument("--jobs", type=int, default=4, help="conversations at the same time (default 4)")
    parser.add_argument("--write", action="store_true", help="write the reports even for a subset (--only / --split)")
    parser.add_argument("--transcripts", action="store_true", help="print every transcript (default with --only)")
    args = parser.parse_args(argv)

    try:
        personas = load_personas(args.split)
    except PersonaError as error:
        print(f"The personas do not validate:\n{error}", file=sys.stderr)
        return 2
    if args.only:
        wanted = set(args.only)
        personas = [p for p in personas if p.id in wanted]
        missing = wanted - {p.id for p in personas}
        if missing:
            print(f"No persona {sorted(missing)} in split {args.split!r}.", file=sys.stderr)
            return 2
    model = find_model(args.model)
    if not model.exists():
        print(f"No model at {model}.", file=sys.stderr)
        return 2
    full = args.split == "all" and not args.only
    scope = "all" if full else (f"only {', '.join(args.only)}" if args.only else f"split {args.split}")
    shown = model.relative_to(ROOT) if model.is_relative_to(ROOT) else model
    print(f"Dialogue benchmark: {len(personas)} personas ({scope}), model {shown}")
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="bench-dialogue-"))
    print(f"Starting Rasa and the action server (database and logs in {work}) …", flush=True)
    servers = start_servers(model, work)
    by_id: dict[str, Result] = {}
    restarts = 0
    try:
        print(f"Up after {time.monotonic() - started:.0f} s; playing.", flush=True)
        pending = list(personas)
        while pending:
            batch, suspect = run_all(pending, servers, args.jobs)
            for result in batch:
                by_id[result.persona.id] = result
            pending = [p for p in personas if by_id[p.id].outcome == "error" or p.id in suspect]
            if not pending or (not suspect and servers.healthy()) or restarts >= MAX_RESTARTS:
                break
            # A server stopped under us (killed, crashed): start again and replay what it broke.
            restarts += 1
            print(f"\nA server stopped; restarting it and replaying {len(pending)} conversations.", flush=True)
            servers.stop()
            servers = start_servers(model, work, restarts + 1)
    finally:
        servers.stop()
    results = [by_id[p.id] for p in personas]
    seconds = time.monotonic() - started
    errors = sum(1 for r in results if r.outcome == "error")
    if errors > len(results) // 10:
        print(servers.tail(80), file=sys.stderr)
        print(
            f"\nThe run is not usable: {errors} conversations hit an error (servers restarted {restarts} times). "
            f"No report written; the logs are kept in {work}.",
            file=sys.stderr,
        )
        return 1
    shutil.rmtree(work, ignore_errors=True)
    groups: dict[str, dict[str, Any]] = {"all": summarise(results)}
    for split in SPLITS:
        part = [r for r in results if r.persona.split == split]
        if part:
            groups[split] = summarise(part)
    if args.transcripts or args.only:
        for result in results:
            print(f"\n=== {result.persona.id}: {result.outcome}, stopped: {result.transcript.stopped}")
            print("\n".join(line for e in result.transcript.exchanges for line in render_exchange(e, 400)))
            for failure in result.failures:
                print(f"  ✗ {failure.metric}: {failure.kind} {failure.detail}")
    print_summary(groups, results)
    meta = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "model": str(shown),
        "clinic_today": TODAY.isoformat(),
        "personas": len(personas),
        "scope": scope,
        "seconds": seconds,
        "server_restarts": restarts,
    }
    if full or args.write:
        REPORT_DIR.mkdir(parents=True, exist_ok=True)
        (REPORT_DIR / "dialogue.md").write_text(render_report(meta, groups, results), encoding="utf-8")
        (REPORT_DIR / "dialogue-failures.md").write_text(render_failures(meta, results), encoding="utf-8")
        kinds = [{"kind": k, "conversations": n, "example": r.persona.id} for k, n, r, _ in failure_kinds(results)]
        (REPORT_DIR / "dialogue.json").write_text(report_json(meta, groups, kinds, results), encoding="utf-8")
        names = ("dialogue.md", "dialogue.json", "dialogue-failures.md")
        print("\nWrote " + ", ".join(str((REPORT_DIR / n).relative_to(ROOT)) for n in names))
    else:
        print("\n(A subset: no report written; add --write to write one.)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
