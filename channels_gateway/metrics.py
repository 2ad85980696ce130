from prometheus_client import Counter

webhook_requests_total = Counter("webhook_requests_total", "Webhook POSTs received, by channel.", ["channel"])
webhook_rejected_total = Counter(
    "webhook_rejected_total",
    "Webhook requests refused or not processed, by channel and reason.",
    ["channel", "reason"],
)
webhook_duplicates_total = Counter(
    "webhook_duplicates_total", "Provider messages delivered again and ignored, by channel.", ["channel"]
)
outbound_messages_total = Counter(
    "outbound_messages_total",
    "Outbound send attempts by channel and result (sent, retry, failed).",
    ["channel", "result"],
)
# Rows / statements is the webhook INSERT's group-commit batch size (1 with sync workers or a quiet server).
inbound_insert_statements_total = Counter(
    "inbound_insert_statements_total", "INSERT statements that stored webhook notifications (group commits)."
)
inbound_insert_rows_total = Counter(
    "inbound_insert_rows_total", "Webhook notification rows stored by those statements."
)
inbound_notifications_exhausted_total = Counter(
    "inbound_notifications_exhausted_total",
    "Stored webhook notifications that failed INBOUND_NOTIFICATION_MAX_ATTEMPTS times; the sweep leaves them alone.",
)
