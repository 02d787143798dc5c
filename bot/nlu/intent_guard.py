"""Rasa NLU component: the lexicon, not the classifier, has the last word on red flags."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.intents import POSSIBLE_RED_FLAG_INTENT, guard_intent, message_clues


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ClinicalIntentGuard(GraphComponent):
    """Corrects the classifier's intent with what the rule-based extractor found.

    See :func:`bot.intents.guard_intent` for the rules.
    """

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ClinicalIntentGuard:
        """Creates the component (stateless)."""
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Replaces the intent (and ranking) where the guard says so."""
        for message in messages:
            intent = message.get(INTENT) or {}
            ranking = message.get(INTENT_RANKING_KEY) or []
            text = message.get(TEXT) or ""
            clues = message_clues(text)
            decided = guard_intent(
                text=text,
                intent=intent.get("name"),
                ranking=[r.get("name") for r in ranking],
                entity_names=[e.get("entity") for e in message.get(ENTITIES, [])],
                red_flag_judged=clues.red_flag_judged,
                close_to_red_flag=clues.close_to_red_flag,
                says_dont_know=clues.says_dont_know,
            )
            if decided == POSSIBLE_RED_FLAG_INTENT and clues.closest_red_flag:
                guess = {"entity": "suspected_red_flag", "value": clues.closest_red_flag, "start": 0, "end": len(text)}
                message.set(ENTITIES, message.get(ENTITIES, []) + [guess], add_to_output=True)
            if decided != intent.get("name"):
                message.set(INTENT, {"name": decided, "confidence": 1.0}, add_to_output=True)
                reordered = [{"name": decided, "confidence": 1.0}] + [r for r in ranking if r.get("name") != decided]
                message.set(INTENT_RANKING_KEY, reordered, add_to_output=True)
        return messages
