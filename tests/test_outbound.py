"""Sending a queued reply through the Graph API (mocked with respx) or, without a token, the log sender."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
import respx
from django.utils import timezone

from channels_gateway.adapters.whatsapp import callback_data_for, message_id_from_callback
from channels_gateway.services import outbound_send
from channels_gateway.tasks import send_outbound
from conversations.models import DeliveryStatus, Message
from hotel_agent.celery import app as celery_app
from tests import whatsapp_payloads as wa
from tests.factories import ConversationFactory, GuestFactory, MessageFactory

PHONE_NUMBER_ID = "106540352242922"  # the whatsapp_account fixture's external id


@pytest.fixture
def token(settings):
    settings.WHATSAPP_ACCESS_TOKEN = "env-access-token"
    return settings.WHATSAPP_ACCESS_TOKEN


@pytest.fixture
def graph(settings):
    with respx.mock(base_url=settings.WHATSAPP_API_BASE_URL, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def messages_route(graph, whatsapp_account):
    assert whatsapp_account.external_id == PHONE_NUMBER_ID
    return graph.post(f"/{PHONE_NUMBER_ID}/messages")


@pytest.fixture
def eager_retries():
    """Let an eager task's ``self.retry`` re-run it in place (as a worker would, minus the countdown) instead of
    propagating ``Retry`` to the caller."""
    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def queued(whatsapp_account):
    guest = GuestFactory(tenant=whatsapp_account.tenant, address=wa.GUEST_PHONE)
    conversation = ConversationFactory(tenant=whatsapp_account.tenant, guest=guest, channel_account=whatsapp_account)
    return MessageFactory(
        conversation=conversation, text="¡Hola! ¿En qué puedo ayudarte?", status=DeliveryStatus.QUEUED
    )


def accepted(provider_id: str = "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA") -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "messaging_product": "whatsapp",
            "contacts": [{"input": wa.GUEST_PHONE, "wa_id": wa.GUEST_PHONE}],
            "messages": [{"id": provider_id}],
        },
    )


def graph_error(code: int, status: int = 400) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": f"error {code}", "type": "OAuthException"}})


def reload(message: Message) -> Message:
    message.refresh_from_db()
    return message


# --- success --------------------------------------------------------------------------------------------------
def test_send_posts_the_documented_request_and_records_the_wamid(queued, token, messages_route, settings):
    messages_route.mock(return_value=accepted("wamid.sent-1"))

    outcome = outbound_send(message_id=queued.pk)

    assert outcome.result == "sent"
    assert messages_route.call_count == 1
    request = messages_route.calls.last.request
    assert str(request.url) == f"{settings.WHATSAPP_API_BASE_URL}/{PHONE_NUMBER_ID}/messages"
    assert request.headers["Authorization"] == "Bearer env-access-token"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": wa.GUEST_PHONE,
        "type": "text",
        "text": {"preview_url": False, "body": "¡Hola! ¿En qué puedo ayudarte?"},
        "biz_opaque_callback_data": callback_data_for(queued.pk),  # echoed in statuses: confirms lost answers
    }
    assert message_id_from_callback(callback_data_for(queued.pk)) == queued.pk
    message = reload(queued)
    assert message.status == DeliveryStatus.SENT
    assert message.provider_message_id == "wamid.sent-1"
    assert message.send_attempts == 1
    assert message.send_claimed_at is None
    assert message.status_updated_at is not None


def test_send_task_sends(queued, token, messages_route):
    messages_route.mock(return_value=accepted("wamid.task"))

    result = send_outbound.delay(queued.pk).get()

    assert result == "sent"
    assert reload(queued).provider_message_id == "wamid.task"


def test_account_access_token_overrides_the_environment(queued, token, messages_route, whatsapp_account):
    whatsapp_account.credentials = {"access_token": "hotel-own-token"}
    whatsapp_account.save()
    messages_route.mock(return_value=accepted())

    outbound_send(message_id=queued.pk)

    assert messages_route.calls.last.request.headers["Authorization"] == "Bearer hotel-own-token"


def test_account_token_is_enough_without_an_environment_token(queued, settings, messages_route, whatsapp_account):
    settings.WHATSAPP_ACCESS_TOKEN = ""
    whatsapp_account.credentials = {"access_token": "hotel-own-token"}
    whatsapp_account.save()
    messages_route.mock(return_value=accepted("wamid.own"))

    outcome = outbound_send(message_id=queued.pk)

    assert outcome.result == "sent"
    assert messages_route.calls.last.request.headers["Authorization"] == "Bearer hotel-own-token"
    assert reload(queued).provider_message_id == "wamid.own"


def test_text_over_the_limit_is_truncated(queued, token, messages_route):
    Message.objects.filter(pk=queued.pk).update(text="x" * 5000)
    messages_route.mock(return_value=accepted())

    outbound_send(message_id=queued.pk)

    body = json.loads(messages_route.calls.last.request.content)["text"]["body"]
    assert len(body) == 4096
    assert body.endswith("…")


# --- transient and terminal errors ----------------------------------------------------------------------------
TRANSIENT = {
    "http 500": {"return_value": httpx.Response(500, text="Internal Server Error")},
    "http 503 with code 2": {"return_value": graph_error(2, status=503)},
    "connect timeout": {"side_effect": httpx.ConnectTimeout("timed out")},
    "write timeout": {"side_effect": httpx.WriteTimeout("timed out")},
    "connection refused": {"side_effect": httpx.ConnectError("refused")},
    "throughput 130429": {"return_value": graph_error(130429)},
    "pair rate 131056": {"return_value": graph_error(131056)},
    "http 429": {"return_value": httpx.Response(429, json={})},
}


@pytest.mark.parametrize("response", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_failure_is_retried_later(queued, token, messages_route, response):
    messages_route.mock(**response)

    outcome = outbound_send(message_id=queued.pk)

    assert outcome.result == "retry"
    assert outcome.retry_in > 0
    message = reload(queued)
    assert message.status == DeliveryStatus.QUEUED
    assert message.send_claimed_at is None  # claim released: the retry can take it
    assert message.send_attempts == 1
    assert message.provider_message_id is None
    assert message.error_code == ""


def test_transient_failures_until_the_budget_is_spent_fail_the_message(queued, token, messages_route, settings):
    settings.WHATSAPP_SEND_MAX_RETRIES = 3
    messages_route.mock(return_value=graph_error(130429))

    outcomes = [outbound_send(message_id=queued.pk).result for _ in range(3)]

    assert outcomes == ["retry", "retry", "failed"]
    assert messages_route.call_count == 3
    message = reload(queued)
    assert message.status == DeliveryStatus.FAILED
    assert message.error_code == "130429"
    assert message.send_attempts == 3
    assert message.send_claimed_at is None
    assert outbound_send(message_id=queued.pk).result == "skipped"
    assert messages_route.call_count == 3


def test_send_task_retries_transient_failures_then_succeeds(queued, token, messages_route, eager_retries):
    messages_route.side_effect = [httpx.Response(500), httpx.ConnectTimeout("slow"), accepted("wamid.third")]

    result = send_outbound.delay(queued.pk).get()

    assert result == "sent"
    assert messages_route.call_count == 3
    message = reload(queued)
    assert message.status == DeliveryStatus.SENT
    assert message.provider_message_id == "wamid.third"
    assert message.send_attempts == 3


def test_send_task_gives_up_after_the_budget(queued, token, messages_route, settings, eager_retries):
    settings.WHATSAPP_SEND_MAX_RETRIES = 4
    messages_route.mock(return_value=httpx.Response(500))

    result = send_outbound.delay(queued.pk).get()

    assert result == "failed"
    assert messages_route.call_count == 4
    message = reload(queued)
    assert message.status == DeliveryStatus.FAILED
    assert message.error_code == "http_500"


@pytest.mark.parametrize("code", [131047, 100, 131026])
def test_terminal_error_fails_at_once(queued, token, messages_route, code):
    messages_route.mock(return_value=graph_error(code))

    result = send_outbound.delay(queued.pk).get()

    assert result == "failed"
    assert messages_route.call_count == 1  # no retry
    message = reload(queued)
    assert message.status == DeliveryStatus.FAILED
    assert message.error_code == str(code)
    assert message.error_detail == f"HTTP 400: error {code}"
    assert message.send_attempts == 1
    assert message.send_claimed_at is None


def test_200_without_a_message_id_is_not_retried(queued, token, messages_route):
    messages_route.mock(return_value=httpx.Response(200, json={"messaging_product": "whatsapp"}))

    outcome = outbound_send(message_id=queued.pk)

    assert outcome.result == "failed"
    assert reload(queued).error_code == "bad_response"
    assert messages_route.call_count == 1


# --- idempotency ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED])
def test_message_no_longer_queued_is_skipped_without_a_call(queued, token, graph, status):
    Message.objects.filter(pk=queued.pk).update(status=status, provider_message_id="wamid.done")

    outcome = outbound_send(message_id=queued.pk)

    assert outcome.result == "skipped"
    assert graph.calls.call_count == 0
    message = reload(queued)
    assert message.status == status
    assert message.send_attempts == 0


def test_message_in_flight_elsewhere_is_not_sent_and_comes_back_when_the_lease_runs_out(queued, token, graph, settings):
    Message.objects.filter(pk=queued.pk).update(send_claimed_at=timezone.now() - timedelta(seconds=20), send_attempts=1)

    outcome = outbound_send(message_id=queued.pk)

    assert outcome.result == "in_flight"
    lease = settings.OUTBOUND_SEND_LEASE_SECONDS
    assert lease - 20 < outcome.retry_in <= lease - 20 + 1.5  # when the holder's lease runs out, not "dropped"
    assert graph.calls.call_count == 0
    assert reload(queued).send_attempts == 1


def test_a_send_task_redelivered_while_its_dead_run_still_holds_the_lease_waits_for_it(queued, token, graph):
    """Reject-on-worker-lost brings the task back within seconds, while the killed run's lease is still live: the
    task must come back later (it is the only one), not end as "skipped"."""
    from celery.exceptions import Retry

    from channels_gateway.tasks import send_outbound

    Message.objects.filter(pk=queued.pk).update(send_claimed_at=timezone.now(), send_attempts=1)
    send_outbound.push_request(
        id="redelivered-task", args=[queued.pk], kwargs={}, retries=0, is_eager=False, called_directly=False
    )
    try:
        with pytest.raises(Retry) as retried:
            send_outbound.run(queued.pk)
    finally:
        send_outbound.pop_request()

    assert retried.value.when > 100  # seconds: the rest of the lease
    assert graph.calls.call_count == 0


def test_stale_claim_of_a_dead_worker_is_taken_over(queued, token, messages_route, settings):
    stale = timezone.now() - timedelta(seconds=settings.OUTBOUND_SEND_LEASE_SECONDS + 1)
    Message.objects.filter(pk=queued.pk).update(send_claimed_at=stale, send_attempts=1)
    messages_route.mock(return_value=accepted("wamid.rescued"))

    outcome = outbound_send(message_id=queued.pk)

    assert outcome.result == "sent"
    message = reload(queued)
    assert message.provider_message_id == "wamid.rescued"
    assert message.send_attempts == 2


def test_inbound_message_is_never_sent(queued, token, graph):
    Message.objects.filter(pk=queued.pk).update(direction="in", status=DeliveryStatus.RECEIVED)

    assert outbound_send(message_id=queued.pk).result == "skipped"
    assert graph.calls.call_count == 0


# --- no token: log sender -------------------------------------------------------------------------------------
def test_without_a_token_the_log_sender_is_used(queued, settings, graph, caplog):
    settings.WHATSAPP_ACCESS_TOKEN = ""

    outcome = outbound_send(message_id=queued.pk)

    assert outcome.result == "sent"
    assert graph.calls.call_count == 0
    message = reload(queued)
    assert message.status == DeliveryStatus.SENT
    assert message.provider_message_id.startswith("log.")
    assert len(message.provider_message_id) == len("log.") + 32
    logged = [
        r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "outbound_message_logged"
    ]
    assert len(logged) == 1
    assert logged[0]["to"] == wa.GUEST_PHONE
    assert logged[0]["text"] == "¡Hola! ¿En qué puedo ayudarte?"


# --- quick replies as WhatsApp buttons (flag features.interactive_messages) ------------------------------------
OPTIONS = [{"id": "yes", "title": "Sí"}, {"id": "no", "title": "No"}, {"id": "room:DBL", "title": "Doble Estándar"}]


def test_options_are_sent_as_reply_buttons_when_the_hotel_has_the_flag(queued, token, messages_route):
    from tenants.flags import flag_set

    flag_set("features.interactive_messages", True, tenant=queued.tenant)
    Message.objects.filter(pk=queued.pk).update(attachment={"options": [*OPTIONS, {"id": "x", "title": "Fourth"}]})
    messages_route.mock(return_value=accepted("wamid.buttons"))

    outcome = outbound_send(message_id=queued.pk)

    assert outcome.result == "sent"
    body = json.loads(messages_route.calls.last.request.content)
    assert body["type"] == "interactive"
    assert body["interactive"] == {
        "type": "button",
        "body": {"text": "¡Hola! ¿En qué puedo ayudarte?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "yes", "title": "Sí"}},
                {"type": "reply", "reply": {"id": "no", "title": "No"}},
                {"type": "reply", "reply": {"id": "room:DBL", "title": "Doble Estándar"}},
            ]
        },
    }


def test_options_stay_in_the_text_without_the_flag(queued, token, messages_route):
    Message.objects.filter(pk=queued.pk).update(attachment={"options": OPTIONS})
    messages_route.mock(return_value=accepted("wamid.text"))

    outbound_send(message_id=queued.pk)

    body = json.loads(messages_route.calls.last.request.content)
    assert body["type"] == "text"
    assert body["text"]["body"] == "¡Hola! ¿En qué puedo ayudarte?"
