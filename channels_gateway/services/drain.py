"""The stored notifications are the queue: waking a drain, and processing one notification (worker side)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from channels_gateway.adapters import whatsapp
from channels_gateway.metrics import (
    inbound_notifications_exhausted_total,
    webhook_duplicates_total,
    webhook_rejected_total,
)
from conversations.models import InboundNotification
from conversations.services import (
    inbound_record,
    message_status_apply,
)
from tenants.models import ChannelAccount
from tenants.services import ResolvedAccount

logger = structlog.get_logger(__name__)


@dataclass
class IngestResult:
    """What processing one stored notification did."""

    messages: int = 0
    duplicates: int = 0
    flagged: int = 0
    statuses: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


# --- waking the drain --------------------------------------------------------------------------------------------
# The stored rows are the queue. A request does not publish a Celery task per notification (kombu's publish costs
# more than the INSERT): it sets a short-lived "drain wanted" key, and only the request that set it publishes one
# ``drain_inbound_notifications``. A drain deletes the key *before* it looks for rows, so a row committed after
# that look has its request set the key again and wake another drain; a row committed before it is found. The key
# expires on its own (a lost drain message delays rows by at most ``INBOUND_DRAIN_WAKE_SECONDS``), and the beat sweep
# re-enqueues whatever is still unprocessed after minutes.
#
# Coalescing (``INBOUND_WAKE_COALESCE_SECONDS`` = C, off when Celery runs inline): a process that saw the key in
# place at time t skips the Redis call for rows it commits before t + C, and every drain, once it finds nothing,
# waits ``drain_linger_seconds()`` (> C) and looks once more before it ends. The key seen at t belongs to a drain that
# gives it back at some t' ≥ t; that drain's last look comes after t' + linger > t + C, so it finds those rows.
_DRAIN_WAKE_KEY = "gateway:inbound:drain-wanted:v1"
_wake_seen_at = float("-inf")  # this process's last moment the key was known to be in place


def _coalesce_seconds() -> float:
    from hotel_agent.celery import app

    return 0.0 if app.conf.task_always_eager else max(0.0, settings.INBOUND_WAKE_COALESCE_SECONDS)


def drain_linger_seconds() -> float:
    """How long a drain that found nothing waits before its last look (0: it ends at once)."""
    return 2 * _coalesce_seconds()


def inbound_drain_wake() -> None:
    """Make sure a drain will run after this point (called once a notification row is committed)."""
    from channels_gateway.tasks import drain_inbound_notifications

    global _wake_seen_at
    checked_at = time.monotonic()
    if checked_at - _wake_seen_at < _coalesce_seconds():
        return  # the key was in place moments ago: its drain's last look is still to come
    try:
        added = cache.add(_DRAIN_WAKE_KEY, 1, settings.INBOUND_DRAIN_WAKE_SECONDS)
    except Exception:  # cache down: publish anyway (a spare drain is a no-op)
        logger.exception("inbound_drain_wake_cache_failed")
        added = True
    else:
        _wake_seen_at = checked_at
    if not added:
        return  # a drain is queued and has not started looking yet: it will see the row
    try:
        drain_inbound_notifications.delay()
    except KombuOperationalError:
        # The row is committed: a broker outage loses nothing (the beat sweep and ``reprocess_inbound`` pick it up),
        # so it must not turn Meta's 200 into a 500 and a redelivery storm. The next request tries again.
        logger.exception("inbound_drain_enqueue_failed")
        _wake_seen_at = float("-inf")
        inbound_drain_started()


def inbound_drain_started() -> None:
    """Called by a drain before it looks for rows: whatever is committed from now on wakes another drain."""
    try:
        cache.delete(_DRAIN_WAKE_KEY)
    except Exception:
        logger.exception("inbound_drain_wake_cache_failed")


# --- processing a stored notification (worker side) -------------------------------------------------------------
def _resolved_from_row(notification: InboundNotification) -> ResolvedAccount:
    """The account as it was when the notification was accepted (a later deactivation does not drop accepted
    messages)."""
    return ResolvedAccount.of(notification.channel_account, notification.tenant)


def inbound_notification_process(*, notification_id: int) -> IngestResult | None:
    """Record the messages and apply the statuses of one stored notification, for its own account only, in one
    transaction that also marks it processed. Idempotent: a processed row is skipped, and the row lock plus the
    per-account unique provider message id keep concurrent or repeated runs to one Message and one reply."""
    with transaction.atomic():
        notification = _pending_notifications().filter(pk=notification_id).first()
        if notification is None:
            return None
        result = _notification_record(notification)
    _notification_done(notification, result)
    return result


def inbound_notification_process_next(*, skip: Iterable[int] = ()) -> tuple[int, IngestResult] | None:
    """Claim the oldest notification nobody has tried yet and process it (one transaction, as above); ``None`` when
    there is none. Rows another worker holds are skipped (``SKIP LOCKED``), so drains run side by side; rows that
    failed once belong to their retry task, and ``skip`` leaves out the ones this caller already tried."""
    with transaction.atomic():
        notification = (
            _pending_notifications(skip_locked=True)
            .filter(attempts=0)
            .exclude(pk__in=list(skip))
            .order_by("received_at", "pk")
            .first()
        )
        if notification is None:
            return None
        try:
            result = _notification_record(notification)
        except Exception as exc:  # rolled back; the caller records it on the row
            raise NotificationFailed(notification.pk) from exc
    _notification_done(notification, result)
    return notification.pk, result


class NotificationFailed(Exception):
    """Processing notification ``notification_id`` raised ``__cause__`` (its transaction was rolled back)."""

    def __init__(self, notification_id: int) -> None:
        super().__init__(f"notification {notification_id} failed")
        self.notification_id = notification_id


def _pending_notifications(*, skip_locked: bool = False):
    return (
        InboundNotification.objects.select_for_update(of=("self",), skip_locked=skip_locked)
        .select_related("channel_account", "tenant")
        .filter(processed_at__isnull=True)
    )


def _notification_record(notification: InboundNotification) -> IngestResult:
    """The work on one locked, unprocessed notification, inside the caller's transaction."""
    account = _resolved_from_row(notification)
    batch = whatsapp.parse_payload(notification.body.encode("utf-8"))
    messages = [m for m in batch.messages if m.account_external_id == account.external_id]
    statuses = [s for s in batch.statuses if s.account_external_id == account.external_id]
    result = IngestResult()
    recorded = inbound_record(account=account, messages=messages)
    result.messages = len(recorded.created)
    result.flagged = recorded.flagged
    result.duplicates = recorded.duplicates
    # Statuses only move forward, so their order is free: take message rows in one order (no deadlocks).
    for update in sorted(statuses, key=lambda s: s.provider_message_id):
        message_status_apply(account=account, update=update)
        result.statuses += 1
    InboundNotification.objects.filter(pk=notification.pk).update(
        processed_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
    )
    return result


def _notification_done(notification: InboundNotification, result: IngestResult) -> None:
    if result.duplicates:
        webhook_duplicates_total.labels(channel=notification.channel).inc(result.duplicates)
    logger.info("inbound_notification_processed", notification_id=notification.pk, **result.as_dict())


def inbound_notification_failed(*, notification_id: int, error: BaseException) -> None:
    """Keep the failure visible on the row (admin, ``reprocess_inbound``); the task retries it."""
    rows = InboundNotification.objects.filter(pk=notification_id, processed_at__isnull=True)
    rows.update(
        attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:500], failed_at=timezone.now()
    )
    if rows.filter(attempts=settings.INBOUND_NOTIFICATION_MAX_ATTEMPTS).exists():
        inbound_notifications_exhausted_total.inc()
        logger.error("inbound_notification_exhausted", notification_id=notification_id, error=repr(error))


def inbound_notifications_purge(*, older_than: timedelta) -> int:
    """Delete notifications processed more than ``older_than`` ago (their messages live on as ``Message`` rows)."""
    cutoff = timezone.now() - older_than
    deleted, _ = InboundNotification.objects.filter(processed_at__lt=cutoff).delete()
    return deleted


# A row that failed this recently is still in its own retry chain (backoff capped at 10 min): the sweep leaves it.
RETRY_CHAIN_GAP = timedelta(minutes=15)


def inbound_notifications_orphans_settle() -> int:
    """Close the unprocessed notifications whose channel account (or hotel) no longer exists: the table has no FK
    constraints (see ``InboundNotification``), so an account deleted between the request's resolution and its INSERT
    leaves such a row. The drain never claims it (it joins the account), and it must not be swept forever: it is
    marked processed with the reason, logged and counted as ``unknown_account``, as the request would have done a
    moment later. Returns how many were closed."""
    accounts = ChannelAccount.objects.filter(pk=OuterRef("channel_account_id"), tenant_id=OuterRef("tenant_id"))
    orphans = InboundNotification.objects.filter(processed_at__isnull=True).filter(~Exists(accounts))
    closed = 0
    for notification_id, channel in orphans.values_list("pk", "channel"):
        updated = InboundNotification.objects.filter(pk=notification_id, processed_at__isnull=True).update(
            processed_at=timezone.now(), last_error="channel account deleted before processing: not processed"
        )
        if updated:  # another sweep may have closed it meanwhile: counted once
            closed += updated
            webhook_rejected_total.labels(channel=channel, reason="unknown_account").inc()
            logger.warning("inbound_notification_orphaned", notification_id=notification_id, channel=channel)
    return closed


def inbound_notifications_stuck(*, older_than: timedelta, sweep: bool = False) -> list[int]:
    """Unprocessed notifications received more than ``older_than`` ago, oldest first. For the beat ``sweep``, only
    the ones nobody is retrying: not failed within ``RETRY_CHAIN_GAP``, and not failed
    ``INBOUND_NOTIFICATION_MAX_ATTEMPTS`` times already (those wait for an operator: admin, ``reprocess_inbound``)."""
    now = timezone.now()
    rows = InboundNotification.objects.filter(processed_at__isnull=True, received_at__lt=now - older_than)
    if sweep:
        rows = rows.filter(attempts__lt=settings.INBOUND_NOTIFICATION_MAX_ATTEMPTS).filter(
            Q(failed_at__isnull=True) | Q(failed_at__lt=now - RETRY_CHAIN_GAP)
        )
    return list(rows.order_by("received_at", "pk").values_list("pk", flat=True))
