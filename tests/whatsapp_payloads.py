"""Builders for WhatsApp Cloud API webhook payloads (shapes from shared/docs/CHANNELS.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

APP_SECRET = "dev-app-secret"  # settings default in development/tests


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def wamid() -> str:
    return "wamid." + uuid.uuid4().hex


def text_message(body: str = "Hola", *, sender: str = "16505551234", message_id: str | None = None) -> dict[str, Any]:
    return {
        "from": sender,
        "id": message_id or wamid(),
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": body},
    }


def envelope(
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
            else [{"profile": {"name": "Sheena Nelson"}, "wa_id": m["from"]} for m in messages if "from" in m]
        )
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }


def status(message_id: str, status_value: str, *, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": message_id,
        "status": status_value,
        "timestamp": str(int(time.time())),
        "recipient_id": "16505551234",
    }
    if errors:
        item["errors"] = errors
    return item


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()
