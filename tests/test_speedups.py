"""The speed fixes of ``make bench-load`` give exactly what the code they replace gives."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_speedups
from bot.language import red_flags
from bot.storage.tracker_store import ClinicTrackerStore

rasa_speedups.install()

GOOD_ANSWERS: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {},
    {
        "events": [
            {"event": "slot", "name": "surgery_type", "value": "fusion", "timestamp": None},
            {"event": "active_loop", "name": None},
            {"event": "followup", "name": "action_listen"},
        ],
        "responses": [{"text": "Thanks", "buttons": [], "custom": {"type": "ask", "slot": "x"}}],
    },
]
BAD_ANSWERS: list[dict[str, Any]] = [
    {"events": [{"event": "slot", "value": 1}]},
    {"events": "not a list"},
    {"events": [], "responses": ["not an object"]},
    {"events": [{"event": "no_such_event"}]},
]


@pytest.mark.parametrize("answer", GOOD_ANSWERS)
def test_a_valid_action_server_answer_passes_as_before(answer: dict[str, Any]) -> None:
    action = RemoteAction("validate_intake_form", None)
    assert rasa_speedups.original_validate_action_result(action, answer) is True
    assert action._validate_action_result(answer) is True


@pytest.mark.parametrize("answer", BAD_ANSWERS)
def test_an_invalid_action_server_answer_fails_as_before(answer: dict[str, Any]) -> None:
    action = RemoteAction("validate_intake_form", None)
    with pytest.raises(ValidationError) as original:
        rasa_speedups.original_validate_action_result(action, answer)
    with pytest.raises(ValidationError) as ours:
        action._validate_action_result(answer)
    assert ours.value.message == original.value.message
    assert list(ours.value.path) == list(original.value.path)
    assert ours.value.validator == original.value.validator


@pytest.mark.parametrize(
    "type_name",
    ["slot", "action", "user", "bot", "session_started", "active_loop", "followup", "restart", "rewind", "reminder"],
)
def test_event_classes_are_resolved_as_before(type_name: str) -> None:
    assert Event.resolve_by_type(type_name) is rasa_speedups.original_resolve_event_type(type_name)
    assert Event.resolve_by_type(type_name) is rasa_speedups.original_resolve_event_type(type_name)


def test_unknown_event_types_behave_as_before() -> None:
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")


def test_red_flags_are_found_once_per_text_and_callers_get_their_own_list() -> None:
    text = "I can't feel anything between my legs since yesterday"
    first = red_flags.find_red_flags(text)
    second = red_flags.find_red_flags(text)
    assert first == second and first is not second
    assert {m.code for m in first if not m.negated} == {"cauda_equina"}
    first.clear()
    assert red_flags.find_red_flags(text) == second


DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [inform]
slots:
  surgery_type:
    type: text
    mappings:
    - type: from_text
responses:
  utter_ok:
  - text: "OK"
"""
)


def _turn(text: str) -> list[Event]:
    return [
        UserUttered(text, intent={"name": "inform", "confidence": 1.0}),
        SlotSet("surgery_type", "fusion"),
        ActiveLoop(None),
        BotUttered("OK"),
        ActionExecuted("action_listen"),
    ]


def _counted(store: ClinicTrackerStore, tracker: DialogueStateTracker) -> list[dict[str, Any]]:
    """The events Rasa's own ``COUNT`` query says are new."""
    with store.session_scope() as session:
        return [e.as_dict() for e in SQLTrackerStore._additional_events(store, session, tracker)]


def _ours(store: ClinicTrackerStore, tracker: DialogueStateTracker) -> list[dict[str, Any]]:
    with store.session_scope() as session:
        return [e.as_dict() for e in store._additional_events(session, tracker)]


def test_new_events_are_the_ones_rasas_count_query_finds(tmp_path: Path) -> None:
    store = ClinicTrackerStore(domain=DOMAIN, database_url=f"sqlite:///{tmp_path / 'clinic.sqlite3'}")
    sender = "speed-1"
    start = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    first = DialogueStateTracker.from_events(sender, start + _turn("a fusion"), DOMAIN.slots)
    assert _ours(store, first) == _counted(store, first)  # never read: Rasa's query
    asyncio.run(store.save(first))
    for number in range(3):
        tracker = asyncio.run(store.retrieve(sender))
        assert tracker is not None
        assert _ours(store, tracker) == _counted(store, tracker) == []
        for event in _turn(f"turn {number}"):
            tracker.update(event)
        assert _ours(store, tracker) == _counted(store, tracker)
        assert len(_ours(store, tracker)) == len(_turn(""))
        asyncio.run(store.save(tracker))
        assert _ours(store, tracker) == _counted(store, tracker) == []
    # a new session started on a tracker read from the store (session expiry)
    tracker = asyncio.run(store.retrieve(sender))
    assert tracker is not None
    for event in [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]:
        tracker.update(event)
    assert _ours(store, tracker) == _counted(store, tracker)
    asyncio.run(store.save(tracker))
    full = asyncio.run(store.retrieve_full_tracker(sender))
    assert full is not None
    assert len(full.events) == len(start) + 4 * len(_turn("")) + 3


def test_the_minimal_graph_schema_is_the_one_rasa_computes() -> None:
    from rasa.engine.graph import GraphComponent, GraphSchema, SchemaNode

    def node(*needs: str, target: bool = False) -> SchemaNode:
        return SchemaNode(
            needs={f"i{n}": name for n, name in enumerate(needs)},
            uses=GraphComponent,
            constructor_name="create",
            fn="process",
            config={},
            is_target=target,
        )

    schema = GraphSchema(
        {
            "tokens": node(),
            "features": node("tokens"),
            "chars": node("tokens"),
            "intents": node("features", "chars", target=True),
            "entities": node("tokens", "features"),
            "unused": node("tokens"),
        }
    )
    for targets in (None, ["intents"], ["entities", "intents"], ["entities"], ["missing_input"]):
        expected = rasa_speedups._ORIGINAL_MINIMAL_SCHEMA(schema, targets)
        assert schema.minimal_graph_schema(targets) == expected
        assert schema.minimal_graph_schema(targets) == expected
        assert list(schema.minimal_graph_schema(targets).nodes) == list(expected.nodes)
    assert schema.as_dict() == GraphSchema.from_dict(schema.as_dict()).as_dict()


def test_the_turn_gate_lets_a_few_turns_in_at_once_in_arrival_order() -> None:
    gate = rasa_speedups.TurnGate(size=2, patience=5.0)
    running: list[int] = []
    most = 0
    started: list[int] = []

    async def turn(number: int) -> None:
        nonlocal most
        entered = await gate.enter()
        assert entered
        try:
            started.append(number)
            running.append(number)
            most = max(most, len(running))
            await asyncio.sleep(0.01)
        finally:
            running.remove(number)
            gate.leave()

    async def main() -> None:
        tasks = []
        for number in range(8):
            tasks.append(asyncio.create_task(turn(number)))
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert most == 2
    assert started == list(range(8))


def test_a_turn_goes_ahead_when_the_places_are_held_too_long() -> None:
    gate = rasa_speedups.TurnGate(size=1, patience=0.05)

    async def main() -> tuple[bool, bool]:
        assert await gate.enter()  # a stuck turn keeps its place
        waited = asyncio.get_running_loop().time()
        entered = await gate.enter()
        waited = asyncio.get_running_loop().time() - waited
        gate.leave()
        assert 0.04 <= waited < 1.0
        return entered, await gate.enter()

    assert asyncio.run(main()) == (False, True)


def test_a_failing_turn_gives_its_place_back() -> None:
    from rasa.core.processor import MessageProcessor

    calls: list[str] = []

    async def failing(self: Any, message: Any) -> Any:
        calls.append(message)
        raise RuntimeError("boom")

    original = rasa_speedups._ORIGINAL_HANDLE_MESSAGE
    rasa_speedups._ORIGINAL_HANDLE_MESSAGE = failing  # type: ignore[assignment]
    try:

        async def main() -> None:
            for number in range(rasa_speedups.TURNS_AT_ONCE + 2):
                with pytest.raises(RuntimeError):
                    await MessageProcessor.handle_message(None, f"m{number}")  # type: ignore[arg-type]

        asyncio.run(asyncio.wait_for(main(), 5))
    finally:
        rasa_speedups._ORIGINAL_HANDLE_MESSAGE = original
    assert len(calls) == rasa_speedups.TURNS_AT_ONCE + 2
