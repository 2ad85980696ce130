"""Which adapter serves each PMS kind: a dict ``{kind: factory(config) -> PMSAdapter}``, not an if/elif chain.

The QloApps adapter plugs in with one entry, e.g. ``PMSKind.QLOAPPS: _qloapps`` where ``_qloapps(config)`` imports
``pms.qloapps`` and builds the adapter from ``config.base_url``, ``config.api_key``, ``config.hotel_id``, the
timeouts and ``config.currency``. A kind without a factory, or a factory that fails, yields an adapter whose every
call raises ``PMSUnavailable`` — the hotel is then served in degraded mode instead of crashing the caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import NoReturn

import structlog

from pms.base import PMSAdapter, PMSUnavailable
from pms.models import PMSConfig, PMSKind

logger = structlog.get_logger(__name__)

AdapterFactory = Callable[[PMSConfig], PMSAdapter]


def _mock(config: PMSConfig) -> PMSAdapter:
    from pms.mock import MockPMS

    return MockPMS.from_config(config)


def _qloapps(config: PMSConfig) -> PMSAdapter:
    from pms.qloapps import QloAppsAdapter

    return QloAppsAdapter.from_config(config)


ADAPTERS: dict[str, AdapterFactory] = {
    PMSKind.MOCK: _mock,
    PMSKind.QLOAPPS: _qloapps,
}


class UnavailablePMS:
    """Stands in for an adapter that cannot be built: every call raises ``PMSUnavailable(reason)``."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def _fail(self, *args: object, **kwargs: object) -> NoReturn:
        raise PMSUnavailable(self.reason)

    room_types = availability = create_booking = get_booking = cancel_booking = modify_booking = _fail
    stay_policy = _fail

    def late_checkout_available(self, reference: str | None, day: dt.date) -> bool:
        self._fail()

    def early_checkin_available(self, reference: str | None, day: dt.date) -> bool:
        self._fail()


def adapter_for_config(config: PMSConfig) -> PMSAdapter:
    """The raw adapter (no breaker, cache or retries) for a hotel's configuration."""
    factory = ADAPTERS.get(config.kind)
    if factory is None:
        logger.error("pms_adapter_missing", tenant_id=config.tenant_id, kind=config.kind)
        return UnavailablePMS(config.kind, f"no adapter for PMS kind {config.kind!r}")
    try:
        return factory(config)
    except Exception as exc:  # a broken configuration must not crash the caller
        logger.exception("pms_adapter_build_failed", tenant_id=config.tenant_id, kind=config.kind)
        return UnavailablePMS(config.kind, f"PMS {config.kind!r} is misconfigured: {type(exc).__name__}")
