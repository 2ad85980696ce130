"""Gateway services: turn a verified provider webhook into stored messages; send outbound messages."""

from __future__ import annotations

import functools
import hmac
import json
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django import db
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from channels_gateway.adapters import whatsapp
from channels_gateway.adapters.registry import sender_for
from channels_gateway.group_insert import GroupInsert
from channels_gateway.metrics import (
    inbound_insert_rows_total,
    inbound_insert_statements_total,
    inbound_notifications_exhausted_total,
    outbound_messages_total,
    webhook_duplicates_total,
    webhook_rejected_total,
)
from channels_gateway.types import OutboundRequest, PayloadError, SendError, SignatureError
from conversations.models import InboundNotification
from conversations.services import (
    inbound_record,
    message_status_apply,
    message_status_apply_pending,
    outbound_claim,
    outbound_confirmation_pending,
    outbound_lease_remaining,
    outbound_mark_failed,
    outbound_mark_sent,
    outbound_provider_id,
    outbound_release,
)
from tenants.flags import flag_enabled
from tenants.models import ChannelAccount
from tenants.services import ResolvedAccount, tenant_resolve

logger = structlog.get_logger(__name__)

# A notification names the numbers of one app's business accounts: a handful. Far more is not Meta.
MAX_ACCOUNTS_PER_NOTIFICATION = 100


@dataclass
class IngestResult:
    """What processing one stored notification did."""

    messages: int = 0
    duplicates: int = 0
    flagged: int = 0
    statuses: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def whatsapp_verify_token_matches(token: str | None) -> bool:
    """Whether ``token`` is the global verify token or the ``verify_token`` credential of an active WhatsApp account
    (a hotel with its own Meta app subscribes its own callback; the challenge does not say which number it is for)."""
    if not token:
        return False
    candidates = [settings.WHATSAPP_VERIFY_TOKEN] if settings.WHATSAPP_VERIFY_TOKEN else []
    accounts = ChannelAccount.objects.filter(channel=whatsapp.CHANNEL, is_active=True, tenant__is_active=True)
    candidates += [account.credential("verify_token") for account in accounts.only("credentials")]
    matches = [hmac.compare_digest(token.encode(), c.encode()) for c in candidates if c]  # all compared: no early exit
    return any(matches)


@dataclass
class AcceptResult:
    """What the webhook request did: notification rows stored (one per known account), the messages and statuses
    they carry, and the unknown accounts skipped. Duplicates and flood flags are decided later, by the task."""

    notifications: int = 0
    messages: int = 0
    statuses: int = 0
    unknown_accounts: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _body_text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:  # JSON may also come as UTF-16/32: keep the same document as UTF-8 text
        return json.dumps(whatsapp.load_json(body), ensure_ascii=False)


def whatsapp_webhook_ingest(*, body: bytes, signature: str | None) -> AcceptResult:
    """Verify, parse and durably store one WhatsApp notification; its processing is enqueued once that commits.

    The request does only what must happen before the 200: the signature over the raw body (``SignatureError``,
    403), the full shape check (``PayloadError``, 400; nothing stored either way), the account resolution (cached)
    and one INSERT of an ``InboundNotification`` per known account. Messages for an unknown or inactive
    ``phone_number_id`` are logged and counted, never stored or processed. Everything else — duplicates, guests,
    conversations, flood flags, statuses, events — is the drain's job (``drain_inbound_notifications``).
    """
    channel = whatsapp.CHANNEL
    not_json: PayloadError | None = None  # answered 400 once the signature is known to be good (403 first)
    try:
        document = whatsapp.load_json(body)
    except PayloadError as exc:
        document, not_json = None, exc
    account_ids = whatsapp.account_ids_of(document) if document is not None else set()
    if len(account_ids) > MAX_ACCOUNTS_PER_NOTIFICATION:
        # Resolving an account is a query, and it happens before the signature can be checked.
        raise PayloadError(f"more than {MAX_ACCOUNTS_PER_NOTIFICATION} phone_number_ids in one notification")
    accounts: dict[str, ResolvedAccount | None] = {
        external_id: tenant_resolve(channel=channel, external_id=external_id) for external_id in account_ids
    }
    # Every known account's secret must validate the signature (its own app secret, else the global one). Unknown
    # accounts ask for none: nothing is stored for them, and a hotel's own app must not be refused forever because
    # its batch also names a number we do not serve.
    secrets = {
        account.credential("app_secret") or settings.WHATSAPP_APP_SECRET for account in accounts.values() if account
    } or {settings.WHATSAPP_APP_SECRET}
    whatsapp.verify_signature(body, signature, secrets)
    if not_json is not None:
        raise not_json
    batch = whatsapp.parse_document(document)
    # Dropping is final (Meta does not redeliver a 200), so a cached "unknown" is checked against the database before
    # it drops anything: it may be stale (an account activated while another request was caching its absence). Only
    # signed notifications get here, so this costs nothing to someone probing with made-up numbers.
    rechecked = {
        external_id: tenant_resolve(channel=channel, external_id=external_id, fresh=True)
        for external_id in batch.account_external_ids
        if accounts.get(external_id) is None
    }
    if any(rechecked.values()):
        accounts.update(rechecked)
        found = {a.credential("app_secret") or settings.WHATSAPP_APP_SECRET for a in rechecked.values() if a}
        if found - secrets:
            whatsapp.verify_signature(body, signature, found - secrets)  # their own secrets must validate it too

    result = AcceptResult()
    known: list[ResolvedAccount] = []
    for external_id in sorted(batch.account_external_ids):
        account = accounts.get(external_id)
        messages = sum(1 for m in batch.messages if m.account_external_id == external_id)
        statuses = sum(1 for s in batch.statuses if s.account_external_id == external_id)
        if account is None:
            result.unknown_accounts += 1
            webhook_rejected_total.labels(channel=channel, reason="unknown_account").inc()
            logger.warning(
                "webhook_unknown_account",
                channel=channel,
                external_id=external_id,
                messages=messages,
                statuses=statuses,
            )
            continue
        known.append(account)
        result.messages += messages
        result.statuses += statuses
    if known:
        text = _body_text(body)
        rows = [
            InboundNotification(tenant_id=a.tenant_id, channel_account_id=a.account_id, channel=channel, body=text)
            for a in known
        ]
        _notifications_insert(rows)
        # Outside a transaction this runs at once (the INSERT is already committed); inside one, after its commit.
        transaction.on_commit(inbound_drain_wake)
        result.notifications = len(rows)
    logger.info("webhook_accepted", channel=channel, **result.as_dict())
    return result


def _notifications_insert(rows: list[InboundNotification]) -> list[int]:
    """The request's only write: the notification rows, by one multi-row INSERT … RETURNING id.

    In autocommit (no transaction open: the web tier) the statement is its own commit, with no BEGIN/COMMIT round
    trips, and concurrent requests of one process share it (``GroupInsert``: one round trip and one WAL flush for
    every row queued while the previous statement was in flight). Inside a transaction it runs at once on it."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [(row.tenant_id, row.channel_account_id, row.channel, row.body, now, 0, "") for row in rows]
    if connection.in_atomic_block:
        return _insert_rows(params)
    if not settings.INBOUND_GROUP_COMMIT:
        return _insert_rows_autocommit(params)
    return _GROUP_INSERT.insert(params, size=sum(len(row.body) for row in rows))


_NOTIFICATION_COLUMNS = ("tenant", "channel_account", "channel", "body", "received_at", "attempts", "last_error")


@functools.lru_cache(maxsize=64)
def _insert_sql(vendor: str, rows: int) -> str:
    """Raw SQL because it is the hottest statement of the app (the ORM's compilation costs more than the round trip);
    the columns come from the model, so a rename still fails loudly in the tests."""
    meta = InboundNotification._meta
    ops = connection.ops
    table, pk = ops.quote_name(meta.db_table), ops.quote_name(meta.pk.column)
    columns = ", ".join(ops.quote_name(meta.get_field(name).column) for name in _NOTIFICATION_COLUMNS)
    values = ", ".join(["(" + ", ".join(["%s"] * len(_NOTIFICATION_COLUMNS)) + ")"] * rows)
    return f"INSERT INTO {table} ({columns}) VALUES {values} RETURNING {pk}"  # noqa: S608 (quoted model names; values are parameters)


def _insert_rows(rows: list[tuple]) -> list[int]:
    sql = _insert_sql(connection.vendor, len(rows))
    return _execute_returning_ids(sql, [value for row in rows for value in row])


def _execute_returning_ids(sql: str, params: list[object]) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for (pk,) in cursor.fetchall()]


def _insert_rows_autocommit(rows: list[tuple]) -> list[int]:
    """Skip the per-request health-check round trip (``CONN_HEALTH_CHECKS``) and retry once on a fresh connection
    instead. A connection that died mid-statement may have committed the rows all the same; the copy is harmless,
    since processing stores each provider message id once per account."""
    connection.health_check_done = True
    try:
        ids = _insert_rows(rows)
    except (db.InterfaceError, db.OperationalError) as exc:
        logger.warning("inbound_notification_insert_retry", error=repr(exc))
        connection.close()
        ids = _insert_rows(rows)
    inbound_insert_statements_total.inc()
    inbound_insert_rows_total.inc(len(ids))
    return ids


_GROUP_INSERT = GroupInsert(_insert_rows_autocommit, fatal=(db.InterfaceError, db.OperationalError))


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
    account = notification.channel_account
    tenant = notification.tenant
    return ResolvedAccount(
        account_id=account.pk,
        tenant_id=tenant.pk,
        tenant_slug=tenant.slug,
        channel=account.channel,
        external_id=account.external_id,
        tenant_timezone=tenant.timezone,
        tenant_language=tenant.default_language,
    )


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


# --- outbound -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SendOutcome:
    result: str  # sent | skipped | retry | in_flight | awaiting_status | failed
    retry_in: float = 0.0


def _backoff(attempt: int) -> float:
    return min(2.0**attempt, 300.0) * (0.5 + random.random())  # noqa: S311 (jitter, not crypto)


def outbound_send(*, message_id: int) -> SendOutcome:
    """Send one queued outbound message through its channel. Idempotent: a sent or in-flight message is skipped."""
    wait = outbound_confirmation_pending(message_id=message_id)
    if wait is not None:
        logger.info("outbound_resend_waits_for_statuses", message_id=message_id, retry_in=wait)
        return SendOutcome("awaiting_status", retry_in=wait)
    message = outbound_claim(message_id=message_id)
    if message is None:
        # Still queued but leased: another run is sending it, or a worker died holding it and this is the task
        # coming back (reject on worker lost). Come back when the lease runs out rather than drop the only task.
        remaining = outbound_lease_remaining(message_id=message_id)
        if remaining is not None:
            return SendOutcome("in_flight", retry_in=remaining + 1.0)
        return SendOutcome("skipped")
    account = message.channel_account
    credentials = {k: v for k, v in (account.credentials or {}).items() if isinstance(v, str) and v}
    options: tuple[tuple[str, str], ...] = ()
    raw_options = (message.attachment or {}).get("options", []) if isinstance(message.attachment, dict) else []
    if raw_options and flag_enabled("features.interactive_messages", tenant=message.tenant_id):
        options = tuple((str(o.get("id", "")), str(o.get("title", ""))) for o in raw_options if isinstance(o, dict))
    request = OutboundRequest(
        message_id=message.pk,
        account_external_id=account.external_id,
        to=message.conversation.guest.address,
        text=message.text,
        credentials=credentials,
        options=options,
    )
    sender = sender_for(account.channel, credentials)
    try:
        sent = sender.send(request)
    except SendError as exc:
        log = logger.bind(message_id=message.pk, code=exc.code, attempt=message.send_attempts)
        if exc.transient and exc.ambiguous and message.send_attempts < settings.WHATSAPP_SEND_MAX_RETRIES:
            # Meta may have accepted it. Keep the lease: nobody resends until it runs out, and a status carrying
            # the message's callback data that arrives meanwhile marks it sent (conversations.services), which
            # turns the retry into a no-op instead of a second copy on the guest's phone.
            outbound_messages_total.labels(channel=account.channel, result="unconfirmed").inc()
            delay = max(_backoff(message.send_attempts), (outbound_lease_remaining(message_id=message.pk) or 0) + 1)
            log.warning("outbound_send_unconfirmed", error=str(exc), retry_in=round(delay, 1))
            return SendOutcome("retry", retry_in=delay)
        if exc.transient and message.send_attempts < settings.WHATSAPP_SEND_MAX_RETRIES:
            outbound_release(message=message)
            outbound_messages_total.labels(channel=account.channel, result="retry").inc()
            delay = _backoff(message.send_attempts)
            log.warning("outbound_send_retry", error=str(exc), retry_in=round(delay, 1))
            return SendOutcome("retry", retry_in=delay)
        outbound_mark_failed(message=message, code=exc.code, detail=str(exc))
        outbound_messages_total.labels(channel=account.channel, result="failed").inc()
        log.error("outbound_send_failed", error=str(exc), transient=exc.transient)
        return SendOutcome("failed")
    if not outbound_mark_sent(message=message, provider_message_id=sent.provider_message_id) and (
        outbound_provider_id(message_id=message.pk) != sent.provider_message_id
    ):
        # Confirmed meanwhile by a status of an earlier, unconfirmed attempt: the guest has two copies. (A status of
        # this very send may also have confirmed it first: same id, one copy.)
        outbound_messages_total.labels(channel=account.channel, result="duplicate").inc()
        logger.warning("outbound_sent_twice", message_id=message.pk, provider_message_id=sent.provider_message_id)
        return SendOutcome("sent")
    outbound_messages_total.labels(channel=account.channel, result="sent").inc()
    resolved = tenant_resolve(channel=account.channel, external_id=account.external_id)
    if resolved is not None:
        message_status_apply_pending(account=resolved, provider_message_id=sent.provider_message_id)
    logger.info("outbound_sent", message_id=message.pk, provider_message_id=sent.provider_message_id)
    return SendOutcome("sent")


__all__ = [
    "PayloadError",
    "SignatureError",
    "inbound_notification_process",
    "outbound_send",
    "whatsapp_webhook_ingest",
]
