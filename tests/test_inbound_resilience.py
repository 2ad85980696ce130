"""Nothing a guest sent is lost in the corners: a conversation staff closed while a message waited, an account
activated while another request was caching its absence, a backlog drained at once after an outage, and a stored
notification that never stops failing."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db.models import QuerySet
from django.utils import timezone
from prometheus_client import REGISTRY

from channels_gateway import services as gateway
from channels_gateway import tasks as gateway_tasks
from conversations import services as conversation_services
from conversations import tasks as conversation_tasks
from conversations.console.services import conversation_resolve
from conversations.models import (
    Conversation,
    ConversationStatus,
    Direction,
    InboundNotification,
    Message,
    Sender,
)
from tenants.models import ChannelAccount
from tenants.services import tenant_resolution_local_clear, tenant_resolve
from tests import whatsapp_payloads as wa
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def stored(account, *messages: dict) -> InboundNotification:
    """A notification row as the webhook leaves it (committed, not processed yet)."""
    body = wa.encode(wa.envelope(account.external_id, messages=list(messages))).decode()
    return InboundNotification.objects.create(
        tenant=account.tenant, channel_account=account, channel="whatsapp", body=body
    )


def receptionist():
    user = UserFactory(is_staff=True)
    user.save()
    return user


@pytest.fixture
def queued_tasks(monkeypatch):
    """``process_inbound`` publishes collected instead of run: the test decides when the worker gets to them."""
    published: list[int] = []
    monkeypatch.setattr(conversation_tasks.process_inbound, "delay", published.append)
    return published


def replies_to(message: Message):
    return Message.objects.filter(reply_to=message, direction=Direction.OUTBOUND, sender=Sender.BOT)


# --- a conversation closed while a message waited -------------------------------------------------------------------
def test_a_message_waiting_when_staff_resolve_the_conversation_is_answered_in_a_new_one(
    whatsapp_account, greeting_nlu, queued_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        gateway.inbound_notification_process(notification_id=stored(whatsapp_account, wa.text_message("Hola")).pk)
    (message_id,) = queued_tasks
    closed = Conversation.objects.get()
    conversation_resolve(conversation=closed, user=receptionist())  # before the worker gets to the message
    queued_tasks.clear()
    before = metric("inbound_processed_total", outcome="reopened")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = conversation_services.inbound_process(message_id=message_id)

    assert outcome == "reopened"
    assert queued_tasks == [message_id]  # processed again, now in the open conversation
    message = Message.objects.get(pk=message_id)
    assert message.processed_at is None
    assert message.conversation_id != closed.pk
    assert message.conversation.status == ConversationStatus.BOT
    assert metric("inbound_processed_total", outcome="reopened") == before + 1

    assert conversation_services.inbound_process(message_id=message_id) == "replied"
    assert replies_to(message).count() == 1
    assert replies_to(message).get().conversation_id == message.conversation_id
    closed.refresh_from_db()
    assert closed.status == ConversationStatus.CLOSED  # the history staff closed stays closed


def test_a_conversation_resolved_while_the_agent_thinks_moves_the_message_instead_of_dropping_it(
    whatsapp_account, greeting_nlu, queued_tasks, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        gateway.inbound_notification_process(notification_id=stored(whatsapp_account, wa.text_message("Hola")).pk)
    (message_id,) = queued_tasks
    queued_tasks.clear()
    closed = Conversation.objects.get()
    from conversations.agent import orchestrator

    real_orchestrate = orchestrator.orchestrate_turn

    def resolved_meanwhile(**kwargs):
        result = real_orchestrate(**kwargs)
        conversation_resolve(conversation=closed, user=receptionist())
        return result

    monkeypatch.setattr(orchestrator, "orchestrate_turn", resolved_meanwhile)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = conversation_services.inbound_process(message_id=message_id)

    assert outcome == "reopened"
    message = Message.objects.get(pk=message_id)
    assert (message.processed_at, replies_to(message).exists()) == (None, False)
    assert message.conversation_id != closed.pk
    assert queued_tasks == [message_id]


def test_a_conversation_staff_hold_still_gets_no_bot_reply(
    whatsapp_account, greeting_nlu, queued_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        gateway.inbound_notification_process(notification_id=stored(whatsapp_account, wa.text_message("Hola")).pk)
    (message_id,) = queued_tasks
    Conversation.objects.update(status=ConversationStatus.HUMAN)

    assert conversation_services.inbound_process(message_id=message_id) == "human"

    assert not replies_to(Message.objects.get(pk=message_id)).exists()


# --- an account activated while its absence was being cached ------------------------------------------------------
def test_a_stale_unknown_account_in_the_cache_does_not_drop_a_signed_webhook(
    whatsapp_account, client, django_capture_on_commit_callbacks, monkeypatch
):
    ChannelAccount.objects.filter(pk=whatsapp_account.pk).update(is_active=False)
    real_first = QuerySet.first
    activated = []

    def first_then_activation(self):
        row = real_first(self)
        if self.model is ChannelAccount and not activated:  # between the reader's SELECT and its cache write
            activated.append(True)
            with django_capture_on_commit_callbacks(execute=True):
                account = ChannelAccount.objects.get(pk=whatsapp_account.pk)
                account.is_active = True
                account.save()
        return row

    monkeypatch.setattr(QuerySet, "first", first_then_activation)
    assert tenant_resolve(channel="whatsapp", external_id=whatsapp_account.external_id) is None
    monkeypatch.undo()
    tenant_resolution_local_clear()  # another process: only the shared cache's stale "unknown" is left
    body = wa.encode(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")]))

    response = client.post(
        wa.WEBHOOK_URL, data=body, content_type="application/json", headers={"X-Hub-Signature-256": wa.sign(body)}
    )

    assert response.status_code == 200
    assert response.json()["unknown_accounts"] == 0
    assert InboundNotification.objects.filter(channel_account=whatsapp_account).count() == 1
    assert tenant_resolve(channel="whatsapp", external_id=whatsapp_account.external_id) is not None  # cache mended


def test_a_stale_unknown_account_with_its_own_secret_needs_that_secret(whatsapp_account, client):
    whatsapp_account.credentials = {"app_secret": "the-hotels-own-app-secret"}
    whatsapp_account.save()
    from django.core.cache import cache

    from tenants.services import _MISSING, _cache_key

    cache.set(_cache_key("whatsapp", whatsapp_account.external_id), _MISSING, 300)  # stale "unknown"
    tenant_resolution_local_clear()
    body = wa.encode(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")]))

    wrong = client.post(
        wa.WEBHOOK_URL, data=body, content_type="application/json", headers={"X-Hub-Signature-256": wa.sign(body)}
    )
    right = client.post(
        wa.WEBHOOK_URL,
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": wa.sign(body, "the-hotels-own-app-secret")},
    )

    assert wrong.status_code == 403  # Meta retries; nothing was dropped with a 200
    assert right.status_code == 200
    assert InboundNotification.objects.count() == 1


def test_an_unsigned_probe_with_unknown_numbers_gets_no_fresh_lookup(db, client, django_assert_num_queries):
    body = wa.encode(wa.envelope("199999999999999", messages=[wa.text_message("Hola")]))

    def post(signature: str):
        return client.post(
            wa.WEBHOOK_URL, data=body, content_type="application/json", headers={"X-Hub-Signature-256": signature}
        )

    post(wa.sign(body))
    tenant_resolution_local_clear()

    with django_assert_num_queries(0):  # the cached "unknown" answers; the probe is refused before any re-check
        response = post("sha256=" + "0" * 64)

    assert response.status_code == 403


# --- a backlog drained at once --------------------------------------------------------------------------------------
def test_a_backlog_drained_after_an_outage_is_not_a_flood(
    whatsapp_account, queued_tasks, settings, django_capture_on_commit_callbacks
):
    settings.GUEST_FLOOD_MAX_PER_MINUTE = 5
    sent = int(time.time()) - 3600
    for i in range(8):  # one message every 2.5 minutes while no worker ran
        message = wa.text_message(f"mensaje {i}")
        message["timestamp"] = str(sent + i * 150)
        stored(whatsapp_account, message)

    with django_capture_on_commit_callbacks(execute=True):
        assert gateway_tasks.drain_inbound_notifications.run() == 8

    assert Message.objects.filter(direction=Direction.INBOUND, flagged=True).count() == 0
    assert len(queued_tasks) == 8


def test_a_real_flood_is_flagged_by_when_it_was_sent_even_in_a_backlog(
    whatsapp_account, queued_tasks, settings, django_capture_on_commit_callbacks
):
    settings.GUEST_FLOOD_MAX_PER_MINUTE = 5
    sent = int(time.time()) - 3600
    for i in range(8):  # eight messages within 8 seconds, an hour ago
        message = wa.text_message(f"spam {i}")
        message["timestamp"] = str(sent + i)
        stored(whatsapp_account, message)

    with django_capture_on_commit_callbacks(execute=True):
        gateway_tasks.drain_inbound_notifications.run()

    assert Message.objects.filter(direction=Direction.INBOUND, flagged=True).count() == 3
    assert len(queued_tasks) == 5


# --- a notification that never stops failing ------------------------------------------------------------------------
def test_the_sweep_leaves_rows_in_their_own_retry_chain_and_exhausted_ones(whatsapp_account, settings):
    settings.INBOUND_NOTIFICATION_MAX_ATTEMPTS = 3
    long_ago = timezone.now() - timedelta(hours=2)
    lost = stored(whatsapp_account, wa.text_message("lost publish"))
    retrying = stored(whatsapp_account, wa.text_message("retrying"))
    between_chains = stored(whatsapp_account, wa.text_message("between chains"))
    exhausted = stored(whatsapp_account, wa.text_message("exhausted"))
    InboundNotification.objects.update(received_at=long_ago)
    InboundNotification.objects.filter(pk=retrying.pk).update(attempts=1, failed_at=timezone.now())
    InboundNotification.objects.filter(pk=between_chains.pk).update(attempts=2, failed_at=long_ago)
    InboundNotification.objects.filter(pk=exhausted.pk).update(attempts=3, failed_at=long_ago)

    swept = gateway.inbound_notifications_stuck(older_than=timedelta(minutes=5), sweep=True)
    by_operator = gateway.inbound_notifications_stuck(older_than=timedelta(minutes=5))

    assert sorted(swept) == sorted([lost.pk, between_chains.pk])
    assert sorted(by_operator) == sorted([lost.pk, retrying.pk, between_chains.pk, exhausted.pk])


def test_the_failure_that_exhausts_a_row_is_counted_once(whatsapp_account, settings):
    settings.INBOUND_NOTIFICATION_MAX_ATTEMPTS = 2
    row = stored(whatsapp_account, wa.text_message("Hola"))
    before = metric("inbound_notifications_exhausted_total")

    for _ in range(3):
        gateway.inbound_notification_failed(notification_id=row.pk, error=RuntimeError("PMS down"))

    row.refresh_from_db()
    assert (row.attempts, row.last_error) == (3, "RuntimeError: PMS down")
    assert row.failed_at is not None
    assert metric("inbound_notifications_exhausted_total") == before + 1


# --- an account deleted between the request's resolution and its INSERT -------------------------------------------
def orphan(account) -> InboundNotification:
    """What a request leaves when the account it has just resolved is deleted before its INSERT lands: the queue
    table has no FK constraints (one fewer lock on the hotel's rows per webhook), so the row is stored."""
    body = wa.encode(wa.envelope(account.external_id, messages=[wa.text_message("Hola")])).decode()
    return InboundNotification.objects.create(
        tenant=account.tenant, channel_account_id=account.pk + 10_000, channel="whatsapp", body=body
    )


def test_a_row_of_a_deleted_account_is_closed_not_swept_forever(whatsapp_account, queued_tasks):
    lost_account = orphan(whatsapp_account)
    fine = stored(whatsapp_account, wa.text_message("Hola"))
    InboundNotification.objects.update(received_at=timezone.now() - timedelta(hours=1))
    before = metric("webhook_rejected_total", channel="whatsapp", reason="unknown_account")

    assert gateway_tasks.drain_inbound_notifications.run() == 1  # the drain never claims the orphan
    assert gateway_tasks.reprocess_stuck_notifications.run() == 0  # the beat closes it instead of re-enqueueing it

    lost_account.refresh_from_db()
    fine.refresh_from_db()
    assert lost_account.processed_at is not None
    assert lost_account.last_error == "channel account deleted before processing: not processed"
    assert fine.processed_at is not None and fine.last_error == ""
    assert metric("webhook_rejected_total", channel="whatsapp", reason="unknown_account") == before + 1
    assert gateway.inbound_notifications_orphans_settle() == 0  # closed once
    assert gateway.inbound_notifications_stuck(older_than=timedelta(minutes=5)) == []
    assert Message.objects.filter(conversation__tenant=whatsapp_account.tenant).count() == 1  # only the fine one


def test_reprocess_inbound_reports_the_closed_rows_of_deleted_accounts(whatsapp_account):
    from io import StringIO

    from django.core.management import call_command

    orphan(whatsapp_account)
    out = StringIO()

    call_command("reprocess_inbound", "--minutes", "0", stdout=out)

    assert "closed 1 notification(s) of deleted channel accounts (not processed)" in out.getvalue()
    assert "enqueued 0 notification(s)" in out.getvalue()


def test_an_account_with_stored_notifications_still_cannot_be_deleted(whatsapp_account):
    from django.db.models import ProtectedError

    row = stored(whatsapp_account, wa.text_message("Hola"))

    with pytest.raises(ProtectedError) as refused:
        ChannelAccount.objects.filter(pk=whatsapp_account.pk).delete()

    assert row in refused.value.protected_objects
    assert ChannelAccount.objects.filter(pk=whatsapp_account.pk).exists()
