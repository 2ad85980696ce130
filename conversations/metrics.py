from prometheus_client import Counter, Histogram

inbound_messages_total = Counter(
    "inbound_messages_total", "Guest messages stored, by channel and kind.", ["channel", "kind"]
)
inbound_flooded_total = Counter(
    "inbound_flooded_total", "Guest messages stored but not answered because the guest exceeded the rate.", ["channel"]
)
message_status_updates_total = Counter(
    "message_status_updates_total",
    "Provider delivery statuses by result (applied, stale: older than what we have, unknown: no such message).",
    ["channel", "status", "result"],
)
intents_detected = Counter("intents_detected", "Intents detected by the NLU engine.", ["intent", "confidence"])
orchestrator_latency_seconds = Histogram(
    "orchestrator_latency_seconds",
    "Time to produce the answer to one guest message.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
orchestrator_escalations_total = Counter(
    "orchestrator_escalations_total", "Conversations handed to staff, by reason and channel.", ["reason", "channel"]
)
inbound_processed_total = Counter(
    "inbound_processed_total",
    "Inbound messages through the processing task, by outcome (replied, duplicate, human, flagged, reopened).",
    ["outcome"],
)
lock_events_total = Counter("lock_events_total", "Distributed lock events.", ["action"])
enqueue_failures_total = Counter(
    "enqueue_failures_total",
    "Tasks the broker refused after a commit (the work stays on its row; the periodic sweep enqueues it again).",
    ["task"],
)
unfinished_requeued_total = Counter(
    "unfinished_requeued_total",
    "Messages the periodic sweep found with nobody working on them and enqueued again, by kind (inbound, outbound).",
    ["kind"],
)
booking_outcome_unknown_total = Counter(
    "booking_outcome_unknown_total",
    "Guest confirmations handed to reception because whether the PMS booked is unknown, by cause (pms_unavailable: "
    "the call timed out or failed after it went out; interrupted: a previous run died mid-call; unresolved: an "
    "earlier attempt in the conversation is still unknown).",
    ["cause"],
)
