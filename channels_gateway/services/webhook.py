"""The WhatsApp webhook request: verify, shape-check and durably store a notification before the 200."""

from __future__ import annotations

import functools
import hmac
import json
from dataclasses import dataclass

import structlog
from django import db
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from channels_gateway.adapters import whatsapp
from channels_gateway.group_insert import GroupInsert
from channels_gateway.metrics import (
    inbound_insert_rows_total,
    inbound_insert_statements_total,
    webhook_rejected_total,
)
from channels_gateway.services.drain import inbound_drain_wake
from channels_gateway.types import PayloadError
from conversations.models import InboundNotification
from tenants.models import ChannelAccount
from tenants.services import ResolvedAccount, tenant_resolve

logger = structlog.get_logger(__name__)


# A notification names the numbers of one app's business accounts: a handful. Far more is not Meta.
MAX_ACCOUNTS_PER_NOTIFICATION = 100


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
        _notifications_insert([(a.tenant_id, a.account_id) for a in known], channel=channel, body=_body_text(body))
        # Outside a transaction this runs at once (the INSERT is already committed); inside one, after its commit.
        transaction.on_commit(inbound_drain_wake)
        result.notifications = len(known)
    logger.info("webhook_accepted", channel=channel, **result.as_dict())
    return result


def _notifications_insert(accounts: list[tuple[int, int]], *, channel: str, body: str) -> list[int]:
    """The request's only write: one notification row per (tenant id, account id), by one multi-row INSERT …
    RETURNING id (plain tuples: a model instance per row would cost more than building the statement).

    In autocommit (no transaction open: the web tier) the statement is its own commit, with no BEGIN/COMMIT round
    trips, and concurrent requests of one process share it (``GroupInsert``: one round trip and one WAL flush for
    every row queued while the previous statement was in flight). Inside a transaction it runs at once on it."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [(tenant_id, account_id, channel, body, now, 0, "") for tenant_id, account_id in accounts]
    if connection.in_atomic_block:
        return _insert_rows(params)
    if not settings.INBOUND_GROUP_COMMIT:
        return _insert_rows_autocommit(params)
    return _GROUP_INSERT.insert(params, size=len(body) * len(params))


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
