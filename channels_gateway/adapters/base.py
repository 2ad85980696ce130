"""The channel adapter interface. One module per channel implements it; ``registry`` picks one by channel."""

from __future__ import annotations

from typing import Protocol

from channels_gateway.types import OutboundRequest, ParsedBatch, SendResult


class Sender(Protocol):
    def send(self, request: OutboundRequest) -> SendResult:
        """Deliver one outbound text. Raises ``SendError`` (``transient`` tells whether to retry)."""


class ChannelAdapter(Sender, Protocol):
    channel: str

    def can_send(self, credentials: dict[str, str]) -> bool:
        """Whether the account (or the environment) has what sending needs."""

    def parse(self, body: bytes) -> ParsedBatch:
        """Provider payload → unified messages and status updates. Raises ``PayloadError``."""
