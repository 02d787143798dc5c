"""The whole NLU pipeline on the held-out set: floors a little under the measured figures."""

from __future__ import annotations

import pytest

from tests.conversations.harness import PROJECT_ROOT, trained_model
from tests.nlu.evaluation import Scores, evaluate_model, load_held_out, match_entities

REPORT = PROJECT_ROOT / "results" / "nlu-held-out.json"
# Floors a little under the measured figures (see the report), so a regression fails.
INTENT_F1_FLOOR = 0.91
ENTITY_F1_FLOOR = 0.92
RED_FLAG_RECALL_FLOOR = 1.0  # a missed red flag is the worst defect: none may be missed
TRAINING_DATA = PROJECT_ROOT / "data" / "nlu"


@pytest.fixture(scope="module")
def scores() -> Scores:
    return evaluate_model(trained_model(), REPORT)


def test_intent_f1_floor(scores: Scores) -> None:
    assert scores.intent_macro_f1 >= INTENT_F1_FLOOR, f"see {REPORT}"


def test_entity_f1_floor(scores: Scores) -> None:
    assert scores.entity_f1 >= ENTITY_F1_FLOOR, f"see {REPORT}"


def test_red_flags_are_caught(scores: Scores) -> None:
    assert scores.red_flag_recall >= RED_FLAG_RECALL_FLOOR, f"see {REPORT}"
    assert scores.red_flag_false_alarms <= 1, f"see {REPORT}"


def test_the_report_is_saved(scores: Scores) -> None:
    assert REPORT.is_file()


def test_held_out_texts_are_never_trained_on() -> None:
    import yaml

    trained = set()
    for path in sorted(TRAINING_DATA.glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                trained.add(line.strip().lstrip("- ").strip().strip('"').lower())
    _, examples = load_held_out()
    overlap = [e["text"] for e in examples if e["text"].strip().lower() in trained]
    assert not overlap


def test_entity_matching_counts_correctly() -> None:
    expected = [("time", 6.0, "surgery"), ("symptom", "burning", None)]
    found = [("time", 6.3, "surgery"), ("symptom", "numbness", None)]
    assert match_entities(expected, found) == (1, 1, 1)
