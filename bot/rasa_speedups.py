"""Speed-ups for hot spots of Rasa 3.6 itself that keep its behaviour exactly.

Found by profiling the Rasa server under load with py-spy (``make bench-load``, see
``bench/README.md``, "Where the time goes"):

- **The action server's answer is checked against a JSON schema** before its events are applied
  (``RemoteAction._validate_action_result``). Rasa calls ``jsonschema.validate``, which first
  checks the *schema itself* against the JSON-Schema meta-schema, on every call; that was more
  than half of the Rasa server's CPU time (every form turn calls the action server once or
  more). Here the schema is checked once and its validator reused: the same validator class,
  the same errors (``best_match``), the same message.
- **Every event read back is matched to its class by walking all subclasses of ``Event``**
  (``Event.resolve_by_type``, for each of the dozens of events of a conversation read from the
  tracker store and of each action server answer). Here the class found for a type name is
  remembered; names it does not know yet go the original way.
- **The graph runner works out which nodes a run needs on every run** (NLU parse and each
  policy prediction), by a recursive walk that visits shared dependencies again and again
  (``GraphSchema.minimal_graph_schema``). A model's schema does not change once loaded, so the
  answer for each set of targets is remembered on the schema.
- **Turns in progress at once.** One Rasa server handles every patient on one event loop; a
  turn awaits the tracker store and the action server several times, and each time it goes to
  the back of the queue behind every other patient's turn. Under load that made the turns with
  the most steps (the explanation, the first message) wait several times longer than the
  others. At most :data:`TURNS_AT_ONCE` turns are now processed at the same time (enough to keep
  the processor busy while one waits for the database or the action server); the others wait
  their turn in arrival order, but never longer than :data:`TURN_WAIT_SECONDS`, after which they
  go ahead anyway (a turn stuck on a slow database or action server holds up nobody for long).
  Nothing changes in what a turn does; each conversation's turns are still serialised by
  Rasa's lock store, as before.

:func:`install` is called when our NLU component is loaded (``bot.nlu.clinical_entities``), so
every process that runs our model has it; it is idempotent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jsonschema import exceptions  # type: ignore[import-untyped]
from jsonschema.validators import validator_for  # type: ignore[import-untyped]
from rasa.core.actions.action import RemoteAction
from rasa.core.processor import MessageProcessor
from rasa.engine.graph import GraphSchema
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event

_ORIGINAL_VALIDATE = RemoteAction._validate_action_result
_ORIGINAL_RESOLVE = Event.resolve_by_type
_ORIGINAL_MINIMAL_SCHEMA = GraphSchema.minimal_graph_schema
_MINIMAL_SCHEMAS = "_clinic_minimal_schemas"
_ORIGINAL_HANDLE_MESSAGE = MessageProcessor.handle_message

TURNS_AT_ONCE = 3
"""Turns one Rasa server processes at the same time (measured with ``make bench-load``: 2–3 is best on 2 cores)."""
TURN_WAIT_SECONDS = 1.0
"""The longest a turn waits for its place before it goes ahead anyway."""
_validators: dict[type[RemoteAction], Any] = {}
_event_classes: dict[str, type[Event]] = {}


def action_response_validator(action_class: type[RemoteAction]) -> Any:
    """The validator of ``action_class.action_response_format_spec()``, its schema checked once."""
    validator = _validators.get(action_class)
    if validator is None:
        schema = action_class.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        validator = _validators[action_class] = cls(schema)
    return validator


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with the schema checked once, not on every call."""
    error = exceptions.best_match(action_response_validator(type(self)).iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def resolve_event_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """``Event.resolve_by_type`` that remembers the class it found for each type name."""
    found = _event_classes.get(type_name)
    if found is not None:
        return found
    resolved: type[Event] | None = _ORIGINAL_RESOLVE(type_name, default)
    if resolved is not None and resolved is not default and resolved.type_name == type_name:
        _event_classes[type_name] = resolved
    return resolved


def minimal_graph_schema(self: GraphSchema, targets: list[str] | None = None) -> GraphSchema:
    """``GraphSchema.minimal_graph_schema``, computed once per schema and set of targets."""
    known: dict[tuple[str, ...] | None, GraphSchema] = self.__dict__.setdefault(_MINIMAL_SCHEMAS, {})
    key = tuple(targets) if targets else None
    schema = known.get(key)
    if schema is None:
        schema = known[key] = _ORIGINAL_MINIMAL_SCHEMA(self, targets)
    return schema


class TurnGate:
    """At most ``size`` turns at once on an event loop; a turn waits at most ``patience`` seconds."""

    def __init__(self, size: int = TURNS_AT_ONCE, patience: float = TURN_WAIT_SECONDS) -> None:
        self.size = size
        self.patience = patience
        self._gates: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Semaphore]] = {}

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        known = self._gates.get(id(loop))
        if known is None or known[0] is not loop:
            known = self._gates[id(loop)] = (loop, asyncio.Semaphore(self.size))
        return known[1]

    async def enter(self) -> bool:
        """Wait for a place (``True``), or give up waiting after ``patience`` seconds (``False``)."""
        gate = self._gate()
        if not gate.locked():
            await gate.acquire()
            return True
        try:
            await asyncio.wait_for(gate.acquire(), self.patience)
        except asyncio.TimeoutError:
            return False
        return True

    def leave(self) -> None:
        """Give the place back (only after :meth:`enter` returned ``True``)."""
        self._gate().release()


TURN_GATE = TurnGate()


async def handle_message(self: MessageProcessor, message: Any) -> Any:
    """``MessageProcessor.handle_message``, run within :data:`TURN_GATE`."""
    entered = await TURN_GATE.enter()
    try:
        return await _ORIGINAL_HANDLE_MESSAGE(self, message)
    finally:
        if entered:
            TURN_GATE.leave()


def install() -> None:
    """Put the speed-ups in place (once per process)."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(resolve_event_type)  # type: ignore[method-assign,assignment]
    GraphSchema.minimal_graph_schema = minimal_graph_schema  # type: ignore[method-assign]
    MessageProcessor.handle_message = handle_message  # type: ignore[method-assign]


def original_validate_action_result(action: RemoteAction, result: dict[str, Any]) -> bool:
    """Rasa's own check, for the tests that compare both."""
    return bool(_ORIGINAL_VALIDATE(action, result))


def original_resolve_event_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """Rasa's own lookup, for the tests that compare both."""
    resolved: type[Event] | None = _ORIGINAL_RESOLVE(type_name, default)
    return resolved
