"""NLU engines. The skeleton's engine is a keyword matcher; the agent-brain issue adds the real ones behind the
same interface and registry."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class NLUResult:
    intent: str
    confidence: float
    language: str
    entities: dict[str, Any] = field(default_factory=dict)


class NLUEngine(Protocol):
    name: str

    def parse(self, text: str, *, tenant: Any, context: dict[str, Any]) -> NLUResult: ...


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_GREETINGS = {
    "es": ("hola", "buenas", "buenos dias", "buenas tardes", "buenas noches", "que tal"),
    "pt": ("ola", "oi", "bom dia", "boa tarde", "boa noite", "tudo bem"),
    "en": ("hello", "hi", "hey", "good morning", "good afternoon", "good evening"),
}
_GREETING_RE = {
    lang: re.compile(r"^\W*(?:" + "|".join(re.escape(w) for w in words) + r")\b") for lang, words in _GREETINGS.items()
}


class KeywordEngine:
    """Greets back when the message opens with a greeting; anything else is ``echo``."""

    name = "keyword"

    def parse(self, text: str, *, tenant: Any, context: dict[str, Any]) -> NLUResult:
        folded = _fold(text)
        default_language = context.get("language") or getattr(tenant, "default_language", "es")
        # "ola" (pt) vs "hola" (es): the pattern is anchored, so "hola" never matches the pt list.
        for lang in ("es", "pt", "en"):
            if _GREETING_RE[lang].match(folded):
                return NLUResult(intent="greeting", confidence=0.9, language=lang)
        return NLUResult(intent="echo", confidence=0.5, language=default_language)


ENGINES: dict[str, NLUEngine] = {KeywordEngine.name: KeywordEngine()}
DEFAULT_ENGINE = KeywordEngine.name


def engine_for(tenant: Any) -> NLUEngine:
    return ENGINES[DEFAULT_ENGINE]
