"""The patient-facing explanation of an assessment (the booking offer is the dialogue's job)."""

from __future__ import annotations

from bot.clinical.engine import Assessment

LEAD_IN_ONE = (
    "Thank you. Based on what you told me, here is what the clinic's information says about "
    "situations like yours. I can't diagnose you, but a pain-management doctor can check "
    "whether this applies to you:"
)
LEAD_IN_MANY = (
    "Thank you. Based on what you told me, here is what the clinic's information says about "
    "situations like yours. I can't diagnose you, but a pain-management doctor can check "
    "which of these applies to you:"
)
LEAD_IN_NO_PATTERN = "Thank you for telling me about this. I can't diagnose you, but here is what I can say:"
SMS_LEAD_IN = "Thank you. I can't diagnose you, but here is what our information says about cases like yours:"
SMS_LEAD_IN_NO_PATTERN = "Thank you. I can't diagnose you, but:"
BULLET = "• "


def explain(assessment: Assessment, sms: bool = False) -> str:
    """A short lead-in, then each finding's text as its own bullet, in table order.

    ``sms=True`` uses the findings' short ``sms`` texts and a shorter lead-in. Paragraphs are
    separated by a blank line, which every channel sends as separate messages (so each text
    message stays short).
    """
    findings = assessment.findings
    specific = [f for f in findings if not f.fallback]
    if sms:
        lead_in = SMS_LEAD_IN if specific else SMS_LEAD_IN_NO_PATTERN
        return "\n\n".join([lead_in, *(BULLET + (f.sms or f.says) for f in findings)])
    if not specific:
        lead_in = LEAD_IN_NO_PATTERN
    else:
        lead_in = LEAD_IN_ONE if len(findings) == 1 else LEAD_IN_MANY
    return "\n\n".join([lead_in, *(BULLET + f.says for f in findings)])
