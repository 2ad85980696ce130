"""The channel adapter interface. One module per channel implements it; ``registry`` picks one by channel."""

from __future__ import annotations

from typing import Any, Protocol

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


def storable(value: Any) -> Any:
    """``value`` with strings the databases can store: no NUL (PostgreSQL text/jsonb refuse it) and no lone surrogates
    (not UTF-8). Every adapter hands the gateway storable text: a guest's message must never fail to be recorded."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    return value
