"""PMS services: the resilient adapter of a hotel, configuration writes, cache invalidation, health.

Public API::

    pms_for_tenant(tenant) -> ResilientPMS           # PMSAdapter + *_result() methods, last_result_stale
    pms_policy_from_config(config) -> ResiliencePolicy
    pms_config_ensure(*, tenant, **defaults) -> PMSConfig
    pms_cache_invalidate(*, tenant, catalog=False) -> None
    pms_breaker_status(*, tenant) -> dict
    pms_health_check() -> CheckResult                # registered as the non-fatal "pms" readiness check
    mock_booking_cancel(*, tenant, reference) -> Booking

``PMSResult`` (``value``, ``stale``, ``fetched_at``) and ``PMSCircuitOpen`` (a ``PMSUnavailable``) are defined in
``pms.resilience``; the domain errors and value objects in ``pms.base``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from hotel_agent.health import CheckResult
from pms.base import Booking, PMSInvalidRequest
from pms.breakers import breaker_for, breaker_opened_at, breaker_states, breaker_storage_kind
from pms.mock import MockPMS
from pms.models import PMSConfig
from pms.registry import adapter_for_config
from pms.resilience import ResiliencePolicy, ResilientPMS, invalidate_availability, invalidate_catalog
from pms.selectors import pms_config_get
from tenants.models import Tenant


def pms_policy_from_config(config: PMSConfig) -> ResiliencePolicy:
    return ResiliencePolicy(
        fail_max=config.breaker_fail_max,
        reset_timeout=float(config.breaker_reset_timeout),
        max_retries=config.max_retries,
        room_types_ttl=config.room_types_cache_ttl,
        availability_ttl=config.availability_cache_ttl,
        stale_ttl=config.stale_cache_ttl,
    )


def pms_for_tenant(tenant: Tenant) -> ResilientPMS:
    """The hotel's PMS adapter (chosen by ``PMSConfig.kind`` through ``pms.registry``) wrapped in the resilience
    layer: breaker per (hotel, kind), retries, cache, stale copies, metrics. Cheap: make one per request/task.

    Reads of room types, availability and the stay policy may return a stale copy while the PMS is down: check
    ``pms.last_result_stale`` after the call, or use ``room_types_result()`` / ``availability_result(…)`` /
    ``stay_policy_result()``, which return ``PMSResult(value, stale, fetched_at)``. With nothing cached, or for
    bookings, an unreachable PMS raises ``PMSUnavailable`` (``PMSCircuitOpen`` when the breaker is open).
    """
    if tenant is None or tenant.pk is None:
        raise PMSInvalidRequest("no hotel")
    config = pms_config_get(tenant=tenant)
    adapter = adapter_for_config(config)
    return ResilientPMS(adapter, tenant=tenant, kind=config.kind, policy=pms_policy_from_config(config))


def pms_config_ensure(*, tenant: Tenant, **defaults: Any) -> PMSConfig:
    """The hotel's saved configuration, created with ``defaults`` when missing (existing values are kept)."""
    with transaction.atomic():
        config, created = PMSConfig.objects.get_or_create(tenant=tenant, defaults=defaults)
    if created:
        invalidate_catalog(tenant.pk)
    return config


def pms_cache_invalidate(*, tenant: Tenant, catalog: bool = False) -> None:
    """Drop the hotel's cached availability (after a booking change made outside ``pms_for_tenant``); with
    ``catalog``, also room types and stay policy (after an edit of room types, rates or the configuration)."""
    if catalog:
        invalidate_catalog(tenant.pk)
    invalidate_availability(tenant.pk)


def pms_breaker_status(*, tenant: Tenant) -> dict[str, Any]:
    """The hotel's breaker as the shared storage sees it (for operators)."""
    config = pms_config_get(tenant=tenant)
    policy = pms_policy_from_config(config)
    breaker = breaker_for(tenant.slug, config.kind, fail_max=policy.fail_max, reset_timeout=policy.reset_timeout)
    opened_at = breaker_opened_at(breaker)
    return {
        "tenant": tenant.slug,
        "pms": config.kind,
        "state": breaker.current_state,
        "fail_counter": breaker.fail_counter,
        "fail_max": breaker.fail_max,
        "reset_timeout": breaker.reset_timeout,
        "opened_at": opened_at.isoformat() if opened_at else None,
        "storage": breaker_storage_kind(tenant.slug, config.kind),
    }


def pms_health_check() -> CheckResult:
    """Non-fatal readiness: the breakers this process has used. Never raises, never calls a PMS."""
    try:
        states = breaker_states()
    except Exception as exc:
        return CheckResult(False, f"{type(exc).__name__}: {exc}"[:200])
    if not states:
        return CheckResult(True, "no PMS calls yet")
    not_closed = [f"{s['tenant']}/{s['pms']} {s['state']}" for s in states if s["state"] != "closed"]
    if not_closed:
        return CheckResult(False, "breaker " + ", ".join(not_closed))
    return CheckResult(True, f"{len(states)} breaker(s) closed")


def mock_booking_cancel(*, tenant: Tenant, reference: str) -> Booking:
    """Cancel a booking of the hotel's mock PMS (operators); availability caches are dropped."""
    try:
        return MockPMS(tenant=tenant, config=pms_config_get(tenant=tenant)).cancel_booking(reference)
    finally:
        invalidate_availability(tenant.pk)
