"""Score the answers the intake reads on the held-out corpus (``corpus/held_out_answers.yml``).

Run ``.venv/bin/python -m tests.language.held_out_answers`` for the score per class and every
failure. The sentences in that corpus are never tuned on (see its header): each item is read
the way the bot reads a message at that point of the conversation, with the slot it just asked
and the facts it already has.

- pain course, symptoms, surgery time: :func:`bot.intake.intake_updates` on a
  :class:`bot.intake.PatientMessage` built as ``actions.common.latest_message`` builds it
  (entities of :func:`bot.language.entities.extract_entities`, "I don't know" in so many words,
  body parts named);
- choices: :func:`bot.dialogue.repair.chosen_text` against the buttons the bot offered;
- red flags: the ``red_flag`` entities, i.e. :func:`bot.language.red_flags.find_red_flags`
  without the denied, supposed or past ones (``negated``), on the message normalised and as typed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.dialogue.repair import NOT_SURE_WORDS, choice_answer
from bot.intake import PatientMessage, intake_updates
from bot.language.entities import extract_entities
from bot.language.symptoms import body_part_pains
from bot.language.unknown import says_dont_know

CORPUS_PATH = Path(__file__).resolve().parent / "corpus" / "held_out_answers.yml"


@dataclass(frozen=True)
class Result:
    """One held-out item: its class, text, and what went wrong (empty: it passed)."""

    cls: str
    text: str
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Whether every expectation of the item held."""
        return not self.problems


def load() -> tuple[dt.date, list[dict[str, Any]]]:
    """The corpus' ``today`` and its items."""
    data = yaml.safe_load(CORPUS_PATH.read_text(encoding="utf-8"))
    return data["today"], data["items"]


def message_of(item: dict[str, Any], today: dt.date) -> PatientMessage:
    """The item's text as the intake reads it."""
    text: str = item["text"]
    return PatientMessage(
        intent=item.get("intent", "inform"),
        entities=tuple(extract_entities(text, today)),
        says_dont_know=says_dont_know(text),
        body_part_pains=tuple(body_part_pains(text)),
    )


def _red_flags(message: PatientMessage) -> set[str]:
    return {str(v) for v in message.values("red_flag")}


def _recorded(
    choice: str | None, message: PatientMessage, asked: str | None, slots: dict[str, Any], today: dt.date
) -> Any:
    """The value ``asked`` gets from a picked choice's words, or else from the reply itself."""
    if choice is not None:
        picked = "dont_know" if choice == NOT_SURE_WORDS else "inform"
        message = PatientMessage(picked, tuple(extract_entities(choice, today)), says_dont_know=picked == "dont_know")
    return intake_updates(message, asked, slots).get(asked or "")


def check(item: dict[str, Any], today: dt.date) -> Result:
    """Check one item's expectations against what the bot would record."""
    text: str = item["text"]
    expect: dict[str, Any] = item["expect"]
    asked: str | None = item.get("asked")
    slots: dict[str, Any] = dict(item.get("slots") or {})
    problems: list[str] = []
    message = message_of(item, today)
    updates = intake_updates(message, asked, slots)

    if "pain_course" in expect and updates.get("pain_course") != expect["pain_course"]:
        problems.append(f"expected pain_course {expect['pain_course']}, got {updates.get('pain_course', '(none)')}")
    if "symptoms" in expect:
        got = updates.get("symptoms", "(none)")
        if not isinstance(got, list) or set(got) != set(expect["symptoms"]):
            problems.append(f"expected symptoms {sorted(expect['symptoms'])}, got {got}")
    if "weeks_since_surgery" in expect:
        got = updates.get("weeks_since_surgery", "(none)")
        wanted, tolerance = float(expect["weeks_since_surgery"]), float(expect.get("tolerance", 0.6))
        if not isinstance(got, (int, float)) or isinstance(got, bool) or abs(got - wanted) > tolerance:
            times = [(e.get("role"), e["value"]) for e in message.entities if e["entity"] == "time"]
            problems.append(f"expected weeks_since_surgery {wanted} ±{tolerance}, got {got} (times {times})")
    if "choice" in expect:
        # What the bot records at the choices step: the choice picked (by number or in words,
        # as actions/repair.py reads it), else the reply read as any answer.
        buttons = [{"title": title, "payload": title} for title in item.get("buttons") or []]
        got_choice = choice_answer(text, buttons, asked, answers=bool(message.values(asked or "")))
        recorded = _recorded(got_choice, message, asked, slots, today)
        wanted = _recorded(expect["choice"], message, asked, slots, today) if expect["choice"] else None
        if expect["choice"] is None:
            if got_choice is not None:
                problems.append(f"expected no choice, got {got_choice!r}")
        elif recorded is None or recorded != wanted:
            problems.append(f"expected choice {expect['choice']!r} ({wanted}), got {got_choice!r} ({recorded})")
    if "red_flag" in expect:
        wanted_flags = {expect["red_flag"]} if expect["red_flag"] else set()
        got_flags = _red_flags(message)
        if got_flags != wanted_flags:
            problems.append(f"expected red flags {sorted(wanted_flags)}, got {sorted(got_flags)}")
    return Result(item["class"], text, tuple(problems))


def score() -> list[Result]:
    """Every held-out item's result, in corpus order."""
    today, items = load()
    return [check(item, today) for item in items]


def main() -> None:
    """Print the score per class, then every failure."""
    results = score()
    total, passed = Counter(r.cls for r in results), Counter(r.cls for r in results if r.passed)
    width = max(len(c) for c in total)
    for cls in total:
        print(f"{cls:{width}} {passed[cls]:3}/{total[cls]}")
    print(f"{'all':{width}} {sum(passed.values()):3}/{len(results)}")
    for r in results:
        if not r.passed:
            print(f"FAIL [{r.cls}] {r.text!r}: {'; '.join(r.problems)}")


if __name__ == "__main__":
    main()
