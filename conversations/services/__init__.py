"""Conversation writes: recording inbound messages, applying delivery statuses, answering a guest message.

``inbound``: guest, conversation and Message rows for what a guest sent (with the flood flag). ``statuses``: delivery
statuses, forward only. ``processing``: one guest message answered exactly once. ``outbound``: the send lease and
outcome of a reply, and the operator's sweep of unfinished rows.
"""

from conversations.services.inbound import (
    FLOOD_WINDOW,
    OPEN_STATUSES,
    InboundResult,
    conversation_get_or_open,
    enqueue_on_commit,
    flood_limit_lifted,
    guest_get_or_create,
    inbound_record,
)
from conversations.services.outbound import (
    CONFIRMATION_MAX_WAIT,
    CONFIRMATION_POLL_SECONDS,
    outbound_attempt_count,
    outbound_claim,
    outbound_confirmation_pending,
    outbound_lease_remaining,
    outbound_mark_failed,
    outbound_mark_sent,
    outbound_provider_id,
    outbound_release,
    unfinished_messages,
)
from conversations.services.processing import conversation_escalate, inbound_process, nlu_snapshot
from conversations.services.statuses import PENDING_STATUS_TTL, message_status_apply, message_status_apply_pending

__all__ = [
    "CONFIRMATION_MAX_WAIT",
    "CONFIRMATION_POLL_SECONDS",
    "FLOOD_WINDOW",
    "OPEN_STATUSES",
    "PENDING_STATUS_TTL",
    "InboundResult",
    "conversation_escalate",
    "conversation_get_or_open",
    "enqueue_on_commit",
    "flood_limit_lifted",
    "guest_get_or_create",
    "inbound_process",
    "inbound_record",
    "message_status_apply",
    "message_status_apply_pending",
    "nlu_snapshot",
    "outbound_attempt_count",
    "outbound_claim",
    "outbound_confirmation_pending",
    "outbound_lease_remaining",
    "outbound_mark_failed",
    "outbound_mark_sent",
    "outbound_provider_id",
    "outbound_release",
    "unfinished_messages",
]
