"""Clinical content: the findings table and engine, the red flags, and the patient explanation."""

from bot.clinical.engine import (
    Assessment,
    Facts,
    FindingResult,
    FindingRule,
    FindingsError,
    assess,
    load_findings,
)
from bot.clinical.explain import explain
from bot.clinical.red_flags import (
    RedFlag,
    RedFlagsError,
    emergency_payload,
    emergency_text,
    load_red_flags,
)

__all__ = [
    "Assessment",
    "Facts",
    "FindingResult",
    "FindingRule",
    "FindingsError",
    "RedFlag",
    "RedFlagsError",
    "assess",
    "emergency_payload",
    "emergency_text",
    "explain",
    "load_findings",
    "load_red_flags",
]
