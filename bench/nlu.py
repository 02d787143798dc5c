"""`make bench-nlu`: our language layer and pipeline against dateparser, timefhuman and stock Rasa.

Prints the figures and writes ``bench/reports/nlu.md``. Run from the project root with the
project venv: ``.venv/bin/python bench/nlu.py`` (``--skip-pipeline`` leaves out part 3, which
loads two Rasa models and, the first time for a data hash, trains the stock one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.stock import stock_model  # noqa: E402
from bot.language.pain_course import find_pain_courses  # noqa: E402
from bot.language.procedures import find_procedures  # noqa: E402
from bot.language.red_flags import find_red_flags  # noqa: E402
from bot.language.symptoms import find_symptoms  # noqa: E402
from bot.language.time_expressions import find_time_mentions  # noqa: E402
from bot.language.types import Mention  # noqa: E402

CORPUS = ROOT / "tests" / "language" / "corpus"
REPORT = ROOT / "bench" / "reports" / "nlu.md"
CACHE = ROOT / "bench" / ".cache"
PEERS_PYTHON = ROOT / "bench" / ".venv-peers" / "bin" / "python"
PEERS_SCRIPT = ROOT / "bench" / "peers.py"
OUR_ROUNDS = 5
SPEED_TARGET = 100.0
MISSING_PEERS = f"""\
The peer time parsers are not installed. They need newer regex / python-dateutil / pytz than
Rasa 3.6 allows, so they live in their own venv next to this script. Create it with:

    "$(scripts/find-python310)" -m venv bench/.venv-peers
    bench/.venv-peers/bin/pip install -r bench/requirements.txt

(`make bench-nlu` does this for you.) Looked for: {PEERS_PYTHON}"""


# --- small helpers -----------------------------------------------------------------------


def mean_ms(seconds: list[float]) -> float:
    return 1000 * statistics.fmean(seconds) if seconds else 0.0


def p95_ms(seconds: list[float]) -> float:
    if not seconds:
        return 0.0
    ordered = sorted(seconds)
    return 1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}% ({part}/{whole})" if whole else "n/a (0 items)"


def f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


# --- 1. time expressions -----------------------------------------------------------------


@dataclass
class TimeItem:
    text: str
    today: dt.date
    weeks: float | None  # None: the message holds no time
    anchor: str | None
    subject: str | None
    tolerance: float
    future: bool
    xfail: bool


@dataclass
class TimeScore:
    name: str
    correct: int
    total: int
    ago_correct: int
    ago_total: int
    none_correct: int
    none_total: int
    strict_correct: int  # weeks, anchor and subject all right (ours only)
    seconds: list[float]


def load_time_items() -> list[TimeItem]:
    corpus = yaml.safe_load((CORPUS / "time_expressions.yml").read_text(encoding="utf-8"))
    default_today: dt.date = corpus["today"]
    items = []
    for raw in corpus["items"]:
        none = bool(raw.get("none"))
        items.append(
            TimeItem(
                text=str(raw["text"]),
                today=raw.get("today", default_today),
                weeks=None if none else float(raw["weeks"]),
                anchor=None if none else str(raw["anchor"]),
                subject=raw.get("subject"),
                tolerance=float(raw.get("tolerance", 0.5)),
                future=raw.get("problem") == "future",
                xfail=bool(raw.get("xfail")),
            )
        )
    return items


def weeks_right(item: TimeItem, found: float | None, peer: bool) -> bool:
    """Is the first time found the labelled one? A peer has only a date, so only `ago` can be."""
    if item.weeks is None:
        return found is None
    if found is None:
        return False
    if peer:
        if item.anchor != "ago":
            return False
        if item.future:  # a peer's date after today comes back as negative weeks
            found = -found
    return abs(found - item.weeks) <= item.tolerance


def score_ours(items: list[TimeItem]) -> tuple[TimeScore, list[str]]:
    score = TimeScore("ours (find_time_mentions)", 0, len(items), 0, 0, 0, 0, 0, [])
    find_time_mentions("warm up 6 weeks ago", dt.date(2026, 1, 1))
    for _ in range(OUR_ROUNDS):
        for item in items:
            started = time.perf_counter()
            find_time_mentions(item.text, item.today)
            score.seconds.append(time.perf_counter() - started)
    failures = []
    for item in items:
        found = find_time_mentions(item.text, item.today)
        first = found[0] if found else None
        right = weeks_right(item, None if first is None else first.weeks, peer=False)
        tally(score, item, right)
        strict = right and (first is None or (first.anchor, first.subject) == (item.anchor, item.subject))
        score.strict_correct += strict
        mark = " [xfail]" if item.xfail else ""
        if strict and item.xfail:
            failures.append(f"{item.text!r}: marked `xfail` but now right: remove the mark")
        elif right and not strict and first is not None:
            failures.append(
                f"{item.text!r}: weeks right, but anchor/subject {first.anchor}/{first.subject} "
                f"instead of {item.anchor}/{item.subject}{mark}"
            )
        elif not right:
            got = "nothing" if first is None else f"{first.weeks:.2f} wk {first.anchor} ({first.text!r})"
            want = "no time" if item.weeks is None else f"{item.weeks:.2f} wk {item.anchor}"
            failures.append(f"{item.text!r}: expected {want}, got {got}{mark}")
    return score, failures


def tally(score: TimeScore, item: TimeItem, right: bool) -> None:
    score.correct += right
    if item.weeks is None:
        score.none_total += 1
        score.none_correct += right
    elif item.anchor == "ago":
        score.ago_total += 1
        score.ago_correct += right


def run_peers(items: list[TimeItem]) -> list[dict[str, Any]]:
    if not PEERS_PYTHON.exists():
        sys.exit(MISSING_PEERS)
    check = subprocess.run([str(PEERS_PYTHON), "-c", "import dateparser, timefhuman"], capture_output=True, text=True)
    if check.returncode != 0:
        sys.exit(f"{MISSING_PEERS}\n\n{check.stderr.strip().splitlines()[-1]}")
    payload = {"items": [{"text": item.text, "today": item.today.isoformat()} for item in items]}
    done = subprocess.run(
        [str(PEERS_PYTHON), str(PEERS_SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def score_peer(name: str, items: list[TimeItem], results: list[dict[str, Any]]) -> TimeScore:
    score = TimeScore(name, 0, len(items), 0, 0, 0, 0, 0, [])
    for item, row in zip(items, results, strict=True):
        found = row[name]
        score.seconds.append(float(found["seconds"]))
        tally(score, item, weeks_right(item, found["weeks"], peer=True))
    return score


def peer_version(package: str) -> str:
    done = subprocess.run(
        [str(PEERS_PYTHON), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or "?"


# --- 2. lexicon finders ------------------------------------------------------------------


@dataclass
class LexiconItem:
    text: str
    codes: frozenset[str]
    denied: frozenset[str] | None


def load_lexicon(name: str) -> list[LexiconItem]:
    raw = yaml.safe_load((CORPUS / f"{name}.yml").read_text(encoding="utf-8"))
    return [
        LexiconItem(
            str(entry["text"]),
            frozenset(entry.get("codes") or []),
            None if entry.get("denied") is None else frozenset(entry["denied"]),
        )
        for entry in raw
    ]


def split(mentions: Iterable[Mention]) -> tuple[frozenset[str], frozenset[str]]:
    found = list(mentions)
    affirmed = frozenset(m.code for m in found if not m.negated)
    denied = frozenset(m.code for m in found if m.negated) - affirmed
    return affirmed, denied


@dataclass
class LexiconScore:
    name: str
    items: int
    exact: int
    precision: float
    recall: float
    f1: float
    per_code: dict[str, tuple[int, int, int]]  # code -> tp, fp, fn


def score_lexicon(name: str, finder: Callable[[str], list[Mention]]) -> tuple[LexiconScore, list[str]]:
    """Micro P/R/F1 over labels; a denied code is its own label ``denied:<code>``.

    Denied labels are scored only on items that label them (``denied:`` present), as the tests do.
    """
    items = load_lexicon(name)
    tp = fp = fn = exact = 0
    per_code: dict[str, list[int]] = {}
    misses = []
    for item in items:
        affirmed, denied = split(finder(item.text))
        expected = set(item.codes)
        found = set(affirmed)
        if item.denied is not None:
            expected |= {f"denied:{code}" for code in item.denied}
            found |= {f"denied:{code}" for code in denied}
        for label in expected | found:
            counts = per_code.setdefault(label, [0, 0, 0])
            counts[0 if label in expected and label in found else 1 if label in found else 2] += 1
        tp += len(expected & found)
        fp += len(found - expected)
        fn += len(expected - found)
        if expected == found:
            exact += 1
        else:
            misses.append(f"{item.text!r}: expected {sorted(expected)}, got {sorted(found)}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    per = {code: (c[0], c[1], c[2]) for code, c in sorted(per_code.items())}
    return LexiconScore(name, len(items), exact, precision, recall, f1(precision, recall), per), misses


@dataclass
class RedFlagScore:
    flagged_items: int
    caught_codes: int
    expected_codes: int
    missed_items: int
    quiet_items: int
    false_alarm_items: int


def score_red_flags() -> tuple[RedFlagScore, list[str]]:
    """Recall over the flags that must fire; false-alarm rate over the items that must not fire."""
    score = RedFlagScore(0, 0, 0, 0, 0, 0)
    notes = []
    for item in load_lexicon("red_flags"):
        affirmed, _ = split(find_red_flags(item.text))
        if item.codes:
            score.flagged_items += 1
            score.expected_codes += len(item.codes)
            score.caught_codes += len(item.codes & affirmed)
            if item.codes - affirmed:
                score.missed_items += 1
                notes.append(f"MISSED {item.text!r}: expected {sorted(item.codes)}, got {sorted(affirmed)}")
        else:
            score.quiet_items += 1
            if affirmed:
                score.false_alarm_items += 1
                notes.append(f"FALSE ALARM {item.text!r}: got {sorted(affirmed)}")
    return score, notes


# --- 3. the whole pipeline ---------------------------------------------------------------


def newest_model() -> Path:
    models = sorted((ROOT / "models").glob("clinic-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        sys.exit("No trained model in models/: run `make train` first.")
    return models[-1]


def pipeline_scores() -> dict[str, dict[str, Any]]:
    from rasa.utils.log_utils import configure_structlog

    from tests.nlu.evaluation import evaluate_model

    configure_structlog(logging.WARNING)  # no debug line per parsed message

    ours = newest_model()
    stock = stock_model()
    results: dict[str, dict[str, Any]] = {}
    for label, path in (("ours", ours), ("stock", stock)):
        print(f"scoring {label} model {path.name} on tests/nlu/held_out.yml ...", flush=True)
        scores = evaluate_model(path, CACHE / f"held-out-{label}.json")
        results[label] = {"model": path.name, **scores.as_dict()}
    return results


# --- report ------------------------------------------------------------------------------


def time_table(scores: list[TimeScore]) -> list[str]:
    lines = [
        "| parser | accuracy (all items) | `ago` items only | no-time items (must find none) "
        "| mean ms/msg | p95 ms/msg |",
        "|---|---|---|---|---|---|",
    ]
    for s in scores:
        lines.append(
            f"| {s.name} | {pct(s.correct, s.total)} | {pct(s.ago_correct, s.ago_total)} | "
            f"{pct(s.none_correct, s.none_total)} | {mean_ms(s.seconds):.4f} | {p95_ms(s.seconds):.4f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--skip-pipeline", action="store_true", help="leave out the Rasa model comparison")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)

    items = load_time_items()
    ours, our_failures = score_ours(items)
    peer_rows = run_peers(items)
    peers = [score_peer(name, items, peer_rows) for name in ("dateparser", "timefhuman")]
    ratios = {p.name: statistics.fmean(p.seconds) / statistics.fmean(ours.seconds) for p in peers}
    versions = {name: peer_version(name) for name in ("dateparser", "timefhuman")}

    lexicons = [
        score_lexicon("symptoms", find_symptoms),
        score_lexicon("procedures", find_procedures),
        score_lexicon("pain_course", find_pain_courses),
    ]
    flags, flag_notes = score_red_flags()
    pipeline = None if args.skip_pipeline else pipeline_scores()

    out: list[str] = [
        "# NLU benchmark",
        "",
        f"Generated by `make bench-nlu` (`bench/nlu.py`) on {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"Python {platform.python_version()}, {platform.machine()}. Timings are wall-clock on a shared "
        "machine: compare them with each other, not across runs.",
        "",
        "## 1. Time expressions",
        "",
        f"All {len(items)} items of `tests/language/corpus/time_expressions.yml` "
        f"({ours.ago_total} `ago`, {ours.none_total} with no time, "
        f"{len(items) - ours.ago_total - ours.none_total} `after_surgery`/`duration`). "
        "An item is right when the first time found is within its tolerance of the labelled weeks "
        "(default 0.5 weeks); a no-time item is right when nothing is found.",
        "",
        *time_table([ours, *peers]),
        "",
        f"- Ours with weeks, anchor and subject all right: {pct(ours.strict_correct, ours.total)}.",
        f"- Speed: ours is **{ratios['dateparser']:.0f}×** faster than dateparser "
        f"(target ≥ {SPEED_TARGET:.0f}×) and **{ratios['timefhuman']:.1f}×** faster than timefhuman, "
        "per message (mean). "
        f"Ours: {OUR_ROUNDS} rounds over the corpus; peers: 1 round after a warm-up.",
        "- Peers: "
        + ", ".join(f"{name} {version}" for name, version in versions.items())
        + ", in their own venv `bench/.venv-peers` (they need newer regex, python-dateutil and pytz "
        "than Rasa 3.6 allows), called through `bench/peers.py`.",
        "- dateparser: `search_dates(text, settings={RELATIVE_BASE: today, PREFER_DATES_FROM: past})`, "
        "first date found. timefhuman: `timefhuman(text, config=tfhConfig(now=today, "
        "direction=Direction.previous, return_matched_text=True))`, first value found (a range: its middle; "
        "a list: its first). In timefhuman 0.1.5 `now=` is a flag, so the reference day goes in the config. "
        "Weeks = (today − date).days / 7.",
        '- Fairness: a peer returns a date, so it cannot say *"2 months after the surgery"* or a bare '
        '*"for 6 weeks"*: those items count as wrong for the peers in the first column; the `ago` '
        "column is the like-for-like figure.",
        "",
    ]
    if our_failures:
        out += [f"Our misses, weeks or anchor/subject ({len(our_failures)}; `[xfail]` = marked in the corpus):", ""]
        out += [f"- {line}" for line in our_failures]
        out.append("")

    out += [
        "## 2. Symptoms, procedures, pain course, red flags",
        "",
        "Micro precision / recall / F1 over labels; a denied code is its own label `denied:<code>` "
        "(scored on the items that label denials, as the tests do). Exact = the item's whole label set is right.",
        "",
        "| corpus | items | exact | precision | recall | F1 |",
        "|---|---|---|---|---|---|",
    ]
    for score, _ in lexicons:
        out.append(
            f"| {score.name} | {score.items} | {pct(score.exact, score.items)} | {score.precision:.3f} | "
            f"{score.recall:.3f} | {score.f1:.3f} |"
        )
    procedures = lexicons[1][0]
    out += [
        "",
        f"- Procedures accuracy (exact set match): **{pct(procedures.exact, procedures.items)}**.",
        f"- Red flags: recall **{pct(flags.caught_codes, flags.expected_codes)}** of the flags that must fire "
        f"({flags.missed_items} of {flags.flagged_items} items missed one); false-alarm rate "
        f"**{pct(flags.false_alarm_items, flags.quiet_items)}** of the items that must not fire.",
        "",
    ]
    for score, misses in lexicons:
        if misses:
            out += [f"{score.name} misses ({len(misses)}):", "", *[f"- {m}" for m in misses], ""]
    if flag_notes:
        out += ["red flag misses:", "", *[f"- {m}" for m in flag_notes], ""]

    out += ["## 3. The whole pipeline vs the stock `rasa init` pipeline", ""]
    if pipeline is None:
        out += ["(left out: `--skip-pipeline`)", ""]
    else:
        ours_p, stock_p = pipeline["ours"], pipeline["stock"]
        out += [
            "Held-out set `tests/nlu/held_out.yml` (never trained on), scored by "
            "`tests/nlu/evaluation.evaluate_model`; both models trained on the same `data/nlu`.",
            "",
            "| model | intent macro F1 | intent accuracy | entity P | entity R | entity F1 "
            "| red-flag recall | red-flag false alarms |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for label, row in (("ours", ours_p), ("stock", stock_p)):
            out.append(
                f"| {label} (`{row['model']}`) | {row['intent_macro_f1']:.3f} | {row['intent_accuracy']:.3f} | "
                f"{row['entity_precision']:.3f} | {row['entity_recall']:.3f} | {row['entity_f1']:.3f} | "
                f"{row['red_flag_recall']:.3f} | {row['red_flag_false_alarms']} |"
            )
        out += [
            "",
            "- Stock = the pipeline Rasa 3.6 uses when `rasa init`'s config.yml leaves it commented out "
            "(`rasa/engine/recipes/config_files/default_config.yml`: WhitespaceTokenizer, RegexFeaturizer, "
            "LexicalSyntacticFeaturizer, CountVectorsFeaturizer ×2, DIETClassifier 100 epochs, "
            "EntitySynonymMapper, ResponseSelector, FallbackClassifier 0.3), trained with `rasa train nlu`; "
            "cached by a hash of that config and `data/nlu` under `bench/.cache/`.",
            "- Honest note on entities: the stock pipeline learns entities only from annotations in the "
            "training data, and our `data/nlu` has none (our entities come from the rule-based "
            "ClinicalEntityExtractor), so the stock model finds no entities at all: its entity recall is 0 by "
            "construction. That is the real difference between the two set-ups, not a tuning gap. "
            "Red flags are entities too, so its red-flag recall is 0 for the same reason, and its entity "
            "precision of 1.000 is vacuous (no entity predicted). Its intents come from DIET alone: no "
            "lexicon guard on red-flag intents.",
            "",
            "Per-intent F1:",
            "",
            "| intent | ours | stock |",
            "|---|---|---|",
        ]
        for intent in sorted(set(ours_p["per_intent_f1"]) | set(stock_p["per_intent_f1"])):
            a = ours_p["per_intent_f1"].get(intent)
            b = stock_p["per_intent_f1"].get(intent)
            out.append(f"| {intent} | {'-' if a is None else f'{a:.3f}'} | {'-' if b is None else f'{b:.3f}'} |")
        out.append("")

    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(out), encoding="utf-8")

    print("== time expressions ==")
    for s in [ours, *peers]:
        print(
            f"{s.name:28} all {s.correct / s.total:6.1%}  ago {s.ago_correct / max(1, s.ago_total):6.1%}  "
            f"none {s.none_correct / max(1, s.none_total):6.1%}  mean {mean_ms(s.seconds):8.4f} ms  "
            f"p95 {p95_ms(s.seconds):8.4f} ms"
        )
    print(
        f"speed ours vs dateparser: {ratios['dateparser']:.0f}x (target >= {SPEED_TARGET:.0f}x); "
        f"vs timefhuman: {ratios['timefhuman']:.1f}x"
    )
    print("== lexicons ==")
    for score, _ in lexicons:
        print(
            f"{score.name:12} exact {score.exact / score.items:6.1%}  P {score.precision:.3f}  "
            f"R {score.recall:.3f}  F1 {score.f1:.3f}"
        )
    print(
        f"red flags    recall {flags.caught_codes / flags.expected_codes:.3f}  "
        f"false-alarm rate {flags.false_alarm_items / max(1, flags.quiet_items):.3f}"
    )
    if pipeline is not None:
        print("== held-out pipeline ==")
        for label in ("ours", "stock"):
            row = pipeline[label]
            print(
                f"{label:6} intent macro F1 {row['intent_macro_f1']:.3f}  entity F1 {row['entity_f1']:.3f}  "
                f"red-flag recall {row['red_flag_recall']:.3f}"
            )
    print(f"report: {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
