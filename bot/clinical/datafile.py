"""Strict YAML reading for the clinical tables: duplicate keys and malformed values are errors."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]


class ClinicalDataError(ValueError):
    """A clinical table (findings or red flags) cannot be read or does not validate."""


class _StrictLoader(yaml.SafeLoader):  # type: ignore[misc, unused-ignore]
    """A safe loader that refuses a mapping with the same key twice (PyYAML keeps the last)."""


def _construct_unique_mapping(loader: _StrictLoader, node: Any, deep: bool = False) -> Any:
    """Build a mapping, raising on a repeated key instead of silently keeping the last value."""
    seen: set[Hashable] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, Hashable) and key in seen:
            line = key_node.start_mark.line + 1
            raise ClinicalDataError(f"line {line}: the key {key!r} appears twice in the same mapping")
        if isinstance(key, Hashable):
            seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_unique_mapping,
)


def load_yaml(path: Path) -> object:
    """Read one YAML file with the strict loader; any problem raises :class:`ClinicalDataError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ClinicalDataError(f"{path}: cannot read the file: {exc}") from exc
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except ClinicalDataError as exc:
        raise ClinicalDataError(f"{path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ClinicalDataError(f"{path}: not valid YAML: {exc}") from exc


def require_mapping(value: object, where: str, error: type[ClinicalDataError]) -> dict[str, object]:
    """Return ``value`` as a mapping with string keys, or raise ``error`` naming ``where``."""
    if not isinstance(value, dict):
        raise error(f"{where}: expected a mapping (key: value lines), found {_kind(value)}")
    for key in value:
        if not isinstance(key, str):
            raise error(f"{where}: keys must be words, found {key!r}")
    return value


def check_keys(
    mapping: dict[str, object],
    where: str,
    error: type[ClinicalDataError],
    *,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
) -> None:
    """Raise ``error`` for a missing required key or a key that is neither required nor optional."""
    allowed = required + optional
    for key in mapping:
        if key not in allowed:
            raise error(f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in mapping:
            raise error(f"{where}: missing key {key!r}")


def require_text(value: object, where: str, error: type[ClinicalDataError]) -> str:
    """Return ``value`` as non-empty text with runs of whitespace (YAML line folds) made single spaces."""
    if not isinstance(value, str) or not value.strip():
        raise error(f"{where}: expected non-empty text, found {_kind(value)}")
    return " ".join(value.split())


def require_list(value: object, where: str, error: type[ClinicalDataError]) -> list[object]:
    """Return ``value`` as a non-empty list, or raise ``error`` naming ``where``."""
    if not isinstance(value, list) or not value:
        raise error(f"{where}: expected a non-empty list, found {_kind(value)}")
    return value


def _kind(value: object) -> str:
    """Describe a parsed YAML value for an error message."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}" if value.strip() else "empty text"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
