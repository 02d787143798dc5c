"""No ordinary English word is "corrected" by the spelling step of ``bot.language.normalise``.

Needs the Debian word lists (``apt-get install wamerican wbritish``; ``make test`` installs them).
Run as a module to print the ``real_words`` list of ``lexicons/spelling.yml`` afresh:
``.venv/bin/python -m tests.language.test_spelling_dictionary``.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from bot.language.normalise import correct_word, suggest_ignoring_real_words

DICTIONARIES = (Path("/usr/share/dict/american-english"), Path("/usr/share/dict/british-english"))
_LETTERS = re.compile(r"[a-z]+")


def dictionary_words() -> list[str]:
    """Lower-case words of the installed dictionaries, five letters or more."""
    words: set[str] = set()
    for path in DICTIONARIES:
        if path.exists():
            for line in path.read_text(encoding="utf-8", errors="ignore").split():
                word = line.lower()
                if len(word) >= 5 and _LETTERS.fullmatch(word):
                    words.add(word)
    return sorted(words)


def would_change(words: list[str]) -> list[tuple[str, str]]:
    """The words the spelling rules would change if ``real_words`` did not protect them."""
    changed: list[tuple[str, str]] = []
    for word in words:
        target = suggest_ignoring_real_words(word)
        if target is not None and target != word:
            changed.append((word, target))
    return changed


def test_no_dictionary_word_is_corrected() -> None:
    if not all(p.exists() for p in DICTIONARIES):
        pytest.fail("no /usr/share/dict word lists: apt-get install wamerican wbritish (make test does)")
    corrected = [(w, t) for w in dictionary_words() if (t := correct_word(w)) is not None and t != w]
    assert corrected == [], f"add these to real_words in lexicons/spelling.yml: {corrected[:40]}"


def main() -> None:
    """Print the ``real_words`` YAML list."""
    words = [w for w, _ in would_change(dictionary_words())]
    body = textwrap.fill(", ".join(words), width=96, initial_indent="  ", subsequent_indent="  ")
    print("real_words: [\n" + body + "]")


if __name__ == "__main__":
    main()
