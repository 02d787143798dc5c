"""How close a message is to a red flag described in words the red-flag lexicon lacks.

The lexicon (``red_flags.py``) is precise but only knows the phrases it lists; "feels like an
elephant is sitting on my chest" or "I'm burning up and shaking under the blankets" may slip
past it. :func:`closest_red_flag` compares the message with example sentences of each red flag
(``lexicons/red_flag_examples.yml``) and returns the closest code with a similarity in [0, 1];
:data:`CLOSENESS_THRESHOLD` is where a caller should start treating that as a possible red flag
(ask, or hand over to staff), on top of the lexicon, never instead of it.

How the similarity is made (no model, no weights; about a millisecond per message):

1. Context first: words the message denies, supposes or places in a past that is over
   ("no fever or chills", "what if I get chest pain", "fever before the surgery, none since")
   are dropped, with :func:`bot.language.negation.token_polarities`; so is a clause that
   reassures ("bladder is fine"). Doubt keeps its words. A temperature at fever level by the
   lexicon's own rule ("temp 101") reads as the word "febrile".
2. Each piece of the message (its clauses, pairs of neighbouring clauses, and the whole)
   becomes a bag of features: word stems, concept tags (the examples file's ``concepts`` and
   some of the red-flag lexicon's synonym groups: "pee", "urine" and "incontinent" share
   ``bladder``), and each pair of different concepts ("calf" + "swell", "weak" + "worse"),
   since red flags are mostly such combinations. Features are weighted by TF-IDF over all
   example sentences, so words of ordinary messages ("leg", "pain") weigh little.
3. A piece's closeness to an example is half concepts, half words. Concepts: the mean of the
   weighted Jaccard (Ruzicka) similarity and of how much of the example the piece contains
   ("fever and my incision is oozing" contains all of "pus is coming out of my wound").
   Words: weighted Jaccard. Unlike a cosine, one shared word does not make a short piece
   close. A code's closeness is that of its closest example, minus half the closeness to the
   closest ``ordinary`` sentence (the "none" class: "my leg is a bit weak, it's been like
   that for months" pulls "weak legs" down).

Limits: it is lexical. A red flag told through words neither the examples nor the concepts
know ("my toes scrape the floor", "went dead and I fell over") scores low; on the held-out
set, 28 of 40 red flags reach the threshold (see tests/language/test_red_flag_closeness.py).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

from bot.language.lexicon import load_yaml, string_list, tokens_of
from bot.language.negation import Polarity, patient_parse, token_polarities
from bot.language.red_flags import fever_temperatures

__all__ = ["CLOSENESS_THRESHOLD", "closeness_scores", "closest_red_flag"]

# Where a score starts to mean "possibly a red flag". Chosen on tuning sentences only (the
# brief's examples, the red-flag lexicon corpus, the symptom / procedure / pain-course
# corpora), never on the held-out set; see tests/language/test_red_flag_closeness.py.
# Rationale: it is the knee of the tuning curve. At 0.25, 162 of 167 red-flag sentences are
# above it (all with the right code) against 6.7 % of ordinary ones (look-alikes included:
# "weak legs", "the bottom of my foot is numb"); at 0.20 one more red flag costs twice the
# false alarms (14.6 %), at 0.30 recall falls to 88 %. Erring low is deliberate: a missed red
# flag is the worst defect, a false alarm costs a confirming question.
CLOSENESS_THRESHOLD = 0.25

_ORDINARY_PENALTY = 0.5  # the share of the closeness to an ordinary sentence taken off
_CONCEPT_WEIGHT = 0.5  # concepts and their pairs; the rest goes to the words themselves
_NON_WORD = re.compile(r"[^a-z0-9]+")
_SEGMENT_BREAKS = frozenset(
    {".", "!", "?", ";", ",", "but", "though", "although", "however", "except", "apart", "\n", "..."}
)
_SUFFIXES = ("ing", "ed", "es", "s", "ly")
_KEPT = frozenset({Polarity.AFFIRMED, Polarity.UNCERTAIN})
_FEVER_WORD = "febrile"
_DENIALS = frozenset({"not", "n't", "nt", "never", "no"})
_QUESTION_STARTS = frozenset({"is", "are", "was", "should", "does", "do", "can", "could", "what", "how", "why", "will"})

Vector = dict[str, float]
Concepts = Mapping[tuple[str, ...], frozenset[str]]


def _plain(word: str) -> str:
    """A token without apostrophes or other marks ("n't" -> "nt", "'m" -> "m")."""
    return _NON_WORD.sub("", word.lower())


def _stem(word: str) -> str:
    """A light suffix stripper: "drags" -> "drag", "swelling" -> "swell", "swollen" stays."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@dataclass(frozen=True)
class _Examples:
    codes: tuple[str, ...]
    vectors: tuple[tuple[str, Vector, Vector], ...]  # (code, or "" if ordinary; concept vector, word vector)
    idf: Mapping[str, float]
    concepts: Concepts
    longest_concept: int
    stopwords: frozenset[str]
    reassurance: frozenset[str]
    together: frozenset[tuple[str, ...]]  # multi-word concepts, as the tokenizer splits them


def _features(words: Sequence[str], concepts: Concepts, longest: int, stop: frozenset[str]) -> Counter[str]:
    """Word-stem, concept and concept-pair features of a list of lower-case tokens."""
    feats: Counter[str] = Counter()
    tags: set[str] = set()
    covered: set[int] = set()
    for size in range(min(longest, len(words)), 0, -1):
        for i in range(len(words) - size + 1):
            if covered.intersection(range(i, i + size)):
                continue
            key = tuple(words[i : i + size])
            found = concepts.get(key) or concepts.get(tuple(_stem(_plain(w)) for w in key))
            if found:
                tags.update(found)
                covered.update(range(i, i + size))
    for word in words:
        plain = _plain(word)
        if plain and plain not in stop and not plain.isdigit():
            feats["w:" + _stem(plain)] += 1
    for tag in tags:
        feats["c:" + tag] += 1
    for a, b in combinations(sorted(tags), 2):
        feats[f"p:{a}+{b}"] += 1
    return feats


def _weigh(counts: Counter[str], idf: Mapping[str, float]) -> Vector:
    """TF-IDF weights (not normalised: a rare concept outweighs a common one even alone); a
    feature no example has weighs like the commonest one."""
    return {f: (1.0 + math.log(n)) * idf.get(f, 1.0) for f, n in counts.items()}


def _split(feats: Counter[str], idf: Mapping[str, float]) -> tuple[Vector, Vector]:
    """The concept (and concept-pair) vector and the word vector of a bag of features."""
    concepts = Counter({f: n for f, n in feats.items() if not f.startswith("w:")})
    words = Counter({f: n for f, n in feats.items() if f.startswith("w:")})
    return _weigh(concepts, idf), _weigh(words, idf)


def _ruzicka(a: Vector, b: Vector) -> float:
    """Weighted Jaccard similarity of two non-negative vectors, in [0, 1]."""
    shared = sum(min(v, b[f]) for f, v in a.items() if f in b)
    if not shared:
        return 0.0
    return shared / (sum(a.values()) + sum(b.values()) - shared)  # sum of maxima = sums - sum of minima


def _concept_similarity(message: Vector, example: Vector) -> float:
    """How far the message's concepts match an example's: the mean of their weighted Jaccard
    and of how much of the example the message contains ("fever and my incision is oozing"
    contains all of "pus is coming out of my wound" however many other concepts it has)."""
    shared = sum(min(v, example[f]) for f, v in message.items() if f in example)
    if not shared:
        return 0.0
    total = sum(example.values())
    return 0.5 * shared / (sum(message.values()) + total - shared) + 0.5 * shared / total


def _words(text: str) -> list[str]:
    """Lower-case tokens of a sentence, tokenized like a message, without punctuation."""
    return [tok.lower_ for tok in patient_parse(text).doc if _plain(tok.lower_)]


def _concepts(data: Mapping[str, object]) -> tuple[dict[tuple[str, ...], set[str]], set[tuple[str, ...]]]:
    """The examples file's concepts plus the red-flag lexicon's synonym groups it names."""
    tagged: dict[tuple[str, ...], set[str]] = {}
    together: set[tuple[str, ...]] = set()

    def add(tag: str, phrase: str) -> None:
        words = tuple(_words(phrase))
        if not words or all(_plain(w).isdigit() for w in words):
            return  # "#2" is the bladder to the lexicon, but a bare "2" is a number
        tagged.setdefault(words, set()).add(tag)
        tagged.setdefault(tuple(_stem(_plain(w)) for w in words), set()).add(tag)
        raw = tokens_of(phrase)
        if len(raw) > 1:
            together.add(raw)

    concepts = data.get("concepts") or {}
    if not isinstance(concepts, Mapping):
        raise ValueError("red_flag_examples.concepts: expected a mapping")
    for tag, phrases in concepts.items():
        for phrase in string_list(phrases, f"red_flag_examples.concepts.{tag}"):
            add(str(tag), phrase)
    groups = load_yaml("red_flags").get("groups") or {}
    links = data.get("lexicon_groups") or {}
    if not isinstance(links, Mapping):
        raise ValueError("red_flag_examples.lexicon_groups: expected a mapping")
    for group, tag in links.items():
        if group not in groups:
            raise ValueError(f"red_flag_examples.lexicon_groups: no group {group!r} in red_flags.yml")
        for phrase in string_list(groups[group], f"red_flags.groups.{group}"):
            add(str(tag), phrase)
    return tagged, together


@lru_cache(maxsize=1)
def _examples() -> _Examples:
    data = load_yaml("red_flag_examples")
    stop = frozenset(_plain(w) for w in string_list(data.get("stopwords", []), "red_flag_examples.stopwords"))
    tagged, together = _concepts(data)
    concepts = {key: frozenset(tags) for key, tags in tagged.items()}
    longest = max((len(k) for k in concepts), default=1)
    sentences: list[tuple[str, list[str]]] = []
    codes_raw = data.get("codes") or {}
    for code, examples in codes_raw.items():
        for sentence in string_list(examples, f"red_flag_examples.codes.{code}"):
            sentences.append((str(code), _words(sentence)))
    for sentence in string_list(data.get("ordinary", []), "red_flag_examples.ordinary"):
        sentences.append(("", _words(sentence)))
    featured = [(code, _features(words, concepts, longest, stop)) for code, words in sentences]
    df: Counter[str] = Counter()
    for _, feats in featured:
        df.update(set(feats))
    n = len(featured)
    idf = {f: math.log((n + 1) / (d + 1)) + 1.0 for f, d in df.items()}
    vectors = tuple((code, *_split(feats, idf)) for code, feats in featured)
    reassurance = frozenset(string_list(data.get("reassurance", []), "red_flag_examples.reassurance"))
    return _Examples(
        codes=tuple(str(c) for c in codes_raw),
        vectors=vectors,
        idf=idf,
        concepts=concepts,
        longest_concept=longest,
        stopwords=stop,
        reassurance=reassurance,
        together=frozenset(together),
    )


def _pieces(tokens: Sequence[str], reassurance: frozenset[str]) -> list[list[str]]:
    """The clauses of a message, pairs of neighbouring clauses, and the whole.

    A clause that reassures ("bladder is fine", "I peed fine this morning") is left out,
    unless the reassurance is denied ("not fine").
    """
    clauses: list[list[str]] = [[]]
    for token in tokens:
        if token in _SEGMENT_BREAKS:
            if clauses[-1]:
                clauses.append([])
        else:
            clauses[-1].append(token)
    clauses = [c for c in clauses if c and not _reassures(c, reassurance)]
    pieces = list(clauses)
    pieces.extend(a + b for a, b in zip(clauses, clauses[1:], strict=False))
    if len(clauses) > 2:
        pieces.append([t for c in clauses for t in c])
    return pieces


def _reassures(clause: Sequence[str], reassurance: frozenset[str]) -> bool:
    if clause[0] in _QUESTION_STARTS:
        return False  # "is it normal that I can't feel my privates?" asks, it does not reassure
    for i, word in enumerate(clause):
        if word in reassurance and not (i and clause[i - 1] in _DENIALS):
            return True
    return False


def _current_tokens(text: str, together: frozenset[tuple[str, ...]]) -> list[str]:
    """The message's lower-case tokens and clause breaks, without the words it denies, supposes
    or places in a past that is over. A temperature at fever level by the lexicon's rules
    ("temp 101", "38.5C") reads as the word "febrile"."""
    parsed = patient_parse(text)
    readings = fever_temperatures(text)
    kept: list[str] = []
    for i, (word, polarity) in enumerate(token_polarities(text, keep_together=together)):
        if any(s <= parsed.starts[i] < e for s, e in readings):
            word = _FEVER_WORD
        if word in _SEGMENT_BREAKS or (polarity in _KEPT and _plain(word)):
            kept.append(word)
    return kept


def _score_piece(words: Sequence[str], ex: _Examples) -> dict[str, float]:
    feats = _features(words, ex.concepts, ex.longest_concept, ex.stopwords)
    if not feats:
        return {}
    concept_vec, word_vec = _split(feats, ex.idf)
    best: dict[str, float] = {}
    for code, example_concepts, example_words in ex.vectors:
        sim = _CONCEPT_WEIGHT * _concept_similarity(concept_vec, example_concepts)
        sim += (1.0 - _CONCEPT_WEIGHT) * _ruzicka(word_vec, example_words)
        if sim > best.get(code, 0.0):
            best[code] = sim
    ordinary = best.pop("", 0.0)
    return {code: max(0.0, sim - _ORDINARY_PENALTY * ordinary) for code, sim in best.items()}


def closeness_scores(text: str) -> dict[str, float]:
    """Every red-flag code's closeness to the message, in [0, 1] (0 for a code nothing resembles)."""
    ex = _examples()
    scores = dict.fromkeys(ex.codes, 0.0)
    for piece in _pieces(_current_tokens(text, ex.together), ex.reassurance):
        for code, score in _score_piece(piece, ex).items():
            scores[code] = max(scores[code], min(1.0, score))
    return scores


def closest_red_flag(text: str) -> tuple[str, float] | None:
    """The red-flag code whose example sentences are closest to ``text``, and the similarity.

    ``None`` when nothing in the message resembles any red flag (empty text, only denied or
    supposed signs). Compare the similarity with :data:`CLOSENESS_THRESHOLD`.
    """
    scores = closeness_scores(text)
    if not scores:
        return None
    code, score = max(scores.items(), key=lambda item: (item[1], item[0]))
    return (code, round(score, 4)) if score > 0.0 else None
