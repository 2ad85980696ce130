"""Staff console writes: claim, release, resolve, reply, internal note.

Every state change is one conditional ``UPDATE`` (two staff acting at once cannot both win) and publishes
``conversation.updated`` after commit. A failed precondition raises ``ConsoleActionError`` with a stable ``code``
the API turns into 409 (or 403 for ``not_allowed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conversations import events
from conversations.models import (
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    IdempotencyKey,
    Message,
    Sender,
    SessionState,
)
from tenants.selectors import staff_is_hotel_admin

logger = structlog.get_logger(__name__)

NOTE_CREATED = "note.created"


class ConsoleActionError(Exception):
    """A console action that cannot happen in the conversation's current state (or not by this staff member)."""

    MESSAGES = {
        "held_by_other": _("Another staff member is already handling this conversation."),
        "closed": _("This conversation is closed."),
        "not_allowed": _("Only the staff member handling this conversation or a hotel admin can do this."),
        "claim_first": _("Claim the conversation before replying."),
        "idempotency_key_reused": _("This Idempotency-Key was already used for a different message."),
    }

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def detail(self) -> str:
        return str(self.MESSAGES.get(self.code, self.code))


@dataclass(frozen=True)
class ReplyResult:
    message: Message
    created: bool


# --- payloads (shared with the API's output so live events and fetched rows look the same) --------------------------
def staff_name(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def console_message_payload(message: Message) -> dict[str, Any]:
    """``events.message_payload`` plus ``is_internal`` and the staff ``author`` ({id, name} or null)."""
    author = message.author if message.author_id else None
    return {
        **events.message_payload(message),
        "is_internal": message.is_internal,
        "author": {"id": author.pk, "name": staff_name(author)} if author is not None else None,
    }


def _reload(conversation: Conversation) -> Conversation:
    return Conversation.objects.select_related("guest", "channel_account", "assignee").get(
        pk=conversation.pk, tenant_id=conversation.tenant_id
    )


def _changed(conversation: Conversation, *, action: str, user: Any) -> Conversation:
    fresh = _reload(conversation)
    events.publish_conversation(fresh)
    logger.info(
        "console_conversation_changed",
        action=action,
        conversation_id=str(fresh.pk),
        status=fresh.status,
        staff_id=user.pk,
    )
    return fresh


def _current_status(conversation: Conversation) -> tuple[str, int | None]:
    row = (
        Conversation.objects.filter(pk=conversation.pk, tenant_id=conversation.tenant_id)
        .values_list("status", "assignee_id")
        .get()
    )
    return row[0], row[1]


# --- claim / release / resolve --------------------------------------------------------------------------------------
def conversation_claim(*, conversation: Conversation, user: Any) -> Conversation:
    """Assign the conversation to ``user`` (status ``human``: the bot stays silent). Claiming one's own is a no-op;
    claiming one someone else holds raises ``held_by_other``; a closed one ``closed``."""
    with transaction.atomic():
        # One conditional UPDATE: of two staff claiming at once, the database lets exactly one match.
        updated = Conversation.objects.filter(
            pk=conversation.pk,
            tenant_id=conversation.tenant_id,
            status__in=[ConversationStatus.BOT, ConversationStatus.PENDING_HUMAN],
        ).update(status=ConversationStatus.HUMAN, assignee=user, updated_at=timezone.now())
        if updated:
            return _changed(conversation, action="claim", user=user)
        status, assignee_id = _current_status(conversation)
        if status == ConversationStatus.HUMAN and assignee_id == user.pk:  # already mine: nothing to announce
            return _reload(conversation)
        raise ConsoleActionError("closed" if status == ConversationStatus.CLOSED else "held_by_other")


def _may_override(*, conversation: Conversation, user: Any, assignee_id: int | None) -> bool:
    return assignee_id == user.pk or staff_is_hotel_admin(user=user, tenant=conversation.tenant_id)


def conversation_release(*, conversation: Conversation, user: Any) -> Conversation:
    """Hand the conversation back to the bot (status ``bot``, no assignee) and forget the question the agent was
    waiting on. Only its assignee or a hotel admin may; releasing one already with the bot is a no-op."""
    with transaction.atomic():
        status, assignee_id = _current_status(conversation)
        if status == ConversationStatus.BOT:
            return _reload(conversation)
        if status == ConversationStatus.CLOSED:
            raise ConsoleActionError("closed")
        if not _may_override(conversation=conversation, user=user, assignee_id=assignee_id):
            raise ConsoleActionError("not_allowed")
        updated = Conversation.objects.filter(
            pk=conversation.pk,
            tenant_id=conversation.tenant_id,
            status=status,
            assignee_id=assignee_id,  # unchanged since we looked: no one claimed it in between
        ).update(status=ConversationStatus.BOT, assignee=None, escalation_reason="", updated_at=timezone.now())
        if not updated:
            raise ConsoleActionError("held_by_other")
        SessionState.objects.filter(conversation_id=conversation.pk, tenant_id=conversation.tenant_id).update(
            pending={}, fallback_streak=0
        )
        return _changed(conversation, action="release", user=user)


def conversation_resolve(*, conversation: Conversation, user: Any) -> Conversation:
    """Close the conversation (the guest's next message opens a new one). Anyone may close an unassigned
    conversation; one held by someone else only that person or a hotel admin. Resolving a closed one is a no-op."""
    with transaction.atomic():
        status, assignee_id = _current_status(conversation)
        if status == ConversationStatus.CLOSED:
            return _reload(conversation)
        if assignee_id is not None and not _may_override(conversation=conversation, user=user, assignee_id=assignee_id):
            raise ConsoleActionError("not_allowed")
        now = timezone.now()
        updated = Conversation.objects.filter(
            pk=conversation.pk, tenant_id=conversation.tenant_id, status=status, assignee_id=assignee_id
        ).update(status=ConversationStatus.CLOSED, closed_at=now, updated_at=now)
        if not updated:
            raise ConsoleActionError("held_by_other")
        return _changed(conversation, action="resolve", user=user)


# --- reply / note ---------------------------------------------------------------------------------------------------
def _existing_reply(
    *, conversation: Conversation, user: Any, idempotency_key: str, text: str, internal: bool = False
) -> Message | None:
    """The message an ``Idempotency-Key`` already names (a reply, or with ``internal`` a note); 409 when the key
    named something else."""
    row = (
        IdempotencyKey.objects.for_tenant(conversation.tenant_id)
        .select_related("message__author")
        .filter(user=user, key=idempotency_key)
        .first()
    )
    if row is None:
        return None
    if row.conversation_id != conversation.pk or row.message.text != text or row.message.is_internal != internal:
        raise ConsoleActionError("idempotency_key_reused")
    return row.message


def staff_reply_send(*, conversation: Conversation, user: Any, text: str, idempotency_key: str) -> ReplyResult:
    """Send ``text`` to the guest through their channel, as ``user``. The message and its idempotency key are
    written in one transaction and the send task is queued after commit; the same key again returns the first
    message and sends nothing. Only the staff member holding the conversation may reply (``claim_first``)."""
    from channels_gateway.tasks import send_outbound
    from conversations.services import enqueue_on_commit

    existing = _existing_reply(conversation=conversation, user=user, idempotency_key=idempotency_key, text=text)
    if existing is not None:
        return ReplyResult(message=existing, created=False)
    try:
        with transaction.atomic():
            held = (
                Conversation.objects.select_for_update()
                .filter(
                    pk=conversation.pk,
                    tenant_id=conversation.tenant_id,
                    status=ConversationStatus.HUMAN,
                    assignee=user,
                )
                .first()
            )
            if held is None:
                raise ConsoleActionError("claim_first")
            message = Message.objects.create(
                tenant_id=conversation.tenant_id,
                conversation_id=conversation.pk,
                channel_account_id=held.channel_account_id,
                direction=Direction.OUTBOUND,
                sender=Sender.STAFF,
                text=text,
                status=DeliveryStatus.QUEUED,
                author=user,
            )
            IdempotencyKey.objects.create(
                tenant_id=conversation.tenant_id,
                user=user,
                key=idempotency_key,
                conversation_id=conversation.pk,
                message=message,
            )
            now = timezone.now()
            Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now, updated_at=now)
            events.publish_on_commit(
                tenant_id=conversation.tenant_id,
                event_type="message.created",
                payload=console_message_payload(message),
                conversation_id=conversation.pk,
            )
            # A broker refusing it is logged and counted: the reply is stored and the sweep sends it (no 500).
            enqueue_on_commit(send_outbound, message.pk)
    except IntegrityError:
        # The same key committed concurrently (a double click racing itself): that request's message is the answer.
        existing = _existing_reply(conversation=conversation, user=user, idempotency_key=idempotency_key, text=text)
        if existing is None:
            raise
        return ReplyResult(message=existing, created=False)
    logger.info("console_reply_queued", conversation_id=str(conversation.pk), message_id=message.pk, staff_id=user.pk)
    return ReplyResult(message=message, created=True)


def note_add(*, conversation: Conversation, user: Any, text: str) -> Message:
    """An internal note on the conversation (see ``note_add_once``), without a key."""
    return note_add_once(conversation=conversation, user=user, text=text, idempotency_key="").message


def note_add_once(*, conversation: Conversation, user: Any, text: str, idempotency_key: str) -> ReplyResult:
    """An internal note on the conversation: stored and shown to staff, never sent to the guest. With an
    ``idempotency_key`` the same key again returns the first note (a retried request adds nothing).

    Its ``note.created`` event goes to the hotel's console group only: it is stored without a conversation (the
    conversation id is in the payload), so it never reaches ``conversation.<uuid>`` — the group a guest's web chat
    listens on — nor a per-conversation replay."""
    if idempotency_key:
        existing = _existing_reply(
            conversation=conversation, user=user, idempotency_key=idempotency_key, text=text, internal=True
        )
        if existing is not None:
            return ReplyResult(message=existing, created=False)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                tenant_id=conversation.tenant_id,
                conversation_id=conversation.pk,
                channel_account_id=conversation.channel_account_id,
                direction=Direction.OUTBOUND,
                sender=Sender.STAFF,
                text=text,
                status=DeliveryStatus.INTERNAL,
                is_internal=True,
                author=user,
            )
            if idempotency_key:
                IdempotencyKey.objects.create(
                    tenant_id=conversation.tenant_id,
                    user=user,
                    key=idempotency_key,
                    conversation_id=conversation.pk,
                    message=message,
                )
            events.publish_on_commit(
                tenant_id=conversation.tenant_id,
                event_type=NOTE_CREATED,
                payload=console_message_payload(message),
                conversation_id=None,
            )
    except IntegrityError:  # the same key committed concurrently: that request's note is the answer
        existing = _existing_reply(
            conversation=conversation, user=user, idempotency_key=idempotency_key, text=text, internal=True
        )
        if existing is None:
            raise
        return ReplyResult(message=existing, created=False)
    logger.info("console_note_added", conversation_id=str(conversation.pk), message_id=message.pk, staff_id=user.pk)
    return ReplyResult(message=message, created=True)
