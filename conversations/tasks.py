from __future__ import annotations

import structlog
from celery import shared_task

from conversations.locks import LockNotAcquired
from conversations.services import inbound_process

logger = structlog.get_logger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=20, name="conversations.process_inbound")
def process_inbound(self, message_id: int) -> str:
    """Answer one inbound guest message (idempotent: a second run is a no-op)."""
    try:
        return inbound_process(message_id=message_id)
    except LockNotAcquired as exc:
        logger.info("process_inbound_lock_busy", message_id=message_id)
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 30)) from exc
