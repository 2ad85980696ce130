"""Resilience around any PMS adapter: circuit breaker, retries, cache with a stale fallback, metrics.

``ResilientPMS(adapter, tenant=…)`` has the ``PMSAdapter`` interface and adds:

* a pybreaker ``CircuitBreaker`` per (tenant, PMS kind) (``pms.breakers``), shared by every wrapper of that pair
  in the process and, when ``REDIS_URL`` is set, by every process. Business errors (``PMSBusinessError``) are
  excluded: they never count as failures. An open breaker rejects calls with ``PMSCircuitOpen`` (a
  ``PMSUnavailable``) without calling the adapter.
* retries of transient errors (``PMSUnavailable``) with exponential backoff and jitter, for reads and for
  ``cancel_booking`` (idempotent). ``create_booking`` and ``modify_booking`` are never retried: after a timeout the
  PMS may have applied them, and a second attempt could book twice.
* caching through Django's cache: room types and the stay policy for ``room_types_ttl``, availability for
  ``availability_ttl``. Every successful read also leaves a copy for ``stale_ttl`` under a separate key; when the
  PMS is down or the breaker open, that copy is served **marked stale**.
* availability invalidation after any booking change of the tenant (create/cancel/modify, whatever the outcome),
  through a per-tenant version number that is part of every availability key.

How staleness is signalled: ``room_types_result()``, ``availability_result(…)`` and ``stay_policy_result()`` return
a ``PMSResult(value, stale, fetched_at)``; the plain interface methods return the bare value (possibly the stale
copy) and set ``last_result_stale`` / ``last_result_fetched_at`` on the wrapper. A wrapper is cheap: make one per
request or task (``pms.services.pms_for_tenant``) rather than sharing one between threads.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pybreaker
import structlog
from django.core.cache import cache as default_cache
from django.db import transaction
from django.utils import timezone

from pms.base import (
    Booking,
    GuestDetails,
    Offer,
    PMSAdapter,
    PMSBusinessError,
    PMSInvalidRequest,
    PMSNoAvailability,
    PMSNotFound,
    PMSTimeout,
    PMSUnavailable,
    RoomType,
    StayPolicy,
)
from pms.breakers import breaker_for
from pms.metrics import (
    pms_api_latency_seconds,
    pms_cache_hits_total,
    pms_cache_misses_total,
    pms_circuit_breaker_calls_total,
    pms_errors_total,
    pms_stale_served_total,
)
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

T = TypeVar("T")


class PMSCircuitOpen(PMSUnavailable):
    """The breaker is open: the PMS was not called."""


@dataclass(frozen=True)
class ResiliencePolicy:
    fail_max: int = 5
    reset_timeout: float = 30.0
    max_retries: int = 2
    backoff_base: float = 0.1  # seconds before the first retry (before jitter)
    backoff_max: float = 1.0
    room_types_ttl: int = 3600
    availability_ttl: int = 60
    stale_ttl: int = 24 * 3600


@dataclass(frozen=True)
class PMSResult(Generic[T]):
    value: T
    stale: bool  # True: the PMS could not be reached; this is the last copy it gave, from ``fetched_at``
    fetched_at: dt.datetime


def error_kind(exc: BaseException) -> str:
    """The ``kind`` label of ``pms_errors_total`` for an error."""
    for cls, kind in (
        (PMSNotFound, "not_found"),
        (PMSNoAvailability, "no_availability"),
        (PMSInvalidRequest, "invalid_request"),
        (PMSTimeout, "timeout"),
    ):
        if isinstance(exc, cls):
            return kind
    return "unavailable"


# --- cache keys ----------------------------------------------------------------------------------------------
def _version_key(tenant_id: int, scope: str) -> str:
    return f"pms:{tenant_id}:version:{scope}"


def _bump_version(tenant_id: int, scope: str) -> None:
    """Now, and again when the surrounding transaction (if any) commits: a read between the two could otherwise
    cache what the uncommitted change is about to make wrong."""
    _bump_now(tenant_id, scope)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _bump_now(tenant_id, scope))


def _bump_now(tenant_id: int, scope: str) -> None:
    key = _version_key(tenant_id, scope)
    try:
        try:
            default_cache.incr(key)
        except ValueError:  # no version yet: start somewhere no earlier version can have been
            default_cache.add(key, time.time_ns(), None)
            default_cache.incr(key)
    except Exception:
        logger.warning("pms_cache_invalidation_failed", tenant_id=tenant_id, scope=scope, exc_info=True)


def invalidate_availability(tenant_id: int) -> None:
    """After a booking change: every cached availability answer of the tenant is dropped (stale copies stay)."""
    _bump_version(tenant_id, "availability")


def invalidate_catalog(tenant_id: int) -> None:
    """After room types, rates or the stay policy change: room types, policy and availability are dropped."""
    _bump_version(tenant_id, "catalog")


class ResilientPMS:
    """A ``PMSAdapter`` around another one; see the module docstring."""

    def __init__(
        self,
        adapter: PMSAdapter,
        *,
        tenant: Tenant,
        kind: str | None = None,
        policy: ResiliencePolicy | None = None,
        breaker: pybreaker.CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.adapter = adapter
        self.tenant = tenant
        self.kind = kind or adapter.name
        self.name = adapter.name
        self.policy = policy or ResiliencePolicy()
        self.breaker = breaker or breaker_for(
            tenant.slug, self.kind, fail_max=self.policy.fail_max, reset_timeout=self.policy.reset_timeout
        )
        self._sleep = sleep
        self._jitter = jitter
        self.last_result_stale = False
        self.last_result_fetched_at: dt.datetime | None = None

    # --- reads (cached, stale fallback) ---------------------------------------------------------------------
    def room_types_result(self) -> PMSResult[list[RoomType]]:
        return self._cached("room_types", (), self.policy.room_types_ttl, self.adapter.room_types)

    def availability_result(
        self, check_in: dt.date, check_out: dt.date, adults: int, children: int = 0, room_type: str | None = None
    ) -> PMSResult[list[Offer]]:
        args = (str(check_in), str(check_out), adults, children, room_type or "*")
        return self._cached(
            "availability",
            args,
            self.policy.availability_ttl,
            lambda: self.adapter.availability(check_in, check_out, adults, children, room_type),
            availability=True,
        )

    def stay_policy_result(self) -> PMSResult[StayPolicy]:
        return self._cached("stay_policy", (), self.policy.room_types_ttl, self.adapter.stay_policy)

    def room_types(self) -> list[RoomType]:
        return self._unwrap(self.room_types_result())

    def availability(
        self, check_in: dt.date, check_out: dt.date, adults: int, children: int = 0, room_type: str | None = None
    ) -> list[Offer]:
        return self._unwrap(self.availability_result(check_in, check_out, adults, children, room_type))

    def stay_policy(self) -> StayPolicy:
        return self._unwrap(self.stay_policy_result())

    # --- reads (live) ---------------------------------------------------------------------------------------
    def get_booking(self, reference: str) -> Booking:
        return self._live("get_booking", self.adapter.get_booking, reference)

    def late_checkout_available(self, reference: str | None, day: dt.date) -> bool:
        return self._live("late_checkout_available", self.adapter.late_checkout_available, reference, day)

    def early_checkin_available(self, reference: str | None, day: dt.date) -> bool:
        return self._live("early_checkin_available", self.adapter.early_checkin_available, reference, day)

    # --- writes ---------------------------------------------------------------------------------------------
    def create_booking(
        self,
        *,
        room_type: str,
        check_in: dt.date,
        check_out: dt.date,
        adults: int,
        children: int,
        guest: GuestDetails,
    ) -> Booking:
        return self._write(
            "create_booking",
            lambda: self.adapter.create_booking(
                room_type=room_type,
                check_in=check_in,
                check_out=check_out,
                adults=adults,
                children=children,
                guest=guest,
            ),
            retry=False,
        )

    def cancel_booking(self, reference: str) -> Booking:
        return self._write("cancel_booking", lambda: self.adapter.cancel_booking(reference), retry=True)

    def modify_booking(
        self,
        reference: str,
        *,
        check_in: dt.date | None = None,
        check_out: dt.date | None = None,
        adults: int | None = None,
        children: int | None = None,
        room_type: str | None = None,
    ) -> Booking:
        changes = {"check_in": check_in, "check_out": check_out, "adults": adults, "children": children}
        return self._write(
            "modify_booking",
            lambda: self.adapter.modify_booking(reference, room_type=room_type, **changes),
            retry=False,
        )

    # --- breaker --------------------------------------------------------------------------------------------
    def breaker_state(self) -> str:
        """``closed``, ``open`` or ``half-open``, as the (shared) storage says."""
        return self.breaker.current_state

    # --- internals ------------------------------------------------------------------------------------------
    def _unwrap(self, result: PMSResult[T]) -> T:
        self.last_result_stale = result.stale
        self.last_result_fetched_at = result.fetched_at
        return result.value

    def _live(self, operation: str, func: Callable[..., T], *args: Any) -> T:
        value = self._call(operation, func, *args, retry=True)
        self.last_result_stale, self.last_result_fetched_at = False, timezone.now()
        return value

    def _write(self, operation: str, func: Callable[[], T], *, retry: bool) -> T:
        try:
            return self._call(operation, func, retry=retry)
        finally:
            # Whatever happened (even a timeout may have booked), cached availability is no longer trustworthy.
            invalidate_availability(self.tenant.pk)
            self.last_result_stale, self.last_result_fetched_at = False, timezone.now()

    def _call(self, operation: str, func: Callable[..., T], *args: Any, retry: bool) -> T:
        attempt = 0
        while True:
            try:
                return self._attempt(operation, func, *args)
            except PMSCircuitOpen:
                raise
            except PMSUnavailable:
                if not retry or attempt >= self.policy.max_retries:
                    raise
                if self.breaker.current_state == pybreaker.STATE_OPEN:
                    raise  # the next attempt would only be rejected
                self._sleep(self._backoff(attempt))
                attempt += 1

    def _backoff(self, attempt: int) -> float:
        """Exponential with "equal jitter": half the step fixed, half random."""
        step = min(self.policy.backoff_max, self.policy.backoff_base * (2**attempt))
        return step / 2 + self._jitter() * step / 2

    def _attempt(self, operation: str, func: Callable[..., T], *args: Any) -> T:
        labels = {"tenant": self.tenant.slug, "pms": self.kind}
        try:
            # ``calling()`` takes the breaker's lock only to decide, not during the call: calls run in parallel.
            with self.breaker.calling():
                started = time.perf_counter()
                try:
                    result = func(*args)
                finally:
                    pms_api_latency_seconds.labels(pms=self.kind, operation=operation).observe(
                        time.perf_counter() - started
                    )
        except pybreaker.CircuitBreakerError as exc:
            pms_circuit_breaker_calls_total.labels(**labels, result="rejected").inc()
            raise PMSCircuitOpen(f"circuit open for {self.tenant.slug}/{self.kind}") from exc
        except PMSBusinessError as exc:
            pms_circuit_breaker_calls_total.labels(**labels, result="success").inc()
            pms_errors_total.labels(kind=error_kind(exc)).inc()
            raise
        except PMSUnavailable as exc:
            pms_circuit_breaker_calls_total.labels(**labels, result="failure").inc()
            pms_errors_total.labels(kind=error_kind(exc)).inc()
            logger.warning("pms_call_failed", **labels, operation=operation, error=str(exc)[:200])
            raise
        except Exception as exc:  # an adapter bug or an untranslated error: a failure, surfaced as transient
            pms_circuit_breaker_calls_total.labels(**labels, result="failure").inc()
            pms_errors_total.labels(kind="unavailable").inc()
            logger.exception("pms_call_crashed", **labels, operation=operation)
            raise PMSUnavailable(f"{type(exc).__name__} in {self.kind}.{operation}") from exc
        pms_circuit_breaker_calls_total.labels(**labels, result="success").inc()
        return result

    def _cached(
        self,
        operation: str,
        args: tuple[Any, ...],
        ttl: int,
        fetch: Callable[[], T],
        *,
        availability: bool = False,
    ) -> PMSResult[T]:
        fresh_key = self._fresh_key(operation, args, availability=availability) if ttl > 0 else None
        if fresh_key is not None:
            entry = self._cache_get(fresh_key)
            if entry is not None:
                pms_cache_hits_total.labels(operation=operation).inc()
                return PMSResult(entry[1], stale=False, fetched_at=entry[0])
        pms_cache_misses_total.labels(operation=operation).inc()
        stale_key = self._key("stale", operation, args)
        try:
            value = self._call(operation, fetch, retry=True)
        except PMSUnavailable:
            entry = self._cache_get(stale_key)
            if entry is None:
                raise
            pms_stale_served_total.labels(operation=operation).inc()
            logger.warning("pms_stale_served", tenant=self.tenant.slug, pms=self.kind, operation=operation)
            return PMSResult(entry[1], stale=True, fetched_at=entry[0])
        fetched_at = timezone.now()
        if fresh_key is not None:
            self._cache_set(fresh_key, (fetched_at, value), ttl)
        if self.policy.stale_ttl > 0:
            self._cache_set(stale_key, (fetched_at, value), self.policy.stale_ttl)
        return PMSResult(value, stale=False, fetched_at=fetched_at)

    def _key(self, *parts: Any) -> str:
        flat = [str(p) for part in parts for p in (part if isinstance(part, tuple) else (part,))]
        return ":".join(["pms", str(self.tenant.pk), self.kind, *flat])

    def _fresh_key(self, operation: str, args: tuple[Any, ...], *, availability: bool) -> str | None:
        scopes = ["catalog", "availability"] if availability else ["catalog"]
        keys = [_version_key(self.tenant.pk, scope) for scope in scopes]
        try:
            versions = default_cache.get_many(keys)
            missing = [key for key in keys if key not in versions]
            if missing:  # a version never restarts from a number an older entry may carry
                for key in missing:
                    default_cache.add(key, time.time_ns(), None)
                versions.update(default_cache.get_many(missing))
        except Exception:
            logger.warning("pms_cache_unavailable", exc_info=True)
            return None
        if any(key not in versions for key in keys):
            return None
        tags = tuple(f"{scope}{versions[key]}" for scope, key in zip(scopes, keys, strict=True))
        return self._key("fresh", operation, tags, args)

    def _cache_get(self, key: str) -> tuple[dt.datetime, Any] | None:
        try:
            entry = default_cache.get(key)
        except Exception:
            logger.warning("pms_cache_unavailable", exc_info=True)
            return None
        return entry if isinstance(entry, tuple) and len(entry) == 2 else None

    def _cache_set(self, key: str, entry: tuple[dt.datetime, Any], ttl: int) -> None:
        try:
            default_cache.set(key, entry, ttl)
        except Exception:
            logger.warning("pms_cache_unavailable", exc_info=True)
