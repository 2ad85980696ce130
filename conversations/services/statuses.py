"""Delivery statuses: moving ``Message.status`` forward only, parking statuses that arrive before their send."""

from __future__ import annotations

import structlog
from django.core.cache import cache
from django.utils import timezone

from channels_gateway.types import StatusUpdate
from conversations import events
from conversations.metrics import (
    message_status_updates_total,
)
from conversations.models import (
    STATUS_RANK,
    DeliveryStatus,
    Direction,
    Message,
)
from tenants.services import ResolvedAccount

logger = structlog.get_logger(__name__)

PENDING_STATUS_TTL = 600


def _pending_key(account_id: int, provider_message_id: str, status: str) -> str:
    # One key per status: two drains parking different statuses of one message cannot overwrite each other.
    return f"conversations:pending-status:{account_id}:{provider_message_id}:{status}"


def message_status_apply(*, account: ResolvedAccount, update: StatusUpdate) -> str:
    """Move an outbound message's status forward (never back). Returns applied | stale | pending."""
    new_rank = STATUS_RANK[update.status]
    lower = [status for status, rank in STATUS_RANK.items() if rank < new_rank]
    fields: dict[str, object] = {"status": update.status, "status_updated_at": update.timestamp or timezone.now()}
    if update.status == DeliveryStatus.FAILED:
        fields["error_code"] = update.error_code[:32]
        fields["error_detail"] = update.error_detail[:500]
    elif new_rank > STATUS_RANK[DeliveryStatus.FAILED]:  # delivered after all: the reported failure no longer holds
        fields["error_code"] = fields["error_detail"] = ""
    base = Message.objects.filter(
        tenant_id=account.tenant_id,
        channel_account_id=account.account_id,
        provider_message_id=update.provider_message_id,
        direction=Direction.OUTBOUND,
    )
    if base.filter(status__in=lower).update(**fields):
        result = "applied"
        for row in base.values("pk", "conversation_id"):
            _publish_status(tenant_id=account.tenant_id, conversation_id=row["conversation_id"], message_id=row["pk"],
                            status=update.status, error_code=str(fields.get("error_code", "")))  # fmt: skip
    elif base.exists():
        result = "stale"
    elif (confirmed := _outbound_confirm_by_callback(account=account, update=update)) is not None:
        result = confirmed
        if confirmed == "confirmed" and update.status != DeliveryStatus.SENT:
            message_status_apply(account=account, update=update)  # delivered / read / failed on top of sent
    else:
        # The status may overtake the send task recording the provider id: keep it a while and apply it then.
        cache.set(
            _pending_key(account.account_id, update.provider_message_id, update.status), update, PENDING_STATUS_TTL
        )
        result = "pending"
        if base.exists():  # the send recorded the id between our look and the parking: it will not look again
            message_status_apply_pending(account=account, provider_message_id=update.provider_message_id)
    message_status_updates_total.labels(channel=account.channel, status=update.status, result=result).inc()
    return result


def _outbound_confirm_by_callback(*, account: ResolvedAccount, update: StatusUpdate) -> str | None:
    """A status for a provider id we have not recorded, naming (in its signed callback data) one of this account's
    outbound messages: the answer to that send was lost (read timeout), or has not been recorded yet, but Meta
    accepted it. Record the id and mark it sent, so a pending retry finds nothing to send. Returns confirmed |
    duplicate, or ``None`` when it names nothing of ours to confirm (another hotel's or account's message, one never
    attempted, or one whose send recorded this very id meanwhile: the caller's usual path applies it then)."""
    message_id = update.sent_message_id
    if message_id is None:
        return None
    mine = Message.objects.filter(
        pk=message_id, tenant_id=account.tenant_id, channel_account_id=account.account_id, direction=Direction.OUTBOUND
    )
    # Still waiting (queued), or given up on after the last unconfirmed attempt (failed without an id): Meta says
    # it went out, so the failure was ours and is taken back.
    confirmed = mine.filter(
        provider_message_id__isnull=True,
        send_attempts__gt=0,
        status__in=[DeliveryStatus.QUEUED, DeliveryStatus.FAILED],
    ).update(
        provider_message_id=update.provider_message_id,
        status=DeliveryStatus.SENT,
        status_updated_at=update.timestamp or timezone.now(),
        send_claimed_at=None,
        error_code="",
        error_detail="",
    )
    if confirmed:
        logger.info(
            "outbound_confirmed_by_status", message_id=message_id, provider_message_id=update.provider_message_id
        )
        conversation_id = mine.values_list("conversation_id", flat=True).first()
        _publish_status(tenant_id=account.tenant_id, conversation_id=conversation_id, message_id=message_id,
                        status=DeliveryStatus.SENT)  # fmt: skip
        return "confirmed"
    recorded = mine.values_list("provider_message_id", flat=True).first()
    if recorded is not None and recorded != update.provider_message_id:
        # It was sent again before this status came: the guest has two copies; the other id is the one we keep.
        logger.warning("outbound_sent_twice", message_id=message_id, provider_message_id=update.provider_message_id)
        return "duplicate"
    return None


def _publish_status(*, tenant_id: int, conversation_id, message_id: int, status: str, error_code: str = "") -> None:
    events.publish_on_commit(
        tenant_id=tenant_id,
        event_type="message.status",
        payload={"id": message_id, "conversation": str(conversation_id), "status": status, "error_code": error_code},
        conversation_id=conversation_id,
    )


def message_status_apply_pending(*, account: ResolvedAccount, provider_message_id: str) -> None:
    keys = [_pending_key(account.account_id, provider_message_id, status) for status in STATUS_RANK]
    pending = cache.get_many(keys)
    if not pending:
        return
    cache.delete_many(list(pending))
    for update in sorted(pending.values(), key=lambda u: STATUS_RANK[u.status]):
        message_status_apply(account=account, update=update)
