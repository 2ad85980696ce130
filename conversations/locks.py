"""Distributed locks with an audit trail (the seed's lock service + ``lock_audit`` table).

Redis locks (``SET NX PX`` with an owner token, released by a Lua compare-and-delete) when Redis is configured;
process-local locks on the embedded default (one process, eager Celery). The TTL frees a lock whose holder died.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from django.conf import settings

from conversations.metrics import lock_events_total
from conversations.models import LockAction, LockAudit

logger = structlog.get_logger(__name__)


class LockNotAcquired(Exception):
    pass


_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def _redis():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _audit(*, tenant_id: int, resource: str, owner: str, action: str, held_ms: int | None = None) -> None:
    lock_events_total.labels(action=action).inc()
    LockAudit.objects.create(tenant_id=tenant_id, resource=resource, owner=owner, action=action, held_ms=held_ms)


@contextmanager
def distributed_lock(
    *, tenant_id: int, resource: str, timeout: float | None = None, wait: float | None = None
) -> Iterator[str]:
    """Hold ``tenant:<id>:<resource>`` for the block. Raises ``LockNotAcquired`` after ``wait`` seconds."""
    timeout = settings.CONVERSATION_LOCK_TIMEOUT_SECONDS if timeout is None else timeout
    wait = settings.CONVERSATION_LOCK_WAIT_SECONDS if wait is None else wait
    key = f"lock:tenant:{tenant_id}:{resource}"
    owner = uuid.uuid4().hex
    started = time.monotonic()
    if settings.REDIS_URL:
        lock = _redis().lock(key, timeout=timeout, blocking_timeout=wait, thread_local=False)
        acquired = lock.acquire(token=owner)
    else:
        with _local_guard:
            lock = _local_locks.setdefault(key, threading.Lock())
        acquired = lock.acquire(timeout=wait)
    if not acquired:
        _audit(tenant_id=tenant_id, resource=resource, owner=owner, action=LockAction.CONTENDED)
        raise LockNotAcquired(key)
    acquired_at = time.monotonic()
    try:  # from here on the lock is ours: whatever fails (even the audit write) must release it
        _audit(tenant_id=tenant_id, resource=resource, owner=owner, action=LockAction.ACQUIRED)
        yield owner
    finally:
        held_ms = int((time.monotonic() - acquired_at) * 1000)
        action = LockAction.RELEASED
        if settings.REDIS_URL:
            from redis.exceptions import LockError

            try:
                lock.release()
            except LockError:  # the TTL ran out and someone else may hold it now
                action = LockAction.EXPIRED
                logger.warning("lock_expired_before_release", key=key, held_ms=held_ms)
        else:
            lock.release()
        _audit(tenant_id=tenant_id, resource=resource, owner=owner, action=action, held_ms=held_ms)
        logger.debug("lock_released", key=key, waited_ms=int((acquired_at - started) * 1000), held_ms=held_ms)
