"""Concurrent deliveries against a real PostgreSQL (and Redis locks when REDIS_URL is set): Meta retries and
parallel workers must converge on one stored message, one guest, one conversation and one answer."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from prometheus_client import REGISTRY

from channels_gateway.services import outbound_send
from conversations.models import (
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Guest,
    InboundNotification,
    Message,
    MessageKind,
    Sender,
)
from conversations.services import inbound as conversation_inbound
from conversations.services import inbound_process
from tests import whatsapp_payloads as wa
from tests.conftest import REAL_POSTGRES
from tests.factories import ConversationFactory, GuestFactory, MessageFactory

pytestmark = [
    pytest.mark.skipif(not REAL_POSTGRES, reason="needs a real PostgreSQL (DATABASE_URL=postgres://…)"),
    pytest.mark.django_db(transaction=True),
    # about delivery under concurrency, not understanding: every message is a greeting that gets one reply
    pytest.mark.usefixtures("greeting_nlu"),
]


def run_concurrently(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call at the same moment, each in its own thread with its own DB connection; return results."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker is stuck"
    assert errors == []
    return results


def post(body: bytes) -> Callable[[], tuple[int, dict]]:
    def _post() -> tuple[int, dict]:
        response = Client().post(
            wa.WEBHOOK_URL,
            data=body,
            content_type="application/json",
            headers={"X-Hub-Signature-256": wa.sign(body)},
        )
        return response.status_code, response.json()

    return _post


def test_same_webhook_delivered_three_times_at_once_is_stored_and_answered_once(transactional_db, whatsapp_account):
    body = wa.encode(
        wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="wamid.race")])
    )
    duplicates_before = REGISTRY.get_sample_value("webhook_duplicates_total", {"channel": "whatsapp"}) or 0.0

    results = run_concurrently([post(body)] * 3)

    assert [status for status, _ in results] == [200, 200, 200]
    assert [r["notifications"] for _, r in results] == [1, 1, 1]  # each delivery stored as received …
    assert InboundNotification.objects.filter(processed_at__isnull=False).count() == 3  # … and processed once
    inbound = Message.objects.get(direction=Direction.INBOUND)
    assert inbound.provider_message_id == "wamid.race"
    assert inbound.processed_at is not None
    reply = Message.objects.get(direction=Direction.OUTBOUND)
    assert reply.sender == Sender.BOT
    assert reply.reply_to_id == inbound.pk
    assert reply.status == DeliveryStatus.SENT
    assert Guest.objects.count() == 1
    assert Conversation.objects.count() == 1
    assert REGISTRY.get_sample_value("webhook_duplicates_total", {"channel": "whatsapp"}) == duplicates_before + 2


def test_new_guest_sending_two_messages_at_once_gets_one_guest_and_one_conversation(transactional_db, whatsapp_account):
    bodies = [
        wa.encode(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message(text, sender="34611111111")]))
        for text in ("Hola", "¿Tenéis parking?")
    ]

    results = run_concurrently([post(body) for body in bodies])

    assert [status for status, _ in results] == [200, 200]
    assert [r["messages"] for _, r in results] == [1, 1]
    guest = Guest.objects.get()
    assert guest.address == "34611111111"
    conversation = Conversation.objects.get()
    assert conversation.guest_id == guest.pk
    assert sorted(
        Message.objects.filter(direction=Direction.INBOUND, conversation=conversation).values_list("text", flat=True)
    ) == ["Hola", "¿Tenéis parking?"]
    assert (
        Message.objects.filter(direction=Direction.OUTBOUND, sender=Sender.BOT, conversation=conversation).count() == 2
    )


def test_three_workers_processing_the_same_message_answer_once(transactional_db, whatsapp_account):
    guest = GuestFactory(tenant=whatsapp_account.tenant)
    conversation = ConversationFactory(tenant=whatsapp_account.tenant, guest=guest, channel_account=whatsapp_account)
    message = MessageFactory(
        conversation=conversation,
        direction=Direction.INBOUND,
        sender=Sender.GUEST,
        kind=MessageKind.TEXT,
        status=DeliveryStatus.RECEIVED,
        text="Hola",
        provider_message_id=wa.wamid(),
    )

    results = run_concurrently([lambda: inbound_process(message_id=message.pk)] * 3)

    assert sorted(results) == ["duplicate", "duplicate", "replied"]
    assert Message.objects.filter(reply_to=message, sender=Sender.BOT).count() == 1


def test_two_workers_sending_the_same_reply_send_it_once(transactional_db, whatsapp_account):
    conversation = ConversationFactory(tenant=whatsapp_account.tenant, channel_account=whatsapp_account)
    reply = MessageFactory(conversation=conversation, status=DeliveryStatus.QUEUED)

    results = run_concurrently([lambda: outbound_send(message_id=reply.pk).result] * 2)

    # The other one found the lease held ("in_flight": its task comes back when the lease runs out, to find the
    # message sent) or, if it looked after the send, the message already sent ("skipped").
    assert sorted(results) in (["in_flight", "sent"], ["sent", "skipped"])
    reply.refresh_from_db()
    assert reply.status == DeliveryStatus.SENT
    assert reply.send_attempts == 1


def test_batches_naming_the_same_guests_in_opposite_orders_do_not_deadlock(
    transactional_db, whatsapp_account, monkeypatch
):
    """Each batch stores its first message, then both wait for each other before their second one: rows locked in
    payload order would deadlock (PostgreSQL kills one with a 500, Meta retries); in a fixed order they queue."""
    for phone in ("34600000001", "34600000002"):
        guest = GuestFactory(tenant=whatsapp_account.tenant, address=phone, display_name="Sheena Nelson")
        ConversationFactory(tenant=whatsapp_account.tenant, guest=guest, channel_account=whatsapp_account)
    both_on_their_second_message = threading.Barrier(2)
    calls = threading.local()
    is_flooding = conversation_inbound._is_flooding

    def is_flooding_then_meet(**kwargs):
        calls.count = getattr(calls, "count", 0) + 1
        if calls.count == 2:
            with contextlib.suppress(threading.BrokenBarrierError):  # the other batch may be queued behind us
                both_on_their_second_message.wait(timeout=1)
        return is_flooding(**kwargs)

    monkeypatch.setattr(conversation_inbound, "_is_flooding", is_flooding_then_meet)
    forward = [wa.text_message("a1", sender="34600000001"), wa.text_message("b1", sender="34600000002")]
    backward = [wa.text_message("b2", sender="34600000002"), wa.text_message("a2", sender="34600000001")]
    bodies = [wa.encode(wa.envelope(whatsapp_account.external_id, messages=m)) for m in (forward, backward)]

    results = run_concurrently([post(body) for body in bodies])

    assert [status for status, _ in results] == [200, 200]
    assert sorted(Message.objects.filter(direction=Direction.INBOUND).values_list("text", flat=True)) == [
        "a1",
        "a2",
        "b1",
        "b2",
    ]
    assert Message.objects.filter(direction=Direction.OUTBOUND, sender=Sender.BOT).count() == 4


def test_returning_guest_writing_twice_at_once_reopens_one_conversation(transactional_db, whatsapp_account):
    guest = GuestFactory(tenant=whatsapp_account.tenant, address="34622222222", display_name="Sheena Nelson")
    closed = ConversationFactory(
        tenant=whatsapp_account.tenant, guest=guest, channel_account=whatsapp_account, status=ConversationStatus.CLOSED
    )
    bodies = [
        wa.encode(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message(text, sender="34622222222")]))
        for text in ("Hola de nuevo", "¿Seguís ahí?")
    ]

    results = run_concurrently([post(body) for body in bodies])

    assert [status for status, _ in results] == [200, 200]
    assert Guest.objects.count() == 1
    reopened = Conversation.objects.exclude(pk=closed.pk).get()
    assert reopened.status == ConversationStatus.BOT
    assert Message.objects.filter(direction=Direction.INBOUND, conversation=reopened).count() == 2
    assert not Message.objects.filter(conversation=closed).exists()
