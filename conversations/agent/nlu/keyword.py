"""Keyword engine: the walking skeleton's greeting/echo matcher (kept until the local engine is wired in)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from conversations.agent.nlu.base import NLUResult


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
