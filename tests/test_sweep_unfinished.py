"""Nothing a guest sent is left unanswered because a publish failed after its commit: the broker's refusal is logged
and the next callbacks still run, and the periodic sweep enqueues every message nobody is working on any more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from channels_gateway import services as gateway_services
from channels_gateway import tasks as gateway_tasks
from conversations import tasks
from conversations.models import DeliveryStatus, Direction, InboundNotification, Message, Sender
from tests import whatsapp_payloads as wa
from tests.factories import ConversationFactory, GuestFactory, MessageFactory

pytestmark = pytest.mark.django_db


def two_guests_notification(account) -> InboundNotification:
    body = wa.encode(
        wa.envelope(
            account.external_id,
            messages=[
                wa.text_message("Hola", message_id="wamid.one", sender="34600000111"),
                wa.text_message("Hola", message_id="wamid.two", sender="34600000222"),
            ],
        )
    )
    return InboundNotification.objects.create(
        tenant=account.tenant, channel_account=account, channel="whatsapp", body=body.decode()
    )


def age(message: Message, minutes: float) -> None:
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))


def test_a_broker_refusing_one_publish_does_not_stop_the_next_nor_lose_the_message(
    whatsapp_account, monkeypatch, django_capture_on_commit_callbacks
):
    published: list[int] = []

    def flaky_delay(message_id: int) -> None:
        if not published:
            published.append(-message_id)
            raise KombuOperationalError("broker down")
        published.append(message_id)

    monkeypatch.setattr(tasks.process_inbound, "delay", flaky_delay)
    notification = two_guests_notification(whatsapp_account)

    with django_capture_on_commit_callbacks(execute=True):
        gateway_services.inbound_notification_process(notification_id=notification.pk)

    one, two = Message.objects.filter(direction=Direction.INBOUND).order_by("provider_message_id")
    assert published == [-one.pk, two.pk]  # the refusal did not swallow the second publish
    notification.refresh_from_db()
    assert notification.processed_at is not None

    # The refused one is still unanswered on its row; the sweep, a while later, hands it over again.
    requeued: list[int] = []
    monkeypatch.setattr(tasks.process_inbound, "delay", requeued.append)
    for message in (one, two):
        age(message, minutes=6)
    Message.objects.filter(pk=two.pk).update(processed_at=timezone.now())  # the other one was answered

    assert tasks.sweep_unfinished.run() == {"inbound": 1, "outbound": 0}
    assert requeued == [one.pk]


@pytest.fixture
def conversation(whatsapp_account):
    guest = GuestFactory(tenant=whatsapp_account.tenant, address=wa.GUEST_PHONE)
    return ConversationFactory(tenant=whatsapp_account.tenant, guest=guest, channel_account=whatsapp_account)


def inbound(conversation, **fields) -> Message:
    return MessageFactory(
        conversation=conversation,
        direction=Direction.INBOUND,
        sender=Sender.GUEST,
        status=DeliveryStatus.RECEIVED,
        provider_message_id=wa.wamid(),
        **fields,
    )


def outbound(conversation, **fields) -> Message:
    fields.setdefault("status", DeliveryStatus.QUEUED)
    return MessageFactory(conversation=conversation, direction=Direction.OUTBOUND, sender=Sender.BOT, **fields)


def test_the_sweep_picks_exactly_what_nobody_is_working_on(conversation, monkeypatch, settings):
    lease = settings.OUTBOUND_SEND_LEASE_SECONDS
    now = timezone.now()
    lost_inbound = inbound(conversation)
    answered = inbound(conversation, processed_at=now)
    flagged = inbound(conversation, flagged=True)
    just_arrived = inbound(conversation)
    too_old = inbound(conversation)
    unsent = outbound(conversation)
    dead_lease = outbound(conversation, send_claimed_at=now - timedelta(seconds=lease + 5))
    live_lease = outbound(conversation, send_claimed_at=now)
    sent = outbound(conversation, status=DeliveryStatus.SENT, provider_message_id="wamid.sent")
    for message in (lost_inbound, answered, flagged, unsent, dead_lease, live_lease, sent):
        age(message, minutes=10)
    age(just_arrived, minutes=1)
    age(too_old, minutes=60 * 25)

    processed: list[int] = []
    sends: list[int] = []
    monkeypatch.setattr(tasks.process_inbound, "delay", processed.append)
    monkeypatch.setattr(gateway_tasks.send_outbound, "delay", sends.append)

    assert tasks.sweep_unfinished.run(older_than_minutes=5, max_age_hours=24) == {"inbound": 1, "outbound": 2}
    assert processed == [lost_inbound.pk]
    assert sorted(sends) == sorted([unsent.pk, dead_lease.pk])


def test_a_swept_message_is_answered_once_even_if_its_first_task_was_only_slow(conversation, monkeypatch):
    message = inbound(conversation, text="Hola")
    age(message, minutes=6)

    tasks.sweep_unfinished.run()  # eager: processes it
    tasks.process_inbound.run(message.pk)  # the original task, late

    assert Message.objects.filter(reply_to=message, sender=Sender.BOT).count() == 1
    assert tasks.sweep_unfinished.run() == {"inbound": 0, "outbound": 0}


def test_the_sweep_is_on_the_beat_schedule(settings):
    entries = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "conversations.sweep_unfinished" in entries
