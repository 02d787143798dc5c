"""Score a trained model on the held-out set (never trained on): intent and entity F1."""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HELD_OUT = Path(__file__).with_name("held_out.yml")
TIME_TOLERANCE_WEEKS = 0.5
Entity = tuple[str, Any, str | None]


@dataclass
class Scores:
    """What the held-out evaluation measured."""

    intent_macro_f1: float
    intent_accuracy: float
    entity_precision: float
    entity_recall: float
    entity_f1: float
    per_intent_f1: dict[str, float]
    red_flag_recall: float
    red_flag_false_alarms: int
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def load_held_out() -> tuple[str, list[dict[str, Any]]]:
    data = yaml.safe_load(HELD_OUT.read_text(encoding="utf-8"))
    return str(data["today"]), list(data["examples"])


def _entity_key(entity: dict[str, Any]) -> Entity:
    return (entity["entity"], entity["value"], entity.get("role"))


def _same(expected: Entity, found: Entity) -> bool:
    if expected[0] != found[0] or expected[2] != found[2]:
        return False
    if expected[0] == "time":
        return abs(float(expected[1]) - float(found[1])) <= TIME_TOLERANCE_WEEKS
    return bool(expected[1] == found[1])


def match_entities(expected: Iterable[Entity], found: Iterable[Entity]) -> tuple[int, int, int]:
    """True positives, false positives, false negatives (each found entity matches once)."""
    remaining = list(found)
    true_positives = 0
    missed = 0
    for entity in expected:
        hit = next((f for f in remaining if _same(entity, f)), None)
        if hit is None:
            missed += 1
        else:
            remaining.remove(hit)
            true_positives += 1
    return true_positives, len(remaining), missed


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def score(examples: list[dict[str, Any]], parse: Callable[[str], dict[str, Any]]) -> Scores:
    """Parse every example and compare with its labels."""
    counts: Counter[str] = Counter()
    per_intent: dict[str, Counter[str]] = {}
    errors: list[dict[str, Any]] = []
    correct_intents = 0
    flags = Counter[str]()
    for example in examples:
        parsed = parse(example["text"])
        predicted = (parsed.get("intent") or {}).get("name")
        expected_intent = example["intent"]
        per_intent.setdefault(expected_intent, Counter())["support"] += 1
        if predicted == expected_intent:
            correct_intents += 1
            per_intent[expected_intent]["tp"] += 1
        else:
            per_intent[expected_intent]["fn"] += 1
            per_intent.setdefault(str(predicted), Counter())["fp"] += 1
        expected = [_entity_key(e) for e in example.get("entities") or []]
        # the guard's guess behind a safety question is no fact of the message
        found = [_entity_key(e) for e in parsed.get("entities") or [] if e.get("entity") != "suspected_red_flag"]
        expected_flags = {e for e in expected if e[0] == "red_flag"}
        found_flags = {f for f in found if f[0] == "red_flag"}
        flags.update(
            expected=len(expected_flags),
            caught=len(expected_flags & found_flags),
            false_alarms=len(found_flags - expected_flags),
        )
        tp, fp, fn = match_entities(expected, found)
        counts.update(tp=tp, fp=fp, fn=fn)
        if predicted != expected_intent or fp or fn:
            errors.append(
                {
                    "text": example["text"],
                    "intent": expected_intent,
                    "predicted": predicted,
                    "expected_entities": expected,
                    "found_entities": found,
                }
            )
    per_intent_f1 = {}
    for intent, c in per_intent.items():
        if c["support"] == 0:
            continue
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        recall = c["tp"] / c["support"]
        per_intent_f1[intent] = round(_f1(precision, recall), 4)
    precision = counts["tp"] / (counts["tp"] + counts["fp"]) if counts["tp"] + counts["fp"] else 1.0
    recall = counts["tp"] / (counts["tp"] + counts["fn"]) if counts["tp"] + counts["fn"] else 1.0
    return Scores(
        intent_macro_f1=round(sum(per_intent_f1.values()) / len(per_intent_f1), 4),
        intent_accuracy=round(correct_intents / len(examples), 4),
        entity_precision=round(precision, 4),
        entity_recall=round(recall, 4),
        entity_f1=round(_f1(precision, recall), 4),
        per_intent_f1=per_intent_f1,
        red_flag_recall=round(flags["caught"] / flags["expected"], 4) if flags["expected"] else 1.0,
        red_flag_false_alarms=flags["false_alarms"],
        errors=errors,
    )


def evaluate_model(model_path: Path, report_path: Path) -> Scores:
    """Load the model, score the held-out set with ``CLINIC_TODAY`` = its date, save the report."""
    from rasa.core.agent import Agent

    today, examples = load_held_out()
    previous = os.environ.get("CLINIC_TODAY")
    os.environ["CLINIC_TODAY"] = today
    try:
        agent = Agent.load(str(model_path))
        loop = asyncio.new_event_loop()
        try:
            scores = score(examples, lambda text: loop.run_until_complete(agent.parse_message(text)))
        finally:
            loop.close()
    finally:
        if previous is None:
            os.environ.pop("CLINIC_TODAY", None)
        else:
            os.environ["CLINIC_TODAY"] = previous
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(scores.as_dict(), indent=2, default=list), encoding="utf-8")
    return scores
