"""The one blank spaCy pipeline shared by every lexicon in ``bot.language``."""

from __future__ import annotations

from functools import lru_cache

import spacy
from spacy.language import Language


@lru_cache(maxsize=1)
def blank_english() -> Language:
    """Return the process-wide ``spacy.blank("en")`` pipeline (tokenizer only, no weights)."""
    return spacy.blank("en")
