"""NLU engines behind one interface, chosen per tenant through a registry."""

from __future__ import annotations

from typing import Any

from conversations.agent.nlu.base import INTENTS, LANGUAGES, NLUEngine, NLUResult
from conversations.agent.nlu.llm import LLMEngine
from conversations.agent.nlu.local import LocalEngine

ENGINES: dict[str, NLUEngine] = {LocalEngine.name: LocalEngine(), LLMEngine.name: LLMEngine()}
DEFAULT_ENGINE = LocalEngine.name


def engine_for(tenant: Any) -> NLUEngine:
    """The tenant's engine: its agent settings' explicit choice, else the LLM engine when the ``nlp.llm.enabled``
    flag is on for it, else the local engine."""
    if tenant is None or getattr(tenant, "pk", None) is None:
        return ENGINES[DEFAULT_ENGINE]
    from conversations.agent.sessions import agent_settings_for
    from tenants.flags import flag_enabled

    overrides = agent_settings_for(tenant.pk)
    if overrides and overrides.nlu_engine in ENGINES:
        return ENGINES[overrides.nlu_engine]
    if flag_enabled("nlp.llm.enabled", tenant=tenant):
        return ENGINES[LLMEngine.name]
    return ENGINES[DEFAULT_ENGINE]


__all__ = ["DEFAULT_ENGINE", "ENGINES", "INTENTS", "LANGUAGES", "NLUEngine", "NLUResult", "engine_for"]
