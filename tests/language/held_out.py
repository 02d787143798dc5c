"""Score the language layer on the held-out corpus (``corpus/held_out_language.yml``).

Run ``.venv/bin/python -m tests.language.held_out`` for the score per class and every failure.
The sentences in that corpus are never tuned on (see its header).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.language.entities import extract_entities

CORPUS_PATH = Path(__file__).resolve().parent / "corpus" / "held_out_language.yml"
WEEKS_TOLERANCE = 0.6


def _dont_know_detector() -> Callable[[str], bool]:
    try:
        from bot.language.unknown import dont_know
    except ImportError:  # before bot.language.unknown existed: no detector at all
        return lambda _text: False
    return dont_know


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


def check(item: dict[str, Any], today: dt.date, dont_know: Callable[[str], bool]) -> Result:
    """Check one item's expectations against what the language layer finds."""
    text: str = item["text"]
    expect: dict[str, Any] = item["expect"]
    problems: list[str] = []
    entities = extract_entities(text, today)

    def values(name: str, role: str | None = None) -> list[Any]:
        return [e["value"] for e in entities if e["entity"] == name and e.get("role") == role]

    if "surgery_type" in expect:
        got = values("surgery_type")
        if not got or got[0] != expect["surgery_type"]:
            problems.append(f"surgery_type {got}")
    if "symptoms" in expect and set(values("symptom")) != set(expect["symptoms"]):
        problems.append(f"symptoms {sorted(set(values('symptom')))}")
    if "denied" in expect and not set(expect["denied"]) <= set(values("symptom", "denied")):
        problems.append(f"denied {sorted(set(values('symptom', 'denied')))}")
    if "course" in expect and expect["course"] not in values("pain_course"):
        problems.append(f"course {values('pain_course')}")
    times = [(e.get("role"), float(e["value"])) for e in entities if e["entity"] == "time"]
    for wanted in expect.get("times", []):
        if not any(r == wanted["role"] and abs(w - wanted["weeks"]) <= WEEKS_TOLERANCE for r, w in times):
            problems.append(f"time {wanted} not in {times}")
    for role in expect.get("not_roles", []):
        if any(r == role for r, _ in times):
            problems.append(f"role {role} present in {times}")
    if "red_flags" in expect and set(values("red_flag")) != set(expect["red_flags"]):
        problems.append(f"red_flags {sorted(set(values('red_flag')))}")
    if "dont_know" in expect and dont_know(text) is not expect["dont_know"]:
        problems.append(f"dont_know {not expect['dont_know']}")
    return Result(item["class"], text, tuple(problems))


def score() -> list[Result]:
    """Every held-out item's result, in corpus order."""
    today, items = load()
    detector = _dont_know_detector()
    return [check(item, today, detector) for item in items]


def main() -> None:
    """Print the score per class, then every failure."""
    results = score()
    total, passed = Counter(r.cls for r in results), Counter(r.cls for r in results if r.passed)
    for cls in total:
        print(f"{cls:10} {passed[cls]:3}/{total[cls]}")
    print(f"{'all':10} {sum(passed.values()):3}/{len(results)}")
    for r in results:
        if not r.passed:
            print(f"FAIL [{r.cls}] {r.text!r}: {'; '.join(r.problems)}")


if __name__ == "__main__":
    main()
