"""The outbound side of a Message: send leases, confirmation waits, sent / failed, the operator's sweep."""

from __future__ import annotations

from datetime import timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from conversations.models import (
    DeliveryStatus,
    Direction,
    InboundNotification,
    Message,
)
from conversations.services.statuses import _publish_status

logger = structlog.get_logger(__name__)


def outbound_lease_remaining(*, message_id: int) -> float | None:
    """Seconds until another sender's lease on this still-queued outbound message runs out; ``None`` when the
    message is not queued or nobody holds it."""
    claimed_at = (
        Message.objects.filter(
            pk=message_id, direction=Direction.OUTBOUND, status=DeliveryStatus.QUEUED, send_claimed_at__isnull=False
        )
        .values_list("send_claimed_at", flat=True)
        .first()
    )
    if claimed_at is None:
        return None
    expires = claimed_at + timedelta(seconds=settings.OUTBOUND_SEND_LEASE_SECONDS)
    return max(0.0, (expires - timezone.now()).total_seconds())


def unfinished_messages(*, older_than: timedelta, max_age: timedelta, limit: int) -> tuple[list[int], list[int]]:
    """What nobody is working on any more, across hotels (the operator's sweep): inbound guest messages neither
    answered nor flagged, and outbound messages still queued with no live send lease, created between ``max_age``
    and ``older_than`` ago, oldest first. Processing and sending are idempotent, so a row that was merely slow
    costs a no-op."""
    now = timezone.now()
    window = Q(created_at__lt=now - older_than, created_at__gte=now - max_age)
    inbound = (
        Message.objects.filter(window, direction=Direction.INBOUND, processed_at__isnull=True, flagged=False)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    stale = now - timedelta(seconds=settings.OUTBOUND_SEND_LEASE_SECONDS)
    outbound = (
        Message.objects.filter(window, direction=Direction.OUTBOUND, status=DeliveryStatus.QUEUED)
        .filter(Q(send_claimed_at__isnull=True) | Q(send_claimed_at__lt=stale))
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return list(inbound), list(outbound)


def outbound_attempt_count(*, message_id: int) -> int:
    return Message.objects.filter(pk=message_id).values_list("send_attempts", flat=True).first() or 0


# A resend after an unconfirmed attempt waits while notifications of the account that arrived during that attempt's
# lease are still unprocessed (a drain backlog): one of them may be the status that confirms it. Not for ever.
CONFIRMATION_POLL_SECONDS = 15.0
CONFIRMATION_MAX_WAIT = timedelta(minutes=15)


def outbound_confirmation_pending(*, message_id: int) -> float | None:
    """Seconds to wait before sending again, or ``None``. Only for a queued message whose last attempt's lease ran
    out without an answer (a read timeout, a worker killed mid-send): Meta may have accepted it, and its "sent"
    status may be waiting in the notifications the drains have not processed yet."""
    row = (
        Message.objects.filter(
            pk=message_id, direction=Direction.OUTBOUND, status=DeliveryStatus.QUEUED, send_claimed_at__isnull=False
        )
        .values("tenant_id", "channel_account_id", "send_claimed_at")
        .first()
    )
    if row is None:
        return None
    attempted, now = row["send_claimed_at"], timezone.now()
    lease_end = attempted + timedelta(seconds=settings.OUTBOUND_SEND_LEASE_SECONDS)
    if lease_end > now or now - attempted > CONFIRMATION_MAX_WAIT:
        return None  # still leased (the claim says in flight), or waited long enough
    backlog = InboundNotification.objects.filter(
        tenant_id=row["tenant_id"],
        channel_account_id=row["channel_account_id"],
        processed_at__isnull=True,
        received_at__gte=attempted,
        received_at__lt=lease_end,
    ).exists()
    return CONFIRMATION_POLL_SECONDS if backlog else None


def outbound_claim(*, message_id: int) -> Message | None:
    """Take the send lease on a queued outbound message; ``None`` when it is already sent or in flight elsewhere."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.OUTBOUND_SEND_LEASE_SECONDS)
    claimed = (
        Message.objects.filter(pk=message_id, direction=Direction.OUTBOUND, status=DeliveryStatus.QUEUED)
        .filter(Q(send_claimed_at__isnull=True) | Q(send_claimed_at__lt=stale))
        .update(send_claimed_at=now, send_attempts=F("send_attempts") + 1)
    )
    if not claimed:
        return None
    return Message.objects.select_related("conversation__guest", "channel_account").get(pk=message_id)


def outbound_mark_sent(*, message: Message, provider_message_id: str) -> bool:
    """Record the provider's id; ``False`` when the message was no longer queued (an earlier attempt's status
    confirmed it meanwhile)."""
    with transaction.atomic():
        if Message.objects.filter(pk=message.pk, status=DeliveryStatus.QUEUED).update(
            status=DeliveryStatus.SENT,
            provider_message_id=provider_message_id,
            status_updated_at=timezone.now(),
            send_claimed_at=None,
        ):
            _publish_status(tenant_id=message.tenant_id, conversation_id=message.conversation_id, message_id=message.pk,
                            status=DeliveryStatus.SENT)  # fmt: skip
            return True
    return False


def outbound_provider_id(*, message_id: int) -> str | None:
    return Message.objects.filter(pk=message_id).values_list("provider_message_id", flat=True).first()


def outbound_release(*, message: Message) -> None:
    Message.objects.filter(pk=message.pk, status=DeliveryStatus.QUEUED).update(send_claimed_at=None)


def outbound_mark_failed(*, message: Message, code: str, detail: str) -> None:
    with transaction.atomic():
        if Message.objects.filter(pk=message.pk, status=DeliveryStatus.QUEUED).update(
            status=DeliveryStatus.FAILED,
            error_code=code[:32],
            error_detail=detail[:500],
            status_updated_at=timezone.now(),
            send_claimed_at=None,
        ):
            _publish_status(tenant_id=message.tenant_id, conversation_id=message.conversation_id, message_id=message.pk,
                            status=DeliveryStatus.FAILED, error_code=code[:32])  # fmt: skip
