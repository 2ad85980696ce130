"""Builders for WhatsApp Cloud API webhook payloads (shapes from shared/docs/CHANNELS.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

APP_SECRET = "dev-app-secret"  # settings default in development/tests
WEBHOOK_URL = "/webhooks/whatsapp/"
SIGNATURE_META_KEY = "HTTP_X_HUB_SIGNATURE_256"  # X-Hub-Signature-256 as Django's test client takes it
GUEST_PHONE = "16505551234"


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def wamid() -> str:
    return "wamid." + uuid.uuid4().hex


def _now() -> str:
    return str(int(time.time()))


def _base(kind: str, *, sender: str, message_id: str | None) -> dict[str, Any]:
    return {"from": sender, "id": message_id or wamid(), "timestamp": _now(), "type": kind}


# --- messages[] items ---------------------------------------------------------------------------------------------
def text_message(body: str = "Hola", *, sender: str = GUEST_PHONE, message_id: str | None = None) -> dict[str, Any]:
    return {**_base("text", sender=sender, message_id=message_id), "text": {"body": body}}


def text_reply(body: str, *, context_id: str, sender: str = GUEST_PHONE) -> dict[str, Any]:
    """A text that quotes a business message (``context``)."""
    return {**text_message(body, sender=sender), "context": {"from": "15550783881", "id": context_id}}


def audio_message(*, voice: bool = True, sender: str = GUEST_PHONE) -> dict[str, Any]:
    return {
        **_base("audio", sender=sender, message_id=None),
        "audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": "a" * 44, "id": "1908647269898587", "voice": voice},
    }


def media_message(kind: str, *, sender: str = GUEST_PHONE, **extra: Any) -> dict[str, Any]:
    """image / video / sticker / document: ``{"id","mime_type","sha256","caption"?,"filename"?}``."""
    mime = {"image": "image/jpeg", "video": "video/mp4", "sticker": "image/webp", "document": "application/pdf"}[kind]
    media = {"id": f"{kind}-media-1", "mime_type": mime, "sha256": "b" * 44, **extra}
    return {**_base(kind, sender=sender, message_id=None), kind: media}


def button_reply(reply_id: str = "late-checkout", title: str = "Late checkout", *, sender: str = GUEST_PHONE):
    return {
        **_base("interactive", sender=sender, message_id=None),
        "interactive": {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}},
    }


def list_reply(reply_id: str, title: str, description: str, *, sender: str = GUEST_PHONE) -> dict[str, Any]:
    return {
        **_base("interactive", sender=sender, message_id=None),
        "interactive": {
            "type": "list_reply",
            "list_reply": {"id": reply_id, "title": title, "description": description},
        },
    }


def template_button(text: str = "No", payload: str = "NO_THANKS", *, sender: str = GUEST_PHONE) -> dict[str, Any]:
    return {**_base("button", sender=sender, message_id=None), "button": {"text": text, "payload": payload}}


def location_message(*, sender: str = GUEST_PHONE, **location: Any) -> dict[str, Any]:
    return {**_base("location", sender=sender, message_id=None), "location": location}


def unknown_message(*, code: int = 131051, sender: str = GUEST_PHONE) -> dict[str, Any]:
    return {
        **_base("unknown", sender=sender, message_id=None),
        "errors": [
            {"code": code, "title": "Message type unknown", "details": "Message type is currently not supported"}
        ],
    }


def username_message(body: str, *, user_id: str) -> dict[str, Any]:
    """A guest with a WhatsApp username and no phone number: ``from_user_id``, no ``from``."""
    message = text_message(body)
    del message["from"]
    return {**message, "from_user_id": user_id}


def _senders(messages: list[Any]) -> list[str]:
    """Distinct ``from`` values in order (one ``contacts[]`` entry per guest, as Meta sends)."""
    return list(dict.fromkeys(m["from"] for m in messages if isinstance(m, dict) and m.get("from")))


# --- envelopes ----------------------------------------------------------------------------------------------------
def change_value(
    phone_number_id: str,
    *,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    contacts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
    }
    if messages is not None:
        value["contacts"] = (
            contacts
            if contacts is not None
            else [{"profile": {"name": "Sheena Nelson"}, "wa_id": sender} for sender in _senders(messages)]
        )
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return value


def envelope(
    phone_number_id: str,
    *,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    contacts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    value = change_value(phone_number_id, messages=messages, statuses=statuses, contacts=contacts)
    return batch([[value]])


def batch(entries: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """``entries[i]`` is the list of ``changes[].value`` of entry ``i`` (all ``field: messages``)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": f"10229012934039{i}", "changes": [{"field": "messages", "value": value} for value in values]}
            for i, values in enumerate(entries)
        ],
    }


def status(
    message_id: str, status_value: str, *, errors: list[dict[str, Any]] | None = None, callback: Any = None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": message_id,
        "status": status_value,
        "timestamp": _now(),
        "recipient_id": GUEST_PHONE,
    }
    if errors:
        item["errors"] = errors
    if callback is not None:  # the send request's biz_opaque_callback_data, echoed by Meta
        item["biz_opaque_callback_data"] = callback
    return item


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


# --- refused shapes -----------------------------------------------------------------------------------------------
def without(item: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != key}


def malformed_bodies(phone_number_id: str) -> dict[str, bytes]:
    """Bodies a WhatsApp webhook must refuse with 400 (when signed). Where a message is at fault it comes AFTER a good
    one in the same batch; where the JSON itself is at fault, the rest of the payload is well formed."""

    def after_good(bad: dict[str, Any]) -> bytes:
        return encode(envelope(phone_number_id, messages=[text_message("ok"), bad]))

    def good_with_raw(fragment: bytes) -> bytes:
        """A well-formed payload whose text message carries ``fragment`` as raw JSON in an extra key."""
        body = encode(envelope(phone_number_id, messages=[{**text_message("ok"), "x_extra": "__HOLE__"}]))
        return body.replace(b'"__HOLE__"', fragment)

    def entry(changes: Any) -> bytes:
        return encode({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": changes}]})

    good = envelope(phone_number_id, messages=[text_message("ok")])
    return {
        "not json": b"{not json",
        "empty": b"",
        "not utf-8": b"\xff\xfe\x00",
        "json array": b"[]",
        "NaN": good_with_raw(b"NaN"),
        "Infinity": good_with_raw(b"-Infinity"),
        "number out of float range": good_with_raw(b"1e999"),
        "integer with 5000 digits": good_with_raw(b"9" * 5000),
        "deeply nested": good_with_raw(b"[" * 100_000 + b"]" * 100_000),
        "object missing": encode(without(good, "object")),
        "wrong object": encode({**good, "object": "page"}),
        "entry not a list": encode({"object": "whatsapp_business_account", "entry": {"id": "1"}}),
        "entry item not an object": encode({"object": "whatsapp_business_account", "entry": ["1"]}),
        "changes not a list": entry(5),
        "change value not an object": entry([{"field": "messages", "value": []}]),
        "metadata missing": entry([{"field": "messages", "value": {"messages": [text_message("ok")]}}]),
        "phone_number_id not a string": entry(
            [{"field": "messages", "value": {"metadata": {"phone_number_id": 106540352242922}}}]
        ),
        "messages not a list": entry(
            [{"field": "messages", "value": {**change_value(phone_number_id), "messages": {}}}]
        ),
        "message item not an object": after_good("wamid.x"),  # type: ignore[arg-type]
        "message without id": after_good(without(text_message("x"), "id")),
        "message with empty id": after_good({**text_message("x"), "id": ""}),
        "message without type": after_good(without(text_message("x"), "type")),
        "message without sender": after_good(without(text_message("x"), "from")),
        "text without body": after_good({**text_message("x"), "text": {}}),
        "text not an object": after_good({**text_message("x"), "text": "hola"}),
        "image without image object": after_good(without(media_message("image"), "image")),
        "location without coordinates": after_good(location_message(name="Somewhere")),
        "location with string coordinates": after_good(location_message(latitude="37.4", longitude="-122.1")),
        "timestamp not digits": after_good({**text_message("x"), "timestamp": "2024-01-01T10:00:00Z"}),
        "timestamp unicode digits": after_good({**text_message("x"), "timestamp": "²³"}),
        "timestamp out of range": after_good({**text_message("x"), "timestamp": "9" * 30}),
        "status without id": encode(envelope(phone_number_id, statuses=[without(status("wamid.a", "read"), "id")])),
    }
