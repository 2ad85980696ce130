"""Answering one inbound message exactly once: the conversation lock, the agent's turn, one reply."""

from __future__ import annotations

import structlog
from django.db import IntegrityError, transaction
from django.utils import timezone

from conversations import events
from conversations.locks import distributed_lock
from conversations.metrics import (
    inbound_processed_total,
    orchestrator_escalations_total,
)
from conversations.models import (
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Guest,
    Message,
    Sender,
)
from conversations.services.inbound import _conversation_get_or_open, enqueue_on_commit

logger = structlog.get_logger(__name__)


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
