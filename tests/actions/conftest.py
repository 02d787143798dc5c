"""Trackers and a domain for running actions as the action server would, without Rasa."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.language.entities import extract_entities
from bot.settings import load_settings

DOMAIN: dict[str, Any] = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text())


def make_tracker(
    text: str,
    slots: dict[str, Any] | None = None,
    *,
    intent: str = "inform",
    confidence: float = 0.99,
    form: str = "intake_form",
    channel: str = "rest",
    earlier: list[dict[str, Any]] | None = None,
) -> Tracker:
    """A tracker whose latest message is ``text`` (entities from our extractor) in ``form``."""
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": extract_entities(text, load_settings().today()),
        "metadata": {},
    }
    all_slots = {name: None for name in DOMAIN["slots"]} | {"requested_slot": None} | (slots or {})
    events = [*(earlier or []), {"event": "user", "text": text, "input_channel": channel, "parse_data": message}]
    return Tracker("conv-x", all_slots, message, events, False, None, {"name": form}, "action_listen")


def run_action(action: Action, tracker: Tracker) -> tuple[dict[str, Any], list[str]]:
    """The slots the action sets and what it says (texts, or response names).

    ``requested_slot`` is left out unless it changes: a validator names the question it keeps
    asking on every run.
    """
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    said = [m.get("text") or m.get("response") or "" for m in dispatcher.messages]
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    if slots.get("requested_slot", "") == tracker.get_slot("requested_slot"):
        del slots["requested_slot"]
    return slots, said
