"""Circuit breakers of the PMS layer: one pybreaker ``CircuitBreaker`` per (hotel, PMS kind) and process.

With ``REDIS_URL`` set, the breaker's state lives in Redis (``CircuitRedisStorage``, namespace
``<CACHE_KEY_PREFIX>:pms:<tenant slug>:<kind>``, raw client from ``django_redis.get_redis_connection``), so every
process sees the same state; otherwise in memory. When Redis cannot be reached the breaker falls back to memory and
Redis is tried again a minute later. Business errors (``PMSBusinessError``) are excluded from failure counts.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pybreaker
import structlog
from django.conf import settings

from pms.base import PMSBusinessError
from pms.metrics import BREAKER_STATE_VALUES, pms_circuit_breaker_state

logger = structlog.get_logger(__name__)

DEFAULT_FAIL_MAX = 5
DEFAULT_RESET_TIMEOUT = 30.0
REDIS_RETRY_AFTER_SECONDS = 60.0


@dataclass
class _BreakerEntry:
    breaker: pybreaker.CircuitBreaker
    storage: str  # "redis" | "memory"
    fallback: bool  # memory storage because Redis could not be reached
    created: float


_breakers: dict[tuple[str, str], _BreakerEntry] = {}
_breakers_lock = threading.Lock()


def breaker_namespace(tenant_slug: str, kind: str) -> str:
    return f"{settings.CACHE_KEY_PREFIX}:pms:{tenant_slug}:{kind}"


class _StateGauge(pybreaker.CircuitBreakerListener):
    """Keeps ``pms_circuit_breaker_state`` in step and logs transitions."""

    def __init__(self, tenant_slug: str, kind: str) -> None:
        self.labels = {"tenant": tenant_slug, "pms": kind}

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        pms_circuit_breaker_state.labels(**self.labels).set(BREAKER_STATE_VALUES.get(new_state.name, 1))
        old = old_state.name if old_state is not None else None
        if old != new_state.name:
            logger.warning("pms_breaker_state_changed", **self.labels, old=old, new=new_state.name)


def _new_breaker(tenant_slug: str, kind: str, fail_max: int, reset_timeout: float) -> _BreakerEntry:
    storage: pybreaker.CircuitBreakerStorage | None = None
    fallback = False
    if settings.REDIS_URL:
        try:
            from django_redis import get_redis_connection

            storage = pybreaker.CircuitRedisStorage(
                pybreaker.STATE_CLOSED,
                get_redis_connection("default"),  # raw client, bytes replies: what CircuitRedisStorage decodes
                namespace=breaker_namespace(tenant_slug, kind),
            )
        except Exception:
            logger.warning("pms_breaker_redis_unavailable", tenant=tenant_slug, pms=kind, exc_info=True)
            fallback = True
    breaker = pybreaker.CircuitBreaker(
        fail_max=fail_max,
        reset_timeout=reset_timeout,
        exclude=[PMSBusinessError],
        listeners=[_StateGauge(tenant_slug, kind)],
        state_storage=storage or pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED),
        name=f"pms:{tenant_slug}:{kind}",
        throw_new_error_on_trip=False,  # the call that trips the breaker raises its own error
    )
    pms_circuit_breaker_state.labels(tenant=tenant_slug, pms=kind).set(
        BREAKER_STATE_VALUES.get(breaker.current_state, 1)
    )
    return _BreakerEntry(breaker, "redis" if storage is not None else "memory", fallback, time.monotonic())


def breaker_for(
    tenant_slug: str, kind: str, *, fail_max: int = DEFAULT_FAIL_MAX, reset_timeout: float = DEFAULT_RESET_TIMEOUT
) -> pybreaker.CircuitBreaker:
    """The process's breaker for (hotel, kind), created on first use; thresholds follow the latest values given."""
    key = (tenant_slug, kind)
    with _breakers_lock:
        entry = _breakers.get(key)
        if entry is None or (entry.fallback and time.monotonic() - entry.created > REDIS_RETRY_AFTER_SECONDS):
            entry = _breakers[key] = _new_breaker(tenant_slug, kind, fail_max, reset_timeout)
    entry.breaker.fail_max = fail_max
    entry.breaker.reset_timeout = reset_timeout
    return entry.breaker


def breaker_opened_at(breaker: pybreaker.CircuitBreaker) -> Any:
    """When the breaker last opened (``None`` if never), as its storage says; pybreaker has no public accessor."""
    return breaker._state_storage.opened_at


def breaker_states() -> list[dict[str, Any]]:
    """Every breaker this process has used: tenant, pms, state (read from the shared storage), storage."""
    with _breakers_lock:
        entries = sorted(_breakers.items())
    return [
        {
            "tenant": tenant_slug,
            "pms": kind,
            "state": entry.breaker.current_state,
            "fail_counter": entry.breaker.fail_counter,
            "storage": entry.storage,
        }
        for (tenant_slug, kind), entry in entries
    ]


def breaker_storage_kind(tenant_slug: str, kind: str) -> str:
    with _breakers_lock:
        entry = _breakers.get((tenant_slug, kind))
    return entry.storage if entry else ("redis" if settings.REDIS_URL else "memory")


def reset_breakers() -> None:
    """Forget every breaker of this process (tests). State kept in Redis is left alone."""
    with _breakers_lock:
        _breakers.clear()
