from __future__ import annotations

import time

import structlog
from celery import shared_task
from kombu.exceptions import OperationalError as KombuOperationalError

from channels_gateway.services import (
    NotificationFailed,
    drain_linger_seconds,
    inbound_drain_started,
    inbound_notification_failed,
    inbound_notification_process,
    inbound_notification_process_next,
    outbound_send,
)

logger = structlog.get_logger(__name__)

NOTIFICATION_MAX_RETRIES = 12  # backoff capped at 10 min: about 1.5 h; then ``reprocess_inbound`` (rows are kept)


IN_FLIGHT_MAX_WAITS = 3  # lease periods a send task waits for another holder before it leaves the row to the sweep


class RetrySend(Exception):
    pass


@shared_task(bind=True, acks_late=True, max_retries=None, name="channels_gateway.send_outbound")
def send_outbound(self, message_id: int) -> str:
    """Deliver one outbound message; transient failures come back here with backoff (the attempt budget is kept
    on the message row, so redeliveries cannot exceed it)."""
    outcome = outbound_send(message_id=message_id)
    if outcome.result == "in_flight":
        # Inline (tests, ``make run``) a retry would re-run at once, against the same lease; the sweep is the backstop
        # there, and after a few lease periods here.
        if self.request.is_eager or self.request.retries >= IN_FLIGHT_MAX_WAITS:
            logger.info("outbound_in_flight_elsewhere", message_id=message_id, waits=self.request.retries)
            return "skipped"
        raise self.retry(exc=RetrySend(f"message {message_id} leased"), countdown=outcome.retry_in)
    if outcome.result == "awaiting_status":
        # Bounded by time (conversations.services.CONFIRMATION_MAX_WAIT), not by count; inline there is no later.
        if self.request.is_eager:
            return "skipped"
        raise self.retry(exc=RetrySend(f"message {message_id} awaiting its status"), countdown=outcome.retry_in)
    if outcome.result == "retry":
        # An unconfirmed send keeps its lease, so inline (no broker: no countdown, no sweep) the re-run finds it in
        # flight and stops; the message waits for its status or for a worker's sweep. Only a real provider times out.
        raise self.retry(exc=RetrySend(f"message {message_id}"), countdown=outcome.retry_in)
    return outcome.result


@shared_task(
    bind=True, acks_late=True, max_retries=NOTIFICATION_MAX_RETRIES, name="channels_gateway.process_notifications"
)
def process_inbound_notifications(self, notification_ids: list[int]) -> int:
    """Turn stored webhook notifications into guests, conversations, messages and statuses (idempotent: a processed
    notification is skipped, a message already stored is not stored again). A failure is recorded on the row and
    the task retried with backoff; the row stays unprocessed, visible and reprocessable until it succeeds."""
    processed = 0
    failed: list[int] = []
    last_error: BaseException | None = None
    for notification_id in notification_ids:
        try:
            if inbound_notification_process(notification_id=notification_id) is not None:
                processed += 1
        except Exception as exc:
            if self.request.is_eager:  # inline (tests, ``make run``): fail loudly rather than retry in a loop
                raise
            logger.exception("inbound_notification_failed", notification_id=notification_id)
            inbound_notification_failed(notification_id=notification_id, error=exc)
            failed.append(notification_id)
            last_error = exc
    if failed:
        countdown = min(5 * 2**self.request.retries, 600)
        raise self.retry(args=(failed,), exc=last_error, countdown=countdown)
    return processed


DRAIN_BATCH = 50  # notifications one drain handles before it hands over to a fresh task (queued agent work gets a turn)
FAILED_RETRY_COUNTDOWN = 5.0  # seconds before a notification that failed in a drain is tried again, by its own task


@shared_task(bind=True, acks_late=True, name="channels_gateway.drain_notifications")
def drain_inbound_notifications(self, limit: int = DRAIN_BATCH) -> int:
    """Process stored webhook notifications, oldest first, until none is left (the webhook wakes one drain per
    burst instead of publishing a task per request). Several drains may run at once: each claims rows with
    ``SKIP LOCKED``. A notification that fails keeps its error on the row and is retried with backoff by
    ``process_inbound_notifications``; the drain goes on with the next one."""
    inbound_drain_started()
    linger = drain_linger_seconds()
    processed = 0
    tried: list[int] = []
    while processed < limit:
        try:
            claimed = inbound_notification_process_next(skip=tried)
        except NotificationFailed as failure:
            if self.request.is_eager:  # inline (tests, ``make run``): fail loudly, as the per-notification task does
                raise failure.__cause__ from None
            _hand_to_retry(failure)
            tried.append(failure.notification_id)
            continue
        if claimed is None:
            if linger <= 0:
                return processed
            time.sleep(linger)  # one last look later: rows whose wake was coalesced away (services)
            linger = 0.0
            continue
        tried.append(claimed[0])
        processed += 1
    drain_inbound_notifications.delay(limit)  # more may be waiting: a new task, behind what else is queued
    return processed


def _hand_to_retry(failure: NotificationFailed) -> None:
    error = failure.__cause__ or failure
    notification_id = failure.notification_id
    logger.error("inbound_notification_failed", notification_id=notification_id, exc_info=error)
    inbound_notification_failed(notification_id=notification_id, error=error)
    try:
        process_inbound_notifications.apply_async(([notification_id],), countdown=FAILED_RETRY_COUNTDOWN)
    except KombuOperationalError:  # the row stays unprocessed with its error: the beat sweep re-enqueues it
        logger.exception("inbound_notification_retry_enqueue_failed", notification_id=notification_id)


@shared_task(name="channels_gateway.reprocess_stuck_notifications")
def reprocess_stuck_notifications(older_than_minutes: float = 5.0) -> int:
    """Periodic (Celery beat): re-enqueue stored notifications still unprocessed after a while — what a broker
    outage left behind. Processing is idempotent, so a notification that was merely slow is a no-op."""
    from datetime import timedelta

    from channels_gateway.services import inbound_notifications_orphans_settle, inbound_notifications_stuck

    inbound_notifications_orphans_settle()
    ids = inbound_notifications_stuck(older_than=timedelta(minutes=older_than_minutes), sweep=True)
    if ids:
        process_inbound_notifications.delay(ids)
    return len(ids)
