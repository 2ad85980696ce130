"""Staff console reads. Every one takes the active hotel; a conversation that does not exist and one of another
hotel raise the same ``Http404``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

import structlog
from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from conversations.events import events_since
from conversations.models import (
    CannedReply,
    Conversation,
    ConversationEvent,
    ConversationStatus,
    Direction,
    Message,
    SessionState,
)
from pms.base import PMSError
from pms.services import pms_for_tenant
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

MESSAGES_PAGE = 500
PREVIEW_CHARS = 140


def conversation_get_for_staff(*, user: Any, tenant: Tenant | None, conversation_id: UUID | str) -> Conversation:
    """The conversation of the active hotel, or ``Http404`` (absent and other hotel alike)."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise Http404
    conversation = (
        Conversation.objects.for_tenant(tenant)
        .select_related("guest", "channel_account", "assignee", "tenant")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise Http404
    return conversation


def conversation_list_for_staff(
    *,
    tenant: Tenant | None,
    user: Any,
    status: str = "",
    channel: str = "",
    assignee: str = "",
    q: str = "",
) -> QuerySet[Conversation]:
    """The hotel's conversations, filtered. ``assignee``: ``me``, ``none`` or a user id. ``q`` searches the guest's
    name and address. The escalation queue (``status=pending_human``) is oldest first; everything else most
    recently active first."""
    query = Conversation.objects.for_tenant(tenant).select_related("guest", "channel_account", "assignee")
    if status:
        query = query.filter(status=status)
    if channel:
        query = query.filter(channel_account__channel=channel)
    if assignee == "me":
        query = query.filter(assignee=user)
    elif assignee == "none":
        query = query.filter(assignee__isnull=True)
    elif assignee:
        query = query.filter(assignee_id=int(assignee))
    if q:
        query = query.filter(Q(guest__display_name__icontains=q) | Q(guest__address__icontains=q))
    last = Message.objects.filter(conversation=OuterRef("pk"), is_internal=False).order_by("-created_at", "-id")
    query = query.annotate(last_message_text=Subquery(last.values("text")[:1]))
    if status == ConversationStatus.PENDING_HUMAN:
        return query.order_by("updated_at", "created_at")
    return query.order_by("-last_message_at", "-created_at")


def messages_for_staff(*, conversation: Conversation, after: int = 0, limit: int = MESSAGES_PAGE) -> list[Message]:
    """The conversation's messages with id > ``after``, oldest first, internal notes included (``limit`` + 1 rows
    are read so the caller can tell whether more follow)."""
    return list(
        Message.objects.for_tenant(conversation.tenant_id)
        .filter(conversation_id=conversation.pk, pk__gt=after)
        .select_related("author")
        .order_by("pk")[: limit + 1]
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def booking_summary(booking: Any) -> dict[str, Any]:
    return {
        "reference": booking.reference,
        "status": booking.status,
        "room_type": booking.room_type.name,
        "room_type_code": booking.room_type.code,
        "check_in": _jsonable(booking.check_in),
        "check_out": _jsonable(booking.check_out),
        "adults": booking.adults,
        "children": booking.children,
        "guest_name": booking.guest.name,
        "guest_email": booking.guest.email,
        "guest_phone": booking.guest.phone,
        "total_price": _jsonable(booking.total_price),
        "currency": booking.currency,
        "taxes_included": booking.taxes_included,
    }


def _booking_for(*, tenant: Tenant, reference: str) -> dict[str, Any] | None:
    try:
        booking = pms_for_tenant(tenant).get_booking(reference)
    except PMSError as exc:  # not found, PMS down, breaker open, bad reference: the panel shows no booking
        logger.info("console_panel_booking_unavailable", tenant_id=tenant.pk, error=type(exc).__name__)
        return None
    except Exception:  # an adapter bug must not take the conversation view down with it
        logger.exception("console_panel_booking_failed", tenant_id=tenant.pk)
        return None
    return booking_summary(booking)


def conversation_guest_panel(*, conversation: Conversation) -> dict[str, Any]:
    """What staff see beside the history: who the guest is, what the agent has gathered (session context), what it
    understood last (intent, confidence, entities) and the guest's booking from the PMS (``None`` when there is no
    reference in the session or the PMS cannot say)."""
    session = SessionState.objects.for_tenant(conversation.tenant_id).filter(conversation_id=conversation.pk).first()
    context = dict(session.context) if session is not None else {}
    last_nlu_row = (
        Message.objects.for_tenant(conversation.tenant_id)
        .filter(conversation_id=conversation.pk, direction=Direction.INBOUND)
        .exclude(nlu={})
        .order_by("-created_at", "-id")
        .values_list("nlu", flat=True)
        .first()
    )
    last_nlu = None
    if last_nlu_row:
        last_nlu = {
            "intent": last_nlu_row.get("intent"),
            "confidence": last_nlu_row.get("confidence"),
            "entities": last_nlu_row.get("entities") or {},
        }
    reference = context.get("booking_ref")
    booking = _booking_for(tenant=conversation.tenant, reference=str(reference)) if reference else None
    guest = conversation.guest
    return {
        "name": guest.display_name,
        "channel": conversation.channel_account.channel,
        "address": guest.address,
        "language": conversation.language or guest.language,
        "context": context,
        "pending": dict(session.pending) if session is not None else {},
        "last_nlu": last_nlu,
        "booking": booking,
    }


def canned_replies_for_staff(*, tenant: Tenant | None, language: str = "") -> QuerySet[CannedReply]:
    query = CannedReply.objects.for_tenant(tenant)
    if language:
        query = query.filter(language=language)
    return query.order_by("sort_order", "title", "pk")


def events_for_staff(*, tenant: Tenant | None, after: int) -> list[dict[str, Any]]:
    """The hotel's realtime events after ``after``, oldest first (``events.REPLAY_LIMIT`` at most)."""
    if tenant is None:
        return []
    return events_since(tenant_id=tenant.pk, after=after)


def event_cursor_for_tenant(*, tenant: Tenant | None) -> int:
    """The id of the hotel's latest event (0 when none): where a console that just loaded starts listening."""
    if tenant is None:
        return 0
    return ConversationEvent.objects.for_tenant(tenant).aggregate(last=Max("pk"))["last"] or 0
