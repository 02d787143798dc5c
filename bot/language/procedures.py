"""Which back surgery the patient had: decompression, fusion, or "I don't know".

Lexicon: ``lexicons/procedures.yml``. A laminectomy with a fusion yields both codes (the
caller prefers fusion). A denied procedure comes back negated; a doubted one ("not sure if it
was a fusion") comes back negated with an added ``unknown`` mention, unless the message
affirms some other procedure.
"""

from __future__ import annotations

from functools import lru_cache

from bot.language.lexicon import CompiledLexicon, compile_lexicon, longest_first, mention_of
from bot.language.negation import Polarity, assess_tokens, patient_parse
from bot.language.types import Mention
from bot.vocabulary import SURGERY_TYPES

PROCEDURE_CODES = SURGERY_TYPES


@lru_cache(maxsize=1)
def _lexicon() -> CompiledLexicon:
    return compile_lexicon("procedures")


def find_procedures(text: str) -> list[Mention]:
    """Every procedure the message names, in text order (a caregiver's "his fusion" counts too)."""
    parsed = patient_parse(text)
    found = longest_first(_lexicon().candidates(parsed))
    results = assess_tokens(parsed, [(c.start, c.end) for c in found])
    mentions = [
        mention_of(parsed, c.code, c.start, c.end, negated=r.polarity is not Polarity.AFFIRMED)
        for c, r in zip(found, results, strict=True)
    ]
    affirmed = any(not m.negated for m in mentions)
    if not affirmed:
        for mention, result in zip(mentions, results, strict=True):
            if result.polarity is Polarity.UNCERTAIN and result.cue is not None:
                start = min(result.cue[0], mention.start)
                end = max(result.cue[1], mention.end)
                mentions.append(Mention(code="unknown", text=text[start:end], start=start, end=end))
                break
    return sorted(mentions, key=lambda m: (m.start, m.end, m.code))
