"""The NLU engine interface: ``parse(text, *, tenant, context) -> NLUResult``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

INTENTS: tuple[str, ...] = (
    "greeting",
    "goodbye",
    "thanks",
    "affirm",
    "deny",
    "check_availability",
    "room_info",
    "make_reservation",
    "modify_reservation",
    "cancel_reservation",
    "reservation_status",
    "late_checkout",
    "early_checkin",
    "hotel_info",
    "location",
    "service_request",
    "complaint",
    "human_handoff",
    "out_of_scope",
)
LANGUAGES: tuple[str, ...] = ("es", "en", "pt")
# Short social answers: greetings, goodbyes, thanks, yes and no.
SOCIAL_INTENTS = frozenset({"greeting", "goodbye", "thanks", "affirm", "deny"})


@dataclass(frozen=True)
class NLUResult:
    intent: str
    confidence: float
    language: str
    entities: dict[str, Any] = field(default_factory=dict)
    # The runner-up intents with their scores, best first (for clarification questions).
    alternatives: tuple[tuple[str, float], ...] = ()
    engine: str = ""


class NLUEngine(Protocol):
    name: str

    def parse(self, text: str, *, tenant: Any, context: dict[str, Any]) -> NLUResult:
        """``context`` may carry ``language`` (the conversation's), ``today`` (a date in the hotel's timezone),
        ``room_types`` (the hotel's names) and ``check_in`` (from the session) for entity resolution."""
