"""Tenant services: channel-account resolution (cached) and operator writes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction

from hotel_agent.memo import LocalMemo
from tenants.metrics import tenant_resolution_total
from tenants.models import (
    CHANNEL_CREDENTIAL_KEYS,
    SUPPORTED_LANGUAGES,
    ChannelAccount,
    ChannelType,
    Tenant,
    validate_timezone,
)

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

    @classmethod
    def of(cls, account: ChannelAccount, tenant: Tenant, *, with_credentials: bool = False) -> ResolvedAccount:
        """``account`` of ``tenant`` as the gateway sees it; its secrets only when asked (they are cached with it)."""
        credentials = (
            {k: v for k, v in (account.credentials or {}).items() if isinstance(v, str) and v}
            if with_credentials
            else {}
        )
        return cls(
            account_id=account.pk,
            tenant_id=tenant.pk,
            tenant_slug=tenant.slug,
            channel=account.channel,
            external_id=account.external_id,
            tenant_timezone=tenant.timezone,
            tenant_language=tenant.default_language,
            credentials=credentials,
        )


def _cache_key(channel: str, external_id: str) -> str:
    return f"tenants:resolve:v1:{channel}:{external_id}"


# Per-process memo in front of the shared cache: every webhook resolves its account, and a Redis GET plus an unpickle
# cost more than the rest of the lookup. Another process's change is seen here within
# ``TENANT_RESOLUTION_LOCAL_TTL`` seconds; this process's own changes (and the tests') forget at once.
_local: LocalMemo[ResolvedAccount | str] = LocalMemo(max_entries=4096)

_HIT = tenant_resolution_total.labels(result="hit")
_UNKNOWN = tenant_resolution_total.labels(result="unknown")


def _remember_locally(key: str, value: ResolvedAccount | str) -> None:
    _local.put(key, value, min(settings.TENANT_RESOLUTION_LOCAL_TTL, settings.TENANT_RESOLUTION_CACHE_TTL))


def tenant_resolution_local_clear() -> None:
    """Forget this process's memo (tests; the shared cache is left alone)."""
    _local.clear()


def tenant_resolve(*, channel: str, external_id: str, fresh: bool = False) -> ResolvedAccount | None:
    """Map (channel, external id) to an active tenant's account; ``None`` when unknown or inactive.

    Cached for ``TENANT_RESOLUTION_CACHE_TTL`` seconds (negative answers too); changes to an account or its tenant
    invalidate the entry (``tenants.receivers``). ``fresh`` reads the database whatever is cached (and caches what it
    finds): for a "no" that would drop something, since a reader racing an activation can cache a stale "unknown"
    after the invalidation has run.
    """
    key = _cache_key(channel, external_id)
    cached = None if fresh else _local.get(key)
    if cached is None and not fresh:
        cached = cache.get(key)
        if cached is not None:
            _remember_locally(key, cached)
    if cached is not None:
        if cached == _MISSING:
            _UNKNOWN.inc()
            return None
        _HIT.inc()
        return cached

    account = ChannelAccount.objects.select_related("tenant").filter(channel=channel, external_id=external_id).first()
    if account is None or not account.is_active or not account.tenant.is_active:
        result = "unknown" if account is None else "inactive"
        tenant_resolution_total.labels(result=result).inc()
        cache.set(key, _MISSING, settings.TENANT_RESOLUTION_CACHE_TTL)
        _remember_locally(key, _MISSING)
        logger.info("tenant_resolution_failed", channel=channel, external_id=external_id, result=result)
        return None

    resolved = ResolvedAccount.of(account, account.tenant, with_credentials=True)
    cache.set(key, resolved, settings.TENANT_RESOLUTION_CACHE_TTL)
    _remember_locally(key, resolved)
    tenant_resolution_total.labels(result="miss").inc()
    return resolved


def tenant_resolution_invalidate(*, channel: str, external_id: str) -> None:
    key = _cache_key(channel, external_id)

    def forget() -> None:
        _local.discard(key)
        cache.delete(key)

    transaction.on_commit(forget)  # not before: a rolled-back change must not be cached by a reader meanwhile


def tenant_resolution_invalidate_tenant(*, tenant: Tenant) -> None:
    for channel, external_id in tenant.channel_accounts.values_list("channel", "external_id"):
        tenant_resolution_invalidate(channel=channel, external_id=external_id)


# --- operator writes (management command ``tenants``, admin) ----------------------------------------------------
# Errors are ``ValidationError`` keyed by field with one-sentence messages, or ``Tenant.DoesNotExist`` for an unknown
# slug; nothing is written when either is raised.

_LANGUAGE_CODES = tuple(code for code, _label in SUPPORTED_LANGUAGES)


def _field_error(field_name: str, message: str, *, code: str) -> ValidationError:
    return ValidationError({field_name: ValidationError(message, code=code)})


def _tenant_not_found(slug: str) -> Tenant.DoesNotExist:
    return Tenant.DoesNotExist(f'Unknown hotel "{slug}".')


def _check_tenant_fields(*, slug: str, timezone: str, language: str) -> None:
    try:
        validate_slug(slug)
    except ValidationError:
        raise _field_error(
            "slug", f'Invalid slug "{slug}": use only letters, numbers, hyphens and underscores.', code="invalid"
        ) from None
    try:
        validate_timezone(timezone)
    except ValidationError:
        raise _field_error(
            "timezone", f'Unknown time zone "{timezone}": use an IANA name such as Europe/Madrid.', code="invalid"
        ) from None
    if language not in _LANGUAGE_CODES:
        raise _field_error(
            "default_language",
            f'Unsupported language "{language}": choose one of {", ".join(_LANGUAGE_CODES)}.',
            code="invalid_choice",
        )


def _full_clean(instance: Tenant | ChannelAccount) -> None:
    """Model validation as a backstop (lengths, blanks, formats); uniqueness is checked by the callers."""
    instance.full_clean(validate_unique=False, validate_constraints=False)


def tenant_create(*, slug: str, name: str, timezone: str = "Europe/Madrid", language: str = "es") -> Tenant:
    _check_tenant_fields(slug=slug, timezone=timezone, language=language)
    duplicate = _field_error("slug", f'A hotel with slug "{slug}" already exists.', code="unique")
    if Tenant.objects.filter(slug=slug).exists():
        raise duplicate
    tenant = Tenant(slug=slug, name=name, timezone=timezone, default_language=language)
    _full_clean(tenant)
    try:
        with transaction.atomic():
            tenant.save()
    except IntegrityError:  # a concurrent create with the same slug committed first
        raise duplicate from None
    logger.info("tenant_created", tenant=tenant.slug)
    return tenant


def channel_account_add(
    *,
    tenant_slug: str,
    channel: str,
    external_id: str,
    display_name: str = "",
    credentials: Mapping[str, str] | None = None,
) -> ChannelAccount:
    if channel not in ChannelType.values:
        raise _field_error(
            "channel",
            f'Unknown channel "{channel}": choose one of {", ".join(ChannelType.values)}.',
            code="invalid_choice",
        )
    unknown_keys = sorted(set(credentials or {}) - set(CHANNEL_CREDENTIAL_KEYS[channel]))
    if unknown_keys:
        raise _field_error(
            "credentials", f"{channel} accounts take no credential(s) {', '.join(unknown_keys)}.", code="invalid"
        )
    try:
        tenant = Tenant.objects.get(slug=tenant_slug)
    except Tenant.DoesNotExist:
        raise _tenant_not_found(tenant_slug) from None

    def duplicate(owner_slug: str | None) -> ValidationError:
        owner = f' (hotel "{owner_slug}")' if owner_slug else ""
        return _field_error(
            "external_id", f'A {channel} account with external id "{external_id}" already exists{owner}.', code="unique"
        )

    existing = ChannelAccount.objects.filter(channel=channel, external_id=external_id).select_related("tenant").first()
    if existing is not None:
        raise duplicate(existing.tenant.slug)
    account = ChannelAccount(
        tenant=tenant,
        channel=channel,
        external_id=external_id,
        display_name=display_name,
        credentials={k: v for k, v in (credentials or {}).items() if v},
    )
    _full_clean(account)
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:  # a concurrent add of the same (channel, external id) committed first
        raise duplicate(None) from None
    logger.info("channel_account_added", tenant=tenant.slug, channel=channel, external_id=external_id)
    return account


def _tenant_set_active(*, slug: str, is_active: bool) -> Tenant:
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().filter(slug=slug).first()
        if tenant is None:
            raise _tenant_not_found(slug)
        if tenant.is_active != is_active:
            tenant.is_active = is_active
            # save(), not update(): the post_save receiver drops the tenant's cached resolutions on commit.
            tenant.save(update_fields=["is_active", "updated_at"])
            logger.info("tenant_activated" if is_active else "tenant_deactivated", tenant=tenant.slug)
    return tenant


def tenant_deactivate(*, slug: str) -> Tenant:
    """Stop answering for a hotel: its accounts resolve to ``None`` once the transaction commits. Idempotent."""
    return _tenant_set_active(slug=slug, is_active=False)


def tenant_activate(*, slug: str) -> Tenant:
    return _tenant_set_active(slug=slug, is_active=True)


def channel_account_credential_status(*, account: ChannelAccount) -> dict[str, bool]:
    """Which credentials an account holds (key → set?), never their values: the channel's keys in their declared
    order, then any other stored key."""
    stored = {k for k, v in (account.credentials or {}).items() if isinstance(v, str) and v}
    keys = list(CHANNEL_CREDENTIAL_KEYS.get(account.channel, ()))
    keys += sorted(stored - set(keys))
    return {key: key in stored for key in keys}


def channel_account_credentials_merge(
    *, current: Mapping[str, Any], new_values: Mapping[str, str], clear: Iterable[str]
) -> dict[str, Any]:
    """Write-only credential editing: a non-blank new value replaces, a cleared key goes, everything else stays."""
    merged = dict(current or {})
    for key in clear:
        merged.pop(key, None)
    merged.update({key: value for key, value in new_values.items() if value})
    return merged
