"""Readable YAML lexicons compiled into spaCy matchers, and the tokenized form of a message.

Every lexicon file in ``bot/language/lexicons`` has a ``codes`` section (code -> list of
entries) and may have a ``groups`` section (name -> list of phrases usable in patterns as
``@name``). An entry is either a plain phrase, matched case-insensitively token by token
with a ``PhraseMatcher``, or a pattern (any entry containing ``@ | ~ * ! ?``), compiled for
a ``Matcher``. Pattern syntax, items separated by spaces:

- ``word``        that word (tokenized like the message, so ``can't`` is ``ca`` + ``n't``)
- ``a|b|c``       any one of the words
- ``@name``       any phrase of group ``name``
- ``item?``       the item is optional
- ``~N``          up to N words (default 3) that are no punctuation, negation cue,
                  contrast word ("but") or conjunction ("and", "or")
- ``*N``          the same, but "and" / "or" and commas may be crossed
- ``!a|b|@name``  first item: the word before the match must not be one of these;
                  last item: the word after the match must not be one of these
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from bot.language.pipeline import blank_english
from bot.language.types import Mention

LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"

TokenSpec = dict[str, Any]

_QUOTES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"', "`": "'"}
_SPLIT_CHARS = set("?!/;:()[]=~")
_PATTERN_MARK = re.compile(r"[@|~*!]|\?(?:\s|$)")
_MAX_PATTERNS_PER_ENTRY = 20000
_HARD_PUNCT = frozenset({".", "!", "?", ";", ":", "(", ")", "-", "--", "\u2013", "\u2014", "...", "\n"})


@dataclass(frozen=True)
class Parsed:
    """A message tokenized once: the original text, the tokens, and their offsets in it."""

    text: str
    doc: Doc
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def char_span(self, start: int, end: int) -> tuple[int, int]:
        """Character offsets in the original text of tokens ``start`` to ``end`` (exclusive)."""
        return self.starts[start], self.ends[end - 1]

    def token_span(self, char_start: int, char_end: int) -> tuple[int, int] | None:
        """The tokens lying inside the characters ``char_start``..``char_end``, if any."""
        inside = [i for i in range(len(self.doc)) if self.starts[i] >= char_start and self.ends[i] <= char_end]
        if not inside:
            overlapping = [i for i in range(len(self.doc)) if self.starts[i] < char_end and self.ends[i] > char_start]
            if not overlapping:
                return None
            inside = overlapping
        return inside[0], inside[-1] + 1

    def lower(self, i: int) -> str:
        """Lower-case form of token ``i`` ("" outside the message)."""
        return self.doc[i].lower_ if 0 <= i < len(self.doc) else ""


def _normalize(text: str) -> tuple[str, list[int]]:
    """Straighten quotes and space out punctuation the tokenizer keeps glued ("numb?no").

    Returns the normalized text and, for each of its characters, the index of the original
    character it comes from (inserted spaces point at their neighbour).
    """
    out: list[str] = []
    origin: list[int] = []
    n = len(text)
    for i, ch in enumerate(text):
        ch = _QUOTES.get(ch, ch)
        split = ch in _SPLIT_CHARS
        if split and ch in ":/" and 0 < i < n - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
            split = False
        if split and out and not out[-1].isspace():
            out.append(" ")
            origin.append(i)
        out.append(ch)
        origin.append(i)
        if split and i + 1 < n and not text[i + 1].isspace():
            out.append(" ")
            origin.append(i)
    return "".join(out), origin


@lru_cache(maxsize=1024)
def parse(text: str) -> Parsed:
    """Tokenize ``text`` with the shared blank pipeline (cached per process)."""
    normalized, origin = _normalize(text)
    doc = blank_english().make_doc(normalized)
    starts = tuple(origin[t.idx] for t in doc)
    ends = tuple(origin[t.idx + len(t.text) - 1] + 1 for t in doc)
    return Parsed(text=text, doc=doc, starts=starts, ends=ends)


def tokens_of(phrase: str) -> tuple[str, ...]:
    """Lower-case tokens of a lexicon phrase, tokenized exactly like a message."""
    return tuple(t.lower_ for t in parse(phrase).doc)


def phrase_doc(phrase: str) -> Doc:
    """A lexicon phrase as a Doc of exactly the tokens a message would have."""
    return Doc(blank_english().vocab, words=list(tokens_of(phrase)))


@cache
def load_yaml(name: str) -> dict[str, Any]:
    """Read ``lexicons/<name>.yml`` once per process."""
    path = LEXICON_DIR / f"{name}.yml"
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def string_list(value: Any, where: str) -> list[str]:
    """Check that a YAML value is a list of strings and return it."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of strings (quote YAML words like on, no, yes)")
    return list(value)


@cache
def gap_blocked_words(loose: bool) -> frozenset[str]:
    """Words a ``~``/``*`` gap may not cross: one-word negation cues, contrast words, conjunctions."""
    data = load_yaml("negation")
    words: set[str] = set()
    for key in ("negation_before", "uncertainty_before", "hypothetical_before", "contrast_words"):
        for phrase in string_list(data.get(key, []), f"negation.{key}"):
            tokens = tokens_of(phrase)
            if len(tokens) == 1:
                words.update(tokens)
    words.update({"not", "n't", "nt"})
    if not loose:
        words.update(string_list(data.get("conjunctions", []), "negation.conjunctions"))
    return frozenset(words)


@dataclass(frozen=True)
class Candidate:
    """One lexicon hit: a code over tokens ``start``..``end`` (exclusive)."""

    code: str
    start: int
    end: int

    @property
    def length(self) -> int:
        """Number of tokens covered."""
        return self.end - self.start

    def overlaps(self, other: Candidate) -> bool:
        """Whether the two hits share a token."""
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class _Gap:
    size: int
    loose: bool  # may cross "and" / "or" and commas


@dataclass(frozen=True)
class _Entry:
    code: str
    segments: tuple[str, ...]  # matcher keys of the gap-free pieces, in order
    gaps: tuple[_Gap, ...]  # the gap after each piece but the last
    not_before: frozenset[str]
    not_after: frozenset[str]


def _is_pattern(entry: str) -> bool:
    return bool(_PATTERN_MARK.search(entry))


class CompiledLexicon:
    """The entries of one lexicon, compiled once: plain phrases into a PhraseMatcher, the
    gap-free pieces of patterns into a Matcher; gaps are bridged in Python at match time."""

    def __init__(self, codes: Mapping[str, Sequence[str]], groups: Mapping[str, Sequence[str]], where: str) -> None:
        """Compile ``codes`` (code -> entries) using ``groups`` for ``@name`` references."""
        nlp = blank_english()
        self._where = where
        self._groups = {name: [tokens_of(p) for p in phrases] for name, phrases in groups.items()}
        self._phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._matcher = Matcher(nlp.vocab)
        self._phrase_codes: dict[int, str] = {}
        self._entries: list[_Entry] = []
        self._blocked = {False: gap_blocked_words(loose=False), True: gap_blocked_words(loose=True)}
        self.codes: tuple[str, ...] = tuple(codes)
        for code, entries in codes.items():
            plain: list[Doc] = []
            for index, entry in enumerate(entries):
                if _is_pattern(entry):
                    self._add_pattern(code, index, entry)
                else:
                    plain.append(phrase_doc(entry))
            if plain:
                name = f"{where}:{code}"
                self._phrase_codes[nlp.vocab.strings.add(name)] = code
                self._phrases.add(name, plain)

    def _alternatives(self, item: str) -> list[tuple[str, ...]]:
        alts: list[tuple[str, ...]] = []
        for alt in item.split("|"):
            if alt.startswith("@"):
                if alt[1:] not in self._groups:
                    raise ValueError(f"{self._where}: unknown group {alt!r}")
                alts.extend(self._groups[alt[1:]])
            elif alt:
                alts.append(tokens_of(alt))
        if not alts:
            raise ValueError(f"{self._where}: empty item in pattern")
        return alts

    def _options(self, item: str) -> list[list[TokenSpec]]:
        optional = item.endswith("?") and len(item) > 1
        if optional:
            item = item[:-1]
        alts = self._alternatives(item)
        singles = sorted({a[0] for a in alts if len(a) == 1})
        options: list[list[TokenSpec]] = []
        if singles:
            options.append([{"LOWER": {"IN": singles}} if len(singles) > 1 else {"LOWER": singles[0]}])
        for alt in dict.fromkeys(a for a in alts if len(a) > 1):
            options.append([{"LOWER": tok} for tok in alt])
        if optional:
            options.append([])
        return options

    def _add_segment(self, name: str, items: list[str], entry: str) -> None:
        slots = [self._options(item) for item in items]
        count = 1
        for slot in slots:
            count *= len(slot)
        if count > _MAX_PATTERNS_PER_ENTRY:
            raise ValueError(f"{self._where}: {entry!r} expands to {count} patterns")
        patterns = [[spec for part in combo for spec in part] for combo in itertools.product(*slots)]
        patterns = [p for p in patterns if p]
        if not patterns:
            raise ValueError(f"{self._where}: a piece of {entry!r} can match nothing")
        self._matcher.add(name, patterns)

    def _add_pattern(self, code: str, index: int, entry: str) -> None:
        items = entry.split()
        not_before: frozenset[str] = frozenset()
        not_after: frozenset[str] = frozenset()
        if items and items[0].startswith("!"):
            not_before = frozenset(a[-1] for a in self._alternatives(items.pop(0)[1:]))
        if items and items[-1].startswith("!"):
            not_after = frozenset(a[0] for a in self._alternatives(items.pop()[1:]))
        if any(i.startswith("!") for i in items):
            raise ValueError(f"{self._where}: '!' only at the start or end of {entry!r}")
        pieces: list[list[str]] = [[]]
        gaps: list[_Gap] = []
        for item in items:
            gap = re.fullmatch(r"([~*])(\d*)", item)
            if gap:
                gaps.append(_Gap(int(gap.group(2) or 3), gap.group(1) == "*"))
                pieces.append([])
            else:
                pieces[-1].append(item)
        if any(not piece for piece in pieces):
            raise ValueError(f"{self._where}: a gap must sit between two words in {entry!r}")
        names: list[str] = []
        for number, piece in enumerate(pieces):
            name = f"{self._where}:{code}:{index}:{number}"
            self._add_segment(name, piece, entry)
            names.append(name)
        self._entries.append(_Entry(code, tuple(names), tuple(gaps), not_before, not_after))

    def _bridgeable(self, parsed: Parsed, start: int, end: int, gap: _Gap) -> bool:
        """Whether tokens ``start``..``end`` may fill a gap."""
        if end - start > gap.size:
            return False
        blocked = self._blocked[gap.loose]
        for i in range(start, end):
            tok = parsed.doc[i]
            if tok.is_space or tok.lower_ in blocked:
                return False
            if tok.is_punct and (not gap.loose or tok.lower_ in _HARD_PUNCT):
                return False
        return True

    def candidates(self, parsed: Parsed) -> list[Candidate]:
        """Every hit of every entry in the message (overlaps included, duplicates removed)."""
        doc = parsed.doc
        found: set[Candidate] = set()
        if len(self._phrases):
            for key, start, end in self._phrases(doc):
                found.add(Candidate(self._phrase_codes[key], start, end))
        pieces: dict[str, list[tuple[int, int]]] = {}
        if len(self._matcher):
            strings = doc.vocab.strings
            for key, start, end in self._matcher(doc):
                pieces.setdefault(strings[key], []).append((start, end))
        for entry in self._entries:
            spans = pieces.get(entry.segments[0], [])
            for name, gap in zip(entry.segments[1:], entry.gaps, strict=True):
                nexts = pieces.get(name, [])
                spans = [
                    (s, e2) for s, e in spans for s2, e2 in nexts if s2 >= e and self._bridgeable(parsed, e, s2, gap)
                ]
                if not spans:
                    break
            for start, end in spans:
                if entry.not_before and parsed.lower(start - 1) in entry.not_before:
                    continue
                if entry.not_after and parsed.lower(end) in entry.not_after:
                    continue
                found.add(Candidate(entry.code, start, end))
        return sorted(found, key=lambda c: (c.start, c.end, c.code))


def compile_lexicon(name: str, section: str = "codes") -> CompiledLexicon:
    """Compile one section of ``lexicons/<name>.yml`` (uncached; see the callers' caches)."""
    data = load_yaml(name)
    codes_raw = data.get(section)
    if not isinstance(codes_raw, dict):
        raise ValueError(f"{name}.yml: missing '{section}' mapping")
    codes = {str(code): string_list(entries, f"{name}.{section}.{code}") for code, entries in codes_raw.items()}
    groups_raw = data.get("groups") or {}
    if not isinstance(groups_raw, dict):
        raise ValueError(f"{name}.yml: 'groups' must be a mapping")
    groups = {str(g): string_list(p, f"{name}.groups.{g}") for g, p in groups_raw.items()}
    return CompiledLexicon(codes, groups, f"{name}.{section}")


def longest_first(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Keep non-overlapping hits, preferring longer ones, then earlier ones (any code)."""
    chosen: list[Candidate] = []
    for cand in sorted(candidates, key=lambda c: (-c.length, c.start, c.code)):
        if not any(cand.overlaps(other) for other in chosen):
            chosen.append(cand)
    return sorted(chosen, key=lambda c: (c.start, c.end))


def longest_per_code(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Like :func:`longest_first`, but hits of different codes may overlap."""
    by_code: dict[str, list[Candidate]] = {}
    for cand in candidates:
        by_code.setdefault(cand.code, []).append(cand)
    chosen = [c for group in by_code.values() for c in longest_first(group)]
    return sorted(chosen, key=lambda c: (c.start, c.end, c.code))


def mention_of(parsed: Parsed, code: str, start: int, end: int, negated: bool) -> Mention:
    """A :class:`Mention` for tokens ``start``..``end`` of a parsed message."""
    char_start, char_end = parsed.char_span(start, end)
    return Mention(code=code, text=parsed.text[char_start:char_end], start=char_start, end=char_end, negated=negated)
