"""Red flags: the warning signs that interrupt any conversation with an urgent-care instruction.

The table lives in ``red_flags.yml``. Detecting a red flag in a message is the language layer's
job; this module says what the bot sends once flags are detected.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.clinical.datafile import (
    ClinicalDataError,
    check_keys,
    load_yaml,
    require_list,
    require_mapping,
    require_text,
)
from bot.vocabulary import RED_FLAG_CODES

#: Instruction levels, most urgent first.
LEVELS: tuple[str, ...] = ("emergency", "surgeon")
DEFAULT_RED_FLAGS_PATH = Path(__file__).with_name("red_flags.yml")
#: Longest text message for a single red flag, in characters.
SMS_MAX_CHARS = 300
#: Longest text message for any combination of red flags: two GSM-7 segments (2 x 153).
SMS_COMBINED_MAX_CHARS = 306


class RedFlagsError(ClinicalDataError):
    """The red-flag table cannot be read or does not validate; the message says where and why."""


@dataclass(frozen=True)
class Instruction:
    """What to do, for one urgency level."""

    level: str
    says: str
    sms: str


@dataclass(frozen=True)
class RedFlag:
    """One red flag; ``says`` and ``sms`` are the complete patient messages for this flag alone."""

    code: str
    title: str
    describes: str
    level: str
    warning: str
    sms_warning: str
    says: str
    sms: str
    short: str = ""


@dataclass(frozen=True)
class RedFlagTable:
    """The parsed ``red_flags.yml``: instructions (most urgent first), closing lines and flags."""

    instructions: tuple[Instruction, ...]
    closing: str
    sms_closing: str
    flags: tuple[RedFlag, ...]
    sms_several: str = ""

    def compose(self, flags: Iterable[RedFlag], sms: bool = False) -> str:
        """One message for ``flags``: the most urgent level's instruction, each warning, the closing.

        By SMS, several flags are told briefly (each flag's ``short``, then ``sms_several``) so
        that every combination fits in two segments.
        """
        chosen = list(flags)
        if not chosen:
            raise ValueError("no red flags to compose a message for")
        levels = {flag.level for flag in chosen}
        instruction = next(i for i in self.instructions if i.level in levels)
        if sms and len(chosen) > 1 and self.sms_several and all(f.short for f in chosen):
            signs = "; ".join(f.short for f in chosen)
            return " ".join([instruction.sms, f"{signs[0].upper()}{signs[1:]}: {self.sms_several}", self.sms_closing])
        if sms:
            return " ".join([instruction.sms, *(f.sms_warning for f in chosen), self.sms_closing])
        return "\n\n".join([instruction.says, " ".join(f.warning for f in chosen), self.closing])

    def reminder(self, flags: Iterable[RedFlag]) -> str:
        """The flags in a few plain words, for "Last time you told me about …" (``short``, joined)."""
        shorts = [flag.short or flag.sms_warning for flag in flags]
        if not shorts:
            raise ValueError("no red flags to describe")
        if len(shorts) == 1:
            return shorts[0]
        return "; ".join(shorts[:-1]) + "; and " + shorts[-1]


def load_red_flags(path: str | os.PathLike[str] | None = None) -> tuple[RedFlag, ...]:
    """The red flags of ``red_flags.yml`` (or ``path``), in table order; cached per file version."""
    return load_red_flag_table(path).flags


def load_red_flag_table(path: str | os.PathLike[str] | None = None) -> RedFlagTable:
    """Read and validate the whole red-flag table; raises :class:`RedFlagsError`."""
    resolved = (Path(path) if path is not None else DEFAULT_RED_FLAGS_PATH).resolve()
    try:
        mtime_ns = resolved.stat().st_mtime_ns
    except OSError as exc:
        raise RedFlagsError(f"{resolved}: cannot read the red-flag table: {exc}") from exc
    return _load_cached(resolved, mtime_ns)


@functools.lru_cache(maxsize=8)
def _load_cached(path: Path, mtime_ns: int) -> RedFlagTable:
    """Parse one version of a red-flag file (``mtime_ns`` is part of the cache key only)."""
    del mtime_ns
    try:
        data = load_yaml(path)
    except ClinicalDataError as exc:
        raise RedFlagsError(str(exc)) from exc
    return parse_red_flags(data, source=str(path))


def parse_red_flags(data: object, source: str = "red_flags") -> RedFlagTable:
    """Validate parsed YAML and build the table: every code once, in order, every SMS short enough."""
    top = require_mapping(data, source, RedFlagsError)
    check_keys(top, source, RedFlagsError, required=("instructions", "closing", "red_flags"))

    instructions: list[Instruction] = []
    for position, item in enumerate(require_list(top["instructions"], f"{source}: instructions", RedFlagsError)):
        where = f"{source}: instructions[{position}]"
        mapping = require_mapping(item, where, RedFlagsError)
        check_keys(mapping, where, RedFlagsError, required=("level", "says", "sms"))
        instructions.append(
            Instruction(
                level=require_text(mapping["level"], f"{where}.level", RedFlagsError),
                says=require_text(mapping["says"], f"{where}.says", RedFlagsError),
                sms=require_text(mapping["sms"], f"{where}.sms", RedFlagsError),
            )
        )
    if tuple(i.level for i in instructions) != LEVELS:
        raise RedFlagsError(f"{source}: instructions must be given for the levels {', '.join(LEVELS)}, in that order")

    closing = require_mapping(top["closing"], f"{source}: closing", RedFlagsError)
    check_keys(closing, f"{source}: closing", RedFlagsError, required=("says", "sms", "sms_several"))

    flags: list[RedFlag] = []
    for position, item in enumerate(require_list(top["red_flags"], f"{source}: red_flags", RedFlagsError)):
        flags.append(_parse_flag(item, f"{source}: red_flags[{position}]"))
    codes = tuple(flag.code for flag in flags)
    if codes != RED_FLAG_CODES:
        raise RedFlagsError(
            f"{source}: red_flags must be exactly {', '.join(RED_FLAG_CODES)}, in that order; found {', '.join(codes)}"
        )

    table = RedFlagTable(
        instructions=tuple(instructions),
        closing=require_text(closing["says"], f"{source}: closing.says", RedFlagsError),
        sms_closing=require_text(closing["sms"], f"{source}: closing.sms", RedFlagsError),
        flags=(),
        sms_several=require_text(closing["sms_several"], f"{source}: closing.sms_several", RedFlagsError),
    )
    complete = tuple(
        RedFlag(
            code=f.code,
            title=f.title,
            describes=f.describes,
            level=f.level,
            warning=f.warning,
            sms_warning=f.sms_warning,
            says=table.compose([f]),
            sms=table.compose([f], sms=True),
            short=f.short,
        )
        for f in flags
    )
    for flag in complete:
        if len(flag.sms) > SMS_MAX_CHARS:
            raise RedFlagsError(
                f"{source}: the text message for {flag.code} is {len(flag.sms)} characters; at most {SMS_MAX_CHARS}"
            )
    for size in range(2, len(complete) + 1):
        for combination in itertools.combinations(complete, size):
            text = table.compose(combination, sms=True)
            if len(text) > SMS_COMBINED_MAX_CHARS:
                together = ", ".join(flag.code for flag in combination)
                raise RedFlagsError(
                    f"{source}: the text message for {together} together is {len(text)} characters; "
                    f"at most {SMS_COMBINED_MAX_CHARS} (shorten their 'short' texts)"
                )
    return RedFlagTable(table.instructions, table.closing, table.sms_closing, complete, table.sms_several)


def _parse_flag(item: object, where: str) -> RedFlag:
    """Validate one red flag (its complete messages are filled in by :func:`parse_red_flags`)."""
    mapping = require_mapping(item, where, RedFlagsError)
    code = mapping.get("code")
    if isinstance(code, str):
        where = f"{where} ({code})"
    check_keys(
        mapping,
        where,
        RedFlagsError,
        required=("code", "title", "describes", "level", "warning", "sms_warning", "short"),
    )
    if code not in RED_FLAG_CODES:
        raise RedFlagsError(f"{where}: unknown code {code!r} (known codes: {', '.join(RED_FLAG_CODES)})")
    assert isinstance(code, str)
    level = mapping["level"]
    if level not in LEVELS:
        raise RedFlagsError(f"{where}.level: {level!r} is not one of {', '.join(LEVELS)}")
    assert isinstance(level, str)
    return RedFlag(
        code=code,
        title=require_text(mapping["title"], f"{where}.title", RedFlagsError),
        describes=require_text(mapping["describes"], f"{where}.describes", RedFlagsError),
        level=level,
        warning=require_text(mapping["warning"], f"{where}.warning", RedFlagsError),
        sms_warning=require_text(mapping["sms_warning"], f"{where}.sms_warning", RedFlagsError),
        says="",
        sms="",
        short=require_text(mapping["short"], f"{where}.short", RedFlagsError),
    )


def _selected(codes: Iterable[str], table: RedFlagTable) -> list[RedFlag]:
    """The flags for ``codes`` (or one code), in table order, each once; unknown or no codes raise ValueError."""
    wanted = {codes} if isinstance(codes, str) else set(codes)
    unknown = sorted(wanted - set(RED_FLAG_CODES))
    if unknown:
        raise ValueError(f"unknown red-flag code(s) {unknown}; known: {RED_FLAG_CODES}")
    if not wanted:
        raise ValueError("no red-flag codes given")
    return [flag for flag in table.flags if flag.code in wanted]


def emergency_payload(codes: Iterable[str]) -> dict[str, object]:
    """The contract's ``emergency`` custom payload: the codes in table order, each once."""
    return {
        "type": "emergency",
        "red_flags": [f.code for f in _selected(codes, load_red_flag_table())],
    }


def emergency_text(codes: Iterable[str], sms: bool = False) -> str:
    """The urgent-care message for the detected flags (``sms=True``: the short text-message form).

    Several flags give one instruction, the most urgent level's, followed by each flag's warning.
    """
    table = load_red_flag_table()
    return table.compose(_selected(codes, table), sms=sms)


def reminder_text(codes: Iterable[str]) -> str:
    """The flags of ``codes`` in a few plain words, in table order: "sudden or worsening leg weakness"."""
    table = load_red_flag_table()
    return table.reminder(_selected(codes, table))
