"""Rasa NLU component: the clinic's rule-based entity extractor (see ``bot.language``)."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot import rasa_speedups
from bot.language.entities import extract_entities
from bot.settings import load_settings

# Every process that runs our model gets Rasa's hot spots fixed (bot/rasa_speedups.py).
rasa_speedups.install()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class ClinicalEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds surgery type, times in weeks, pain course, symptoms and red flags to each message."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ClinicalEntityExtractor:
        """Creates the component (nothing to train or persist: the lexicons ship with ``bot``)."""
        return cls(config)

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds our entities to those already on each message."""
        today = load_settings().today()
        for message in messages:
            text = message.get(TEXT) or ""
            found = self.add_extractor_name(extract_entities(text, today))
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages
