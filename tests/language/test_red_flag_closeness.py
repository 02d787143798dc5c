"""Red flags beyond the lexicon: ``bot.language.red_flag_closeness``.

Three sets of sentences:
- the brief's examples (must score at / below the threshold), below;
- tuning sentences: the labelled corpora of the lexicons (red-flag sentences of
  ``corpus/red_flags.yml``; ordinary ones of the symptom, procedure and pain-course corpora
  that raise no red flag). The threshold and the scorer's constants were chosen on these;
- held out: ``corpus/red_flag_closeness_held_out.yml``, never tuned on. Print its report with
  ``.venv/bin/python -m tests.language.test_red_flag_closeness``.

Figures when the module was written (threshold 0.25):
- tuning: red-flag sentences above the threshold 162 / 167 (all with the right code); ordinary
  sentences above it 6.7 % (look-alikes included), 1.6 % (procedure / pain-course only);
- held out: red-flag sentences above the threshold 28 / 40 (all 28 with the right code), the
  lexicon alone 16 / 40 (before this work), lexicon or closeness 32 / 40; ordinary sentences
  above it 1 / 32 (3.1 %). The goal of 40 / 40 is not reached; see the module's docstring.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.language.lexicon import load_yaml
from bot.language.red_flag_closeness import CLOSENESS_THRESHOLD, closeness_scores, closest_red_flag
from bot.language.red_flags import find_red_flags
from bot.vocabulary import RED_FLAG_CODES
from tests.language.corpus_check import load_corpus

HELD_OUT_PATH = Path(__file__).resolve().parent / "corpus" / "red_flag_closeness_held_out.yml"
HELD_OUT_RECALL_FLOOR = 28
HELD_OUT_FALSE_POSITIVE_CEILING = 2


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("feels like an elephant is sitting on my chest", "blood_clot"),
        ("my foot slaps the floor and drags more every day", "progressive_weakness"),
        ("my foot is dragging and it's getting worse", "progressive_weakness"),
        ("I'm burning up and shaking under the blankets", "infection"),
        ("my calf is tight and hot like a rock", "blood_clot"),
        ("I peed myself and didn't feel it", "cauda_equina"),
        ("my mom says she's shaking all over and feels boiling hot", "infection"),
    ],
)
def test_red_flags_in_other_words_score_high(text: str, code: str) -> None:
    result = closest_red_flag(text)
    assert result is not None
    assert result[0] == code
    assert result[1] >= CLOSENESS_THRESHOLD


@pytest.mark.parametrize(
    "text",
    [
        "my back aches when I sit",
        "leg pain and tingling",
        "it's slowly getting better",
        "I had a fusion 6 weeks ago",
        "Can I move my appointment to Friday?",
        # denied, supposed or past signs: the context drops their words
        "no fever or chills",
        "what if I get chest pain?",
        "they told me to watch for my calf swelling",
        "I had a fever before the surgery but none since",
    ],
)
def test_ordinary_messages_score_low(text: str) -> None:
    result = closest_red_flag(text)
    assert result is None or result[1] < CLOSENESS_THRESHOLD, result


def test_scores_are_in_range_and_cover_every_code() -> None:
    scores = closeness_scores("my calf is swollen and hot")
    assert set(scores) == set(RED_FLAG_CODES)
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    assert closest_red_flag("") is None
    assert closest_red_flag("!!!") is None


def test_examples_file_shape() -> None:
    data = load_yaml("red_flag_examples")
    assert set(data["codes"]) == set(RED_FLAG_CODES)
    for code, examples in data["codes"].items():
        assert 15 <= len(examples) <= 25, code
        assert len(set(examples)) == len(examples), code
    held_out = {item["text"].lower() for item in yaml.safe_load(HELD_OUT_PATH.read_text(encoding="utf-8"))}
    written = [s.lower() for examples in data["codes"].values() for s in examples] + [
        s.lower() for s in data["ordinary"]
    ]
    assert not held_out.intersection(written), "an example copies a held-out sentence"


def _tuning_sets() -> tuple[list[tuple[str, frozenset[str]]], list[str]]:
    red = [(item.text, item.codes) for item in load_corpus("red_flags") if item.codes]
    ordinary = [
        item.text
        for name in ("symptoms", "procedures", "pain_course")
        for item in load_corpus(name)
        if not any(not m.negated for m in find_red_flags(item.text))
    ]
    return red, ordinary


def test_tuning_sentences_recall_and_false_alarms() -> None:
    red, ordinary = _tuning_sets()
    hits = 0
    for text, codes in red:
        result = closest_red_flag(text)
        if result is not None and result[1] >= CLOSENESS_THRESHOLD and result[0] in codes:
            hits += 1
    false_alarms = sum(1 for text in ordinary if (r := closest_red_flag(text)) and r[1] >= CLOSENESS_THRESHOLD)
    assert hits / len(red) >= 0.95, f"{hits}/{len(red)}"
    assert false_alarms / len(ordinary) <= 0.10, f"{false_alarms}/{len(ordinary)}"


def held_out_report() -> tuple[int, int, int, int, list[str]]:
    """Held-out red flags above the threshold (right code), their number, ordinary ones above
    it, their number, and a line per miss or false alarm."""
    items = yaml.safe_load(HELD_OUT_PATH.read_text(encoding="utf-8"))
    recall = total = false_alarms = ordinary = 0
    lines: list[str] = []
    for item in items:
        result = closest_red_flag(item["text"])
        above = result is not None and result[1] >= CLOSENESS_THRESHOLD
        if item["expected"] == "none":
            ordinary += 1
            if above:
                false_alarms += 1
                lines.append(f"false alarm {result}: {item['text']}")
        else:
            total += 1
            if above and result is not None and result[0] == item["expected"]:
                recall += 1
            else:
                lines.append(f"missed {item['expected']} {result}: {item['text']}")
    return recall, total, false_alarms, ordinary, lines


def test_held_out_recall_and_false_positive_rate() -> None:
    recall, total, false_alarms, ordinary, lines = held_out_report()
    assert (total, ordinary) == (40, 32), "the held-out corpus is fixed: do not add, edit or remove items"
    assert recall >= HELD_OUT_RECALL_FLOOR, lines
    assert false_alarms <= HELD_OUT_FALSE_POSITIVE_CEILING, lines


def main() -> None:
    """Print the held-out figures."""
    recall, total, false_alarms, ordinary, lines = held_out_report()
    print(f"threshold {CLOSENESS_THRESHOLD}: red-flag recall {recall}/{total} ({recall / total:.0%}), ", end="")
    print(f"false positives {false_alarms}/{ordinary} ({false_alarms / ordinary:.1%})")
    for line in lines:
        print("  " + line)


if __name__ == "__main__":
    main()
