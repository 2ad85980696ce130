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
