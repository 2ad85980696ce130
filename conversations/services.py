"""Conversation writes: recording inbound messages, applying delivery statuses, answering a guest message."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from channels_gateway.types import StatusUpdate, UnifiedMessage
from conversations import events
from conversations.locks import distributed_lock
from conversations.metrics import (
    enqueue_failures_total,
    inbound_flooded_total,
    inbound_messages_total,
    inbound_processed_total,
    message_status_updates_total,
    orchestrator_escalations_total,
)
from conversations.models import (
    STATUS_RANK,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    FlagReason,
    Guest,
    InboundNotification,
    Message,
    Sender,
)
from tenants.services import ResolvedAccount

logger = structlog.get_logger(__name__)

OPEN_STATUSES = (ConversationStatus.BOT, ConversationStatus.PENDING_HUMAN, ConversationStatus.HUMAN)
PENDING_STATUS_TTL = 600


@dataclass
class InboundResult:
    created: list[int] = field(default_factory=list)
    duplicates: int = 0
    flagged: int = 0


# --- inbound ----------------------------------------------------------------------------------------------------
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


# --- delivery statuses ------------------------------------------------------------------------------------------
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


# --- processing ---------------------------------------------------------------------------------------------------
def inbound_process(*, message_id: int) -> str:
    """Answer one inbound message exactly once. Returns the outcome for logs and metrics."""
    from channels_gateway.tasks import send_outbound
    from conversations.agent.orchestrator import orchestrate_turn

    message = (
        Message.objects.select_related("conversation__guest", "tenant")
        .filter(pk=message_id, direction=Direction.INBOUND)
        .first()
    )
    if message is None:
        logger.warning("inbound_process_missing", message_id=message_id)
        return "missing"
    if message.processed_at is not None or message.flagged:
        outcome = "duplicate" if message.processed_at else "flagged"
        inbound_processed_total.labels(outcome=outcome).inc()
        return outcome

    with distributed_lock(tenant_id=message.tenant_id, resource=f"conversation:{message.conversation_id}"):
        message.refresh_from_db(fields=["processed_at"])
        if message.processed_at is not None:
            inbound_processed_total.labels(outcome="duplicate").inc()
            return "duplicate"
        conversation = Conversation.objects.get(pk=message.conversation_id, tenant_id=message.tenant_id)
        if conversation.status == ConversationStatus.CLOSED:
            return _inbound_move_to_open_conversation(message=message)
        if conversation.status != ConversationStatus.BOT:
            Message.objects.filter(pk=message.pk, processed_at__isnull=True).update(processed_at=timezone.now())
            inbound_processed_total.labels(outcome="human").inc()
            return "human"

        reply, nlu, session = orchestrate_turn(tenant=message.tenant, conversation=conversation, message=message)

        with transaction.atomic():
            locked = Message.objects.select_for_update().get(pk=message.pk)
            if locked.processed_at is not None:
                inbound_processed_total.labels(outcome="duplicate").inc()
                return "duplicate"
            # A receptionist may have claimed the conversation while the agent was thinking (claims do not take the
            # conversation lock): read the status again under the row lock, which a claim's UPDATE waits for.
            status = (
                Conversation.objects.select_for_update()
                .filter(pk=conversation.pk, tenant_id=message.tenant_id)
                .values_list("status", flat=True)
                .first()
            )
            if status == ConversationStatus.CLOSED:
                return _inbound_move_to_open_conversation(message=message)
            if status != ConversationStatus.BOT:
                session.save()
                Message.objects.filter(pk=message.pk).update(processed_at=timezone.now(), nlu=nlu_snapshot(nlu))
                inbound_processed_total.labels(outcome="human").inc()
                logger.info("bot_reply_dropped_after_claim", conversation_id=str(conversation.pk), status=status)
                return "human"
            try:
                with transaction.atomic():
                    outbound = Message.objects.create(
                        tenant_id=message.tenant_id,
                        conversation=conversation,
                        channel_account_id=message.channel_account_id,
                        direction=Direction.OUTBOUND,
                        sender=Sender.BOT,
                        text=reply.text,
                        attachment={"options": [{"id": o.id, "title": o.title} for o in reply.options]}
                        if reply.options
                        else {},
                        reply_to=message,
                        status=DeliveryStatus.QUEUED,
                    )
            except IntegrityError:
                inbound_processed_total.labels(outcome="duplicate").inc()
                return "duplicate"
            session.save()  # with the reply: a turn whose reply is lost is replayed from the state it started in
            now = timezone.now()
            Message.objects.filter(pk=message.pk).update(processed_at=now, nlu=nlu_snapshot(nlu))
            Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now, updated_at=now)
            if reply.language and reply.language != conversation.language:
                Conversation.objects.filter(pk=conversation.pk).update(language=reply.language)
                Guest.objects.filter(pk=conversation.guest_id).update(language=reply.language)
            events.publish_message(outbound)
            if reply.escalate_reason:
                conversation_escalate(conversation=conversation, reason=reply.escalate_reason)
            enqueue_on_commit(send_outbound, outbound.pk)
    inbound_processed_total.labels(outcome="replied").inc()
    return "replied"


def _inbound_move_to_open_conversation(*, message: Message) -> str:
    """Staff resolved the conversation after this message was stored in it (before or while it was processed). A
    guest's message after the close opens a new conversation, so this one does too: it moves there, unanswered, and
    is processed again on commit, under that conversation's lock. Nothing the guest sent is left answered by no one."""
    from conversations.tasks import process_inbound

    with transaction.atomic():
        target = _conversation_get_or_open(
            tenant_id=message.tenant_id, guest=message.conversation.guest, channel_account_id=message.channel_account_id
        )
        moved = Message.objects.filter(pk=message.pk, tenant_id=message.tenant_id, processed_at__isnull=True).update(
            conversation=target
        )
        if moved:
            now = timezone.now()
            Conversation.objects.filter(pk=target.pk).update(last_message_at=now, updated_at=now)
            # Whoever follows the closed conversation (the guest's web chat) hears where the guest went.
            events.publish_on_commit(
                tenant_id=message.tenant_id,
                event_type="conversation.moved",
                payload={"id": message.pk, "from": str(message.conversation_id), "to": str(target.pk)},
                conversation_id=message.conversation_id,
            )
            message.conversation = target
            events.publish_message(message)
            enqueue_on_commit(process_inbound, message.pk)
            logger.info("inbound_moved_from_closed_conversation", message_id=message.pk, to=str(target.pk))
    inbound_processed_total.labels(outcome="reopened").inc()
    return "reopened"


def nlu_snapshot(nlu) -> dict:
    """What the agent understood, kept on the inbound message for staff (JSON-safe)."""
    if nlu is None:
        return {}
    return {
        "intent": nlu.intent,
        "confidence": nlu.confidence,
        "language": nlu.language,
        "engine": nlu.engine,
        "entities": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in nlu.entities.items()},
    }


def conversation_escalate(*, conversation: Conversation, reason: str) -> bool:
    """Hand a bot conversation to staff (``pending_human``). Returns False when it was not with the bot."""
    updated = Conversation.objects.filter(
        pk=conversation.pk, tenant_id=conversation.tenant_id, status=ConversationStatus.BOT
    ).update(status=ConversationStatus.PENDING_HUMAN, escalation_reason=reason[:64], updated_at=timezone.now())
    if updated:
        channel = conversation.channel_account.channel
        orchestrator_escalations_total.labels(reason=reason, channel=channel).inc()
        conversation.refresh_from_db()
        events.publish_conversation(conversation)
        logger.info("conversation_escalated", conversation_id=str(conversation.pk), reason=reason)
    return bool(updated)


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
