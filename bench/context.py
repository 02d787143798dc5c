"""Is this mention affirmed? ``bot.language.negation`` against medspacy's ConText.

Usage (medspacy runs in the benchmark peers' venv, ``bench/.venv-peers``, pinned in
``bench/requirements.txt``; ``make bench/.venv-peers/.installed`` creates it):

    .venv/bin/python bench/context.py [--disagreements N]

For every item of the labelled corpora, the concept spans come from our own finders
(``find_symptoms`` / ``find_red_flags``, denied ones included). Each system then says, per
mention, whether the message affirms it as current:

- ours: the finder's ``negated`` flag (negation, doubt for symptoms, supposition, a past
  that is over; a caregiver's words count as the patient's);
- medspacy 1.3.1 ConText with its default rules, on ``spacy.blank("en")`` + a sentencizer:
  not affirmed when the mention is negated, hypothetical or historical (and, for symptoms,
  possible: our symptom finder does not set a doubted symptom either). ``is_family`` is not
  counted: a caregiver writes for the patient.

Gold, from each item's labels: a code in ``codes`` is affirmed; any other code the finder
found is not. Two scores per corpus: per (item, code), "is the code affirmed anywhere in the
message", and per mention, over the mentions whose label is unambiguous (a code with a single
mention, or a code not affirmed at all).

The tuning corpora (symptoms.yml, red_flags.yml) were written alongside our negation rules, so
ours is near 100 % there by construction; the held-out sets (context_held_out.yml, and the
language layer's held_out_language.yml when present) were tuned on by neither system.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PEERS_PYTHON = ROOT / "bench" / ".venv-peers" / "bin" / "python"
CORPUS = ROOT / "tests" / "language" / "corpus"


# --- the medspacy side (runs in bench/.venv-peers) --------------------------------------------
def medspacy_worker() -> None:
    """Read ``{"items": [{"text", "spans"}]}`` on stdin, write ConText's verdict per span."""
    import medspacy  # type: ignore[import-not-found]  # noqa: F401  (registers "medspacy_context")
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    context = nlp.add_pipe("medspacy_context")
    sentencizer = nlp.get_pipe("sentencizer")
    items = json.load(sys.stdin)["items"]
    out: list[list[dict[str, Any]]] = []
    started = time.perf_counter()
    for item in items:
        verdicts: list[dict[str, Any]] = []
        for start, end in item["spans"]:
            doc = sentencizer(nlp.make_doc(item["text"]))
            span = doc.char_span(start, end, label="CONCEPT", alignment_mode="expand")
            if span is None:
                verdicts.append({"error": "no span"})
                continue
            doc.ents = (span,)
            doc = context(doc)
            ent = doc.ents[0]
            verdicts.append(
                {
                    "negated": bool(ent._.is_negated),
                    "uncertain": bool(ent._.is_uncertain),
                    "hypothetical": bool(ent._.is_hypothetical),
                    "historical": bool(ent._.is_historical),
                    "family": bool(ent._.is_family),
                    "cues": [
                        f"{m.category}:{doc[m.modifier_span[0] : m.modifier_span[1]].text}" for m in ent._.modifiers
                    ],
                }
            )
        out.append(verdicts)
    json.dump({"results": out, "seconds": time.perf_counter() - started}, sys.stdout)


# --- our side and the comparison (runs in .venv) ----------------------------------------------
@dataclass
class Mention:
    item: int
    text: str
    code: str
    span: str
    start: int
    end: int
    gold: bool  # affirmed
    ours: bool
    theirs: bool = False
    cues: list[str] = field(default_factory=list)
    unambiguous: bool = True


@dataclass
class Corpus:
    name: str
    finder: str  # "symptoms" or "red_flags"
    items: list[tuple[str, frozenset[str]]]  # text, affirmed codes
    held_out: bool


def load_corpora() -> list[Corpus]:
    import yaml

    corpora: list[Corpus] = []
    for name in ("symptoms", "red_flags"):
        raw = yaml.safe_load((CORPUS / f"{name}.yml").read_text(encoding="utf-8"))
        items = [(str(e["text"]), frozenset(e.get("codes") or [])) for e in raw]
        corpora.append(Corpus(f"{name}.yml (tuning)", name, items, held_out=False))
    context = yaml.safe_load((CORPUS / "context_held_out.yml").read_text(encoding="utf-8"))
    for finder in ("symptoms", "red_flags"):
        items = [(str(e["text"]), frozenset(e[finder])) for e in context if finder in e]
        corpora.append(Corpus(f"context_held_out.yml {finder} (held out)", finder, items, held_out=True))
    language = CORPUS / "held_out_language.yml"
    if language.exists():
        data = yaml.safe_load(language.read_text(encoding="utf-8"))
        for finder in ("symptoms", "red_flags"):
            items = [(str(e["text"]), frozenset(e["expect"][finder])) for e in data["items"] if finder in e["expect"]]
            if items:
                corpora.append(Corpus(f"held_out_language.yml {finder} (held out)", finder, items, held_out=True))
    return corpora


def our_mentions(corpus: Corpus) -> tuple[list[Mention], float]:
    from bot.language.red_flags import find_red_flags
    from bot.language.symptoms import find_symptoms

    finder = find_symptoms if corpus.finder == "symptoms" else find_red_flags
    mentions: list[Mention] = []
    started = time.perf_counter()
    found = [finder(text) for text, _ in corpus.items]
    seconds = time.perf_counter() - started
    for index, ((text, codes), ms) in enumerate(zip(corpus.items, found, strict=True)):
        per_code: dict[str, int] = {}
        for m in ms:
            per_code[m.code] = per_code.get(m.code, 0) + 1
        for m in ms:
            gold = m.code in codes
            mentions.append(
                Mention(
                    index,
                    text,
                    m.code,
                    m.text,
                    m.start,
                    m.end,
                    gold,
                    not m.negated,
                    unambiguous=not gold or per_code[m.code] == 1,
                )
            )
    return mentions, seconds


def run_medspacy(corpus: Corpus, mentions: list[Mention]) -> float:
    by_item: dict[int, list[Mention]] = {}
    for m in mentions:
        by_item.setdefault(m.item, []).append(m)
    order = sorted(by_item)
    payload = {"items": [{"text": corpus.items[i][0], "spans": [[m.start, m.end] for m in by_item[i]]} for i in order]}
    proc = subprocess.run(
        [str(PEERS_PYTHON), str(Path(__file__).resolve()), "--medspacy-worker"],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
    )
    reply = json.loads(proc.stdout)
    for i, verdicts in zip(order, reply["results"], strict=True):
        for m, v in zip(by_item[i], verdicts, strict=True):
            cleared = v.get("negated") or v.get("hypothetical") or v.get("historical")
            if corpus.finder == "symptoms":
                cleared = cleared or v.get("uncertain")
            m.theirs = not cleared
            m.cues = v.get("cues", [])
    return float(reply["seconds"])


def code_level(mentions: list[Mention], attr: str) -> tuple[int, int]:
    """Correct and total (item, code) verdicts: is the code affirmed anywhere in the message?"""
    verdicts: dict[tuple[int, str], tuple[bool, bool]] = {}
    for m in mentions:
        gold, pred = verdicts.get((m.item, m.code), (m.gold, False))
        verdicts[(m.item, m.code)] = (gold, pred or getattr(m, attr))
    return sum(g == p for g, p in verdicts.values()), len(verdicts)


def mention_level(mentions: list[Mention], attr: str) -> tuple[int, int]:
    usable = [m for m in mentions if m.unambiguous]
    return sum(getattr(m, attr) == m.gold for m in usable), len(usable)


def pct(a: int, b: int) -> str:
    return f"{a}/{b} ({a / b:.1%})" if b else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disagreements", type=int, default=12, help="how many to list per corpus")
    parser.add_argument("--medspacy-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.medspacy_worker:
        medspacy_worker()
        return
    sys.path.insert(0, str(ROOT))
    if not PEERS_PYTHON.exists():
        sys.exit(f"{PEERS_PYTHON} is missing: run `make bench/.venv-peers/.installed` first")
    print("(*) ours: the whole finder (lexicon matching and context); ConText: its context step only")
    for corpus in load_corpora():
        mentions, ours_s = our_mentions(corpus)
        theirs_s = run_medspacy(corpus, mentions)
        n = len(corpus.items)
        print(f"\n== {corpus.name}: {n} messages, {len(mentions)} mentions")
        print(f"{'':28}{'ours':>22}{'medspacy ConText':>24}")
        o, t = code_level(mentions, "ours"), code_level(mentions, "theirs")
        print(f"{'per (message, code)':28}{pct(*o):>22}{pct(*t):>24}")
        o, t = mention_level(mentions, "ours"), mention_level(mentions, "theirs")
        print(f"{'per mention (unambiguous)':28}{pct(*o):>22}{pct(*t):>24}")
        gold_neg = [m for m in mentions if m.unambiguous and not m.gold]
        gold_aff = [m for m in mentions if m.unambiguous and m.gold]
        print(
            f"{'  not-affirmed caught':28}{pct(sum(not m.ours for m in gold_neg), len(gold_neg)):>22}"
            f"{pct(sum(not m.theirs for m in gold_neg), len(gold_neg)):>24}"
        )
        print(
            f"{'  affirmed kept':28}{pct(sum(m.ours for m in gold_aff), len(gold_aff)):>22}"
            f"{pct(sum(m.theirs for m in gold_aff), len(gold_aff)):>24}"
        )
        print(f"{'  ms per message (*)':28}{ours_s / n * 1000:>22.2f}{theirs_s / n * 1000:>24.2f}")
        family = sum(1 for m in gold_aff if any(c.startswith("FAMILY") for c in m.cues))
        print(f"ConText marks {family} affirmed mention(s) FAMILY (a caregiver writing; not counted above)")
        disagreements = [m for m in mentions if m.unambiguous and m.ours != m.theirs]
        right = sum(m.ours == m.gold for m in disagreements)
        theirs_right = len(disagreements) - right
        print(f"disagreements: {len(disagreements)} (ours right in {right}, ConText right in {theirs_right})")
        for m in disagreements[: args.disagreements]:
            who = "ours" if m.ours == m.gold else "ConText"
            gold = "affirmed" if m.gold else "not affirmed"
            print(f"  [{who} right] {m.code} {m.span!r} is {gold}: {m.text!r}  ConText cues: {m.cues or '-'}")


if __name__ == "__main__":
    main()
