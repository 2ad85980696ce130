"""Gateway services: turn a verified provider webhook into stored messages; send outbound messages.

``webhook``: the request's part (verify, shape-check, one durable INSERT, wake a drain). ``drain``: the worker's part
(process stored notifications, retries, the sweep's view of stuck rows). ``outbound``: one send with its retries.
"""

from channels_gateway.services.drain import (
    IngestResult,
    NotificationFailed,
    drain_linger_seconds,
    inbound_drain_started,
    inbound_drain_wake,
    inbound_notification_failed,
    inbound_notification_process,
    inbound_notification_process_next,
    inbound_notifications_orphans_settle,
    inbound_notifications_purge,
    inbound_notifications_stuck,
)
from channels_gateway.services.outbound import SendOutcome, outbound_send
from channels_gateway.services.webhook import (
    MAX_ACCOUNTS_PER_NOTIFICATION,
    AcceptResult,
    whatsapp_verify_token_matches,
    whatsapp_webhook_ingest,
)
from channels_gateway.types import PayloadError, SignatureError

__all__ = [
    "MAX_ACCOUNTS_PER_NOTIFICATION",
    "AcceptResult",
    "IngestResult",
    "NotificationFailed",
    "PayloadError",
    "SendOutcome",
    "SignatureError",
    "drain_linger_seconds",
    "inbound_drain_started",
    "inbound_drain_wake",
    "inbound_notification_failed",
    "inbound_notification_process",
    "inbound_notification_process_next",
    "inbound_notifications_orphans_settle",
    "inbound_notifications_purge",
    "inbound_notifications_stuck",
    "outbound_send",
    "whatsapp_verify_token_matches",
    "whatsapp_webhook_ingest",
]
