"""Recording inbound guest messages: guest, open conversation, flood flag, one Message per provider id."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from channels_gateway.types import UnifiedMessage
from conversations import events
from conversations.metrics import (
    enqueue_failures_total,
    inbound_flooded_total,
    inbound_messages_total,
)
from conversations.models import (
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    FlagReason,
    Guest,
    Message,
    Sender,
)
from tenants.services import ResolvedAccount

logger = structlog.get_logger(__name__)

OPEN_STATUSES = (ConversationStatus.BOT, ConversationStatus.PENDING_HUMAN, ConversationStatus.HUMAN)


@dataclass
class InboundResult:
    created: list[int] = field(default_factory=list)
    duplicates: int = 0
    flagged: int = 0


def guest_get_or_create(*, account: ResolvedAccount, address: str, name: str) -> Guest:
    guest, created = Guest.objects.get_or_create(
        tenant_id=account.tenant_id,
        channel=account.channel,
        address=address,
        defaults={"display_name": name[:255]},
    )
    if not created and name and guest.display_name != name[:255]:
        Guest.objects.filter(pk=guest.pk).update(display_name=name[:255])
        guest.display_name = name[:255]
    return guest


def conversation_get_or_open(*, account: ResolvedAccount, guest: Guest) -> Conversation:
    """The guest's open conversation on this account, or a new one (race-safe: a partial unique constraint
    allows one open conversation per guest and account)."""
    return _conversation_get_or_open(tenant_id=account.tenant_id, guest=guest, channel_account_id=account.account_id)


def _conversation_get_or_open(*, tenant_id: int, guest: Guest, channel_account_id: int) -> Conversation:
    query = Conversation.objects.filter(
        tenant_id=tenant_id, guest=guest, channel_account_id=channel_account_id, status__in=OPEN_STATUSES
    )
    conversation = query.first()
    if conversation is not None:
        return conversation
    try:
        with transaction.atomic():
            return Conversation.objects.create(
                tenant_id=tenant_id, guest=guest, channel_account_id=channel_account_id, language=guest.language
            )
    except IntegrityError:
        return query.get()


# Rehearsals (``simulate``/``chat``) type faster than any guest: they lift the flood limit for their own thread.
flood_limit_lifted: ContextVar[bool] = ContextVar("flood_limit_lifted", default=False)


FLOOD_WINDOW = timedelta(seconds=60)
# How much later than it was sent a message may be stored and still count: bounds the index scan. A backlog drained
# after an outage is older than this, and is judged by when the guest sent it all the same (see below).
_FLOOD_STORE_LAG = timedelta(minutes=5)


def _is_flooding(*, conversation: Conversation, now, sent_at=None) -> bool:
    """More than the limit within a minute from this guest, by when the guest *sent* the messages (the provider's
    timestamp; when it is missing, when we stored them): a backlog drained at once after a worker outage is not a
    flood. One open conversation per guest and account, and the (conversation, created_at) index keeps it cheap."""
    if flood_limit_lifted.get():
        return False
    at = min(sent_at or now, now)
    start = at - FLOOD_WINDOW
    recent = (
        Message.objects.filter(
            conversation_id=conversation.pk,
            direction=Direction.INBOUND,
            created_at__gte=start - _FLOOD_STORE_LAG,  # stored no earlier than sent (give or take clock skew)
        )
        .annotate(sent=Coalesce("provider_timestamp", "created_at"))
        .filter(sent__gte=start, sent__lte=at)
        .count()
    )
    return recent >= settings.GUEST_FLOOD_MAX_PER_MINUTE


def enqueue_on_commit(task: Any, *args: Any) -> None:
    """Publish ``task`` once the current transaction commits. A broker that refuses it (down past Celery's own
    publish retries) is logged and counted, and the next callbacks still run: the work is on its row (an inbound
    message not yet processed, an outbound message still queued), and ``sweep_unfinished`` enqueues it again."""

    def publish() -> None:
        try:
            task.delay(*args)
        except (KombuOperationalError, ConnectionError, TimeoutError) as exc:
            enqueue_failures_total.labels(task=task.name).inc()
            logger.error("enqueue_failed_left_for_sweep", task=task.name, args=list(args), error=repr(exc))

    publish.task_name = task.name  # type: ignore[attr-defined]  (what tests and debuggers see in the callbacks)
    transaction.on_commit(publish)


def inbound_record(*, account: ResolvedAccount, messages: list[UnifiedMessage]) -> InboundResult:
    """Store a provider batch for one account in one transaction; enqueue processing of each new, unflagged message
    once the transaction commits. A message already stored (same provider id on the same account) is not stored
    again; if it was never answered (its processing was lost, e.g. the broker was down when the first delivery
    committed) the redelivery enqueues it again — processing is idempotent.

    Rows are written guest by guest in address order (each guest's messages keep their order): concurrent batches
    naming the same guests then lock their guest and conversation rows in the same order and cannot deadlock."""
    from conversations.tasks import process_inbound

    result = InboundResult()
    with transaction.atomic():
        for unified in sorted(messages, key=lambda m: m.guest_address):
            existing = (
                Message.objects.filter(
                    channel_account_id=account.account_id, provider_message_id=unified.provider_message_id
                )
                .values("pk", "direction", "processed_at", "flagged")
                .first()
            )
            if existing is not None:
                result.duplicates += 1
                if (
                    existing["direction"] == Direction.INBOUND
                    and not existing["processed_at"]
                    and not existing["flagged"]
                    and existing["pk"] not in result.created  # the same id twice in this batch: enqueued already
                ):
                    logger.info("inbound_redelivered_unanswered", message_id=existing["pk"])
                    enqueue_on_commit(process_inbound, existing["pk"])
                continue
            now = timezone.now()
            guest = guest_get_or_create(account=account, address=unified.guest_address, name=unified.guest_name)
            conversation = conversation_get_or_open(account=account, guest=guest)
            flagged = _is_flooding(conversation=conversation, now=now, sent_at=unified.timestamp)
            try:
                with transaction.atomic():
                    message = Message.objects.create(
                        tenant_id=account.tenant_id,
                        conversation=conversation,
                        channel_account_id=account.account_id,
                        direction=Direction.INBOUND,
                        sender=Sender.GUEST,
                        kind=unified.kind,
                        text=unified.text,
                        attachment=unified.attachment,
                        raw_payload=unified.raw,
                        provider_message_id=unified.provider_message_id,
                        status=DeliveryStatus.RECEIVED,
                        provider_timestamp=unified.timestamp,
                        flagged=flagged,
                        flag_reason=FlagReason.FLOOD if flagged else "",
                    )
            except IntegrityError:  # a concurrent delivery of the same message won the insert
                result.duplicates += 1
                continue
            Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now, updated_at=now)
            Guest.objects.filter(pk=guest.pk).update(last_seen_at=now)
            events.publish_message(message)
            inbound_messages_total.labels(channel=account.channel, kind=unified.kind).inc()
            if flagged:
                result.flagged += 1
                inbound_flooded_total.labels(channel=account.channel).inc()
                logger.warning("inbound_flood_flagged", message_id=message.pk, guest_id=guest.pk)
                continue
            result.created.append(message.pk)
            enqueue_on_commit(process_inbound, message.pk)
    return result
