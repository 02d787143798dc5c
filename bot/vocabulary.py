"""The vocabulary of the clinical rules: every code, once, in the order of the rules' tables.

Codes are stable identifiers: they appear in payloads, the database and staff reports.
"""

from __future__ import annotations

SURGERY_TYPES: tuple[str, ...] = ("decompression", "fusion", "unknown")
PAIN_COURSES: tuple[str, ...] = (
    "improving",
    "no_improvement",
    "worse_since_surgery",
    "relief_then_sudden_return",
    "relief_then_gradual_return",
)
#: The symptom vocabulary, in the canonical order of the clinical rules (payloads use this order).
SYMPTOMS: tuple[str, ...] = (
    "leg_pain",
    "back_pain",
    "burning",
    "gnawing",
    "stinging",
    "numbness",
    "tingling",
    "weakness",
)
#: Every finding code of the clinical rules, in table order.
FINDING_CODES: tuple[str, ...] = (
    "too_early_to_judge",
    "post_surgical_swelling",
    "on_track",
    "failed_decompression",
    "recurrent_disc_herniation",
    "epidural_fibrosis",
    "recurrent_stenosis",
    "nerve_recovery_ongoing",
    "permanent_nerve_damage_possible",
    "fusion_still_healing",
    "failed_fusion",
    "adjacent_segment_disease",
    "arachnoiditis",
    "no_specific_pattern",
)
#: Every red-flag code, in table order.
RED_FLAG_CODES: tuple[str, ...] = ("cauda_equina", "progressive_weakness", "infection", "blood_clot")
