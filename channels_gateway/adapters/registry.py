from __future__ import annotations

from channels_gateway.adapters.base import ChannelAdapter, Sender
from channels_gateway.adapters.log import LogSender
from channels_gateway.adapters.webchat import WebChatAdapter
from channels_gateway.adapters.whatsapp import WhatsAppAdapter

ADAPTERS: dict[str, ChannelAdapter] = {
    WhatsAppAdapter.channel: WhatsAppAdapter(),
    WebChatAdapter.channel: WebChatAdapter(),
}
LOG_SENDER = LogSender()


def adapter_for(channel: str) -> ChannelAdapter:
    try:
        return ADAPTERS[channel]
    except KeyError:
        raise LookupError(f"no channel adapter for {channel!r}") from None


def sender_for(channel: str, credentials: dict[str, str]) -> Sender:
    """The channel's own sender when it has credentials to send with, else the log sender (also for channels
    whose replies are delivered another way, e.g. the rehearsal commands)."""
    adapter = ADAPTERS.get(channel)
    return adapter if adapter is not None and adapter.can_send(credentials) else LOG_SENDER
