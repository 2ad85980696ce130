"""Sending one queued outbound message through its channel, with retries and confirmation by status."""

from __future__ import annotations

import random
from dataclasses import dataclass

import structlog
from django.conf import settings

from channels_gateway.adapters.registry import sender_for
from channels_gateway.metrics import (
    outbound_messages_total,
)
from channels_gateway.types import OutboundRequest, SendError
from conversations.services import (
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
from tenants.services import tenant_resolve

logger = structlog.get_logger(__name__)


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
