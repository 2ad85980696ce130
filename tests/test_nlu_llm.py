"""The optional LLM engine against a local fake OpenAI-compatible server: request shape, mapping, fallbacks."""

from __future__ import annotations

import datetime as dt
import json
import logging
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx
from prometheus_client import REGISTRY

from conversations.agent.nlu import llm
from conversations.agent.nlu.base import INTENTS, NLUResult
from conversations.agent.nlu.llm import FALLBACK_REASONS, INTENT_DEFINITIONS, LLMEngine, LLMEngineError
from conversations.agent.nlu.local import LocalEngine, tenant_today
from tests.fake_llm import FakeOpenAI

TODAY = dt.date(2025, 3, 12)
TEXT = "hola, tienen habitación doble del 14 al 16 de marzo para 2 adultos y un niño?"
API_KEY = "sk-test-secret-123"
SENTINEL = NLUResult(intent="greeting", confidence=0.42, language="es", engine="stub-fallback")
GOOD_OUTPUT = {
    "intent": "check_availability",
    "confidence": 0.93,
    "language": "es",
    "entities": {
        "check_in": "2025-03-14",
        "check_out": "2025-03-16",
        "adults": 2,
        "children": 1,
        "room_type": "doble",
        "booking_ref": None,
        "email": None,
        "phone": None,
        "guest_name": None,
    },
}


class StubFallback:
    """Stands in for the local engine (no trained model needed) and records its calls."""

    name = "stub"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []

    def parse(self, text: str, *, tenant: Any, context: dict[str, Any]) -> NLUResult:
        self.calls.append((text, tenant, context))
        return SENTINEL


def fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("nlu_llm_fallbacks_total", {"reason": reason}) or 0.0


def all_fallbacks() -> dict[str, float]:
    return {reason: fallbacks(reason) for reason in FALLBACK_REASONS}


def make_tenant(**attrs: Any) -> SimpleNamespace:
    return SimpleNamespace(**{"slug": "sol-y-mar", "timezone": "America/Argentina/Buenos_Aires", **attrs})


@pytest.fixture
def tenant() -> SimpleNamespace:
    """A stand-in with the attributes the engines read (no database)."""
    return make_tenant(default_language="es")


@pytest.fixture
def context() -> dict[str, Any]:
    return {"today": TODAY, "language": "es", "room_types": ["Doble", "Suite Junior"]}


@pytest.fixture
def fake(settings):
    with FakeOpenAI(content=GOOD_OUTPUT) as server:
        settings.LLM_API_BASE_URL = server.base_url
        settings.LLM_API_KEY = API_KEY
        settings.LLM_MODEL = "gpt-test"
        settings.LLM_TIMEOUT_SECONDS = 2.0
        yield server


@pytest.fixture
def stub() -> StubFallback:
    return StubFallback()


# --- happy path -------------------------------------------------------------------------------------------------
def test_maps_the_model_output_to_an_nlu_result(fake, stub, tenant, context):
    before = all_fallbacks()

    result = LLMEngine(fallback=stub).parse(TEXT, tenant=tenant, context=context)

    assert result == NLUResult(
        intent="check_availability",
        confidence=0.93,
        language="es",
        entities={
            "check_in": dt.date(2025, 3, 14),
            "check_out": dt.date(2025, 3, 16),
            "adults": 2,
            "children": 1,
            "room_type": "Doble",
        },
        engine="llm",
    )
    assert stub.calls == []
    assert all_fallbacks() == before


def test_sends_an_openai_compatible_request(fake, stub, tenant, context):
    LLMEngine(fallback=stub).parse(TEXT, tenant=tenant, context=context)

    assert len(fake.requests) == 1
    request = fake.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert request["headers"]["content-type"] == "application/json"
    body = request["json"]
    assert body["model"] == "gpt-test"
    assert body["temperature"] == 0
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert system["role"] == "system"
    assert user == {"role": "user", "content": TEXT}
    assert "Today is 2025-03-12 (Wednesday)" in system["content"]
    assert "Conversation language: es." in system["content"]
    assert '"Doble", "Suite Junior"' in system["content"]
    for intent in INTENTS:
        assert f"- {intent}: {INTENT_DEFINITIONS[intent]}" in system["content"]


def test_today_defaults_to_the_tenants_local_date_and_session_check_in_is_given(fake, stub):
    tenant = make_tenant(timezone="Pacific/Kiritimati", default_language="en")

    LLMEngine(fallback=stub).parse("and for 3 nights?", tenant=tenant, context={"check_in": dt.date(2025, 4, 1)})

    prompt = fake.requests[0]["json"]["messages"][0]["content"]
    assert f"Today is {tenant_today(tenant).isoformat()}" in prompt
    assert "Check-in already known from this conversation: 2025-04-01." in prompt
    assert "Conversation language: unknown." in prompt
    assert "The hotel's room types" not in prompt


def test_tenant_llm_config_overrides_settings(fake, stub, settings, context):
    settings.LLM_API_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens there
    settings.LLM_API_KEY = ""
    tenant = make_tenant(
        llm_config={"base_url": fake.base_url, "model": "tenant-model", "api_key": "sk-tenant", "unused": 1}
    )

    result = LLMEngine(fallback=stub).parse(TEXT, tenant=tenant, context=context)

    assert result.engine == "llm"
    assert fake.requests[0]["json"]["model"] == "tenant-model"
    assert fake.requests[0]["headers"]["authorization"] == "Bearer sk-tenant"
    assert stub.calls == []


def test_blank_tenant_overrides_keep_the_settings(fake, stub, context):
    tenant = make_tenant(llm_config={"base_url": "", "model": "  ", "api_key": None})

    LLMEngine(fallback=stub).parse(TEXT, tenant=tenant, context=context)

    assert fake.requests[0]["json"]["model"] == "gpt-test"
    assert fake.requests[0]["headers"]["authorization"] == f"Bearer {API_KEY}"


# --- fallbacks --------------------------------------------------------------------------------------------------
def _slow(fake, settings):
    settings.LLM_TIMEOUT_SECONDS = 0.2
    fake.delay = 1.0


def _status(code):
    def configure(fake, settings):
        fake.status = code

    return configure


def _content(content):
    def configure(fake, settings):
        fake.content = content

    return configure


@pytest.mark.parametrize(
    ("configure", "reason"),
    [
        pytest.param(_slow, "timeout", id="slower-than-timeout"),
        pytest.param(_status(500), "http_error", id="http-500"),
        pytest.param(_status(401), "http_error", id="http-401"),
        pytest.param(_content("sure! the intent is greeting"), "bad_response", id="content-not-json"),
        pytest.param(_content({**GOOD_OUTPUT, "intent": "book_room"}), "bad_response", id="unknown-intent"),
        pytest.param(_content({**GOOD_OUTPUT, "language": "fr"}), "bad_response", id="unknown-language"),
    ],
)
def test_failures_fall_back_to_the_local_engine_and_are_counted(
    fake, stub, settings, tenant, context, configure, reason
):
    configure(fake, settings)
    before = all_fallbacks()

    result = LLMEngine(fallback=stub).parse(TEXT, tenant=tenant, context=context)

    assert result is SENTINEL
    assert stub.calls == [(TEXT, tenant, context)]
    assert len(fake.requests) == 1
    assert all_fallbacks() == {**before, reason: before[reason] + 1}


@pytest.mark.parametrize("missing", ["LLM_API_KEY", "LLM_MODEL", "LLM_API_BASE_URL"])
def test_missing_configuration_falls_back_without_calling_out(fake, stub, settings, tenant, context, missing):
    setattr(settings, missing, "")
    before = all_fallbacks()

    result = LLMEngine(fallback=stub).parse(TEXT, tenant=tenant, context=context)

    assert result is SENTINEL
    assert stub.calls == [(TEXT, tenant, context)]
    assert fake.requests == []
    assert all_fallbacks() == {**before, "not_configured": before["not_configured"] + 1}


@respx.mock(assert_all_called=True)
def test_connection_error_is_a_transport_fallback(respx_mock, settings, stub, tenant, context):
    settings.LLM_API_BASE_URL = "http://llm.invalid/v1"
    settings.LLM_API_KEY = API_KEY
    respx_mock.post("http://llm.invalid/v1/chat/completions").mock(side_effect=httpx.ConnectError("refused"))
    before = all_fallbacks()

    result = LLMEngine(fallback=stub).parse(TEXT, tenant=tenant, context=context)

    assert result is SENTINEL
    assert all_fallbacks() == {**before, "transport": before["transport"] + 1}


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(200, json={"choices": []}),
        httpx.Response(200, json={"choices": [{"message": {"content": None}}]}),
    ],
    ids=["html-body", "no-choices", "null-content"],
)
@respx.mock(assert_all_called=True)
def test_a_2xx_without_a_completion_is_a_bad_response(respx_mock, settings, stub, tenant, context, response):
    settings.LLM_API_BASE_URL = "http://llm.invalid/v1"
    settings.LLM_API_KEY = API_KEY
    respx_mock.post("http://llm.invalid/v1/chat/completions").mock(return_value=response)
    before = all_fallbacks()

    result = LLMEngine(fallback=stub).parse(TEXT, tenant=tenant, context=context)

    assert result is SENTINEL
    assert all_fallbacks() == {**before, "bad_response": before["bad_response"] + 1}


def test_an_unexpected_error_still_falls_back(fake, stub, tenant, context, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(llm, "validate_output", broken)
    before = all_fallbacks()

    result = LLMEngine(fallback=stub).parse(TEXT, tenant=tenant, context=context)

    assert result is SENTINEL
    assert all_fallbacks() == {**before, "bad_response": before["bad_response"] + 1}


def test_the_default_fallback_is_the_local_engine():
    assert isinstance(LLMEngine().fallback, LocalEngine)


# --- logging ----------------------------------------------------------------------------------------------------
def test_logs_never_carry_the_key_and_carry_the_text_only_at_debug(fake, stub, tenant, context, caplog):
    caplog.set_level(logging.DEBUG, logger="conversations.agent.nlu.llm")
    engine = LLMEngine(fallback=stub)

    engine.parse(TEXT, tenant=tenant, context=context)
    fake.status = 401
    fake.raw_body = json.dumps({"error": {"message": f"Incorrect API key provided: {API_KEY}"}}).encode()
    engine.parse(TEXT, tenant=tenant, context=context)

    ours = [r for r in caplog.records if r.name == "conversations.agent.nlu.llm"]
    above_debug = [r.getMessage() for r in ours if r.levelno > logging.DEBUG]
    assert any("nlu_llm_parsed" in m for m in above_debug)
    assert any("nlu_llm_fallback" in m and "HTTP 401" in m for m in above_debug)
    assert not [m for m in above_debug if TEXT in m or API_KEY in m]
    assert not [r for r in ours if API_KEY in r.getMessage()]
    assert any(TEXT in r.getMessage() for r in ours if r.levelno == logging.DEBUG)


# --- output validation ------------------------------------------------------------------------------------------
def _output(**changes: Any) -> str:
    data = json.loads(json.dumps(GOOD_OUTPUT))
    entities = changes.pop("entities", {})
    data.update(changes)
    data["entities"].update(entities)
    return json.dumps(data)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("[]", id="not-an-object"),
        pytest.param(json.dumps({k: v for k, v in GOOD_OUTPUT.items() if k != "intent"}), id="no-intent"),
        pytest.param(_output(confidence=1.5), id="confidence-above-1"),
        pytest.param(_output(confidence=-0.1), id="confidence-negative"),
        pytest.param(_output(confidence="0.9"), id="confidence-string"),
        pytest.param(_output(confidence=True), id="confidence-bool"),
        pytest.param(_output(language=None), id="no-language"),
        pytest.param(_output(language="ES"), id="language-uppercase"),
        pytest.param(json.dumps({**GOOD_OUTPUT, "entities": None}), id="entities-null"),
        pytest.param(json.dumps({**GOOD_OUTPUT, "entities": ["2025-03-14"]}), id="entities-list"),
        pytest.param(_output(entities={"check_in": "14/03/2025"}), id="date-day-first"),
        pytest.param(_output(entities={"check_in": "2025-02-30"}), id="date-not-in-calendar"),
        pytest.param(_output(entities={"check_in": "20250314"}), id="date-compact"),
        pytest.param(_output(entities={"check_out": "2025-03-14T12:00"}), id="datetime"),
        pytest.param(_output(entities={"check_out": "2025-03-13"}), id="check-out-before-check-in"),
        pytest.param(_output(entities={"check_out": "2025-03-14"}), id="check-out-same-day"),
        pytest.param(_output(entities={"adults": "2"}), id="adults-string"),
        pytest.param(_output(entities={"adults": 2.5}), id="adults-float"),
        pytest.param(_output(entities={"adults": 2.0}), id="adults-float-integral"),
        pytest.param(_output(entities={"children": True}), id="children-bool"),
        pytest.param(_output(entities={"children": -1}), id="children-negative"),
        pytest.param(_output(entities={"email": 42}), id="email-number"),
        pytest.param(_output(entities={"guest_name": "x" * 201}), id="name-too-long"),
        pytest.param(_output(entities={"guest_name": "Ana\u0000"}), id="name-with-nul"),
        pytest.param(_output(entities={"booking_ref": "AB\ud800"}), id="ref-with-lone-surrogate"),
    ],
)
def test_off_schema_output_is_a_bad_response(content):
    with pytest.raises(LLMEngineError) as excinfo:
        llm.validate_output(content, room_types=["Doble"])

    assert excinfo.value.reason == "bad_response"


def test_validation_errors_do_not_echo_values():
    with pytest.raises(LLMEngineError) as excinfo:
        llm.validate_output(_output(entities={"adults": "juan@example.com"}))

    assert "juan@example.com" not in str(excinfo.value)


def test_null_and_blank_entities_are_left_out_and_unknown_keys_ignored():
    content = json.dumps(
        {
            "intent": "reservation_status",
            "confidence": 1,
            "language": "pt",
            "entities": {
                "booking_ref": " ABC123 ",
                "email": "ana@example.com",
                "phone": "+55 11 91234-5678",
                "guest_name": "Ana Souza",
                "room_type": "Cabana",
                "adults": 0,
                "children": None,
                "check_in": None,
                "nights": 3,
            },
        }
    )

    result = llm.validate_output(content, room_types=["Doble"])

    assert result == NLUResult(
        intent="reservation_status",
        confidence=1.0,
        language="pt",
        entities={
            "booking_ref": "ABC123",
            "email": "ana@example.com",
            "phone": "+55 11 91234-5678",
            "guest_name": "Ana Souza",
            "room_type": "Cabana",
            "adults": 0,
        },
        engine="llm",
    )


def test_every_intent_has_a_definition():
    assert tuple(INTENT_DEFINITIONS) == INTENTS


@pytest.mark.django_db
def test_a_hotels_agent_settings_override_the_llm_endpoint(settings):
    from conversations.agent.nlu.llm import llm_config_for
    from conversations.models import AgentSettings
    from tests.factories import TenantFactory

    settings.LLM_API_BASE_URL = "https://global.example/v1"
    settings.LLM_MODEL = "global-model"
    settings.LLM_API_KEY = "global-key"
    hotel, other = TenantFactory(), TenantFactory()
    AgentSettings.objects.create(
        tenant=hotel, llm_base_url="https://hotel.example/v1", llm_model="hotel-model", llm_api_key="hotel-key"
    )

    mine, theirs = llm_config_for(hotel), llm_config_for(other)

    assert (mine.base_url, mine.model, mine.api_key) == ("https://hotel.example/v1", "hotel-model", "hotel-key")
    assert (theirs.base_url, theirs.model, theirs.api_key) == (
        "https://global.example/v1",
        "global-model",
        "global-key",
    )


@pytest.mark.django_db
def test_the_global_key_is_never_sent_to_a_hotels_own_endpoint(settings):
    from conversations.agent.nlu.llm import llm_config_for
    from conversations.models import AgentSettings
    from tests.factories import TenantFactory

    settings.LLM_API_BASE_URL = "https://global.example/v1"
    settings.LLM_API_KEY = "global-key"
    elsewhere, same, unset = TenantFactory(), TenantFactory(), TenantFactory()
    AgentSettings.objects.create(tenant=elsewhere, llm_base_url="https://hotel-admin.example/v1")
    AgentSettings.objects.create(tenant=same, llm_base_url="https://GLOBAL.example/v1/", llm_model="other-model")
    AgentSettings.objects.create(tenant=unset, llm_model="other-model")

    assert llm_config_for(elsewhere).api_key == ""  # "not configured": the local engine answers, nothing is sent
    assert llm_config_for(same).api_key == "global-key"
    assert llm_config_for(unset).api_key == "global-key"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("base_url", "key", "valid"),
    [
        ("https://hotel-admin.example/v1", "", False),
        ("https://hotel-admin.example/v1", "hotel-key", True),
        ("https://global.example/v1", "", True),
        ("", "", True),
    ],
)
def test_the_admin_form_asks_for_a_key_with_a_hotels_own_endpoint(settings, base_url, key, valid):
    from conversations.admin import AgentSettingsForm
    from tests.factories import TenantFactory

    settings.LLM_API_BASE_URL = "https://global.example/v1"
    form = AgentSettingsForm(
        data={
            "tenant": TenantFactory().pk,
            "confidence_threshold": 0.5,
            "session_ttl_hours": 24,
            "nlu_engine": "llm",
            "llm_base_url": base_url,
            "llm_model": "",
            "llm_api_key": key,
        }
    )

    assert form.is_valid() is valid, form.errors
    if not valid:
        assert "llm_api_key" in form.errors
