"""Conversation repair: no question is asked more than three times in a row.

Every form question (intake, consultation request, call-back request) goes through the same
three steps when the patient's answer can't be used:

1. ``hint``: the question again, saying what kind of answer would help for *that* question
   (the ``utter_ask_<slot>`` variation with the condition ``repair_step: hint`` in ``domain.yml``);
2. ``choices``: the question as choices: quick replies on the web, a numbered menu by SMS
   ("Reply 1 …, 2 …, 0 if you're not sure"), read back by :func:`chosen_text`;
3. give up: the fact is recorded as not known (:data:`GIVE_UP`), the patient is told so kindly
   (``utter_gave_up_<slot>``) and the form goes on.

An answer that sets any fact, "I don't know" included, ends the repair. Plain functions here;
``actions/repair.py`` applies them in both form validators.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

REPAIR_STEP = "repair_step"  # slot: None, "hint" or "choices" for the slot in REPAIR_SLOT
REPAIR_SLOT = "repair_slot"  # slot: which question the repair step belongs to
HINT = "hint"
CHOICES = "choices"
STEPS = (None, HINT, CHOICES)

UNKNOWN = "unknown"
NAME_NOT_GIVEN = "(name not given)"
ANY_TIME = "any time"
#: What each question records when the patient could not answer it three times.
#: ``phone`` by SMS takes the number the patient texts from instead (see ``actions/repair.py``).
GIVE_UP: dict[str, Any] = {
    "surgery_type": UNKNOWN,
    "weeks_since_surgery": UNKNOWN,
    "pain_course": UNKNOWN,
    "pain_return_weeks": UNKNOWN,
    "symptoms": UNKNOWN,
    "consent_to_schedule": False,
    "patient_name": NAME_NOT_GIVEN,
    "phone": UNKNOWN,
    "preferred_time": ANY_TIME,
}

#: The words of the last offered choice, "not sure" (number 0 by SMS), and of "none of these".
NOT_SURE_WORDS = "I'm not sure"
NONE_WORDS = "None of these"

# Intents that are never an attempt at the question: rules answer them (red flags, start over,
# asking for a person or a visit) and the question comes back after.
NOT_AN_ATTEMPT = frozenset(
    {"report_red_flag", "possible_red_flag", "start_over", "request_human", "request_appointment"}
)
# Side questions, unless the classifier is unsure ("call me anytime" read as goodbye).
# "out_of_scope" is not one: inside a question, "banana" is an answer the bot can't use.
SIDE_INTENTS = frozenset(
    {
        "ask_billing",
        "ask_medication",
        "ask_surgeon_quality",
        "bot_challenge",
        "ask_capabilities",
        "goodbye",
    }
)
SIDE_INTENT_CONFIDENCE = 0.8
#: The answer to each side question (the responses data/rules/side_questions.yml gives).
SIDE_ANSWERS = {
    "ask_billing": "utter_billing",
    "ask_medication": "utter_medication",
    "ask_surgeon_quality": "utter_surgeon_quality",
    "bot_challenge": "utter_bot_challenge",
    "ask_capabilities": "utter_capabilities",
}


@dataclass(frozen=True)
class RepairState:
    """Where the repair of the current question stands."""

    slot: str | None = None
    step: str | None = None

    @classmethod
    def from_slots(cls, slots: Mapping[str, Any]) -> RepairState:
        """Read the state kept in the tracker's slots (unknown values count as no repair)."""
        step = slots.get(REPAIR_STEP)
        return cls(slots.get(REPAIR_SLOT), step if step in STEPS else None)

    def for_question(self, requested: str | None) -> str | None:
        """The step reached for this question (another question's repair does not count)."""
        return self.step if requested and self.slot == requested else None


@dataclass(frozen=True)
class RepairDecision:
    """What a message does to the repair of the question it answers."""

    step: str | None
    """The step the question is asked at next (``None``: ordinary wording)."""
    gave_up: str | None = None
    """The slot recorded as not known because of this message, if any."""

    def slot_updates(self, requested: str | None) -> dict[str, Any]:
        """The repair slots to set after this message."""
        if self.step is None:
            return {REPAIR_STEP: None, REPAIR_SLOT: None}
        return {REPAIR_STEP: self.step, REPAIR_SLOT: requested}


# While the patient gives a name and a number for a call, "call me anytime" or "have someone
# call me" (read as asking for a person) is part of the answer, not a new request.
CONTACT_INTERRUPTIONS = NOT_AN_ATTEMPT - {"request_human", "request_appointment"}


def is_attempt(intent: str | None, confidence: float, interruptions: frozenset[str] = NOT_AN_ATTEMPT) -> bool:
    """Whether a message with this intent was meant as the answer to the question asked."""
    if intent in interruptions:
        return False
    return not (intent in SIDE_INTENTS and confidence >= SIDE_INTENT_CONFIDENCE)


def decide(
    requested: str | None, state: RepairState, progressed: bool, attempted: bool, asked: int = 1
) -> RepairDecision:
    """The next repair step for ``requested`` after one message.

    ``progressed``: the message set some fact (the asked one or another). ``attempted``: it was
    meant as an answer (see :func:`is_attempt`); a side question leaves the repair where it was,
    but never past the count: ``asked`` is how many times the question has been asked in a row
    (:func:`times_asked_in_a_row`), so the third time is the choices and the fourth never comes.
    """
    current = state.for_question(requested)
    if requested is None or progressed:
        return RepairDecision(None)
    step = STEPS.index(current) + (1 if attempted else 0)
    step = max(step, min(asked, len(STEPS)) if asked >= 2 else 0)
    if step >= len(STEPS):
        return RepairDecision(None, gave_up=requested)
    return RepairDecision(STEPS[step])


ASK_PAYLOAD = "ask"  # the custom payload {"type": "ask", "slot": …} every form question carries
_RUN_BREAKERS = frozenset({"session_started", "restart", "action_reverted", "rewind"})


def times_asked_in_a_row(events: Sequence[Mapping[str, Any]], slot: str | None) -> int:
    """How many times ``slot`` has been asked since another question, or since it got a value."""
    if not slot:
        return 0
    count = 0
    for event in reversed(events):
        kind = event.get("event")
        if kind in _RUN_BREAKERS:
            break
        if kind == "slot" and event.get("name") == slot and event.get("value") is not None:
            break
        if kind != "bot":
            continue
        custom = (event.get("data") or {}).get("custom")
        if isinstance(custom, Mapping) and custom.get("type") == ASK_PAYLOAD:
            if custom.get("slot") != slot:
                break
            count += 1
    return count


def give_up_value(slot: str) -> Any:
    """What ``slot`` records when the patient could not answer it."""
    return GIVE_UP.get(slot, UNKNOWN)


_NUMBERS = re.compile(
    r"^\s*(?:(?:option|number|no\.?|#)\s*)?(\d)(?:(?:\s*[,&+/]\s*|\s+(?:and|n)\s+|\s+)(\d))*\s*[.!)]?\s*$",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")
NOT_SURE_CHOICE = 0


_NUMBER_WORDS = {
    word: str(n)
    for n, words in enumerate(
        [
            ("zero",),
            ("one", "first", "1st"),
            ("two", "second", "2nd"),
            ("three", "third", "3rd"),
            ("four", "fourth", "4th"),
            ("five", "fifth", "5th"),
            ("six", "sixth", "6th"),
            ("seven", "seventh", "7th"),
            ("eight", "eighth", "8th"),
            ("nine", "ninth", "9th"),
        ]
    )
    for word in words
}
_ORDINAL_NOISE = re.compile(r"\b(?:the|it's|its|it is|choice|answer|please)\b", re.IGNORECASE)
_THE_NTH_ONE = re.compile(r"\b(\w+)\s+one\b", re.IGNORECASE)  # "the 2nd one" -> "the 2nd"
_NUMBER_WORD = re.compile(r"\b(" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def chosen_numbers(text: str) -> list[int] | None:
    """The menu numbers of a reply like "2", "#3", "1 and 6", "1,3,7", "the 2nd one", "two";
    ``None`` for other text."""
    text = text or ""
    if not _NUMBERS.match(text):
        # "two", "the 2nd one", "option two": number words, once the filler around them is gone
        words = _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(1).lower()], _THE_NTH_ONE.sub(r"\1", text))
        if not _NUMBERS.match(words):
            words = _ORDINAL_NOISE.sub(" ", words)
        if not words.strip() or not _NUMBERS.match(words):
            return None
        text = words
    return [int(d) for d in _DIGIT.findall(text)]


def chosen_intent(words: str) -> str:
    """The intent a chosen answer stands for: "not sure", "none of these", or a fact."""
    if words == NOT_SURE_WORDS:
        return "dont_know"
    return "deny" if words == NONE_WORDS else "inform"


def chosen_text(text: str, buttons: Sequence[Mapping[str, Any]]) -> str | None:
    """The words of the offered choices a numbered reply picks, or ``None``.

    Choices are numbered 1, 2, … in order; the last one (always "not sure") is 0. Several
    numbers pick several choices (the symptoms question); a number with no choice is ``None``.
    """
    numbers = chosen_numbers(text)
    if not numbers or not buttons:
        return None
    words = [str(b.get("payload") or b.get("title") or "") for b in buttons]
    picked: list[str] = []
    for number in dict.fromkeys(numbers):
        index = len(words) - 1 if number == NOT_SURE_CHOICE else number - 1
        if not 0 <= index < len(words) or (number != NOT_SURE_CHOICE and index == len(words) - 1):
            return None
        picked.append(words[index])
    return ", ".join(picked)


#: Questions whose choices may also be picked in words ("the sudden one", "fusion I think"):
#: one answer each. (Symptoms are read by the symptom lexicon; yes/no by ``bot.dialogue.answers``.)
WORD_CHOICE_SLOTS = frozenset({"surgery_type", "pain_course"})
_NEGATORS = frozenset({"no", "not", "never", "nope", "nothing", "none", "neither", "nor"})
_FILLER = frozenset(
    "a an the one it i i'm im my me was is its it's it'd that this think guess maybe probably "
    "option choice answer please to of and or so well um uh like just really pretty kinda sort "
    "would say said be been then as at all by than in on for with from up down before after since "
    "surgery op operation pain".split()
)


def _choice_words(text: str) -> list[str]:
    words = re.findall(r"[a-z']+", (text or "").lower().replace("\u2019", "'"))
    return ["no" if w in _NEGATORS or w.endswith("n't") else w for w in words if w not in _FILLER]


def _same_word(said: str, offered: str) -> bool:
    if said == offered:
        return True
    if min(len(said), len(offered)) >= 4 and (offered.startswith(said) or said.startswith(offered)):
        return True  # "sudden" / "suddenly", "gradual" / "gradually"
    return min(len(said), len(offered)) >= 5 and fuzz.ratio(said, offered) >= 85  # "fussion"


def chosen_by_words(text: str, buttons: Sequence[Mapping[str, Any]]) -> str | None:
    """The one offered choice the patient's words pick ("the sudden one"), or ``None``.

    A choice is picked when it shares more of the patient's words than any other choice, and at
    least half of them (words every question shares, like "pain" or "surgery", don't count). A
    "not" / "no" in the words only picks a choice that says "no" or "not" too, so a negation
    never lands on the choice it denies ("not getting better" is not "Slowly getting better").
    """
    said = _choice_words(text)
    if not said or len(said) > 8:
        return None
    titles = [str(b.get("payload") or b.get("title") or "") for b in buttons]
    negated = "no" in said
    scores = []
    for title in titles:
        offered = _choice_words(title)
        if negated and "no" not in offered:
            scores.append(0)
            continue
        scores.append(sum(1 for w in said if any(_same_word(w, o) for o in offered)))
    best = max(scores, default=0)
    if best == 0 or scores.count(best) > 1 or 2 * best < len(said):
        return None
    return titles[scores.index(best)]


def choice_answer(text: str, buttons: Sequence[Mapping[str, Any]], requested: str | None, answers: bool) -> str | None:
    """The words of the offered choice a reply picks, by number or (for one-answer questions
    whose reply says nothing the lexicons can use: ``answers`` is false) in words."""
    chosen = chosen_text(text, buttons)
    if chosen is None and requested in WORD_CHOICE_SLOTS and not answers:
        chosen = chosen_by_words(text, buttons)
    return chosen


def offered_buttons(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The buttons of the bot's last message before the latest user message (``[]`` if none)."""
    seen_user = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if seen_user:
                return []
            seen_user = True
            continue
        if seen_user and kind == "bot":
            buttons = (event.get("data") or {}).get("buttons")
            if buttons:
                return [b for b in buttons if isinstance(b, Mapping)]
    return []
