"""Normalise a patient's message before the lexicons read it: SMS shorthand, then spelling.

``normalise(text)`` returns a :class:`Normalised`: the rewritten text, the edits, and
``to_original(start, end)`` which maps character offsets of the rewritten text back into the
message as the patient typed it (Rasa entity ``start`` / ``end`` must point there).

1. Shorthand (``lexicons/shorthand.yml``): whole tokens, any case, some only in context
   ("wks" -> weeks, "2 mo" -> 2 months, "numb n tingly" -> numb and tingly, "r leg" -> right
   leg, "idk" -> I don't know, "w/o" -> without).
2. Spelling (``lexicons/spelling.yml``, rapidfuzz): a word no lexicon or dictionary knows is
   replaced by the one vocabulary word close enough to it ("numbess" -> numbness, "febuary" ->
   february). It never corrects a known word, never writes a red-flag word or a negation, and
   never corrects a negation. The files' headers give the rules in full.

Both steps are cheap: the vocabulary is built once per process and results are cached.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA
from spacy.lang.en.stop_words import STOP_WORDS

from bot.language.lexicon import load_yaml, string_list
from bot.language.types import Mention

__all__ = ["Edit", "Normalised", "correct_word", "find_normalised", "normalise"]

EditKind = Literal["shorthand", "spelling"]


@dataclass(frozen=True)
class Edit:
    """One replacement: ``original`` (at ``start``..``end`` of the message) became ``replacement``."""

    start: int
    end: int
    original: str
    replacement: str
    kind: EditKind


@dataclass(frozen=True)
class Normalised:
    """A message after normalisation, and the way back to the message as typed."""

    original: str
    text: str
    edits: tuple[Edit, ...] = ()
    spans: tuple[tuple[int, int], ...] = ()  # where each edit's replacement lies in ``text``

    @classmethod
    def build(cls, original: str, edits: Iterable[Edit], base: str | None = None) -> Normalised:
        """Apply non-overlapping ``edits`` to ``original``; the text between them is taken from
        ``base`` (the original with the same offsets, e.g. capitals folded) when given."""
        base = original if base is None else base
        if len(base) != len(original):
            raise ValueError("base must keep the original's offsets")
        ordered = sorted(edits, key=lambda e: e.start)
        pieces: list[str] = []
        spans: list[tuple[int, int]] = []
        position = length = 0
        for edit in ordered:
            kept = base[position : edit.start]
            pieces.append(kept)
            length += len(kept)
            pieces.append(edit.replacement)
            spans.append((length, length + len(edit.replacement)))
            length += len(edit.replacement)
            position = edit.end
        pieces.append(base[position:])
        return cls(original, "".join(pieces), tuple(ordered), tuple(spans))

    @property
    def changed(self) -> bool:
        """Whether anything was rewritten (an edit, or capitals folded)."""
        return self.text != self.original

    def _back(self, pos: int, is_end: bool) -> int:
        # the last edit whose replacement starts at or before pos (for an end: before it)
        i = bisect_right([s for s, _ in self.spans], pos - 1 if is_end else pos) - 1
        if i < 0:
            return pos
        new_start, new_end = self.spans[i]
        edit = self.edits[i]
        if pos < new_end or (is_end and pos == new_end):
            return edit.end if is_end else edit.start
        return edit.end + (pos - new_end)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in the original message of the characters ``start``..``end`` of ``text``.

        A span that starts or ends inside a replacement covers the whole replaced word.
        """
        if not self.edits:
            return start, end
        mapped_start = self._back(start, is_end=False)
        mapped_end = self._back(end, is_end=True) if end > start else mapped_start
        return mapped_start, max(mapped_start, mapped_end)

    def original_text(self, start: int, end: int) -> str:
        """The original words behind ``text[start:end]``."""
        s, e = self.to_original(start, end)
        return self.original[s:e]


# --------------------------------------------------------------------------------------------
# Shorthand
# --------------------------------------------------------------------------------------------

_When = Literal["always", "after_quantity", "between_words", "before_body_part"]
_WHEN_VALUES = ("always", "after_quantity", "between_words", "before_body_part")
_QUANTITY_WORDS = (
    "a an one two three four five six seven eight nine ten eleven twelve few couple coupla several"
    " last next this that past per every each other"
).split()
_SINGULAR_AFTER = frozenset("1 a an one last next this that per every each".split())
_QUANTITY_BEFORE = re.compile(
    r"(?:^|(?<=[^\w'])|(?<=\d))(?P<q>\d+(?:[.,]\d+)?(?:\s*½|\s*1/2)?|½|" + "|".join(_QUANTITY_WORDS) + r")[\s-]*$",
    re.IGNORECASE,
)
_WORD_BEFORE = re.compile(r"[A-Za-z0-9][ \t]+$")
_WORD_AFTER = re.compile(r"[ \t]+[A-Za-z0-9]")
_PREVIOUS_WORD = re.compile(r"([A-Za-z0-9']+)[ \t]*$")
_TOKEN_EDGE = r"\w'\u2019@#/-"


@dataclass(frozen=True)
class _Rule:
    to: str
    when: _When
    singular: str | None
    not_after: frozenset[str]


@dataclass(frozen=True)
class _Shorthand:
    pattern: re.Pattern[str]
    rules: Mapping[str, tuple[_Rule, ...]]  # lower-case form -> rules, first match wins
    body_parts: re.Pattern[str]
    forms: frozenset[str]
    expansions: frozenset[str]


def _rules_from(data: Mapping[str, Any]) -> dict[str, list[_Rule]]:
    rules: dict[str, list[_Rule]] = {}
    entries = data.get("shorthand")
    if not isinstance(entries, list):
        raise ValueError("shorthand.yml: 'shorthand' must be a list")
    for number, entry in enumerate(entries, start=1):
        where = f"shorthand.yml entry {number}"
        if not isinstance(entry, dict) or "from" not in entry or "to" not in entry:
            raise ValueError(f"{where}: needs 'from' and 'to'")
        when = entry.get("when", "always")
        if when not in _WHEN_VALUES:
            raise ValueError(f"{where}: unknown 'when' {when!r}")
        singular = entry.get("singular")
        rule = _Rule(
            to=str(entry["to"]),
            when=when,
            singular=None if singular is None else str(singular),
            not_after=frozenset(w.lower() for w in string_list(entry.get("not_after", []), where)),
        )
        for form in string_list(entry["from"], where):
            rules.setdefault(form.lower(), []).append(rule)
    return rules


@lru_cache(maxsize=1)
def _shorthand() -> _Shorthand:
    data = load_yaml("shorthand")
    rules = _rules_from(data)
    alternatives = []
    for form in sorted(rules, key=len, reverse=True):
        tail = rf"(?![{_TOKEN_EDGE}])" if form[-1].isalnum() else r"(?!/)"
        alternatives.append(re.escape(form) + tail)
    pattern = re.compile(rf"(?<![{_TOKEN_EDGE}])(?:{'|'.join(alternatives)})", re.IGNORECASE)
    parts = string_list(data.get("body_parts", []), "shorthand.body_parts")
    body_parts = re.compile(r"[ \t]+(?:" + "|".join(re.escape(p) for p in parts) + r")\b", re.IGNORECASE)
    expansions = {w.lower() for rs in rules.values() for r in rs for w in re.findall(r"[A-Za-z]+", r.to)}
    return _Shorthand(
        pattern, {k: tuple(v) for k, v in rules.items()}, body_parts, frozenset(rules), frozenset(expansions)
    )


def _shorthand_edit(text: str, m: re.Match[str], sh: _Shorthand) -> Edit | None:
    form = m.group()
    before, after = text[: m.start()], text[m.end() :]
    previous = _PREVIOUS_WORD.search(before)
    previous_word = previous.group(1).lower() if previous else ""
    for rule in sh.rules[form.lower()]:
        if previous_word in rule.not_after:
            continue
        to = rule.to
        if rule.when == "after_quantity":
            q = _QUANTITY_BEFORE.search(before)
            if q is None:
                continue
            if rule.singular and q.group("q").lower() in _SINGULAR_AFTER:
                to = rule.singular
        elif rule.when == "between_words":
            if not (_WORD_BEFORE.search(before) and _WORD_AFTER.match(after)):
                continue
        elif rule.when == "before_body_part":
            if not sh.body_parts.match(after):
                continue
        if not form[-1].isalnum() and after[:1].isalnum():
            to += " "  # "w/tingling" -> "with tingling"
        return Edit(m.start(), m.end(), form, _cased(to, form), "shorthand")
    return None


def _cased(replacement: str, original: str) -> str:
    """``replacement`` Capitalised when ``original`` is ("Surg" -> "Surgery", "U" -> "You");
    otherwise as written (ALL-CAPS words are folded to lower case anyway: :func:`_fold_caps`)."""
    capitalised = original[:1].isupper() and (len(original) == 1 or not original.isupper())
    if capitalised and replacement[:1].islower():
        return replacement[0].upper() + replacement[1:]
    return replacement


_CAPS_WORD = re.compile(r"\b[A-Z][A-Z'\u2019]*[A-Z]\b")


def _fold_caps(text: str) -> str:
    """ALL-CAPS words in lower case, every offset kept ("I DON'T KNOW" -> "I don't know").

    spaCy's tokenizer splits "don't" but not "DON'T", so a shouted message would lose its
    negations; the lexicons ignore case, so nothing else changes.
    """

    def lower(m: re.Match[str]) -> str:
        word = m.group()
        folded = word.lower()
        return folded if len(folded) == len(word) else word

    return _CAPS_WORD.sub(lower, text)


# --------------------------------------------------------------------------------------------
# Spelling
# --------------------------------------------------------------------------------------------

_WORD = re.compile(r"(?<![\w'\u2019])[A-Za-z]+(?![\w'\u2019])")
_NEGATED_AUXILIARY = re.compile(
    r"^(?:do|does|did|is|was|were|are|have|has|had|could|would|should|ca|can|wo|won|must|need|might|ai|sha)n'?t$"
)
_NEGATED_AUXILIARIES = tuple(
    f"{stem}nt"
    for stem in "do does did is was were are have has had could would should ca can wo won must need might ai".split()
)
_NEGATIVE_PREFIXES = ("non", "un")


def _looks_negated(word: str) -> bool:
    """A negated auxiliary, however spelt ("doesnt", "dosent", "could'nt", "didnt")."""
    if _NEGATED_AUXILIARY.match(word):
        return True
    bare = word.replace("'", "")
    return bare.endswith(("nt", "tn")) and any(
        OSA.distance(bare, aux, score_cutoff=2) <= 2 for aux in _NEGATED_AUXILIARIES
    )


_LEXICON_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class _Spelling:
    min_length: int
    max_edits: tuple[tuple[int, int], ...]  # (length from, edits), ascending
    min_similarity: float
    known: frozenset[str]  # never corrected
    pools: Mapping[str, tuple[str, ...]]  # first letter -> vocabulary words
    negations: frozenset[str]

    def edits_for(self, length: int) -> int:
        allowed = 0
        for start, edits in self.max_edits:
            if length >= start:
                allowed = edits
        return allowed


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def lexicon_words(name: str) -> frozenset[str]:
    """Every lower-case word written in ``lexicons/<name>.yml`` (pattern syntax stripped)."""
    words: set[str] = set()
    for entry in _strings(load_yaml(name)):
        for item in re.split(r"[\s|]+", entry.lower()):
            if item.startswith(("@", "!@")):
                continue
            words.update(_LEXICON_WORD.findall(item))
    return frozenset(words)


_NEGATION_CUE_KEYS = (
    "negation_before",
    "negation_after",
    "uncertainty_before",
    "hypothetical_before",
    "answers",
    "bare_answers",
)
_NEGATORS = frozenset("no not never none nor nothing without nobody nowhere neither nope nah".split())


def _negation_words() -> frozenset[str]:
    """One-word negation and doubt cues of ``negation.yml`` ("no", "without", "gone", "maybe"...)
    and every negator word inside a longer cue."""
    data = load_yaml("negation")
    words = set(_NEGATORS)
    for key in _NEGATION_CUE_KEYS:
        for phrase in string_list(data.get(key, []), f"negation.{key}"):
            tokens = phrase.lower().split()
            if len(tokens) == 1:
                words.add(tokens[0])
            words.update(t for t in tokens if t in _NEGATORS or "n't" in t)
    return frozenset(words)


def _int_map(value: Any, where: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"{where}: expected a mapping of length -> edits")
    return tuple(sorted((int(k), int(v)) for k, v in value.items()))


@lru_cache(maxsize=1)
def _spelling() -> _Spelling:
    data = load_yaml("spelling")
    negation_words = _negation_words()
    red_flag_words = lexicon_words("red_flags") - set(
        string_list(data.get("red_flag_words_allowed", []), "spelling.red_flag_words_allowed")
    )
    stop_words = frozenset(w.lower() for w in STOP_WORDS)
    extra = frozenset(w.lower() for w in string_list(data.get("extra_targets", []), "spelling.extra_targets"))
    never = frozenset(w.lower() for w in string_list(data.get("never_targets", []), "spelling.never_targets"))
    real = frozenset(w.lower() for w in string_list(data.get("real_words", []), "spelling.real_words"))
    clinical = lexicon_words("procedures") | lexicon_words("symptoms") | lexicon_words("pain_course")
    shorthand = _shorthand()
    vocabulary = {
        w
        for w in clinical | extra
        if len(w) >= 4
        and w not in red_flag_words
        and w not in negation_words
        and w not in never
        and w not in stop_words
        and not _NEGATED_AUXILIARY.match(w)
    }
    pools: dict[str, list[str]] = {}
    for word in sorted(vocabulary):
        pools.setdefault(word[0], []).append(word)
    known = (
        clinical
        | extra
        | lexicon_words("red_flags")
        | negation_words
        | never
        | stop_words
        | real
        | shorthand.forms
        | shorthand.expansions
    )
    return _Spelling(
        min_length=int(data.get("min_length", 5)),
        max_edits=_int_map(data.get("max_edits"), "spelling.max_edits"),
        min_similarity=float(data.get("min_similarity", 80)),
        known=frozenset(known),
        pools={k: tuple(v) for k, v in pools.items()},
        negations=frozenset(negation_words | never),
    )


def _suggest(word: str, spelling: _Spelling, known: frozenset[str]) -> str | None:
    """The vocabulary word ``word`` (lower case) is a typo of, if exactly one is close enough."""
    if len(word) < spelling.min_length or not word.isalpha() or word in known:
        return None
    if word in spelling.negations or _looks_negated(word):
        return None  # never touch a negation or a contraction ("couldnt", "wasnt", "dosent")
    pool = spelling.pools.get(word[0], ())
    limit = spelling.edits_for(len(word))
    if not pool or limit <= 0:
        return None
    found = process.extract(word, pool, scorer=OSA.distance, score_cutoff=limit, limit=None)
    if not found:
        return None
    # the fewest edits, then the most alike (an inserted or dropped letter beats a wrong one)
    best = min(score for _, score, _ in found)
    alike = sorted(((fuzz.ratio(word, c), c) for c, score, _ in found if score == best), reverse=True)
    similarity, target = alike[0]
    if len(alike) > 1 and alike[1][0] == similarity:
        return None  # ambiguous
    if similarity < spelling.min_similarity:
        return None
    if any(word.startswith(p) != target.startswith(p) for p in _NEGATIVE_PREFIXES):
        return None
    if target in spelling.negations or _looks_negated(target):
        return None
    return target


@lru_cache(maxsize=16384)
def correct_word(word: str) -> str | None:
    """The vocabulary word a single typed word is a misspelling of, or ``None`` (lower case)."""
    spelling = _spelling()
    return _suggest(word.lower(), spelling, spelling.known)


def suggest_ignoring_real_words(word: str) -> str | None:
    """Like :func:`correct_word` but without the ``real_words`` list (to rebuild that list)."""
    spelling = _spelling()
    real = frozenset(w.lower() for w in string_list(load_yaml("spelling").get("real_words", []), "real_words"))
    return _suggest(word.lower(), spelling, spelling.known - real)


# --------------------------------------------------------------------------------------------
# normalise
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=2048)
def normalise(text: str) -> Normalised:
    """The message with shorthand written out and misspelt lexicon words corrected."""
    sh = _shorthand()
    edits: list[Edit] = []
    for m in sh.pattern.finditer(text):
        edit = _shorthand_edit(text, m, sh)
        if edit is not None:
            edits.append(edit)
    for m in _WORD.finditer(text):
        if any(e.start < m.end() and m.start() < e.end for e in edits):
            continue
        target = correct_word(m.group())
        if target is not None:
            edits.append(Edit(m.start(), m.end(), m.group(), _cased(target, m.group()), "spelling"))
    folded = _fold_caps(text)
    if not edits and folded == text:
        return Normalised(text, text)
    return Normalised.build(text, edits, base=folded)


def find_normalised(finder: Callable[[str], list[Mention]], text: str) -> list[Mention]:
    """Run a ``find_*`` function on the normalised message; offsets and texts are the original's."""
    normalised = normalise(text)
    if not normalised.changed:
        return finder(text)
    mentions: list[Mention] = []
    for mention in finder(normalised.text):
        start, end = normalised.to_original(mention.start, mention.end)
        mentions.append(replace(mention, start=start, end=end, text=text[start:end]))
    return mentions
