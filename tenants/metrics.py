from prometheus_client import Counter

tenant_resolution_total = Counter(
    "tenant_resolution_total",
    "Channel account → tenant resolutions by result (hit: cache, miss: database, unknown, inactive).",
    ["result"],
)
