"""Prometheus metrics of the PMS layer (names from the seed's observability section)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# 0 closed, 1 open, 2 half-open. "livemax": in multiprocess mode the worst state any live process has seen.
pms_circuit_breaker_state = Gauge(
    "pms_circuit_breaker_state",
    "Circuit breaker state per hotel and PMS: 0 closed, 1 open, 2 half-open.",
    ["tenant", "pms"],
    multiprocess_mode="livemax",
)
pms_circuit_breaker_calls_total = Counter(
    "pms_circuit_breaker_calls_total",
    "Calls through the PMS circuit breaker by result (success: the PMS answered, business errors included; "
    "failure: transient error; rejected: the breaker was open).",
    ["tenant", "pms", "result"],
)
pms_api_latency_seconds = Histogram(
    "pms_api_latency_seconds",
    "Latency of calls that reached the PMS adapter, per attempt.",
    ["pms", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
pms_cache_hits_total = Counter("pms_cache_hits_total", "PMS reads answered from the cache.", ["operation"])
pms_cache_misses_total = Counter("pms_cache_misses_total", "PMS reads not found in the cache.", ["operation"])
pms_stale_served_total = Counter(
    "pms_stale_served_total", "PMS reads answered with a stale copy because the PMS was unavailable.", ["operation"]
)
pms_errors_total = Counter(
    "pms_errors_total",
    "Errors raised by PMS adapters, per attempt: not_found, no_availability, invalid_request, unavailable, timeout.",
    ["kind"],
)

BREAKER_STATE_VALUES = {"closed": 0, "open": 1, "half-open": 2}
