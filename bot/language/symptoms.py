"""Symptoms in a patient's message: leg/back pain and the qualities the documents name.

Lexicon and the decisions behind it: ``lexicons/symptoms.yml`` (header comment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.language.lexicon import (
    Candidate,
    CompiledLexicon,
    Parsed,
    compile_lexicon,
    load_yaml,
    longest_first,
    mention_of,
    string_list,
)
from bot.language.negation import Polarity, assess_tokens, patient_parse
from bot.language.red_flags import find_red_flags
from bot.language.types import Mention
from bot.vocabulary import SYMPTOMS

SYMPTOM_CODES = SYMPTOMS

_MAX_FILLERS_AFTER = 6
_MAX_FILLERS_BEFORE = 5
_COORDINATORS = frozenset({"and", "or", ",", "&", "/", "n", "+"})
# "an ache in my back and my leg gives out": a body part followed by one of these starts a new
# clause, so the ache is not placed on it.
_NEW_CLAUSE_VERBS = frozenset(
    {
        "gives",
        "gave",
        "giving",
        "keeps",
        "kept",
        "buckles",
        "buckled",
        "goes",
        "went",
        "falls",
        "fell",
        "collapses",
        "collapsed",
        "feels",
        "felt",
        "tingles",
        "tingled",
        "gets",
        "got",
    }
)
_COORDINATION_FILLERS = frozenset({"my", "the", "both", "left", "right", "into", "down", "to", "in", "and", "lower"})
_PATH_WORDS = frozenset({"into", "to", "down", "through", "my", "the", "and", "then", "all", "way", "left", "right"})
_COMMA_ADVERBS = frozenset({"right", "mostly", "mainly", "especially", "all", "usually", "always", "down", "just"})
_SENTENCE_END = re.compile(r"[.!?;\n]")


@dataclass(frozen=True)
class _SymptomLexicon:
    codes: CompiledLexicon
    places: CompiledLexicon
    pain_words: CompiledLexicon
    pain_codes: frozenset[str]
    fillers_after: frozenset[str]
    fillers_before: frozenset[str]
    not_back_after: frozenset[str]
    clause_starters: frozenset[str]


@lru_cache(maxsize=1)
def _lexicon() -> _SymptomLexicon:
    data = load_yaml("symptoms")
    placement = data.get("placement") or {}
    groups = {str(k): string_list(v, f"symptoms.groups.{k}") for k, v in (data.get("groups") or {}).items()}
    places_cfg = placement.get("places") or {}
    places = CompiledLexicon(
        {str(code): string_list(entries, f"symptoms.placement.places.{code}") for code, entries in places_cfg.items()},
        groups,
        "symptoms.places",
    )
    pain_words = CompiledLexicon({"pain": ["@pain_word"]}, groups, "symptoms.pain_words")

    def words(key: str) -> frozenset[str]:
        return frozenset(string_list(placement.get(key, []), f"symptoms.placement.{key}"))

    return _SymptomLexicon(
        codes=compile_lexicon("symptoms"),
        places=places,
        pain_words=pain_words,
        pain_codes=words("pain_codes"),
        fillers_after=words("fillers_after"),
        fillers_before=words("fillers_before"),
        not_back_after=words("not_back_after"),
        clause_starters=frozenset(
            string_list(load_yaml("negation").get("clause_starters", []), "negation.clause_starters")
        ),
    )


def _body_places(parsed: Parsed, lex: _SymptomLexicon) -> list[Candidate]:
    places = []
    for cand in longest_first(lex.places.candidates(parsed)):
        if parsed.lower(cand.end - 1) == "back" and parsed.lower(cand.end) in lex.not_back_after:
            continue  # "my back surgery", "the back of my knee"
        places.append(cand)
    return places


class _Placer:
    """Finds the body parts a pain word is placed on in one message."""

    def __init__(self, parsed: Parsed, lex: _SymptomLexicon, mentions: list[Candidate]) -> None:
        self.parsed = parsed
        self.lex = lex
        self.places = _body_places(parsed, lex)
        self.by_start = {p.start: p for p in self.places}
        self.by_end = {p.end: p for p in self.places}
        self.mention_by_start = {m.start: m for m in mentions}
        self.mention_by_end = {m.end: m for m in mentions}

    def _bare_back(self, i: int) -> Candidate | None:
        """A bare "back" listed with other body parts ("my legs and back")."""
        if self.parsed.lower(i) == "back" and self.parsed.lower(i + 1) not in self.lex.not_back_after:
            return Candidate("back_pain", i, i + 1)
        return None

    def _skip(self, i: int, words: frozenset[str], step: int, limit: int) -> int:
        hops = 0
        while hops < limit and self.parsed.lower(i) in words:
            i += step
            hops += 1
        return i

    def _next_listed(self, place: Candidate) -> Candidate | None:
        """The body part after ``place`` in a list or a path ("back and legs", "back into my hip")."""
        j = place.end
        if self.parsed.lower(j) in _COORDINATORS:
            k = self._skip(j + 1, _COORDINATION_FILLERS, 1, 2)
            listed = self.by_start.get(k) or self._bare_back(k)
            if listed is not None and self.parsed.lower(listed.end) in _NEW_CLAUSE_VERBS:
                return None
            return listed
        k = self._skip(j, _PATH_WORDS, 1, 4)
        return self.by_start.get(k) if k > j else None

    def _previous_listed(self, place: Candidate) -> Candidate | None:
        """The body part before ``place`` in a list ("my back and both legs")."""
        if "my" in (self.parsed.lower(place.start), self.parsed.lower(place.start - 1)):
            return None  # "... my thigh and my back hurts": a new subject, not a list
        i = self._skip(place.start - 1, _COORDINATION_FILLERS - {"and"}, -1, 2)
        if self.parsed.lower(i) not in _COORDINATORS:
            return None
        k = self._skip(i - 1, _COORDINATION_FILLERS - {"and"}, -1, 2)
        return self.by_end.get(k + 1) or self._bare_back(k)

    def _chain(self, first: Candidate, forward: bool) -> list[Candidate]:
        found = [first]
        while len(found) < 6:
            nxt = self._next_listed(found[-1]) if forward else self._previous_listed(found[-1])
            if nxt is None or nxt in found:
                break
            found.append(nxt)
        return found

    def after(self, end: int) -> list[Candidate]:
        """Places after a pain word ending at ``end`` ("burning down my left leg")."""
        j, hops = end, 0
        while j not in self.by_start and hops < _MAX_FILLERS_AFTER:
            low = self.parsed.lower(j)
            if low in self.lex.fillers_after:
                j += 1
            elif low == "," and self.parsed.lower(j + 1) in _COMMA_ADVERBS:
                j += 2
            elif low in _COORDINATORS and j + 1 in self.mention_by_start:
                j = self.mention_by_start[j + 1].end  # "burning and tingling in both feet"
            else:
                break
            hops += 1
        return self._chain(self.by_start[j], forward=True) if j in self.by_start else []

    def before(self, start: int, strict: bool) -> list[Candidate]:
        """Places before a pain word starting at ``start`` ("my legs are burning").

        Not ``strict``, the search also crosses other symptoms and "and" ("my hamstring is
        tight and burns", "my leg is weak and numb and burns").
        """
        i, hops = start, 0
        while i not in self.by_end and hops < _MAX_FILLERS_BEFORE:
            low = self.parsed.lower(i - 1)
            if low in self.lex.fillers_before:
                i -= 1
            elif strict:
                break
            elif i in self.mention_by_end:
                i = self.mention_by_end[i].start  # "my leg is weak and numb and burns"
            elif low in _COORDINATORS and low != "," and self.parsed.lower(i) not in self.lex.clause_starters:
                i -= 1
            else:
                break
            hops += 1
        return self._chain(self.by_end[i], forward=False) if i in self.by_end else []

    def listed_before(self, site: Candidate) -> list[Candidate]:
        """Body parts listed before a lexicon pain site that starts with one ("my legs and back ache").

        A site that starts with its pain word lists nothing before it: "numb feet and an aching
        back" puts no ache in the feet.
        """
        if site.start not in self.by_start and self._bare_back(site.start) is None:
            return []
        return self._chain(site, forward=False)[1:]


def _sentence_of(text: str, offset: int) -> int:
    return len(_SENTENCE_END.findall(text, 0, offset))


def find_symptoms(text: str) -> list[Mention]:
    """Every symptom the message names; denied, doubted or past ones come back with ``negated=True``.

    Past means over: "before surgery I had numbness, now it's just back pain" gives numbness
    negated (not a current symptom). A caregiver's "her leg burns" counts like "my leg burns".
    """
    lex = _lexicon()
    parsed = patient_parse(text)
    found = longest_first(lex.codes.candidates(parsed))
    anchors = [c for c in found if c.code in lex.pain_codes]
    pain_sites = [c for c in found if c.code in ("leg_pain", "back_pain")]
    for word in lex.pain_words.candidates(parsed):
        if not any(word.overlaps(c) for c in found):
            anchors.append(word)
    placer = _Placer(parsed, lex, found)
    derived: list[Candidate] = []

    def add(code: str, start: int, end: int) -> None:
        span = Candidate(code, start, end)
        if not any(span.overlaps(c) and c.code == code for c in pain_sites + derived):
            derived.append(span)

    for anchor in anchors:
        after = placer.after(anchor.end)
        placed = (
            after + placer.before(anchor.start, strict=True) if after else placer.before(anchor.start, strict=False)
        )
        for place in placed:
            add(place.code, min(anchor.start, place.start), max(anchor.end, place.end))
    for site in pain_sites:
        for place in placer.listed_before(site):
            add(place.code, place.start, site.end)
    candidates = found + derived
    results = assess_tokens(parsed, [(c.start, c.end) for c in candidates], historical=True)
    mentions = [
        mention_of(parsed, c.code, c.start, c.end, negated=r.polarity is not Polarity.AFFIRMED)
        for c, r in zip(candidates, results, strict=True)
    ]
    flags = find_red_flags(text)
    weak_sentences = {_sentence_of(text, f.start) for f in flags if f.code == "progressive_weakness" and not f.negated}
    kept = [
        m
        for m in mentions
        if not any(m.start < f.end and f.start < m.end for f in flags)
        and not (m.code == "weakness" and _sentence_of(text, m.start) in weak_sentences)
    ]
    return sorted(kept, key=lambda m: (m.start, m.end, m.code))


_LEG_PARTS = r"legs?|thighs?|calf|calves|knees?|shins?|feet|foot|ankles?|hips?|buttocks?|butt|bum|glutes?|sciatica"
# "back" only as a place ("my back", "lower back"), never "it came back" or "a while back".
_BACK_PARTS = r"(?:my|the|lower|low|upper|mid|middle)\s+back|spine|lumbar|tailbone"
_BODY_PART = re.compile(rf"\b(?:(?P<leg>{_LEG_PARTS})|(?P<back>{_BACK_PARTS}))\b", re.IGNORECASE)


# A bare "back" is the place ("back n legs", "mostly back") unless a word before it makes it
# a return or a time: "it came (right) back", "it's back", "a while back", "years back".
_BARE_BACK = re.compile(r"\bback\b", re.IGNORECASE)
_NOT_A_PLACE_BEFORE = frozenset(
    "come came comes coming return returned went go goes going get gets got getting bounce bounced "
    "bouncing flare flared flaring crept creep creeping bring brought set hold held look looked "
    "think thought way while ago year years month months week weeks day days time times it's its "
    "is was are were be been 's pain ache aching hurt hurting it right straight all just now again "
    "back call text write reply".split()
)


def _bare_back_is_a_place(text: str, start: int) -> bool:
    before = re.findall(r"[a-z']+", text[:start].lower().replace("\u2019", "'"))
    return not before or before[-1] not in _NOT_A_PLACE_BEFORE


def body_part_pains(text: str) -> list[str]:
    """``leg_pain`` / ``back_pain`` for the body parts a message names ("just my lower back").

    Only for an answer to "which symptoms?", where naming a place means pain there; elsewhere a
    body part alone ("surgery on my lower back") is no symptom.
    """
    text = text or ""
    places = [(m.start(), "leg_pain" if m.group("leg") else "back_pain") for m in _BODY_PART.finditer(text)]
    places += [(m.start(), "back_pain") for m in _BARE_BACK.finditer(text) if _bare_back_is_a_place(text, m.start())]
    found: list[str] = []
    for _start, code in sorted(places):
        if code not in found:
            found.append(code)
    return found
