"""Guest web chat: the widget and the hosted page post to ``channels_gateway.webchat`` directly, so there is no
provider payload to parse, and a reply needs no network call — the guest's browser receives it through the
conversation's websocket group and the history endpoint. Sending only gives the message a provider id, so it
becomes "sent" like on any other channel."""

from __future__ import annotations

import uuid

from channels_gateway.types import OutboundRequest, ParsedBatch, PayloadError, SendResult

CHANNEL = "webchat"


class WebChatAdapter:
    channel = CHANNEL

    def parse(self, body: bytes) -> ParsedBatch:
        raise PayloadError("the web chat has no provider webhook: guests post to /webchat/<public_key>/messages/")

    def can_send(self, credentials: dict[str, str]) -> bool:
        return True

    def send(self, request: OutboundRequest) -> SendResult:
        return SendResult(provider_message_id=f"webchat.{uuid.uuid4().hex}")
