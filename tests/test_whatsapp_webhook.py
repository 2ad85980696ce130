"""The WhatsApp webhook end to end in one process: HTTP → stored Message → eager processing → logged reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx
from django.utils import translation
from django.utils.translation import gettext
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
from conversations.services import statuses as status_services
from tenants.services import tenant_resolve
from tests import whatsapp_payloads as wa
from tests.factories import ChannelAccountFactory, ConversationFactory, MessageFactory, TenantFactory

SIGNED = object()  # sign the body with ``secret`` (the default)


@dataclass
class Delivery:
    response: Any
    callbacks: list  # on-commit callbacks the request scheduled: the enqueued tasks

    @property
    def status_code(self) -> int:
        return self.response.status_code

    def json(self) -> Any:
        return self.response.json()


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    """POST a payload to the webhook like Meta does and run what it enqueues (eager Celery) once it commits."""

    def _deliver(payload: dict | bytes, *, secret: str = wa.APP_SECRET, signature: Any = SIGNED) -> Delivery:
        body = payload if isinstance(payload, bytes) else wa.encode(payload)
        headers = {}
        if signature is SIGNED:
            headers["X-Hub-Signature-256"] = wa.sign(body, secret)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client.post(wa.WEBHOOK_URL, data=body, content_type="application/json", headers=headers)
        return Delivery(response, callbacks)

    return _deliver


def processing_tasks(delivery: Delivery) -> list:
    """The ``process_inbound`` tasks the stored notification's processing enqueued (one per new message)."""
    return [c for c in delivery.callbacks if getattr(c, "task_name", None) == "conversations.process_inbound"]


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def inbound() -> Any:
    return Message.objects.filter(direction=Direction.INBOUND)


def bot_replies() -> Any:
    return Message.objects.filter(direction=Direction.OUTBOUND, sender=Sender.BOT)


def assert_nothing_stored(delivery: Delivery) -> None:
    assert Message.objects.count() == 0
    assert Guest.objects.count() == 0
    assert Conversation.objects.count() == 0
    assert InboundNotification.objects.count() == 0
    assert delivery.callbacks == []  # no task enqueued, so no outbound either


# --- signature ------------------------------------------------------------------------------------------------
def test_signed_message_is_stored_and_answered_once(whatsapp_account, deliver):
    payload = wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="wamid.one")])

    delivery = deliver(payload)

    assert delivery.status_code == 200
    assert delivery.json() == {"status": "ok", "notifications": 1, "messages": 1, "statuses": 0, "unknown_accounts": 0}
    notification = InboundNotification.objects.get()  # the request's one durable write, processed on commit
    assert notification.tenant_id == whatsapp_account.tenant_id
    assert notification.channel_account_id == whatsapp_account.pk
    assert notification.processed_at is not None
    assert notification.attempts == 1
    message = inbound().get()
    assert message.provider_message_id == "wamid.one"
    assert message.tenant_id == whatsapp_account.tenant_id
    assert message.channel_account_id == whatsapp_account.pk
    assert message.kind == MessageKind.TEXT
    assert message.text == "Hola"
    assert message.status == DeliveryStatus.RECEIVED
    assert message.processed_at is not None
    assert message.conversation.guest.address == "16505551234"
    assert message.conversation.guest.display_name == "Sheena Nelson"
    reply = bot_replies().get()
    assert reply.reply_to_id == message.pk
    assert reply.status == DeliveryStatus.SENT  # no access token: the log sender
    assert reply.provider_message_id.startswith("log.")


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("sha256=" + "0" * 64, "invalid_signature"),
        (None, "missing_signature"),
        ("", "missing_signature"),
        ("sha1=" + "0" * 40, "invalid_signature"),
    ],
)
def test_bad_or_missing_signature_is_refused_and_nothing_stored(whatsapp_account, deliver, signature, reason):
    payload = wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")])
    rejected_before = metric("webhook_rejected_total", channel="whatsapp", reason=reason)

    delivery = deliver(payload, signature=signature)

    assert delivery.status_code == 403
    assert delivery.json() == {"error": reason}
    assert_nothing_stored(delivery)
    assert metric("webhook_rejected_total", channel="whatsapp", reason=reason) == rejected_before + 1


def test_signature_with_another_secret_is_refused(whatsapp_account, deliver):
    payload = wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")])

    delivery = deliver(payload, secret="not-the-app-secret")

    assert delivery.status_code == 403
    assert_nothing_stored(delivery)


def test_account_app_secret_overrides_the_global_one(whatsapp_account, deliver):
    whatsapp_account.credentials = {"app_secret": "hotel-own-app-secret"}
    whatsapp_account.save()
    first = wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="wamid.own")])
    second = wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="wamid.global")])

    accepted = deliver(first, secret="hotel-own-app-secret")
    refused = deliver(second, secret=wa.APP_SECRET)

    assert accepted.status_code == 200
    assert refused.status_code == 403
    assert refused.callbacks == []
    assert list(inbound().values_list("provider_message_id", flat=True)) == ["wamid.own"]


@pytest.mark.parametrize("secret", [wa.APP_SECRET, "hotel-own-app-secret"])
def test_batch_naming_accounts_with_different_secrets_is_refused(
    whatsapp_account, other_tenant_account, deliver, secret
):
    other_tenant_account.credentials = {"app_secret": "hotel-own-app-secret"}
    other_tenant_account.save()
    payload = wa.batch(
        [
            [wa.change_value(whatsapp_account.external_id, messages=[wa.text_message("Hola")])],
            [wa.change_value(other_tenant_account.external_id, messages=[wa.text_message("Hello")])],
        ]
    )

    delivery = deliver(payload, secret=secret)

    assert delivery.status_code == 403
    assert_nothing_stored(delivery)


def test_unknown_number_in_a_batch_does_not_require_the_global_secret(whatsapp_account, deliver):
    """A hotel with its own Meta app may have numbers we do not serve in the same batch: its secret is enough."""
    whatsapp_account.credentials = {"app_secret": "hotel-own-app-secret"}
    whatsapp_account.save()
    payload = wa.batch(
        [
            [wa.change_value(whatsapp_account.external_id, messages=[wa.text_message("Hola")])],
            [wa.change_value("999999999999999", messages=[wa.text_message("not ours")])],
        ]
    )

    delivery = deliver(payload, secret="hotel-own-app-secret")

    assert delivery.status_code == 200
    assert delivery.json()["unknown_accounts"] == 1
    assert list(inbound().values_list("text", flat=True)) == ["Hola"]


def test_notification_naming_too_many_numbers_is_refused_without_resolving_them(db, deliver, django_assert_num_queries):
    payload = wa.batch([[wa.change_value(f"1{n:014d}", statuses=[]) for n in range(101)]])

    with django_assert_num_queries(0):
        delivery = deliver(payload)

    assert delivery.status_code == 400
    assert_nothing_stored(delivery)


def test_unsigned_garbage_is_refused_before_parsing(deliver, whatsapp_account):
    body = wa.malformed_bodies(whatsapp_account.external_id)["changes not a list"]

    delivery = deliver(body, signature=None)

    assert delivery.status_code == 403
    assert_nothing_stored(delivery)


# --- verification GET -----------------------------------------------------------------------------------------
def test_verification_echoes_the_challenge(db, client, settings):
    settings.WHATSAPP_VERIFY_TOKEN = "verify-me"

    response = client.get(
        wa.WEBHOOK_URL, {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}
    )

    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"] == "text/plain"


def test_the_verify_token_never_reaches_the_logs(db, client, settings, caplog):
    settings.WHATSAPP_VERIFY_TOKEN = "verify-me-S3cr3t"
    caplog.set_level("INFO")

    for token in ("verify-me-S3cr3t", "a-wrong-guess-S3cr3t"):
        client.get(wa.WEBHOOK_URL, {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1"})

    request_lines = [r.msg["request"] for r in caplog.records if isinstance(r.msg, dict) and "request" in r.msg]
    assert request_lines  # django-structlog logged the requests …
    assert all("hub.verify_token=[redacted]" in line for line in request_lines)
    assert "S3cr3t" not in caplog.text and not any("S3cr3t" in str(r.msg) for r in caplog.records)  # … not the token


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1158201444"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"},
        {"hub.mode": "subscribe", "hub.verify_token": "verify-me"},
        {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": ""},
        {"hub.mode": "subscribe", "hub.challenge": "1158201444"},
        {},
    ],
    ids=["wrong token", "wrong mode", "no challenge", "empty challenge", "no token", "nothing"],
)
def test_verification_refuses(db, client, settings, params):
    settings.WHATSAPP_VERIFY_TOKEN = "verify-me"

    response = client.get(wa.WEBHOOK_URL, params)

    assert response.status_code == 403
    assert b"1158201444" not in response.content


def test_verification_accepts_an_accounts_own_verify_token(client, settings, whatsapp_account):
    settings.WHATSAPP_VERIFY_TOKEN = "verify-me"
    whatsapp_account.credentials = {"verify_token": "hotel-own-verify-token"}
    whatsapp_account.save()
    params = {"hub.mode": "subscribe", "hub.verify_token": "hotel-own-verify-token", "hub.challenge": "42"}

    response = client.get(wa.WEBHOOK_URL, params)

    assert response.status_code == 200
    assert response.content == b"42"


def test_verification_refuses_an_inactive_accounts_verify_token(client, settings, whatsapp_account):
    whatsapp_account.credentials = {"verify_token": "hotel-own-verify-token"}
    whatsapp_account.is_active = False
    whatsapp_account.save()
    params = {"hub.mode": "subscribe", "hub.verify_token": "hotel-own-verify-token", "hub.challenge": "42"}

    response = client.get(wa.WEBHOOK_URL, params)

    assert response.status_code == 403


def test_verification_refuses_everything_without_a_configured_token(db, client, settings):
    settings.WHATSAPP_VERIFY_TOKEN = ""

    response = client.get(wa.WEBHOOK_URL, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})

    assert response.status_code == 403


# --- message kinds through HTTP -------------------------------------------------------------------------------
def test_voice_note_is_stored_and_gets_the_text_only_reply(whatsapp_account, deliver):
    delivery = deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.audio_message(voice=True)]))

    assert delivery.status_code == 200
    message = inbound().get()
    assert message.kind == MessageKind.AUDIO
    assert message.attachment["voice"] is True
    assert message.attachment["id"] == "1908647269898587"
    with translation.override("es"):  # the hotel's default language
        expected = gettext("Thanks! For now I can only read text messages. Could you write your request?")
    assert bot_replies().get().text == expected
    assert expected.startswith("¡Gracias!")


def test_image_with_caption_keeps_caption_and_media(whatsapp_account, deliver):
    deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.media_message("image", caption="Mi habitación")]))

    message = inbound().get()
    assert message.kind == MessageKind.IMAGE
    assert message.text == "Mi habitación"
    assert message.attachment == {"id": "image-media-1", "mime_type": "image/jpeg", "sha256": "b" * 44}
    assert bot_replies().count() == 1


def test_button_reply_is_interactive_text(whatsapp_account, deliver):
    deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.button_reply("late", "Late checkout")]))

    message = inbound().get()
    assert message.kind == MessageKind.INTERACTIVE
    assert message.text == "Late checkout"
    assert message.attachment == {"type": "button_reply", "id": "late", "title": "Late checkout"}


def test_unknown_kind_is_stored_as_unsupported(whatsapp_account, deliver):
    deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.unknown_message(code=131051)]))

    message = inbound().get()
    assert message.kind == MessageKind.UNSUPPORTED
    assert message.attachment["errors"][0]["code"] == 131051
    assert bot_replies().count() == 1


def test_username_user_becomes_a_guest_addressed_by_user_id(whatsapp_account, deliver):
    raw = wa.username_message("Hello", user_id="US.13491208655302741918")
    contacts = [{"profile": {"name": "Sheena"}, "user_id": "US.13491208655302741918"}]

    delivery = deliver(wa.envelope(whatsapp_account.external_id, messages=[raw], contacts=contacts))

    assert delivery.status_code == 200
    guest = Guest.objects.get()
    assert guest.address == "US.13491208655302741918"
    assert guest.display_name == "Sheena"
    assert inbound().get().conversation.guest_id == guest.pk


def test_unstorable_characters_are_cleaned_not_a_server_error(whatsapp_account, deliver):
    delivery = deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("a\u0000b \ud83d")]))

    assert delivery.status_code == 200
    assert inbound().get().text == "ab ?"


# --- batches, duplicates ----------------------------------------------------------------------------------------
def test_batch_of_entries_changes_messages_and_statuses(whatsapp_account, other_tenant_account, deliver, greeting_nlu):
    conversation = ConversationFactory(tenant=whatsapp_account.tenant, channel_account=whatsapp_account)
    earlier = MessageFactory(conversation=conversation, status=DeliveryStatus.SENT, provider_message_id="wamid.earlier")
    a, b = whatsapp_account.external_id, other_tenant_account.external_id
    payload = wa.batch(
        [
            [
                wa.change_value(
                    a,
                    messages=[
                        wa.text_message("Hola", sender="34600000001"),
                        wa.text_message("¿Parking?", sender="34600000002"),
                    ],
                ),
                wa.change_value(a, statuses=[wa.status("wamid.earlier", "delivered")]),
            ],
            [
                wa.change_value(
                    a,
                    messages=[
                        wa.text_message("Otra", sender="34600000001"),
                        wa.audio_message(sender="34600000003"),
                        wa.button_reply(sender="34600000002"),
                    ],
                    statuses=[wa.status("wamid.earlier", "read")],
                ),
                wa.change_value(
                    b,
                    messages=[
                        wa.text_message("Hello", sender="44700000001"),
                        wa.text_message("Hi", sender="44700000001"),
                    ],
                ),
            ],
        ]
    )

    delivery = deliver(payload)

    assert delivery.status_code == 200
    assert delivery.json()["messages"] == 7
    assert delivery.json()["statuses"] == 2
    assert inbound().count() == 7
    assert inbound().filter(processed_at__isnull=False).count() == 7
    replies = bot_replies().exclude(pk=earlier.pk)
    assert replies.count() == 7
    assert set(replies.values_list("reply_to_id", flat=True)) == set(inbound().values_list("pk", flat=True))
    assert Message.objects.for_tenant(whatsapp_account.tenant).filter(direction=Direction.INBOUND).count() == 5
    assert Message.objects.for_tenant(other_tenant_account.tenant).filter(direction=Direction.INBOUND).count() == 2
    assert Guest.objects.for_tenant(whatsapp_account.tenant).count() == 4  # the earlier conversation's guest + 3
    assert Conversation.objects.for_tenant(other_tenant_account.tenant).count() == 1
    earlier.refresh_from_db()
    assert earlier.status == DeliveryStatus.READ


def test_duplicate_delivery_is_stored_and_answered_once(whatsapp_account, deliver):
    payload = wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="wamid.dup")])
    duplicates_before = metric("webhook_duplicates_total", channel="whatsapp")

    first = deliver(payload)
    second = deliver(payload)

    assert first.status_code == 200
    assert second.status_code == 200
    assert second.json()["notifications"] == 1  # stored as received; the task finds the message already there
    assert processing_tasks(second) == []  # an answered message enqueues nothing again
    assert InboundNotification.objects.filter(processed_at__isnull=True).count() == 0
    assert inbound().count() == 1
    assert bot_replies().count() == 1
    assert metric("webhook_duplicates_total", channel="whatsapp") == duplicates_before + 1


def test_redelivery_of_a_stored_but_unanswered_message_answers_it(whatsapp_account, deliver):
    """The first delivery committed but its processing was lost (e.g. the broker refused the task and Meta got a
    500): Meta's redelivery must not be dropped as a plain duplicate."""
    conversation = ConversationFactory(tenant=whatsapp_account.tenant, channel_account=whatsapp_account)
    stored = MessageFactory(
        conversation=conversation,
        direction=Direction.INBOUND,
        sender=Sender.GUEST,
        status=DeliveryStatus.RECEIVED,
        text="Hola",
        provider_message_id="wamid.lost",
    )

    delivery = deliver(
        wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="wamid.lost")])
    )

    assert delivery.status_code == 200
    assert len(processing_tasks(delivery)) == 1
    assert inbound().count() == 1
    assert bot_replies().get().reply_to_id == stored.pk
    stored.refresh_from_db()
    assert stored.processed_at is not None


def test_redelivery_of_a_flagged_message_stays_unanswered(whatsapp_account, deliver):
    conversation = ConversationFactory(tenant=whatsapp_account.tenant, channel_account=whatsapp_account)
    MessageFactory(
        conversation=conversation,
        direction=Direction.INBOUND,
        sender=Sender.GUEST,
        status=DeliveryStatus.RECEIVED,
        provider_message_id="wamid.flagged",
        flagged=True,
        flag_reason="flood",
    )

    delivery = deliver(
        wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("x", message_id="wamid.flagged")])
    )

    assert delivery.status_code == 200
    assert processing_tasks(delivery) == []
    assert bot_replies().count() == 0


def test_same_message_twice_in_one_batch_is_stored_once(whatsapp_account, deliver):
    message = wa.text_message("Hola", message_id="wamid.twice")

    delivery = deliver(wa.envelope(whatsapp_account.external_id, messages=[message, dict(message)]))

    assert delivery.status_code == 200
    assert inbound().count() == 1
    assert bot_replies().count() == 1
    tasks = [c for c in delivery.callbacks if not c.__qualname__.startswith("publish_on_commit")]
    # the notification's task, one processing task, one send task (the rest broadcast realtime events)
    assert len(tasks) == 3
    assert len(processing_tasks(delivery)) == 1


def test_same_provider_id_on_two_accounts_are_two_messages(whatsapp_account, other_tenant_account, deliver):
    deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="wamid.same")]))
    deliver(wa.envelope(other_tenant_account.external_id, messages=[wa.text_message("Hi", message_id="wamid.same")]))

    assert inbound().count() == 2
    assert bot_replies().count() == 2


# --- tenants --------------------------------------------------------------------------------------------------
def test_unknown_phone_number_id_is_acknowledged_and_ignored(db, deliver):
    rejected_before = metric("webhook_rejected_total", channel="whatsapp", reason="unknown_account")

    delivery = deliver(wa.envelope("999999999999999", messages=[wa.text_message("Hola")]))

    assert delivery.status_code == 200  # Meta would retry anything else for days
    assert delivery.json()["unknown_accounts"] == 1
    assert delivery.json()["messages"] == 0
    assert_nothing_stored(delivery)
    assert metric("webhook_rejected_total", channel="whatsapp", reason="unknown_account") == rejected_before + 1


def test_inactive_account_is_treated_as_unknown(whatsapp_account, deliver):
    whatsapp_account.is_active = False
    whatsapp_account.save()

    delivery = deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")]))

    assert delivery.status_code == 200
    assert_nothing_stored(delivery)


def test_known_account_in_a_batch_with_an_unknown_one_is_still_stored(whatsapp_account, deliver):
    payload = wa.batch(
        [
            [wa.change_value("999999999999999", messages=[wa.text_message("lost")])],
            [wa.change_value(whatsapp_account.external_id, messages=[wa.text_message("Hola")])],
        ]
    )

    delivery = deliver(payload)

    assert delivery.status_code == 200
    assert delivery.json()["unknown_accounts"] == 1
    assert list(inbound().values_list("text", flat=True)) == ["Hola"]


def test_message_for_one_hotel_never_appears_under_another(whatsapp_account, other_tenant_account, deliver):
    tenant_a, tenant_b = whatsapp_account.tenant, other_tenant_account.tenant

    deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")]))

    assert Message.objects.for_tenant(tenant_b).count() == 0
    assert Guest.objects.for_tenant(tenant_b).count() == 0
    assert Conversation.objects.for_tenant(tenant_b).count() == 0
    message = Message.objects.for_tenant(tenant_a).get(direction=Direction.INBOUND)
    assert message.conversation.tenant_id == tenant_a.pk
    assert message.conversation.guest.tenant_id == tenant_a.pk
    assert message.conversation.channel_account_id == whatsapp_account.pk
    assert Message.objects.for_tenant(tenant_a).get(direction=Direction.OUTBOUND).tenant_id == tenant_a.pk


def test_same_phone_writing_to_two_hotels_is_two_guests(whatsapp_account, other_tenant_account, deliver):
    deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")]))
    deliver(wa.envelope(other_tenant_account.external_id, messages=[wa.text_message("Hello")]))

    guests = Guest.objects.filter(address=wa.GUEST_PHONE)
    assert sorted(guests.values_list("tenant_id", flat=True)) == sorted(
        [whatsapp_account.tenant_id, other_tenant_account.tenant_id]
    )
    assert Conversation.objects.count() == 2


def test_status_for_another_hotels_message_does_not_touch_it(whatsapp_account, other_tenant_account, deliver):
    other_conversation = ConversationFactory(tenant=other_tenant_account.tenant, channel_account=other_tenant_account)
    theirs = MessageFactory(conversation=other_conversation, status=DeliveryStatus.SENT, provider_message_id="wamid.b")

    delivery = deliver(wa.envelope(whatsapp_account.external_id, statuses=[wa.status("wamid.b", "read")]))

    assert delivery.status_code == 200
    theirs.refresh_from_db()
    assert theirs.status == DeliveryStatus.SENT


# --- statuses -------------------------------------------------------------------------------------------------
@pytest.fixture
def sent_message(whatsapp_account):
    conversation = ConversationFactory(tenant=whatsapp_account.tenant, channel_account=whatsapp_account)
    return MessageFactory(conversation=conversation, status=DeliveryStatus.SENT, provider_message_id="wamid.sent")


def _statuses(account, *items: dict) -> dict:
    return wa.envelope(account.external_id, statuses=list(items))


def test_statuses_move_forward(whatsapp_account, sent_message, deliver):
    seen = []
    for value in ("sent", "delivered", "read"):
        delivery = deliver(_statuses(whatsapp_account, wa.status("wamid.sent", value)))
        assert delivery.status_code == 200
        sent_message.refresh_from_db()
        seen.append(sent_message.status)

    assert seen == [DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ]


def test_late_delivered_after_read_keeps_read(whatsapp_account, sent_message, deliver):
    deliver(_statuses(whatsapp_account, wa.status("wamid.sent", "read")))

    delivery = deliver(_statuses(whatsapp_account, wa.status("wamid.sent", "delivered")))

    assert delivery.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == DeliveryStatus.READ


def test_failed_records_the_error_code(whatsapp_account, sent_message, deliver):
    error = {"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message"}

    deliver(_statuses(whatsapp_account, wa.status("wamid.sent", "failed", errors=[error])))

    sent_message.refresh_from_db()
    assert sent_message.status == DeliveryStatus.FAILED
    assert sent_message.error_code == "131047"
    assert sent_message.error_detail == "Re-engagement message"


def test_failed_after_read_is_ignored(whatsapp_account, sent_message, deliver):
    deliver(_statuses(whatsapp_account, wa.status("wamid.sent", "read")))

    deliver(_statuses(whatsapp_account, wa.status("wamid.sent", "failed", errors=[{"code": 131047}])))

    sent_message.refresh_from_db()
    assert sent_message.status == DeliveryStatus.READ
    assert sent_message.error_code == ""


def test_delivered_after_failed_clears_the_error(whatsapp_account, sent_message, deliver):
    """Found by tests/test_webhook_fuzz.py: the message showed delivered with the failure's error code."""
    deliver(_statuses(whatsapp_account, wa.status("wamid.sent", "failed", errors=[{"code": 131026, "title": "x"}])))

    deliver(_statuses(whatsapp_account, wa.status("wamid.sent", "delivered")))

    sent_message.refresh_from_db()
    assert (sent_message.status, sent_message.error_code, sent_message.error_detail) == (
        DeliveryStatus.DELIVERED,
        "",
        "",
    )


def test_out_of_order_statuses_in_one_batch_end_at_the_furthest(whatsapp_account, sent_message, deliver):
    deliver(_statuses(whatsapp_account, wa.status("wamid.sent", "read"), wa.status("wamid.sent", "delivered")))

    sent_message.refresh_from_db()
    assert sent_message.status == DeliveryStatus.READ


def test_status_overtaking_the_send_is_applied_when_the_send_records_the_id(whatsapp_account, deliver, settings):
    settings.WHATSAPP_ACCESS_TOKEN = "test-token"
    pending_before = metric("message_status_updates_total", channel="whatsapp", status="delivered", result="pending")

    delivery = deliver(_statuses(whatsapp_account, wa.status("wamid.overtaken", "delivered")))

    assert delivery.status_code == 200
    assert not Message.objects.filter(provider_message_id="wamid.overtaken").exists()
    assert metric("message_status_updates_total", channel="whatsapp", status="delivered", result="pending") == (
        pending_before + 1
    )
    conversation = ConversationFactory(tenant=whatsapp_account.tenant, channel_account=whatsapp_account)
    queued = MessageFactory(conversation=conversation, status=DeliveryStatus.QUEUED)
    with respx.mock(base_url=settings.WHATSAPP_API_BASE_URL) as graph:
        graph.post(f"/{whatsapp_account.external_id}/messages").mock(
            return_value=httpx.Response(
                200, json={"messaging_product": "whatsapp", "messages": [{"id": "wamid.overtaken"}]}
            )
        )

        outcome = outbound_send(message_id=queued.pk)

    assert outcome.result == "sent"
    queued.refresh_from_db()
    assert queued.provider_message_id == "wamid.overtaken"
    assert queued.status == DeliveryStatus.DELIVERED


def test_a_status_parked_while_the_send_records_the_id_is_still_applied(whatsapp_account, deliver, monkeypatch):
    """The interleaving: the status finds no row, the send records the id (and finds nothing parked yet), then the
    status is parked. The parking side looks once more, so the status is not left in the cache to expire."""
    conversation = ConversationFactory(tenant=whatsapp_account.tenant, channel_account=whatsapp_account)
    queued = MessageFactory(conversation=conversation, status=DeliveryStatus.QUEUED)
    real_set = status_services.cache.set

    def send_records_the_id_first(key, value, *args, **kwargs):
        if "pending-status" in key:
            Message.objects.filter(pk=queued.pk).update(status=DeliveryStatus.SENT, provider_message_id="wamid.race")
        return real_set(key, value, *args, **kwargs)

    monkeypatch.setattr(status_services.cache, "set", send_records_the_id_first)
    error = {"code": 131047, "title": "Re-engagement message"}
    deliver(_statuses(whatsapp_account, wa.status("wamid.race", "failed", errors=[error])))

    queued.refresh_from_db()
    assert queued.status == DeliveryStatus.FAILED
    assert queued.error_code == "131047"


def test_two_statuses_parked_for_one_message_are_both_kept(whatsapp_account, deliver):
    account = tenant_resolve(channel="whatsapp", external_id=whatsapp_account.external_id)
    deliver(_statuses(whatsapp_account, wa.status("wamid.later", "delivered")))
    deliver(_statuses(whatsapp_account, wa.status("wamid.later", "sent")))
    conversation = ConversationFactory(tenant=whatsapp_account.tenant, channel_account=whatsapp_account)
    message = MessageFactory(conversation=conversation, status=DeliveryStatus.QUEUED, provider_message_id="wamid.later")

    seen = []
    real_apply = status_services.message_status_apply

    def spy(**kwargs):
        seen.append(kwargs["update"].status)
        return real_apply(**kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(status_services, "message_status_apply", spy)
        status_services.message_status_apply_pending(account=account, provider_message_id="wamid.later")

    assert seen == ["sent", "delivered"]  # both parked, applied in order
    message.refresh_from_db()
    assert message.status == DeliveryStatus.DELIVERED


# --- limits and malformed bodies ------------------------------------------------------------------------------
def test_oversized_body_is_refused_before_reading(whatsapp_account, deliver, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 512
    payload = wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("x" * 600)])

    delivery = deliver(payload)

    assert delivery.status_code == 413
    assert delivery.json() == {"error": "payload_too_large", "max_bytes": 512}
    assert_nothing_stored(delivery)


def test_body_exactly_at_the_limit_is_accepted(whatsapp_account, deliver, settings):
    body = wa.encode(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")]))
    settings.WEBHOOK_MAX_BODY_BYTES = len(body)

    delivery = deliver(body)

    assert delivery.status_code == 200
    assert inbound().count() == 1


@pytest.mark.parametrize("name", list(wa.malformed_bodies("106540352242922")))
def test_malformed_payload_with_valid_signature_is_400_and_nothing_stored(whatsapp_account, deliver, name):
    body = wa.malformed_bodies(whatsapp_account.external_id)[name]
    rejected_before = metric("webhook_rejected_total", channel="whatsapp", reason="malformed")

    delivery = deliver(body)

    assert delivery.status_code == 400
    assert delivery.json()["error"] == "malformed_payload"
    assert_nothing_stored(delivery)
    assert metric("webhook_rejected_total", channel="whatsapp", reason="malformed") == rejected_before + 1


# --- flood ----------------------------------------------------------------------------------------------------
def test_flooding_guest_is_stored_flagged_and_not_answered(whatsapp_account, deliver, settings, greeting_nlu):
    settings.GUEST_FLOOD_MAX_PER_MINUTE = 3
    flooder = [wa.text_message(f"mensaje {i}", sender="34600000001") for i in range(5)]
    calm = wa.text_message("Hola", sender="34600000002")

    delivery = deliver(wa.envelope(whatsapp_account.external_id, messages=[*flooder, calm]))

    assert delivery.status_code == 200
    assert inbound().filter(flagged=True).count() == 2
    flood_rows = list(inbound().filter(conversation__guest__address="34600000001").order_by("pk"))
    assert [(m.text, m.flagged, m.flag_reason) for m in flood_rows] == [
        ("mensaje 0", False, ""),
        ("mensaje 1", False, ""),
        ("mensaje 2", False, ""),
        ("mensaje 3", True, "flood"),
        ("mensaje 4", True, "flood"),
    ]
    assert bot_replies().filter(conversation__guest__address="34600000001").count() == 3
    assert not bot_replies().filter(reply_to__flagged=True).exists()
    assert bot_replies().filter(conversation__guest__address="34600000002").count() == 1


def test_a_human_conversation_is_not_answered_by_the_bot(whatsapp_account, deliver):
    deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")]))
    Conversation.objects.update(status=ConversationStatus.HUMAN)

    deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("¿Hay alguien?")]))

    assert inbound().count() == 2
    assert bot_replies().count() == 1
    assert inbound().filter(processed_at__isnull=True).count() == 0


def test_a_tenant_account_created_in_the_test_resolves(db, deliver):
    tenant = TenantFactory()
    account = ChannelAccountFactory(tenant=tenant)

    delivery = deliver(wa.envelope(account.external_id, messages=[wa.text_message("Hola")]))

    assert delivery.status_code == 200
    assert Message.objects.for_tenant(tenant).count() == 2


# --- the request stores, the task processes ---------------------------------------------------------------------
def test_request_stores_the_notification_and_processes_it_only_on_commit(
    whatsapp_account, client, django_capture_on_commit_callbacks
):
    body = wa.encode(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")]))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            wa.WEBHOOK_URL, data=body, content_type="application/json", headers={"X-Hub-Signature-256": wa.sign(body)}
        )

    assert response.status_code == 200
    notification = InboundNotification.objects.get()
    assert notification.body == body.decode()  # exactly what was signed
    assert notification.processed_at is None
    assert Message.objects.count() == 0  # nothing processed before the commit
    assert len(callbacks) == 1  # one task for the notification
    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()
    notification.refresh_from_db()
    assert notification.processed_at is not None
    assert inbound().count() == 1
    assert bot_replies().count() == 1


def test_broker_outage_still_answers_200_and_keeps_the_notification(whatsapp_account, deliver, monkeypatch):
    from kombu.exceptions import OperationalError

    from channels_gateway.tasks import drain_inbound_notifications

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OperationalError("broker down")

    monkeypatch.setattr(drain_inbound_notifications, "delay", refuse)

    first = deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="w.1")]))
    second = deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="w.2")]))

    assert first.status_code == second.status_code == 200  # stored durably: a 500 would only make Meta redeliver
    assert InboundNotification.objects.filter(processed_at__isnull=True).count() == 2
    assert Message.objects.count() == 0
    assert len(attempts) == 2  # the failed wake was given back: the next request tried to wake a drain again


def test_failed_processing_is_recorded_retried_and_reprocessable(
    whatsapp_account, client, django_capture_on_commit_callbacks, monkeypatch
):
    from django.core.management import call_command

    from channels_gateway.services import drain
    from channels_gateway.tasks import process_inbound_notifications

    body = wa.encode(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="w.1")]))
    with django_capture_on_commit_callbacks(execute=False):
        client.post(
            wa.WEBHOOK_URL, data=body, content_type="application/json", headers={"X-Hub-Signature-256": wa.sign(body)}
        )
    notification = InboundNotification.objects.get()

    def broken(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(drain, "inbound_record", broken)
    with pytest.raises(RuntimeError):  # called directly, Celery's retry re-raises; in a worker it reschedules
        process_inbound_notifications.run([notification.pk])
    notification.refresh_from_db()
    assert notification.processed_at is None
    assert notification.attempts == 1
    assert notification.last_error == "RuntimeError: database hiccup"
    assert Message.objects.count() == 0

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reprocess_inbound", "--minutes", "0")
        call_command("reprocess_inbound", "--minutes", "0")  # nothing left: a no-op

    notification.refresh_from_db()
    assert notification.processed_at is not None
    assert notification.last_error == ""
    assert inbound().get().provider_message_id == "w.1"
    assert bot_replies().count() == 1


def test_reprocess_inbound_leaves_recent_rows_to_their_task(
    whatsapp_account, client, django_capture_on_commit_callbacks
):
    from io import StringIO

    from django.core.management import call_command

    body = wa.encode(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")]))
    with django_capture_on_commit_callbacks(execute=False):
        client.post(
            wa.WEBHOOK_URL, data=body, content_type="application/json", headers={"X-Hub-Signature-256": wa.sign(body)}
        )
    out = StringIO()

    call_command("reprocess_inbound", "--minutes", "10", "--dry-run", stdout=out)

    assert out.getvalue().startswith("0 unprocessed notification(s)")
    assert InboundNotification.objects.get().processed_at is None


def test_processing_a_notification_twice_stores_and_answers_once(whatsapp_account, client, settings):
    from channels_gateway.services import inbound_notification_process

    body = wa.encode(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")]))
    notification = InboundNotification.objects.create(
        tenant=whatsapp_account.tenant, channel_account=whatsapp_account, channel="whatsapp", body=body.decode()
    )

    first = inbound_notification_process(notification_id=notification.pk)
    second = inbound_notification_process(notification_id=notification.pk)

    assert first is not None and first.messages == 1
    assert second is None  # already processed: skipped
    assert inbound().count() == 1


def test_reprocess_inbound_purges_old_processed_rows_only(whatsapp_account, deliver):
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="w.old")]))
    deliver(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="w.new")]))
    old, new = InboundNotification.objects.order_by("pk")
    InboundNotification.objects.filter(pk=old.pk).update(processed_at=timezone.now() - timedelta(days=8))
    out = StringIO()

    call_command("reprocess_inbound", "--purge-processed-days", "7", stdout=out)

    assert "deleted 1 processed notification(s)" in out.getvalue()
    assert list(InboundNotification.objects.values_list("pk", flat=True)) == [new.pk]
    assert inbound().count() == 2  # the messages stay


def test_the_periodic_sweep_reprocesses_notifications_left_unprocessed(whatsapp_account, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from channels_gateway import tasks
    from conversations.models import InboundNotification

    stuck = InboundNotification.objects.create(
        tenant=whatsapp_account.tenant,
        channel_account=whatsapp_account,
        channel="whatsapp",
        body=wa.encode(wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")])).decode(),
    )
    InboundNotification.objects.filter(pk=stuck.pk).update(received_at=timezone.now() - timedelta(minutes=10))
    enqueued = []
    monkeypatch.setattr(tasks.process_inbound_notifications, "delay", lambda ids: enqueued.append(ids))

    assert tasks.reprocess_stuck_notifications(older_than_minutes=5) == 1
    assert enqueued == [[stuck.pk]]
