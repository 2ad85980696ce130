"""Migration 0009: web-chat guests stored under their raw token are rewritten to the token's digest."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from channels_gateway.webchat.services import guest_address

BEFORE = [("conversations", "0008_booking_attempt")]
AFTER = [("conversations", "0009_webchat_guest_address_digest")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_raw_tokens_become_digests_with_their_messages_and_events():
    apps = _migrate(BEFORE)
    Tenant = apps.get_model("tenants", "Tenant")
    ChannelAccount = apps.get_model("tenants", "ChannelAccount")
    Guest = apps.get_model("conversations", "Guest")
    Conversation = apps.get_model("conversations", "Conversation")
    Message = apps.get_model("conversations", "Message")
    ConversationEvent = apps.get_model("conversations", "ConversationEvent")
    tenant = Tenant.objects.create(slug="mig", name="Mig", timezone="Europe/Madrid", default_language="es")
    chat = ChannelAccount.objects.create(tenant=tenant, channel="webchat", external_id="pubkey-mig-0000001")
    wa = ChannelAccount.objects.create(tenant=tenant, channel="whatsapp", external_id="100000000000777")
    token = "Tok3n-of-the-browser_0123456789ab"
    web_guest = Guest.objects.create(tenant=tenant, channel="webchat", address=token, display_name="Web guest")
    phone_guest = Guest.objects.create(tenant=tenant, channel="whatsapp", address="34600111222")
    web = Conversation.objects.create(tenant=tenant, guest=web_guest, channel_account=chat)
    phone = Conversation.objects.create(tenant=tenant, guest=phone_guest, channel_account=wa)
    Message.objects.create(tenant=tenant, conversation=web, channel_account=chat, direction="in", text="Hola",
                           provider_message_id=f"webchat.{token}.c-1")  # fmt: skip
    Message.objects.create(tenant=tenant, conversation=web, channel_account=chat, direction="out", text="¡Hola!",
                           provider_message_id="webchat.0f1e2d3c")  # fmt: skip
    Message.objects.create(tenant=tenant, conversation=phone, channel_account=wa, direction="in", text="Hi",
                           provider_message_id="wamid.1")  # fmt: skip
    ConversationEvent.objects.create(tenant=tenant, conversation=web, type="conversation.updated",
                                     payload={"guest": {"address": token, "name": "Web guest"}})  # fmt: skip

    apps = _migrate(AFTER)
    Guest = apps.get_model("conversations", "Guest")
    Message = apps.get_model("conversations", "Message")
    ConversationEvent = apps.get_model("conversations", "ConversationEvent")

    digest = guest_address(token)  # the app's function and the migration's frozen copy agree
    assert Guest.objects.get(pk=web_guest.pk).address == digest
    assert Guest.objects.get(pk=phone_guest.pk).address == "34600111222"  # other channels untouched
    ids = set(Message.objects.values_list("provider_message_id", flat=True))
    assert ids == {f"webchat.{digest}.c-1", "webchat.0f1e2d3c", "wamid.1"}
    assert ConversationEvent.objects.get().payload == {"guest": {"address": digest, "name": "Web guest"}}
