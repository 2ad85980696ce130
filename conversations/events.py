"""Realtime events: stored (for replay), then broadcast to the tenant's console group and the conversation's
group once the transaction commits.

Groups: ``tenant.<tenant_id>.console`` (every staff console of the hotel) and ``conversation.<uuid>`` (a console
or guest web chat looking at one conversation). An event is ``{"id", "type", "conversation", "payload", "at"}``;
``id`` grows per deployment, so a client that reconnects asks for ``after=<last id>`` and gets exactly the ones it
missed (``events_since``).
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import structlog
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from conversations.models import ConversationEvent

logger = structlog.get_logger(__name__)

REPLAY_LIMIT = 500


def tenant_group(tenant_id: int) -> str:
    return f"tenant.{tenant_id}.console"


def conversation_group(conversation_id: Any) -> str:
    return f"conversation.{conversation_id}"


def event_envelope(event: ConversationEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "type": event.type,
        "conversation": str(event.conversation_id) if event.conversation_id else None,
        "payload": event.payload,
        "at": event.created_at.isoformat(),
    }


class _Broadcaster:
    """Sends events to a cross-process channel layer (Redis) from one long-lived event loop in a daemon thread.

    ``async_to_sync(group_send)`` from a sync request spins up a new event loop — and with channels_redis a new
    Redis connection — per call, which cost more than the rest of the webhook. Here the sync caller only enqueues;
    one coroutine sends in order over a connection that stays open. Events are already stored, so anything lost
    with a dying process is replayed by reconnecting clients. The in-memory layer (one process, ``make run``) keeps
    ``async_to_sync``: its queues belong to the server's own loop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._drainer: asyncio.Task | None = None

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            self._queue = asyncio.Queue()
            self._drainer = loop.create_task(self._drain())
            ready.set()
            loop.run_forever()

        threading.Thread(target=run, name="event-broadcaster", daemon=True).start()
        ready.wait(5)
        self._loop, self._pid = loop, os.getpid()

    async def _drain(self) -> None:
        assert self._queue is not None
        while True:
            groups, message = await self._queue.get()
            layer = get_channel_layer()
            for group in groups:
                try:
                    await layer.group_send(group, message)
                except Exception:  # clients catch up by replay
                    logger.exception("event_broadcast_failed", group=group, event_id=message["event"]["id"])

    def submit(self, groups: list[str], message: dict[str, Any]) -> None:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():  # first use, or a forked worker
                self._start()
        assert self._loop is not None and self._queue is not None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (groups, message))


_broadcaster = _Broadcaster()


def _broadcast(envelope: dict[str, Any], tenant_id: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "event.forward", "event": envelope}
    groups = [tenant_group(tenant_id)]
    if envelope["conversation"]:
        groups.append(conversation_group(envelope["conversation"]))
    try:
        if isinstance(layer, InMemoryChannelLayer):
            for group in groups:
                async_to_sync(layer.group_send)(group, message)
        else:
            _broadcaster.submit(groups, message)
    except Exception:  # a dead channel layer must never break the write path; clients catch up by replay
        logger.exception("event_broadcast_failed", event_id=envelope["id"], type=envelope["type"])


def publish_on_commit(
    *, tenant_id: int, event_type: str, payload: dict[str, Any], conversation_id: Any = None
) -> ConversationEvent:
    """Store the event in the current transaction and broadcast it after commit (never before)."""
    event = ConversationEvent.objects.create(
        tenant_id=tenant_id, conversation_id=conversation_id, type=event_type, payload=payload
    )
    envelope = event_envelope(event)
    transaction.on_commit(lambda: _broadcast(envelope, tenant_id))
    return event


def events_since(*, tenant_id: int, after: int, conversation_id: Any = None) -> list[dict[str, Any]]:
    """Events of the tenant (optionally one conversation) with id > ``after``, oldest first."""
    query = ConversationEvent.objects.for_tenant(tenant_id).filter(pk__gt=after)
    if conversation_id is not None:
        query = query.filter(conversation_id=conversation_id)
    return [event_envelope(e) for e in query.order_by("pk")[:REPLAY_LIMIT]]


def message_payload(message: Any) -> dict[str, Any]:
    return {
        "id": message.pk,
        "conversation": str(message.conversation_id),
        "direction": message.direction,
        "sender": message.sender,
        "kind": message.kind,
        "text": message.text,
        "status": message.status,
        "error_code": message.error_code,
        "flagged": message.flagged,
        "options": [o.get("title", "") for o in (message.attachment or {}).get("options", [])]
        if isinstance(message.attachment, dict)
        else [],
        "nlu": message.nlu or {},
        "created_at": message.created_at.isoformat() if message.created_at else None,
    }


def conversation_payload(conversation: Any) -> dict[str, Any]:
    return {
        "id": str(conversation.pk),
        "status": conversation.status,
        "escalation_reason": conversation.escalation_reason,
        "assignee": conversation.assignee_id,
        "language": conversation.language,
        "guest": {
            "id": conversation.guest_id,
            "name": conversation.guest.display_name,
            "address": conversation.guest.address,
        },
        "channel": conversation.channel_account.channel,
        "last_message_at": conversation.last_message_at.isoformat() if conversation.last_message_at else None,
    }


def publish_message(message: Any, event_type: str = "message.created") -> None:
    publish_on_commit(
        tenant_id=message.tenant_id,
        event_type=event_type,
        payload=message_payload(message),
        conversation_id=message.conversation_id,
    )


def publish_conversation(conversation: Any) -> None:
    publish_on_commit(
        tenant_id=conversation.tenant_id,
        event_type="conversation.updated",
        payload=conversation_payload(conversation),
        conversation_id=conversation.pk,
    )
