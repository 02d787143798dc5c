"""How the pain has gone since the surgery (improving, no change, worse, relief then return).

Lexicon: ``lexicons/pain_course.yml``. Denied or doubted courses ("I don't think it's worse")
come back with ``negated=True``; a message may name several courses and the caller chooses.
"""

from __future__ import annotations

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
    parse,
    string_list,
)
from bot.language.negation import Polarity, assess_tokens
from bot.language.types import Mention
from bot.vocabulary import PAIN_COURSES

PAIN_COURSE_CODES = PAIN_COURSES
_RETURNS = frozenset({"relief_then_sudden_return", "relief_then_gradual_return"})
_TRENDS = frozenset({"improving", "no_improvement", "worse_since_surgery"})
_SUBJECT_WINDOW = 8
_CLAUSE_BREAKS = frozenset(
    {
        ".",
        "!",
        "?",
        ";",
        ",",
        "-",
        "but",
        "though",
        "although",
        "however",
        "then",
        "so",
        "yet",
        "while",
        "whereas",
    }
)


RETURN_HINTS = ("returned", "sudden", "gradual")
"""What :func:`find_return_hints` reports: a return of unknown speed, or a bare speed."""


@dataclass(frozen=True)
class _CourseLexicon:
    codes: CompiledLexicon
    vetoes: CompiledLexicon
    subjects: CompiledLexicon
    return_hints: CompiledLexicon


@lru_cache(maxsize=1)
def _lexicon() -> _CourseLexicon:
    data = load_yaml("pain_course")
    subjects = CompiledLexicon(
        {
            "other": string_list(data.get("non_pain_subjects", []), "pain_course.non_pain_subjects"),
            "pain": string_list(data.get("pain_subjects", []), "pain_course.pain_subjects"),
        },
        {},
        "pain_course.subjects",
    )
    return _CourseLexicon(
        codes=compile_lexicon("pain_course"),
        vetoes=compile_lexicon("pain_course", "vetoes"),
        subjects=subjects,
        return_hints=compile_lexicon("pain_course", "return_hints"),
    )


def _about_something_else(parsed: Parsed, cand: Candidate, subjects: list[Candidate]) -> bool:
    """Whether the clause before a trend is about numbness, the wound, ... and not the pain."""
    start = cand.start
    while start > 0 and cand.start - start < _SUBJECT_WINDOW and parsed.lower(start - 1) not in _CLAUSE_BREAKS:
        start -= 1
    inside = [s for s in subjects if start <= s.start and s.end <= cand.end]
    return any(s.code == "other" for s in inside) and not any(s.code == "pain" for s in inside)


def _contrasted_with_worse(parsed: Parsed, cand: Candidate, found: list[Candidate]) -> bool:
    """ "getting worse, not better": the "not better" only stresses the worsening."""
    if cand.code != "no_improvement" or cand.length != 2 or parsed.lower(cand.end - 1) != "better":
        return False
    before = cand.start - 1 if parsed.lower(cand.start - 1) == "," else cand.start
    return any(c.code == "worse_since_surgery" and c.end == before for c in found)


def find_pain_courses(text: str) -> list[Mention]:
    """Every pain course the message describes, in text order."""
    lex = _lexicon()
    parsed = parse(text)
    vetoes = lex.vetoes.candidates(parsed)
    found = [c for c in longest_first(lex.codes.candidates(parsed)) if not any(c.overlaps(v) for v in vetoes)]
    subjects = lex.subjects.candidates(parsed)
    found = [c for c in found if not _contrasted_with_worse(parsed, c, found)]
    found = [c for c in found if c.code not in _TRENDS or not _about_something_else(parsed, c, subjects)]
    returns = [c.start for c in found if c.code in _RETURNS]
    returns += [c.start for c in lex.return_hints.candidates(parsed) if c.code == "returned"]
    first_return = min(returns, default=None)
    if first_return is not None:
        # "it got better, then one morning it was back": the relief belongs to the return
        # (also when how fast it came back is not said: the bot asks)
        found = [c for c in found if not (c.code == "improving" and c.start < first_return)]
    results = assess_tokens(parsed, [(c.start, c.end) for c in found])
    mentions = [
        mention_of(parsed, c.code, c.start, c.end, negated=r.polarity is not Polarity.AFFIRMED)
        for c, r in zip(found, results, strict=True)
    ]
    return sorted(mentions, key=lambda m: (m.start, m.end, m.code))


def find_return_hints(text: str) -> list[Mention]:
    """A return whose speed is not said ("it was fine at first"), or a bare speed ("suddenly").

    Empty when the message names a whole course: that course says more.
    """
    if any(not m.negated for m in find_pain_courses(text)):
        return []
    parsed = parse(text)
    found = longest_first(_lexicon().return_hints.candidates(parsed))
    results = assess_tokens(parsed, [(c.start, c.end) for c in found])
    mentions = [
        mention_of(parsed, c.code, c.start, c.end, negated=r.polarity is not Polarity.AFFIRMED)
        for c, r in zip(found, results, strict=True)
    ]
    return sorted(mentions, key=lambda m: (m.start, m.end, m.code))
