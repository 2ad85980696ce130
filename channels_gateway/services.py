"""Gateway services: turn a verified provider webhook into stored messages; send outbound messages."""

from __future__ import annotations

import hmac
import random
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import transaction

from channels_gateway.adapters import whatsapp
from channels_gateway.adapters.registry import sender_for
from channels_gateway.metrics import outbound_messages_total, webhook_duplicates_total, webhook_rejected_total
from channels_gateway.types import OutboundRequest, PayloadError, SendError, SignatureError
from conversations.services import (
    inbound_record,
    message_status_apply,
    message_status_apply_pending,
    outbound_claim,
    outbound_mark_failed,
    outbound_mark_sent,
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
    messages: int = 0
    duplicates: int = 0
    flagged: int = 0
    statuses: int = 0
    unknown_accounts: int = 0

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


def whatsapp_webhook_ingest(*, body: bytes, signature: str | None) -> IngestResult:
    """Verify, parse and store one WhatsApp notification.

    Raises ``SignatureError`` (403: nothing stored) or ``PayloadError`` (400: nothing stored). Messages for an
    unknown or inactive ``phone_number_id`` are logged and counted, never processed.
    """
    channel = whatsapp.CHANNEL
    account_ids = whatsapp.account_ids_in(body) or set()
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
    batch = whatsapp.parse_payload(body)

    result = IngestResult()
    with transaction.atomic():
        for external_id in sorted(batch.account_external_ids):
            account = accounts.get(external_id)
            messages = [m for m in batch.messages if m.account_external_id == external_id]
            statuses = [s for s in batch.statuses if s.account_external_id == external_id]
            if account is None:
                result.unknown_accounts += 1
                webhook_rejected_total.labels(channel=channel, reason="unknown_account").inc()
                logger.warning(
                    "webhook_unknown_account",
                    channel=channel,
                    external_id=external_id,
                    messages=len(messages),
                    statuses=len(statuses),
                )
                continue
            recorded = inbound_record(account=account, messages=messages)
            result.messages += len(recorded.created)
            result.flagged += recorded.flagged
            result.duplicates += recorded.duplicates
            # Statuses only move forward, so their order is free: take message rows in one order (no deadlocks).
            for update in sorted(statuses, key=lambda s: s.provider_message_id):
                message_status_apply(account=account, update=update)
                result.statuses += 1
    if result.duplicates:
        webhook_duplicates_total.labels(channel=channel).inc(result.duplicates)
    logger.info("webhook_ingested", channel=channel, **result.as_dict())
    return result


# --- outbound -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SendOutcome:
    result: str  # sent | skipped | retry | failed
    retry_in: float = 0.0


def _backoff(attempt: int) -> float:
    return min(2.0**attempt, 300.0) * (0.5 + random.random())  # noqa: S311 (jitter, not crypto)


def outbound_send(*, message_id: int) -> SendOutcome:
    """Send one queued outbound message through its channel. Idempotent: a sent or in-flight message is skipped."""
    message = outbound_claim(message_id=message_id)
    if message is None:
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
    outbound_mark_sent(message=message, provider_message_id=sent.provider_message_id)
    outbound_messages_total.labels(channel=account.channel, result="sent").inc()
    resolved = tenant_resolve(channel=account.channel, external_id=account.external_id)
    if resolved is not None:
        message_status_apply_pending(account=resolved, provider_message_id=sent.provider_message_id)
    logger.info("outbound_sent", message_id=message.pk, provider_message_id=sent.provider_message_id)
    return SendOutcome("sent")


__all__ = ["PayloadError", "SignatureError", "outbound_send", "whatsapp_webhook_ingest"]
