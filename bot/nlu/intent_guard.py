"""Rasa NLU component: the lexicon, not the classifier, has the last word on red flags."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.intents import guard_intent


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
            decided = guard_intent(
                text=message.get(TEXT) or "",
                intent=intent.get("name"),
                ranking=[r.get("name") for r in ranking],
                entity_names=[e.get("entity") for e in message.get(ENTITIES, [])],
            )
            if decided != intent.get("name"):
                message.set(INTENT, {"name": decided, "confidence": 1.0}, add_to_output=True)
                reordered = [{"name": decided, "confidence": 1.0}] + [r for r in ranking if r.get("name") != decided]
                message.set(INTENT_RANKING_KEY, reordered, add_to_output=True)
        return messages
