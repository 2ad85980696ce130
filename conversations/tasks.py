from __future__ import annotations

import structlog
from celery import shared_task

from conversations.locks import LockNotAcquired
from conversations.metrics import unfinished_requeued_total
from conversations.services import inbound_process, unfinished_messages

logger = structlog.get_logger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=20, name="conversations.process_inbound")
def process_inbound(self, message_id: int) -> str:
    """Answer one inbound guest message (idempotent: a second run is a no-op)."""
    try:
        return inbound_process(message_id=message_id)
    except LockNotAcquired as exc:
        logger.info("process_inbound_lock_busy", message_id=message_id)
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 30)) from exc


@shared_task(name="conversations.sweep_unfinished")
def sweep_unfinished(older_than_minutes: float = 5.0, max_age_hours: float = 24.0, limit: int = 500) -> dict[str, int]:
    """Periodic (Celery beat): enqueue again the messages nobody is working on any more — a guest message neither
    answered nor flagged, a reply still queued with no live send lease — which a broker refusing the task after its
    commit, a worker killed mid-task or a retry budget spent can leave behind. Older than ``max_age_hours`` they
    are left to staff (the console shows them) rather than answered by the bot a day late."""
    from datetime import timedelta

    from channels_gateway.tasks import send_outbound

    inbound, outbound = unfinished_messages(
        older_than=timedelta(minutes=older_than_minutes), max_age=timedelta(hours=max_age_hours), limit=limit
    )
    for message_id in inbound:
        process_inbound.delay(message_id)
    for message_id in outbound:
        send_outbound.delay(message_id)
    if inbound or outbound:
        unfinished_requeued_total.labels(kind="inbound").inc(len(inbound))
        unfinished_requeued_total.labels(kind="outbound").inc(len(outbound))
        logger.warning("unfinished_messages_requeued", inbound=len(inbound), outbound=len(outbound))
    return {"inbound": len(inbound), "outbound": len(outbound)}
