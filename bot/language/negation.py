"""Negation, uncertainty, hypothesis and history scope: which spans of a message are not current.

Generic, in the manner of ConText (Harkema et al. 2009): give it a message and the character
spans of whatever concepts were found, and it says for each span whether the message affirms,
denies, doubts, only supposes it (a condition, a question, an instruction to watch for), or,
for callers that ask, places it in a past that is over (before the surgery; years ago and
nothing now). The cue words live in ``lexicons/negation.yml`` (its header explains the rules).

The experiencer is always the patient: a caregiver's "she says her leg burns" is read as
"I says my leg burns" (:func:`patient_parse`), so nothing is dropped for another experiencer.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from bot.language.lexicon import Parsed, load_yaml, parse, phrase_doc, string_list, tokens_of
from bot.language.pipeline import blank_english

_PRE_WINDOW = 12
_UNCERTAIN_WINDOW = 5
_POST_WINDOW = 8
_SCOPE_CAP = 30
_SKIP_AFTER_CUE = frozenset({"really", "even", "ever", "seem", "seems", "to", "fully", "completely"})
_LIST_CONJ = frozenset({"or", "and", "nor", "&", "n", "plus", "/"})
_LIST_GLUE = _LIST_CONJ | frozenset({",", "any", "no", "even", "a", "an", "the", "some", "either"})
_ANSWER_SEPARATORS = frozenset({"?", ":", "-", "=", "\u2013", "\u2014", "--"})
_PLACE_WORDS = frozenset({"in", "on", "at", "down", "around", "along", "into", "across", "under"})
_PLACE_LENGTH = 4
_NOT_TOKENS = frozenset({"not", "n't", "nt", "never"})
_ANSWER_NO = frozenset({"no", "nope", "nah"})
_DETERMINERS = frozenset({"a", "an", "the", "some", "any", "lots", "lot"})
_CLAUSE_JOINERS = frozenset({",", "but", "and", "though", "although", "yet", "-"})


class Polarity(str, Enum):
    """What the message says about a span."""

    AFFIRMED = "affirmed"
    NEGATED = "negated"
    UNCERTAIN = "uncertain"  # "not sure if it's burning", "maybe a fever"
    HYPOTHETICAL = "hypothetical"  # "if I get a fever", "they talked about a fusion"
    HISTORICAL = "historical"  # "before the surgery I had numbness", "years ago ..., nothing now"


@dataclass(frozen=True)
class Assessment:
    """The polarity of one span, and the character span of the cue that decided it (if any)."""

    polarity: Polarity
    cue: tuple[int, int] | None = None


@dataclass(frozen=True)
class _Cue:
    kind: str  # a key of _FORWARD or _BACKWARD
    start: int
    end: int


_FORWARD = {
    "pre": (Polarity.NEGATED, _PRE_WINDOW),
    "uncertain": (Polarity.UNCERTAIN, _UNCERTAIN_WINDOW),
    "hypothetical": (Polarity.HYPOTHETICAL, _UNCERTAIN_WINDOW),
    "conditional": (Polarity.HYPOTHETICAL, _UNCERTAIN_WINDOW),
}
_BACKWARD = {"post": Polarity.NEGATED, "post_clause": Polarity.NEGATED, "post_uncertain": Polarity.UNCERTAIN}
_RANK = {
    Polarity.AFFIRMED: 0,
    Polarity.HISTORICAL: 1,
    Polarity.HYPOTHETICAL: 1,
    Polarity.UNCERTAIN: 2,
    Polarity.NEGATED: 3,
}
# Cue kinds whose words are never concepts for token_polarities.
_SCOPE_CUE_KINDS = (
    "pre",
    "uncertain",
    "hypothetical",
    "conditional",
    "post",
    "post_clause",
    "post_uncertain",
    "answer",
    "breaker",
    "contrast",
    "recurrence",
    "exception",
    "pseudo",
    "resolution",
    "resolution_weak",
    "before_surgery",
    "past_anchor",
    "distant_past",
)
# How far a resolution ("nothing now") reaches back, and an anchor ("before the surgery") forward.
_HISTORY_WINDOW = 25


class _CueSet:
    """The cue lexicon compiled once."""

    def __init__(self) -> None:
        data = load_yaml("negation")
        vocab = blank_english().vocab

        def words(key: str) -> list[str]:
            return string_list(data.get(key, []), f"negation.{key}")

        def tokens(key: str) -> frozenset[str]:
            return frozenset(t for p in words(key) for t in tokens_of(p))

        self.matchers: dict[str, PhraseMatcher] = {}
        for kind, key in (
            ("pre", "negation_before"),
            ("uncertain", "uncertainty_before"),
            ("hypothetical", "hypothetical_before"),
            ("conditional", "conditional_before"),
            ("current", "current_markers"),
            ("before_surgery", "before_surgery"),
            ("past_verb", "past_verbs"),
            ("past_anchor", "past_anchors"),
            ("distant_past", "distant_past"),
            ("resolution", "resolution"),
            ("resolution_weak", "resolution_weak"),
            ("continuation", "continuation"),
            ("post", "negation_after"),
            ("post_clause", "negation_after_clause"),
            ("post_uncertain", "uncertainty_after"),
            ("exception", "exceptions"),
            ("pseudo", "pseudo_followers"),
            ("answer", "answers"),
            ("breaker", "breakers"),
            ("contrast", "contrast_words"),
            ("recurrence", "recurrence"),
        ):
            matcher = PhraseMatcher(vocab, attr="LOWER")
            matcher.add(kind, [phrase_doc(p) for p in words(key)])
            self.matchers[kind] = matcher
        self.modals = tokens("not_after_modal")
        self.double_negatives = tokens("double_negatives")
        self.conjunctions = tokens("conjunctions")
        self.bare_answers = tokens("bare_answers")
        self.used_to_voided_after = tokens("used_to_voided_after")
        self.starters = frozenset(tokens_of(p)[0] for p in words("clause_starters") if tokens_of(p))
        self.circumstances = frozenset(tokens_of(p)[0] for p in words("exception_circumstances") if tokens_of(p))
        self.not_historical_after = tokens("not_historical_after")
        # words that are never a concept for token_polarities: scope cues and function words
        self.function_words = (
            self.starters | self.conjunctions | self.modals | self.double_negatives | {"not", "n't", "nt"}
        )
        self.contrast_tokens = frozenset(tokens_of(p)[0] for p in words("contrast_words") if len(tokens_of(p)) == 1)
        experiencer = data.get("experiencer") or {}
        if not isinstance(experiencer, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in experiencer.items()
        ):
            raise ValueError("negation.experiencer: expected a mapping of words to words")
        self.experiencer: dict[str, str] = {k.lower(): v.lower() for k, v in experiencer.items()}

    def spans(self, kind: str, parsed: Parsed) -> list[tuple[int, int]]:
        """Token spans of every cue of ``kind`` in the message."""
        return sorted((s, e) for _, s, e in self.matchers[kind](parsed.doc))


@lru_cache(maxsize=1)
def _cue_set() -> _CueSet:
    return _CueSet()


class _Scoper:
    """Scope computation for one message and one set of concept spans (token offsets)."""

    def __init__(self, parsed: Parsed, spans: Sequence[tuple[int, int]]) -> None:
        self.parsed = parsed
        self.n = len(parsed.doc)
        self.cues = _cue_set()
        self.spans = list(spans)
        self.in_concept = [False] * self.n
        for s, e in self.spans:
            for i in range(max(s, 0), min(e, self.n)):
                self.in_concept[i] = True
        self.concept_ends: dict[int, int] = {}
        for s, e in self.spans:
            self.concept_ends[s] = max(e, self.concept_ends.get(s, e))
        self.breaking = [False] * self.n
        for kind in ("breaker", "contrast"):
            for s, e in self.cues.spans(kind, parsed):
                for i in range(s, e):
                    self.breaking[i] = True
        self.recurrence_starts = {s for s, _ in self.cues.spans("recurrence", parsed)}
        self.pseudo_starts = {s for s, _ in self.cues.spans("pseudo", parsed)}

    # -- token classes -------------------------------------------------------------------
    def lower(self, i: int) -> str:
        return self.parsed.lower(i)

    def is_hard_break(self, i: int) -> bool:
        """Punctuation other than commas, or a line break (never inside a concept)."""
        if self.in_concept[i]:
            return False
        tok = self.parsed.doc[i]
        return tok.is_space or (tok.is_punct and tok.text not in {",", "'", '"', "/", "&"})

    def is_sentence_end(self, i: int) -> bool:
        tok = self.parsed.doc[i]
        return tok.is_space or tok.text in {".", "!", "?", ";", "...", "\u2026"}

    def starter_at(self, i: int) -> bool:
        return 0 <= i < self.n and not self.in_concept[i] and self.lower(i) in self.cues.starters

    def ends_phrase(self, i: int) -> bool:
        """Whether token ``i`` ends a phrase: end of text, punctuation, a line break, "and"."""
        if i >= self.n:
            return True
        tok = self.parsed.doc[i]
        return tok.is_punct or tok.is_space or tok.lower_ in self.cues.conjunctions

    # -- cues -----------------------------------------------------------------------------
    def find_cues(self) -> list[_Cue]:
        raw: list[_Cue] = []
        for kind in list(_FORWARD) + list(_BACKWARD):
            raw.extend(_Cue(kind, s, e) for s, e in self.cues.spans(kind, self.parsed))
        for i, tok in enumerate(self.parsed.doc):
            if tok.lower_ in {"not", "n't", "nt"} and self.lower(i - 1) not in self.cues.modals:
                start = i - 1 if tok.lower_ in {"n't", "nt"} and i > 0 else i
                raw.append(_Cue("pre", start, i + 1))
        chosen: list[_Cue] = []
        for cue in sorted(raw, key=lambda c: (-(c.end - c.start), c.start)):
            if any(cue.start < o.end and o.start < cue.end for o in chosen):
                continue
            if any(self.in_concept[i] for i in range(cue.start, cue.end)):
                continue
            chosen.append(cue)
        return sorted(chosen, key=lambda c: c.start)

    def is_pseudo(self, cue: _Cue) -> bool:
        """ "never stops", "doesn't help", "no, ...", "getting used to": no denial here."""
        j = cue.end
        while self.lower(j) in _SKIP_AFTER_CUE:
            j += 1
        if j in self.pseudo_starts:
            return True
        if cue.kind == "pre" and cue.end - cue.start == 1 and self.lower(cue.start) in _ANSWER_NO:
            nxt = self.parsed.doc[cue.end] if cue.end < self.n else None
            if self.starter_at(cue.end) or nxt is None or nxt.is_punct:
                return True  # "no my foot is numb", "leg pain no, numbness yes": an answer
        if (self.lower(cue.start), self.lower(cue.start + 1)) == ("used", "to"):
            return self.lower(cue.start - 1) in self.cues.used_to_voided_after
        if self.lower(cue.start) == "without":
            i = cue.start - 1
            while i >= 0 and not self.is_hard_break(i) and not self.breaking[i]:
                if self.lower(i) in self.cues.double_negatives:
                    return True  # "I can't walk without my leg burning"
                i -= 1
        return False

    def _comma_continues(self, j: int) -> bool:
        """Whether the comma at ``j`` goes on with a list ("no numbness, tingling or weakness").

        A list needs evidence: a conjunction right after the comma, or another comma /
        conjunction right after the next concept. "no fever, calf swollen" is two statements.
        """
        k = j + 1
        skipped: list[str] = []
        while k < self.n and k not in self.concept_ends and len(skipped) < 3:
            tok = self.parsed.doc[k]
            if tok.is_punct or tok.is_space or self.breaking[k] or self.starter_at(k):
                return False
            skipped.append(tok.lower_)
            k += 1
        if k not in self.concept_ends:
            return False
        if any(w in _LIST_CONJ for w in skipped):
            return True
        after = self.lower(self.concept_ends[k])
        return after == "," or after in _LIST_CONJ

    def forward_scope(self, start: int) -> int:
        """First token after the clause that a cue ending at ``start`` governs."""
        j = start
        while j < self.n and j - start <= _SCOPE_CAP:
            if self.in_concept[j]:
                j += 1
                continue
            low = self.lower(j)
            if self.is_hard_break(j) or self.breaking[j]:
                return j
            if low == ",":
                if not self._comma_continues(j):
                    return j
            elif low in self.cues.conjunctions and self.starter_at(j + 1):
                if not (low in {"or", "nor"} and self.lower(j + 1) in _DETERMINERS):
                    return j  # "no fever and my calf is swollen"; but "no fever or a cough" is a list
            j += 1
        return j

    def backward_scope(self, end: int) -> int:
        """First token of the clause leading up to a post-cue starting at ``end``."""
        i = end - 1
        while i >= 0 and end - i <= _POST_WINDOW:
            if self.in_concept[i]:
                i -= 1
                continue
            low = self.lower(i)
            if self.is_hard_break(i) or self.breaking[i]:
                return i + 1
            if (low == "," or low in self.cues.conjunctions) and self.lower(i + 1) in self.cues.starters:
                return i + 1  # "a fever, the chills are gone": a starter opens a clause even inside a concept
            i -= 1
        return i + 1

    def previous_clause(self, cue: _Cue) -> int:
        """First token of the clause before a clause-level post-cue ("..., now I don't")."""
        j = cue.start
        while j > 0 and self.lower(j - 1) in _CLAUSE_JOINERS:
            j -= 1
        return self.backward_scope(j)

    def post_cue_voided(self, cue: _Cue) -> bool:
        """ "never went away", "isn't gone", or "... gone, then it came back"."""
        if {self.lower(cue.start - 1), self.lower(cue.start - 2)} & _NOT_TOKENS:
            return True
        j = cue.end
        while j < self.n and not self.is_sentence_end(j):
            if j in self.recurrence_starts:
                return True
            j += 1
        return False

    def answered_no(self, span_end: int) -> tuple[int, int] | None:
        """ "numbness? no", "leg pain no,": the answer cue right after the span, if any."""
        j = span_end
        if self.lower(j) in _PLACE_WORDS:  # "numbness in my feet? no": the place belongs to the sign
            k = j + 1
            while k < self.n and k - j <= _PLACE_LENGTH and self.parsed.doc[k].text not in _ANSWER_SEPARATORS:
                k += 1
            if k < self.n and self.parsed.doc[k].text in _ANSWER_SEPARATORS:
                j = k
        seen_separator = False
        while j < self.n and self.parsed.doc[j].text in _ANSWER_SEPARATORS:
            seen_separator = True
            j += 1
        if not seen_separator:
            if self.lower(j) in self.cues.bare_answers and self.ends_phrase(j + 1):
                return j, j + 1
            return None
        for s, e in self.cues.spans("answer", self.parsed):
            if s == j and self.ends_phrase(e):
                return s, e
        return None

    def excepted(self, stop: int) -> bool:
        """ "no numbness except in my big toe": the scope ends in an exception that undoes it."""
        if self.lower(stop) == ",":
            stop += 1
        for s, e in self.cues.spans("exception", self.parsed):
            if s == stop:
                k = e + 1 if self.lower(e) == "for" else e
                return self.lower(k) in self.cues.circumstances
        return False

    def _listed(self, prev_end: int, start: int) -> bool:
        """Whether only list glue ("or", ", any") lies between two concepts."""
        return all(self.lower(i) in _LIST_GLUE for i in range(prev_end, start))

    def conditional_voided(self, cue: _Cue, stop: int) -> bool:
        """ "what should I do if I already can't pee": a current marker in the clause makes it real."""
        first = self.backward_scope(cue.start)
        for s, e in self.cues.spans("current", self.parsed):
            if s < cue.end and cue.start < e:
                continue  # inside the cue ("if I have")
            if first <= s <= stop:
                return True
        return False

    # -- history (ConText "historical") ----------------------------------------------------
    def sentence_ids(self) -> list[int]:
        """The sentence of each token (a sentence end belongs to the sentence it ends)."""
        ids: list[int] = []
        current = 0
        for i in range(self.n):
            ids.append(current)
            if self.is_sentence_end(i) and not self.in_concept[i]:
                current += 1
        return ids

    def clause_bounds(self, start: int, end: int) -> tuple[int, int]:
        """The clause around tokens ``start``..``end``: up to punctuation, a contrast word, or a
        comma / conjunction that starts a new clause ("I had a clot years ago, my calf is swollen")."""
        i = start - 1
        while i >= 0 and start - i <= _HISTORY_WINDOW:
            if not self.in_concept[i]:
                low = self.lower(i)
                if self.is_hard_break(i) or self.lower(i) in self.cues.contrast_tokens:
                    break
                if (low == "," or low in self.cues.conjunctions) and self.starter_at(i + 1):
                    break
            i -= 1
        j = end
        while j < self.n and j - end <= _HISTORY_WINDOW:
            if not self.in_concept[j]:
                low = self.lower(j)
                if self.is_hard_break(j) or low == "," or low in self.cues.contrast_tokens:
                    break
                if low in self.cues.conjunctions and self.starter_at(j + 1):
                    break
            j += 1
        return i + 1, j

    def own_clause_start(self, end: int) -> int:
        """First token of the clause that ends at ``end`` (back to a comma, a contrast word, punctuation)."""
        i = end - 1
        while i >= 0 and end - i <= _HISTORY_WINDOW:
            if not self.in_concept[i]:
                low = self.lower(i)
                if self.is_hard_break(i) or low == "," or low in self.cues.contrast_tokens:
                    break
                if low in self.cues.conjunctions and self.starter_at(i + 1):
                    break
            i -= 1
        return i + 1

    def historical(self, results: list[tuple[Polarity, tuple[int, int] | None]]) -> None:
        """Mark affirmed spans that the message places in a past that is over (in place)."""
        cues, parsed = self.cues, self.parsed
        sentence = self.sentence_ids()
        sentence_start: dict[int, int] = {}
        for i, sid in enumerate(sentence):
            sentence_start.setdefault(sid, i)
        strong = cues.spans("resolution", parsed)
        weak = cues.spans("resolution_weak", parsed)
        in_resolution = {i for s, e in strong + weak for i in range(s, e)}
        current_sentences: set[int] = set()
        for kind in ("continuation", "recurrence"):
            for s, e in cues.spans(kind, parsed):
                if not all(i in in_resolution for i in range(s, e)):
                    current_sentences.add(sentence[s])
        anchors = cues.spans("past_anchor", parsed)
        past = anchors + cues.spans("past_verb", parsed)

        def mark(idx: int, cue: tuple[int, int]) -> None:
            if results[idx][0] is Polarity.AFFIRMED and sentence[self.spans[idx][0]] not in current_sentences:
                results[idx] = (Polarity.HISTORICAL, cue)

        def concept_inside(s: int, e: int) -> bool:
            return any(self.in_concept[i] for i in range(s, e))

        # "before the surgery I had numbness", "I had a fever before the op"
        for a, b in cues.spans("before_surgery", parsed):
            if concept_inside(a, b) or self.lower(a - 1) in cues.not_historical_after:
                continue
            stop = self.forward_scope(b)
            first = self.backward_scope(a)
            for idx, (s, e) in enumerate(self.spans):
                if sentence[s] != sentence[a]:
                    continue
                if (b <= s < stop and s - b <= _HISTORY_WINDOW) or (first <= s and e <= a):
                    mark(idx, (a, b))

        # "I had a blood clot in my leg years ago", "as a kid I had bladder trouble": a distant
        # past in the sentence, with a past verb in the sign's own clause, is over (the sentence
        # saying it goes on, "again" or "still", keeps it current: see ``mark``).
        for d0, d1 in cues.spans("distant_past", parsed):
            if self.lower(d0 - 1) in cues.not_historical_after:
                continue  # "since years ago", "for ages"
            for idx, (s, e) in enumerate(self.spans):
                if sentence[s] != sentence[d0] or abs(s - d0) > _HISTORY_WINDOW:
                    continue
                first, last = self.clause_bounds(s, e)
                if any(first <= ps and pe <= last for ps, pe in cues.spans("past_verb", parsed)):
                    mark(idx, (d0, d1))

        # "years ago I had bladder trouble, nothing now", "I had a fever ... but none since"
        for r0, r1, is_weak in [(s, e, False) for s, e in strong] + [(s, e, True) for s, e in weak]:
            if concept_inside(r0, r1) or {self.lower(r0 - 1), self.lower(r0 - 2)} & _NOT_TOKENS:
                continue
            if sentence[r0] in current_sentences:
                continue
            own = self.own_clause_start(r0)
            targets = [idx for idx, (s, e) in enumerate(self.spans) if own <= s and e <= r0]
            if not targets:
                start = sentence_start[sentence[r0]]
                targets = [
                    idx
                    for idx, (s, e) in enumerate(self.spans)
                    if start <= s and e <= own and r0 - s <= _HISTORY_WINDOW
                ]
                if not targets and sentence[r0] > 0:
                    previous = sentence_start[sentence[r0] - 1]
                    targets = [idx for idx, (s, e) in enumerate(self.spans) if previous <= s and e <= start]
            for idx in targets:
                s, e = self.spans[idx]
                first, last = self.clause_bounds(s, e)
                if not any(first <= ps and pe <= last for ps, pe in past):
                    continue  # "my calf is swollen, I had a clot years ago, it's gone": the calf is current
                if is_weak and not any(sentence_start[sentence[s]] <= ps and pe <= r0 for ps, pe in anchors):
                    continue  # "I had a fever last night, fine now": recent, the flag stays
                mark(idx, (r0, r1))

    def assess(self, historical: bool = False) -> list[tuple[Polarity, tuple[int, int] | None]]:
        results: list[tuple[Polarity, tuple[int, int] | None]] = [(Polarity.AFFIRMED, None)] * len(self.spans)

        def mark(index: int, polarity: Polarity, cue: tuple[int, int]) -> None:
            if _RANK[polarity] > _RANK[results[index][0]]:
                results[index] = (polarity, cue)

        for cue in self.find_cues():
            if cue.kind in _BACKWARD:
                if self.post_cue_voided(cue):
                    continue
                first = self.previous_clause(cue) if cue.kind == "post_clause" else self.backward_scope(cue.start)
                for idx, (s, e) in enumerate(self.spans):
                    if first <= s and e <= cue.start:
                        mark(idx, _BACKWARD[cue.kind], (cue.start, cue.end))
                continue
            if self.is_pseudo(cue):
                continue
            polarity, window = _FORWARD[cue.kind]
            stop = self.forward_scope(cue.end)
            if cue.kind == "pre" and self.excepted(stop):
                continue
            if cue.kind == "conditional" and self.conditional_voided(cue, stop):
                continue
            prev_end: int | None = None
            for idx, (s, e) in sorted(enumerate(self.spans), key=lambda p: p[1]):
                if not cue.end <= s < stop:
                    continue
                if s - cue.end > window and (prev_end is None or not self._listed(prev_end, s)):
                    break
                mark(idx, polarity, (cue.start, cue.end))
                prev_end = e if prev_end is None else max(prev_end, e)
        for idx, (_, e) in enumerate(self.spans):
            answer = self.answered_no(e)
            if answer is not None:
                mark(idx, Polarity.NEGATED, answer)
        if historical:
            self.historical(results)
        return results


def assess_tokens(parsed: Parsed, spans: Sequence[tuple[int, int]], *, historical: bool = False) -> list[Assessment]:
    """Polarity of each token span (``start``, ``end`` exclusive) of a parsed message.

    ``historical``: also say which affirmed spans lie in a past that is over
    (:attr:`Polarity.HISTORICAL`); for current signs and symptoms, not for a surgery, which is
    always in the past.
    """
    scoper = _Scoper(parsed, spans)
    return [
        Assessment(polarity, parsed.char_span(*cue) if cue else None)
        for polarity, cue in scoper.assess(historical=historical)
    ]


def assess(text: str, spans: Sequence[tuple[int, int]], *, historical: bool = False) -> list[Assessment]:
    """Polarity of each character span (``start``, ``end`` exclusive) of ``text``."""
    parsed = patient_parse(text)
    token_spans = [parsed.token_span(start, end) for start, end in spans]
    results = iter(assess_tokens(parsed, [t for t in token_spans if t is not None], historical=historical))
    return [next(results) if t is not None else Assessment(Polarity.AFFIRMED) for t in token_spans]


def negated_spans(text: str, spans: Sequence[tuple[int, int]], *, doubt_is_negation: bool = True) -> list[bool]:
    """For each character span of ``text``: is it denied (or, by default, doubted or supposed)?"""
    flags: list[bool] = []
    for result in assess(text, spans):
        if result.polarity is Polarity.NEGATED:
            flags.append(True)
        else:
            flags.append(doubt_is_negation and result.polarity is not Polarity.AFFIRMED)
    return flags


def token_polarities(
    text: str, *, historical: bool = True, keep_together: Collection[tuple[str, ...]] = ()
) -> list[tuple[str, Polarity]]:
    """Every token of ``text`` (lower case, a caregiver's words read as the patient's) and its polarity.

    For a caller with no concept spans of its own (the red-flag closeness scorer): every
    content word (not a cue, breaker or other function word of ``lexicons/negation.yml``)
    is a concept, so "no fever or chills" gives both words ``NEGATED`` and "what if I get chest
    pain" gives "chest" and "pain" ``HYPOTHETICAL``. Function words are ``AFFIRMED``.
    ``keep_together``: token sequences that are one concept even with a cue inside ("no",
    "feeling"), so "no feeling in my groin" affirms "groin".
    """
    parsed = patient_parse(text)
    cues = _cue_set()
    lowered = [tok.lower_ for tok in parsed.doc]
    in_cue = [low in cues.function_words for low in lowered]
    for k, low in enumerate(lowered):
        if low in {"n't", "nt"} and k > 0:
            in_cue[k - 1] = True  # "would n't", "does n't": the auxiliary belongs to the cue
    for kind in _SCOPE_CUE_KINDS:
        for s, e in cues.spans(kind, parsed):
            for k in range(s, e):
                in_cue[k] = True
    spans: list[tuple[int, int]] = []
    i = 0
    longest = max((len(p) for p in keep_together), default=0)
    while i < len(lowered):
        size = next(
            (k for k in range(min(longest, len(lowered) - i), 1, -1) if tuple(lowered[i : i + k]) in keep_together),
            0,
        )
        if size:
            spans.append((i, i + size))
            i += size
            continue
        tok = parsed.doc[i]
        if not (tok.is_punct or tok.is_space or in_cue[i]):
            spans.append((i, i + 1))
        i += 1
    results = assess_tokens(parsed, spans, historical=historical)
    polarity: dict[int, Polarity] = {}
    for (s, e), result in zip(spans, results, strict=True):
        for k in range(s, e):
            polarity[k] = result.polarity
    return [(low, polarity.get(k, Polarity.AFFIRMED)) for k, low in enumerate(lowered)]


@lru_cache(maxsize=1024)
def patient_parse(text: str) -> Parsed:
    """``text`` tokenized, with a caregiver's words for the patient read as the patient's own.

    "my mom had a fusion, she says her leg burns" is matched as "... i says my leg burns", and
    "he wet himself" as "i wet myself": the writer speaks for the patient, so the patient's
    facts and red flags count as if the patient wrote (ConText's "other experiencer" is not a
    reason to drop anything here). Offsets and text are those of ``text``.
    """
    parsed = parse(text)
    mapping = _cue_set().experiencer
    words = [tok.text for tok in parsed.doc]
    changed = False
    for i, tok in enumerate(parsed.doc):
        low = tok.lower_
        if low in mapping:
            words[i] = mapping[low]
            changed = True
        elif low in {"'s", "s"} and i > 0 and parsed.doc[i - 1].lower_ in {"he", "she"}:
            words[i] = "'m"  # "she's burning up" -> "i'm burning up"
    if not changed:
        return parsed
    doc = Doc(parsed.doc.vocab, words=words, spaces=[bool(tok.whitespace_) for tok in parsed.doc])
    return Parsed(text=parsed.text, doc=doc, starts=parsed.starts, ends=parsed.ends)
