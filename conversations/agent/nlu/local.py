"""The default engine: local, offline, deterministic (scikit-learn linear models over n-grams)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

from django.utils import timezone

from conversations.agent.nlu.base import LANGUAGES, SOCIAL_INTENTS, NLUResult
from conversations.agent.nlu.text import lowered, normalize
from conversations.agent.nlu.training import load_models

# A guest "clearly switches" language when the detector is this sure on a message with this many letters.
SWITCH_MIN_PROBABILITY = 0.85
SWITCH_MIN_LETTERS = 12


def tenant_today(tenant: Any) -> dt.date:
    """Today in the hotel's timezone (or the rehearsal's ``--today``)."""
    from conversations.agent.clock import today_override

    if (override := today_override()) is not None:
        return override
    tz_name = getattr(tenant, "timezone", "") or "UTC"
    try:
        tz = zoneinfo.ZoneInfo(tz_name)
    except zoneinfo.ZoneInfoNotFoundError:
        tz = zoneinfo.ZoneInfo("UTC")
    return timezone.localdate(timezone=tz)


# Words that settle the language of a very short message on their own ("Olá", "Oi", "Hola", "Thanks").
_MARKERS = {
    "pt": re.compile(
        r"\b(olá|oi|obrigad[oa]|valeu|você|vocês|não|sim|tudo bem|bom dia|boa tarde|boa noite|tchau|blz|vlw|obg)\b"
    ),
    "es": re.compile(r"(¿|¡|ñ|\b(hola|gracias|buenas|buenos días|vale|sí|adiós|chao|porfa|dale|órale)\b)"),
    "en": re.compile(r"\b(hi|hello|hey|thanks|thank you|thx|yes|yeah|bye|good morning|good evening|please|pls)\b"),
}
SHORT_MESSAGE_WORDS = 3
# One or two letters or digits ("y", "e", "k", "2") carry no request: the training set has such short texts only for
# these social answers ("ok", "no", "ya", "ty"), so any other intent read from them is the n-grams' guess ("y" was a
# complaint with 0.59 and handed the guest to staff). Slot answers ("2" adults) are read from the text, not the intent.
TINY_MESSAGE_ALNUM = 2
TINY_MESSAGE_INTENTS = SOCIAL_INTENTS
# Nor do function words alone, as in a message cut short by Enter: "con" was a hand-over request with 0.98 (from
# "hablar con una persona"), "com um" 0.83, "para el" an availability question with 0.74. Folded (no accents).
_FUNCTION_WORDS_BY_LANGUAGE = {
    "es": "a al con de del desde el en entre hasta la las lo los para por pero sin sobre un una unos unas y o e u que "
    "mi mis tu tus su sus me te se le les nos",
    "en": "a an and or but the to of in on at for from with by my your is are",
    "pt": "a o os as e de com do da dos das um uma uns umas no na nas em pelo pela pelos pelas para por ou mas "
    "meu minha",
}
FUNCTION_WORDS = frozenset(word for words in _FUNCTION_WORDS_BY_LANGUAGE.values() for word in words.split())
_WORDS = re.compile(r"[^\W_]+")


def carries_no_request(normalized: str) -> bool:
    """One or two letters or digits, or nothing but function words: no intent beyond a social answer can be read."""
    if sum(char.isalnum() for char in normalized) <= TINY_MESSAGE_ALNUM:
        return True
    words = _WORDS.findall(normalized)
    return bool(words) and all(word in FUNCTION_WORDS for word in words)


def marker_language(text: str) -> str | None:
    """The only language whose marker words a short message contains, if exactly one."""
    hits = [lang for lang, pattern in _MARKERS.items() if pattern.search(text)]
    return hits[0] if len(hits) == 1 else None


def choose_language(
    normalized: str, probabilities: Any, classes: Any, *, current: str | None, default: str, raw: str = ""
) -> tuple[str, float]:
    """Language of one message. A conversation keeps ``current`` unless the message is long enough and the
    detector sure enough: "ok", "sí", "no" or "10" never flip a conversation's language."""
    letters = sum(ch.isalpha() for ch in normalized)
    if letters == 0:
        return (current or default), 0.0
    best_index = int(probabilities.argmax())
    best, score = str(classes[best_index]), float(probabilities[best_index])
    if len(raw.split()) <= SHORT_MESSAGE_WORDS and (marked := marker_language(raw)) and marked != best:
        best, score = marked, max(score, SWITCH_MIN_PROBABILITY)
    if current in LANGUAGES and best != current:
        if score >= SWITCH_MIN_PROBABILITY and letters >= SWITCH_MIN_LETTERS:
            return best, score
        return current, score
    return best, score


class LocalEngine:
    name = "local"

    def parse(self, text: str, *, tenant: Any, context: dict[str, Any]) -> NLUResult:
        from conversations.agent.entities import extract_entities

        normalized = normalize(text)
        default_language = getattr(tenant, "default_language", None) or "es"
        current = context.get("language")
        if not any(char.isalnum() for char in normalized):
            # Nothing the model can read (punctuation, control or invisible characters): the classifier would still
            # pick its prior class, "yes" with 0.69 for a lone "\x8e", which must never confirm anything.
            return NLUResult(intent="out_of_scope", confidence=0.0, language=current or default_language)
        models = load_models()
        features = models.features([normalized])
        language, _ = choose_language(
            normalized,
            models.language_probabilities(models.language_features(features, [lowered(text)]))[0],
            models.language_clf.classes_,
            current=current,
            default=default_language,
            raw=lowered(text),
        )
        probabilities = models.intent_probabilities(features)[0]
        order = probabilities.argsort()[::-1]
        classes = models.intent_clf.classes_
        intent = str(classes[order[0]])
        confidence = float(probabilities[order[0]])
        if intent not in TINY_MESSAGE_INTENTS and carries_no_request(normalized):
            intent, confidence = "out_of_scope", 0.0
        alternatives = tuple((str(classes[i]), round(float(probabilities[i]), 4)) for i in order[1:4])
        today = context.get("today") or tenant_today(tenant)
        entities = extract_entities(
            text,
            language=language,
            today=today,
            room_types=context.get("room_types"),
            check_in_hint=context.get("check_in"),
        )
        return NLUResult(
            intent=intent,
            confidence=round(confidence, 4),
            language=language,
            entities=entities,
            alternatives=alternatives,
            engine=self.name,
        )
