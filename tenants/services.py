"""Tenant services: channel-account resolution (cached) and operator writes."""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from tenants.metrics import tenant_resolution_total
from tenants.models import ChannelAccount, Tenant

logger = structlog.get_logger(__name__)

_MISSING = "__unknown__"


@dataclass(frozen=True)
class ResolvedAccount:
    """What the gateway needs about a channel account, cheap to cache."""

    account_id: int
    tenant_id: int
    tenant_slug: str
    channel: str
    external_id: str
    tenant_timezone: str
    tenant_language: str
    credentials: dict[str, str] = field(default_factory=dict, repr=False)

    def credential(self, key: str) -> str:
        value = self.credentials.get(key, "")
        return value if isinstance(value, str) else ""


def _cache_key(channel: str, external_id: str) -> str:
    return f"tenants:resolve:v1:{channel}:{external_id}"


def tenant_resolve(*, channel: str, external_id: str) -> ResolvedAccount | None:
    """Map (channel, external id) to an active tenant's account; ``None`` when unknown or inactive.

    Cached for ``TENANT_RESOLUTION_CACHE_TTL`` seconds (negative answers too); changes to an account or its tenant
    invalidate the entry (``tenants.receivers``).
    """
    key = _cache_key(channel, external_id)
    cached = cache.get(key)
    if cached is not None:
        if cached == _MISSING:
            tenant_resolution_total.labels(result="unknown").inc()
            return None
        tenant_resolution_total.labels(result="hit").inc()
        return cached

    account = ChannelAccount.objects.select_related("tenant").filter(channel=channel, external_id=external_id).first()
    if account is None or not account.is_active or not account.tenant.is_active:
        result = "unknown" if account is None else "inactive"
        tenant_resolution_total.labels(result=result).inc()
        cache.set(key, _MISSING, settings.TENANT_RESOLUTION_CACHE_TTL)
        logger.info("tenant_resolution_failed", channel=channel, external_id=external_id, result=result)
        return None

    resolved = ResolvedAccount(
        account_id=account.pk,
        tenant_id=account.tenant_id,
        tenant_slug=account.tenant.slug,
        channel=account.channel,
        external_id=account.external_id,
        tenant_timezone=account.tenant.timezone,
        tenant_language=account.tenant.default_language,
        credentials={k: v for k, v in (account.credentials or {}).items() if isinstance(v, str) and v},
    )
    cache.set(key, resolved, settings.TENANT_RESOLUTION_CACHE_TTL)
    tenant_resolution_total.labels(result="miss").inc()
    return resolved


def tenant_resolution_invalidate(*, channel: str, external_id: str) -> None:
    transaction.on_commit(lambda: cache.delete(_cache_key(channel, external_id)))


def tenant_resolution_invalidate_tenant(*, tenant: Tenant) -> None:
    for channel, external_id in tenant.channel_accounts.values_list("channel", "external_id"):
        tenant_resolution_invalidate(channel=channel, external_id=external_id)
