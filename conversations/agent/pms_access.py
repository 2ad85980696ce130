"""How the agent reaches the hotel's PMS: the resilient adapter from ``pms.services`` plus the degraded-mode
metric. Handlers import this module only, never an adapter directly."""

from __future__ import annotations

from prometheus_client import Counter

from tenants.models import Tenant

orchestrator_degraded_responses_total = Counter(
    "orchestrator_degraded_responses_total",
    "Answers given while the PMS was unavailable (stale data or an offer to pass the request to staff).",
    ["operation", "mode"],
)


def adapter(tenant: Tenant):
    from pms.services import pms_for_tenant

    return pms_for_tenant(tenant)


def last_result_stale(pms) -> bool:
    return bool(getattr(pms, "last_result_stale", False))
