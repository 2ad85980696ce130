"""Web-chat guests were stored under their raw ``guest_token`` (the browser's credential), which staff saw as the
guest's address in the console and the admin. From now on the address is ``wc_`` + the unpadded URL-safe base64 of
the token's SHA-256 (``channels_gateway.webchat.services.guest_address``); this rewrites what is already stored: the
guest's address, its messages' provider ids (``webchat.<token>.<client id>``) and the console's stored events.

Not reversible: a digest cannot give the token back (migrating backwards leaves the digests in place)."""

import base64
import hashlib
import json

from django.db import migrations
from django.db.models import Value
from django.db.models.functions import Concat, Substr


def _digest(token: str) -> str:  # a copy, frozen here: the migration must not change if the app's function does
    raw = hashlib.sha256(token.encode("utf-8")).digest()
    return "wc_" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def forwards(apps, schema_editor):
    Guest = apps.get_model("conversations", "Guest")
    Message = apps.get_model("conversations", "Message")
    ConversationEvent = apps.get_model("conversations", "ConversationEvent")
    for pk, token in list(Guest.objects.filter(channel="webchat").values_list("pk", "address")):
        address = _digest(token)
        Guest.objects.filter(pk=pk).update(address=address)
        old_prefix = f"webchat.{token}."
        Message.objects.filter(conversation__guest_id=pk, provider_message_id__startswith=old_prefix).update(
            provider_message_id=Concat(Value(f"webchat.{address}."), Substr("provider_message_id", len(old_prefix) + 1))
        )
        for event in ConversationEvent.objects.filter(conversation__guest_id=pk).only("pk", "payload"):
            text = json.dumps(event.payload)
            if token in text:
                payload = json.loads(text.replace(token, address))
                ConversationEvent.objects.filter(pk=event.pk).update(payload=payload)


class Migration(migrations.Migration):
    dependencies = [("conversations", "0008_booking_attempt")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
