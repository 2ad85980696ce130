"""Channel-neutral shapes that leave the gateway: what every adapter parses a provider payload into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class PayloadError(ValueError):
    """The payload is not a shape the provider sends: answer 400, store nothing."""


class SignatureError(PermissionError):
    """Missing or invalid signature: answer 403, store nothing."""


@dataclass(frozen=True)
class UnifiedMessage:
    channel: str
    account_external_id: str  # the hotel's number / mailbox / widget id, as the provider names it
    provider_message_id: str
    guest_address: str
    guest_name: str
    kind: str  # conversations.models.MessageKind value
    text: str
    timestamp: datetime | None
    attachment: dict[str, Any] = field(default_factory=dict)
    reply_to_provider_id: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class StatusUpdate:
    channel: str
    account_external_id: str
    provider_message_id: str
    status: str  # sent | delivered | read | failed
    timestamp: datetime | None
    recipient: str = ""
    error_code: str = ""
    error_detail: str = ""
    # Our outbound message, when the provider echoes what the sender tagged the request with (WhatsApp:
    # ``biz_opaque_callback_data``): a status can then confirm a send whose answer never arrived (read timeout).
    sent_message_id: int | None = None


@dataclass
class ParsedBatch:
    messages: list[UnifiedMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)

    @property
    def account_external_ids(self) -> set[str]:
        return {m.account_external_id for m in self.messages} | {s.account_external_id for s in self.statuses}


@dataclass(frozen=True)
class OutboundRequest:
    """What a sender needs to deliver one outbound message."""

    message_id: int
    account_external_id: str
    to: str
    text: str
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    # Quick replies as (id, title); a channel that supports buttons may show them (flag
    # ``features.interactive_messages``), otherwise the text alone carries the choices.
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str


class SendError(Exception):
    """``transient``: worth retrying. ``ambiguous``: the request may have reached the provider and been accepted
    (the answer was lost: read timeout, connection dropped mid-reply), so a retry could deliver the message twice."""

    def __init__(self, message: str, *, code: str = "", transient: bool, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient
        self.ambiguous = ambiguous
