"""Values that travel through one orchestrated turn."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from conversations.agent.nlu import NLUResult
from conversations.models import Conversation, Message, SessionState
from tenants.models import Tenant


@dataclass(frozen=True)
class Option:
    """A quick reply the guest can tap (WhatsApp reply button) or type."""

    id: str
    title: str


@dataclass(frozen=True)
class Reply:
    text: str
    language: str
    options: tuple[Option, ...] = ()
    escalate_reason: str = ""
    # What the agent waits for next turn ({"action": ..., ...}); None clears it.
    pending: dict[str, Any] | None = None
    fallback: bool = False
    # Extra entities to remember in the session (e.g. the booking reference just created).
    remember: dict[str, Any] = field(default_factory=dict)


@dataclass
class TurnContext:
    tenant: Tenant
    conversation: Conversation
    message: Message
    session: SessionState
    nlu: NLUResult
    language: str
    today: dt.date
    now: dt.datetime

    @property
    def text(self) -> str:
        return self.message.text

    def slot(self, key: str) -> Any:
        """The value the guest gave this turn, else the one remembered in the session."""
        value = self.nlu.entities.get(key)
        if value not in (None, ""):
            return value
        remembered = self.session.context.get(key)
        if key in ("check_in", "check_out") and isinstance(remembered, str):
            try:
                return dt.date.fromisoformat(remembered)
            except ValueError:
                return None
        return remembered
