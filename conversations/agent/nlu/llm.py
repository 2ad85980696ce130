"""Optional LLM engine: any OpenAI-compatible chat-completions endpoint, with the local engine as the safety net.

The engine POSTs ``{base_url}/chat/completions`` (``temperature: 0``, ``response_format: json_object``) with a
system prompt that defines the intent taxonomy and the entity schema and gives today's date in the hotel's
timezone, the conversation's language, the hotel's room types and the session's check-in. The model's JSON is
validated strictly and mapped to the same ``NLUResult`` as the local engine (dates as ``datetime.date``, counts
as ``int``, entities that are null left out).

Configuration: ``settings.LLM_API_BASE_URL``, ``LLM_MODEL``, ``LLM_API_KEY``, ``LLM_TIMEOUT_SECONDS``. A tenant
may override the first three through an optional dict-like ``tenant.llm_config`` attribute with the keys
``base_url``, ``model`` and ``api_key`` (missing or empty keys fall back to settings, except that the global key is
only ever sent to the global base URL; the timeout is global so a tenant cannot slow the pipeline). An empty key
counts as "not configured"; a key-less local server still needs a placeholder key.

Any failure (timeout, transport error, non-2xx, unparsable or off-schema output, missing configuration) returns
the fallback engine's result (the local engine unless another is injected) and increments
``nlu_llm_fallbacks_total{reason}``. Logs never carry the API key, the provider's error body or the guest text
(the text only at DEBUG).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from django.conf import settings
from prometheus_client import Counter

from conversations.agent.nlu.base import INTENTS, LANGUAGES, NLUEngine, NLUResult
from conversations.agent.nlu.local import tenant_today
from conversations.agent.nlu.text import fold

logger = structlog.get_logger(__name__)

FALLBACK_REASONS: tuple[str, ...] = ("timeout", "http_error", "bad_response", "not_configured", "transport")
nlu_llm_fallbacks_total = Counter(
    "nlu_llm_fallbacks_total", "LLM engine calls answered by the fallback engine instead, by reason.", ["reason"]
)
for _reason in FALLBACK_REASONS:
    nlu_llm_fallbacks_total.labels(reason=_reason)

INTENT_DEFINITIONS: dict[str, str] = {
    "greeting": "hello / good morning with no other request",
    "goodbye": "bye / see you / closing the conversation",
    "thanks": "thanking the hotel with no other request",
    "affirm": "yes / ok / confirms what the hotel just asked or offered",
    "deny": "no / declines what the hotel just asked or offered",
    "check_availability": "availability or price for specific dates or a stay (dates, nights or a weekend given)",
    "room_info": "room types, what a room includes, capacity, general prices WITHOUT dates",
    "make_reservation": (
        "the guest says they want to book/reserve; wins over check_availability even when dates are given"
    ),
    "modify_reservation": "change an existing booking (dates, guests, room type, name)",
    "cancel_reservation": "cancel an existing booking",
    "reservation_status": "status, confirmation or details of an existing booking",
    "late_checkout": "a request to leave the room later than the normal check-out time",
    "early_checkin": "a request to get the room earlier than the normal check-in time",
    "hotel_info": (
        "facilities and policies: wifi, parking, breakfast, pool, pets, check-in/check-out TIMES, payment, "
        "invoices, shuttle, accessibility"
    ),
    "location": "address, directions, how to get there, distances",
    "service_request": "in-stay requests: towels, cleaning, room service, something broken, wake-up call",
    "complaint": "dissatisfaction with the room, the service or the staff",
    "human_handoff": "wants to talk to a person / receptionist / human agent",
    "out_of_scope": "anything unrelated to the hotel or the guest's stay",
}
ENTITY_KEYS: tuple[str, ...] = (
    "check_in",
    "check_out",
    "adults",
    "children",
    "room_type",
    "booking_ref",
    "email",
    "phone",
    "guest_name",
)
_DATE_KEYS = ("check_in", "check_out")
_COUNT_KEYS = ("adults", "children")
_STRING_KEYS = ("room_type", "booking_ref", "email", "phone", "guest_name")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_GUESTS = 100
MAX_STRING_LENGTH = 200


class LLMEngineError(Exception):
    """One failed call; ``reason`` is a label of ``nlu_llm_fallbacks_total`` and ``detail`` is safe to log."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    model: str
    api_key: str = field(repr=False)
    timeout_seconds: float

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/chat/completions"


def _agent_settings_overrides(tenant: Any) -> dict[str, str]:
    """The hotel's LLM endpoint from its agent settings (admin), if it set one."""
    tenant_id = getattr(tenant, "pk", None)
    if tenant_id is None:
        return {}
    from conversations.models import AgentSettings

    row = AgentSettings.objects.filter(tenant_id=tenant_id).values("llm_base_url", "llm_model", "llm_api_key").first()
    if not row:
        return {}
    return {"base_url": row["llm_base_url"], "model": row["llm_model"], "api_key": row["llm_api_key"]}


def llm_config_for(tenant: Any) -> LLMConfig:
    """Settings, overridden per tenant by the non-empty string values of ``tenant.llm_config``."""
    overrides = getattr(tenant, "llm_config", None) or _agent_settings_overrides(tenant)
    if not isinstance(overrides, Mapping):
        overrides = {}

    def pick(key: str, default: str) -> str:
        value = overrides.get(key)
        return value.strip() if isinstance(value, str) and value.strip() else (default or "").strip()

    base_url = pick("base_url", settings.LLM_API_BASE_URL)
    # The operator's key goes to the operator's endpoint only: a hotel that points the agent elsewhere brings its own
    # key, or its endpoint counts as not configured (otherwise a hotel admin could have the global key sent to them).
    global_key = settings.LLM_API_KEY if same_endpoint(base_url, settings.LLM_API_BASE_URL) else ""
    return LLMConfig(
        base_url=base_url,
        model=pick("model", settings.LLM_MODEL),
        api_key=pick("api_key", global_key),
        timeout_seconds=float(settings.LLM_TIMEOUT_SECONDS),
    )


def same_endpoint(url: str, other: str | None) -> bool:
    return url.strip().rstrip("/").lower() == (other or "").strip().rstrip("/").lower()


def system_prompt(
    *, today: dt.date, language: str | None, room_types: Sequence[str] | None, check_in: dt.date | None
) -> str:
    intents = "\n".join(f"- {name}: {INTENT_DEFINITIONS[name]}" for name in INTENTS)
    lines = [
        "You classify one message a guest sent to a hotel's front desk (WhatsApp; Spanish of any region, English "
        "or Brazilian Portuguese; typos, slang and abbreviations are normal). Do not answer the guest.",
        "",
        "Intents (pick exactly one):",
        intents,
        "",
        "Reply with one JSON object and nothing else:",
        '{"intent": <one of the intents>, "confidence": <number 0..1>, "language": "es"|"en"|"pt", '
        '"entities": {"check_in": "YYYY-MM-DD"|null, "check_out": "YYYY-MM-DD"|null, "adults": int|null, '
        '"children": int|null, "room_type": string|null, "booking_ref": string|null, "email": string|null, '
        '"phone": string|null, "guest_name": string|null}}',
        "",
        "Rules:",
        f"- Today is {today.isoformat()} ({today.strftime('%A')}) in the hotel's timezone. Resolve relative dates "
        "(tomorrow, this Friday, the weekend, N nights) from it; a stay is never in the past.",
        "- check_out = check_in + N when the guest gives a number of nights. Numeric dates like 12/02 are day "
        "first for es and pt.",
        "- adults/children: only when the guest gives them; a total with no breakdown counts as adults.",
        "- language: the language of this message. Short or ambiguous messages (ok, sí, no, numbers) keep the "
        "conversation's language.",
        "- Every entity the message does not give is null.",
        f"- Conversation language: {language if language in LANGUAGES else 'unknown'}.",
    ]
    if room_types:
        lines.append(
            "- The hotel's room types: "
            + ", ".join(json.dumps(str(name), ensure_ascii=False) for name in room_types)
            + ". room_type is one of them, spelled as listed."
        )
    if check_in:
        lines.append(f"- Check-in already known from this conversation: {check_in.isoformat()}.")
    return "\n".join(lines)


def completion_content(payload: Any) -> str:
    """``choices[0].message.content`` of a chat-completions response."""
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise LLMEngineError("bad_response", "no choices[0].message.content") from exc
    if not isinstance(content, str):
        raise LLMEngineError("bad_response", "content is not a string")
    return content


def _match_room_type(value: str, room_types: Sequence[str] | None) -> str:
    wanted = fold(value).strip()
    for name in room_types or ():
        if fold(str(name)).strip() == wanted:
            return str(name)
    return value


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_output(content: str, *, room_types: Sequence[str] | None = None) -> NLUResult:
    """The model's JSON as an ``NLUResult``; anything off-schema raises ``LLMEngineError("bad_response")``.
    Error details name the field, never its value (values can be the guest's personal data)."""

    def bad(detail: str) -> LLMEngineError:
        return LLMEngineError("bad_response", detail)

    try:
        data = json.loads(content)
    except ValueError as exc:
        raise bad("content is not JSON") from exc
    if not isinstance(data, dict):
        raise bad("content is not a JSON object")
    intent = data.get("intent")
    if intent not in INTENTS:
        raise bad("unknown intent")
    confidence = data.get("confidence")
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not math.isfinite(confidence)
        or not 0 <= confidence <= 1
    ):
        raise bad("confidence is not a number in 0..1")
    language = data.get("language")
    if language not in LANGUAGES:
        raise bad("unknown language")
    raw = data.get("entities")
    if not isinstance(raw, dict):
        raise bad("entities is not an object")

    entities: dict[str, Any] = {}
    for key in _DATE_KEYS:
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            raise bad(f"{key} is not YYYY-MM-DD")
        try:
            entities[key] = dt.date.fromisoformat(value)
        except ValueError as exc:
            raise bad(f"{key} is not a calendar date") from exc
    if "check_in" in entities and "check_out" in entities and entities["check_out"] <= entities["check_in"]:
        raise bad("check_out is not after check_in")
    for key in _COUNT_KEYS:
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GUESTS:
            raise bad(f"{key} is not an integer in 0..{MAX_GUESTS}")
        entities[key] = value
    for key in _STRING_KEYS:
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > MAX_STRING_LENGTH:
            raise bad(f"{key} is not a string")
        if "\x00" in value or not _is_utf8(value):  # stored with the message: PostgreSQL refuses both
            raise bad(f"{key} has a NUL or a lone surrogate")
        if value.strip():
            entities[key] = value.strip()
    if "room_type" in entities:
        entities["room_type"] = _match_room_type(entities["room_type"], room_types)
    return NLUResult(
        intent=intent, confidence=round(float(confidence), 4), language=language, entities=entities, engine="llm"
    )


_client: httpx.Client | None = None


def _http() -> httpx.Client:
    global _client
    if _client is None:
        _client = httpx.Client(timeout=httpx.Timeout(settings.LLM_TIMEOUT_SECONDS))
    return _client


class LLMEngine:
    name = "llm"

    def __init__(self, fallback: NLUEngine | None = None) -> None:
        self._fallback = fallback

    @property
    def fallback(self) -> NLUEngine:
        if self._fallback is None:
            from conversations.agent.nlu.local import LocalEngine

            self._fallback = LocalEngine()
        return self._fallback

    def parse(self, text: str, *, tenant: Any, context: dict[str, Any]) -> NLUResult:
        tenant_label = getattr(tenant, "slug", None)
        started = time.perf_counter()
        try:
            result = self._remote_parse(text, tenant=tenant, context=context)
        except LLMEngineError as exc:
            reason, detail = exc.reason, exc.detail
        except Exception as exc:  # a bug must not cost the guest an answer; count it and fall back
            logger.exception("nlu_llm_unexpected_error", tenant=tenant_label, error=type(exc).__name__)
            reason, detail = "bad_response", f"unexpected {type(exc).__name__}"
        else:
            logger.info(
                "nlu_llm_parsed",
                tenant=tenant_label,
                intent=result.intent,
                confidence=result.confidence,
                language=result.language,
                latency_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            return result
        nlu_llm_fallbacks_total.labels(reason=reason).inc()
        logger.warning(
            "nlu_llm_fallback",
            tenant=tenant_label,
            reason=reason,
            detail=detail,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return self.fallback.parse(text, tenant=tenant, context=context)

    def _remote_parse(self, text: str, *, tenant: Any, context: dict[str, Any]) -> NLUResult:
        config = llm_config_for(tenant)
        missing = [name for name in ("base_url", "model", "api_key") if not getattr(config, name)]
        if missing:
            raise LLMEngineError("not_configured", "missing " + ", ".join(missing))
        today = context.get("today") or tenant_today(tenant)
        room_types = context.get("room_types")
        body = {
            "model": config.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [
                {
                    "role": "system",
                    "content": system_prompt(
                        today=today,
                        language=context.get("language"),
                        room_types=room_types,
                        check_in=context.get("check_in"),
                    ),
                },
                {"role": "user", "content": text},
            ],
        }
        logger.debug("nlu_llm_request", tenant=getattr(tenant, "slug", None), model=config.model, text=text)
        try:
            response = _http().post(
                config.url,
                json=body,
                headers={"Authorization": f"Bearer {config.api_key}"},
                timeout=httpx.Timeout(config.timeout_seconds),
            )
        except httpx.TimeoutException as exc:
            raise LLMEngineError("timeout", type(exc).__name__) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise LLMEngineError("transport", type(exc).__name__) from exc
        if not response.is_success:
            # The body is not logged: providers echo (part of) the key in 401 answers.
            raise LLMEngineError("http_error", f"HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise LLMEngineError("bad_response", "response is not JSON") from exc
        content = completion_content(payload)
        logger.debug("nlu_llm_response", tenant=getattr(tenant, "slug", None), content=content)
        return validate_output(content, room_types=room_types)
