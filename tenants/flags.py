"""Feature flags: code defaults, global and per-hotel overrides, read through a cache.

    flag_enabled("nlp.llm.enabled", tenant=tenant)          # sync
    await aflag_enabled("nlp.llm.enabled", tenant=tenant)   # async
    flag_set("nlp.llm.enabled", True, tenant=tenant)         # override for one hotel (tenant=None: all hotels)
    flag_unset("nlp.llm.enabled", tenant=tenant)             # back to the global override or the default

Resolution: the hotel's override → the global override → ``DEFAULT_FLAGS``. Overrides live in the
``FeatureFlag`` table; reads go through the Django cache (Redis when ``REDIS_URL`` is set) for
``FEATURE_FLAGS_CACHE_SECONDS`` and through a per-process memo for at most ``MEMO_SECONDS``. A write drops both,
at once and again when its transaction commits (a reader may have cached the old row in between); other
processes' memos expire on their own within ``MEMO_SECONDS``.

Reads never raise for infrastructure trouble: cache down → database; database down → ``DEFAULT_FLAGS`` (logged).
Unknown names raise ``UnknownFlag`` everywhere — a typo is never a silent ``False`` nor a new row.

Import-light on purpose: no model import at module level, so that gateway code can read ``DEFAULT_FLAGS`` (the
seed's rule against import cycles) and this module can be imported before the app registry is ready.
"""

from __future__ import annotations

import difflib
import time
from typing import TYPE_CHECKING, Literal, TypedDict

import structlog
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import Error as DatabaseError
from django.db import transaction

from hotel_agent.memo import LocalMemo

if TYPE_CHECKING:
    from tenants.models import FeatureFlag, Tenant

logger = structlog.get_logger(__name__)

DEFAULT_FLAGS: dict[str, bool] = {
    "nlp.fallback.enhanced": True,
    "tenancy.dynamic.enabled": True,
    "features.interactive_messages": False,
    "nlp.llm.enabled": False,
    "service_requests.to_staff": False,
    "escalation.after_hours_urgent": True,
    "escalation.urgent": True,
    "audio.processor.optimized": False,
}

FLAG_DESCRIPTIONS: dict[str, str] = {
    "nlp.fallback.enhanced": "A clarification question offers the likely options as quick replies.",
    "tenancy.dynamic.enabled": "Resolve the hotel of each inbound message from its channel account.",
    "features.interactive_messages": "Offer choices as WhatsApp reply buttons instead of a numbered text list.",
    "nlp.llm.enabled": "Understand messages with the optional LLM engine (falls back to the local engine).",
    "service_requests.to_staff": "In-stay service requests escalate to staff instead of the bot logging them.",
    "escalation.after_hours_urgent": "Urgent words outside reception hours escalate to staff at once.",
    "escalation.urgent": "Inside reception hours, emergencies (fire, smoke, flood, leak, theft, trapped) escalate too.",
    "audio.processor.optimized": "Use the optimized speech-to-text pipeline for voice notes.",
}

# Per-process memo of resolved values; capped by FEATURE_FLAGS_CACHE_SECONDS (0 turns all caching off).
MEMO_SECONDS = 2.0
_MEMO_MAX_ENTRIES = 4096
_CACHE_VERSION = "v1"
_NO_OVERRIDE = -1

Source = Literal["default", "global", "tenant"]


class FlagState(TypedDict):
    name: str
    enabled: bool
    source: Source
    description: str


class UnknownFlag(ValueError):
    def __init__(self, name: str) -> None:
        self.name = name
        close = difflib.get_close_matches(name, DEFAULT_FLAGS, n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        super().__init__(f'Unknown flag "{name}"{hint}.')


_memo: LocalMemo[bool] = LocalMemo(max_entries=_MEMO_MAX_ENTRIES, clock=lambda: _clock())
_clock = time.monotonic  # patched by tests


def _check_name(name: str) -> None:
    if name not in DEFAULT_FLAGS:
        raise UnknownFlag(name)


def _tenant_id(tenant: Tenant | int | None) -> int | None:
    if tenant is None:
        return None
    if isinstance(tenant, bool):
        raise TypeError("tenant must be a Tenant, its id or None")
    if isinstance(tenant, int):
        return tenant
    if tenant.pk is None:
        raise ValueError("tenant is not saved")
    return tenant.pk


def _cache_key(name: str, tenant_id: int | None) -> str:
    scope = f"t{tenant_id}" if tenant_id is not None else "global"
    return f"flags:{_CACHE_VERSION}:{name}:{scope}"


def _cache_seconds() -> int:
    return max(0, int(settings.FEATURE_FLAGS_CACHE_SECONDS))


def _memo_seconds() -> float:
    return min(MEMO_SECONDS, float(_cache_seconds()))


def _resolve_overrides(name: str, tenant_override: bool | None, global_override: bool | None) -> tuple[bool, Source]:
    if tenant_override is not None:
        return tenant_override, "tenant"
    if global_override is not None:
        return global_override, "global"
    return DEFAULT_FLAGS[name], "default"


def _decode(raw: int) -> bool | None:
    return None if raw == _NO_OVERRIDE else bool(raw)


def _encode(value: bool | None) -> int:
    return _NO_OVERRIDE if value is None else int(value)


def _db_overrides(name: str, tenant_id: int | None) -> tuple[bool | None, bool | None]:
    """(tenant override, global override) from one query."""
    from django.db.models import Q

    from tenants.models import FeatureFlag

    scope = Q(tenant__isnull=True) if tenant_id is None else Q(tenant__isnull=True) | Q(tenant_id=tenant_id)
    rows = dict(FeatureFlag.objects.filter(scope, name=name).values_list("tenant_id", "enabled"))
    return (rows.get(tenant_id) if tenant_id is not None else None), rows.get(None)


def _read(name: str, tenant_id: int | None) -> tuple[bool, bool]:
    """Resolved value and whether it may be memoized (not when it is a fallback after a database error)."""
    seconds = _cache_seconds()
    keys = {"global": _cache_key(name, None)}
    if tenant_id is not None:
        keys["tenant"] = _cache_key(name, tenant_id)

    cache_ok = seconds > 0
    if cache_ok:
        try:
            cached = cache.get_many(list(keys.values()))
        except Exception as exc:  # Redis down or misconfigured: the database answers
            logger.warning("feature_flag_cache_unavailable", flag=name, error=repr(exc))
            cache_ok, cached = False, {}
        if all(key in cached for key in keys.values()):
            tenant_raw = cached.get(keys["tenant"], _NO_OVERRIDE) if "tenant" in keys else _NO_OVERRIDE
            value, _source = _resolve_overrides(name, _decode(tenant_raw), _decode(cached[keys["global"]]))
            return value, True

    try:
        tenant_override, global_override = _db_overrides(name, tenant_id)
    except DatabaseError as exc:
        logger.warning("feature_flag_database_unavailable", flag=name, tenant_id=tenant_id, error=repr(exc))
        return DEFAULT_FLAGS[name], False

    if cache_ok:
        values = {keys["global"]: _encode(global_override)}
        if "tenant" in keys:
            values[keys["tenant"]] = _encode(tenant_override)
        try:
            cache.set_many(values, seconds)
        except Exception as exc:
            logger.warning("feature_flag_cache_unavailable", flag=name, error=repr(exc))
    value, _source = _resolve_overrides(name, tenant_override, global_override)
    return value, True


def _memo_get(key: tuple[str, int | None]) -> bool | None:
    return _memo.get(key)


def _memo_put(key: tuple[str, int | None], value: bool) -> None:
    _memo.put(key, value, _memo_seconds())


def flag_enabled(name: str, *, tenant: Tenant | int | None = None) -> bool:
    """Whether ``name`` is on for ``tenant`` (``None``: the global value). Raises only ``UnknownFlag``."""
    _check_name(name)
    tenant_id = _tenant_id(tenant)
    memo_key = (name, tenant_id)
    memoized = _memo_get(memo_key)
    if memoized is not None:
        return memoized
    value, cacheable = _read(name, tenant_id)
    if cacheable:
        _memo_put(memo_key, value)
    return value


async def aflag_enabled(name: str, *, tenant: Tenant | int | None = None) -> bool:
    """``flag_enabled`` for async code: a memo hit costs no thread hop."""
    _check_name(name)
    tenant_id = _tenant_id(tenant)
    memo_key = (name, tenant_id)
    memoized = _memo_get(memo_key)
    if memoized is not None:
        return memoized
    value, cacheable = await sync_to_async(_read, thread_sensitive=True)(name, tenant_id)
    if cacheable:
        _memo_put(memo_key, value)
    return value


# --- writes -----------------------------------------------------------------------------------------------------
def flags_local_cache_clear() -> None:
    """Forget this process's memo (tests; the Django cache is left alone)."""
    _memo.clear()


def _drop_cached(name: str, tenant_id: int | None) -> None:
    flags_local_cache_clear()  # a global change moves every hotel's resolved value; writes are rare
    try:
        cache.delete(_cache_key(name, tenant_id))
    except Exception as exc:
        logger.warning("feature_flag_cache_unavailable", flag=name, error=repr(exc))


def flag_cache_invalidate(name: str, *, tenant: Tenant | int | None = None) -> None:
    """Drop the cached override of ``name`` for ``tenant`` now and once the current transaction commits."""
    tenant_id = _tenant_id(tenant)
    _drop_cached(name, tenant_id)
    transaction.on_commit(lambda: _drop_cached(name, tenant_id))


def flag_set(name: str, enabled: bool, *, tenant: Tenant | int | None = None) -> FeatureFlag:
    """Override ``name`` for ``tenant`` (``None``: the global override). Idempotent, safe under concurrency."""
    from tenants.models import FeatureFlag

    _check_name(name)
    tenant_id = _tenant_id(tenant)
    flag, _created = FeatureFlag.objects.update_or_create(
        name=name, tenant_id=tenant_id, defaults={"enabled": bool(enabled)}
    )
    flag_cache_invalidate(name, tenant=tenant_id)
    logger.info("feature_flag_set", flag=name, tenant_id=tenant_id, enabled=bool(enabled))
    return flag


def flag_unset(name: str, *, tenant: Tenant | int | None = None) -> bool:
    """Remove the override of ``name`` for ``tenant``; whether there was one."""
    from tenants.models import FeatureFlag

    _check_name(name)
    tenant_id = _tenant_id(tenant)
    deleted, _per_model = FeatureFlag.objects.filter(name=name, tenant_id=tenant_id).delete()
    flag_cache_invalidate(name, tenant=tenant_id)
    if deleted:
        logger.info("feature_flag_unset", flag=name, tenant_id=tenant_id)
    return bool(deleted)


# --- operator reads (command, admin): straight from the database ---------------------------------------------
def _states(names: list[str], tenant_id: int | None) -> list[FlagState]:
    from django.db.models import Q

    from tenants.models import FeatureFlag

    scope = Q(tenant__isnull=True) if tenant_id is None else Q(tenant__isnull=True) | Q(tenant_id=tenant_id)
    overrides: dict[tuple[str, int | None], bool] = {
        (row_name, row_tenant): enabled
        for row_name, row_tenant, enabled in FeatureFlag.objects.filter(scope, name__in=names).values_list(
            "name", "tenant_id", "enabled"
        )
    }
    states: list[FlagState] = []
    for name in names:
        tenant_override = overrides.get((name, tenant_id)) if tenant_id is not None else None
        enabled, source = _resolve_overrides(name, tenant_override, overrides.get((name, None)))
        states.append({"name": name, "enabled": enabled, "source": source, "description": FLAG_DESCRIPTIONS[name]})
    return states


def flag_state(name: str, *, tenant: Tenant | int | None = None) -> FlagState:
    """The value of ``name`` for ``tenant`` and where it comes from, read from the database (no cache)."""
    _check_name(name)
    return _states([name], _tenant_id(tenant))[0]


def flags_list(*, tenant: Tenant | int | None = None) -> list[FlagState]:
    """Every known flag, by name, as ``flag_state`` gives it."""
    return _states(sorted(DEFAULT_FLAGS), _tenant_id(tenant))
