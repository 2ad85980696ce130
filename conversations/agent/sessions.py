"""Session management: per-conversation multi-turn state with a TTL (the seed's session manager)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.conf import settings
from django.utils import timezone
from prometheus_client import Gauge, Histogram

from conversations.models import AgentSettings, Conversation, SessionState

MAX_INTENTS = 10
# Context keys the NLU fills from entities (a later turn overrides an earlier one).
CONTEXT_KEYS = (
    "check_in",
    "check_out",
    "nights",
    "adults",
    "children",
    "room_type",
    "booking_ref",
    "email",
    "phone",
    "guest_name",
)

sessions_active = Gauge("sessions_active", "Conversation sessions that have not expired.", multiprocess_mode="livemax")
session_creation_latency_seconds = Histogram(
    "session_creation_latency_seconds",
    "Time to create (or restart an expired) conversation session.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)


def agent_settings_for(tenant_id: int) -> AgentSettings | None:
    return AgentSettings.objects.filter(tenant_id=tenant_id).first()


def session_ttl(tenant_id: int) -> dt.timedelta:
    overrides = agent_settings_for(tenant_id)
    hours = overrides.session_ttl_hours if overrides and overrides.session_ttl_hours else settings.SESSION_TTL_HOURS
    return dt.timedelta(hours=hours)


def session_load(*, conversation: Conversation) -> SessionState:
    """The conversation's live session; created on first use, restarted (empty context) once expired."""
    now = timezone.now()
    session = SessionState.objects.filter(conversation=conversation, tenant_id=conversation.tenant_id).first()
    if session is not None and session.expires_at > now:
        return session
    started = time.perf_counter()
    expires = now + session_ttl(conversation.tenant_id)
    language = conversation.language or conversation.guest.language
    if session is None:
        session, _ = SessionState.objects.get_or_create(
            conversation=conversation,
            defaults={"tenant_id": conversation.tenant_id, "expires_at": expires, "language": language},
        )
    else:
        session.context, session.pending, session.intents = {}, {}, []
        session.fallback_streak = 0
        session.language = language
        session.expires_at = expires
        session.save()
    session_creation_latency_seconds.observe(time.perf_counter() - started)
    sessions_active.set(SessionState.objects.filter(expires_at__gt=now).count())
    return session


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def session_context_date(session: SessionState, key: str) -> dt.date | None:
    value = session.context.get(key)
    try:
        return dt.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def session_record_turn(
    *,
    session: SessionState,
    intent: str,
    confidence: float,
    language: str,
    entities: dict[str, Any],
    fallback: bool,
    pending: dict[str, Any] | None,
    save: bool = True,
) -> SessionState:
    """Fold one turn into the session and push its expiry forward (``save=False``: the caller saves it, e.g. in the
    transaction that stores the reply)."""
    now = timezone.now()
    context = dict(session.context)
    for key in CONTEXT_KEYS:
        if entities.get(key) not in (None, ""):
            context[key] = _jsonable(entities[key])
    # New dates without an explicit end invalidate an end remembered for other dates.
    if "check_in" in entities and "check_out" not in entities and "nights" not in entities:
        context.pop("check_out", None)
    session.context = context
    session.intents = [*session.intents, {"intent": intent, "confidence": confidence, "at": now.isoformat()}][
        -MAX_INTENTS:
    ]
    session.language = language
    session.fallback_streak = session.fallback_streak + 1 if fallback else 0
    session.pending = pending or {}
    session.expires_at = now + session_ttl(session.tenant_id)
    if save:
        session.save()
    return session
