"""Staff authentication: the password policy, login lockout and hotel-admin permissions.

- Password validators (``AUTH_PASSWORD_VALIDATORS``): ``ComplexityValidator`` and ``PasswordHistoryValidator``
  (no reuse of the last 5 passwords; every password set through ``user.set_password()`` + ``save()`` — forms,
  admin, ``createsuperuser``, shell — is recorded by Django's ``password_changed`` hook).
- ``LockoutModelBackend`` (``AUTHENTICATION_BACKENDS``): after ``AUTH_LOCKOUT_FAILURES`` failed logins for one
  username (case-insensitive), or ``AUTH_LOCKOUT_IP_FAILURES`` from one address, within
  ``AUTH_LOCKOUT_WINDOW_SECONDS``, every attempt is refused for ``AUTH_LOCKOUT_SECONDS`` without looking at the
  password. Counters live in the cache (Redis in production), so every process shares them. It covers every
  login that goes through ``authenticate()``: ``/accounts/login/`` and the admin's. It also grants hotel admins
  the model permissions of the tenant-scoped admin pages (``tenants.admin_scoping``).
- On login, a staff member with exactly one hotel gets it as the session's active hotel.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import time
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import get_default_password_validators
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from prometheus_client import Counter

from tenants.models import PasswordHistory
from tenants.selectors import ACTIVE_TENANT_SESSION_KEY, staff_tenants

logger = structlog.get_logger(__name__)

auth_login_failures_total = Counter(
    "auth_login_failures_total",
    "Refused staff logins by reason (invalid_credentials; locked_user, locked_ip: refused during a lockout).",
    ["reason"],
)

DEFAULT_PASSWORD_HISTORY = 5


# --- password policy -----------------------------------------------------------------------------------------
class ComplexityValidator:
    """At least one lowercase letter, one uppercase letter, one digit and one symbol (anything else)."""

    RULES = (
        ("password_no_lower", str.islower, gettext_noop("The password must contain at least one lowercase letter.")),
        ("password_no_upper", str.isupper, gettext_noop("The password must contain at least one uppercase letter.")),
        ("password_no_digit", str.isdigit, gettext_noop("The password must contain at least one digit.")),
        (
            "password_no_symbol",
            lambda c: not c.isalnum(),
            gettext_noop("The password must contain at least one symbol."),
        ),
    )

    def validate(self, password: str, user: Any = None) -> None:
        errors = [
            ValidationError(_(message), code=code)
            for code, test, message in self.RULES
            if not any(test(char) for char in password)
        ]
        if errors:
            raise ValidationError(errors)

    def get_help_text(self) -> str:
        return _(
            "Your password must contain at least one lowercase letter, one uppercase letter, one digit and one symbol."
        )


class PasswordHistoryValidator:
    """None of the user's last ``history`` passwords (the current one included) may be set again."""

    def __init__(self, history: int = DEFAULT_PASSWORD_HISTORY) -> None:
        self.history = history

    def validate(self, password: str, user: Any = None) -> None:
        if user is None or user.pk is None:
            return  # a new user has no history
        if any(check_password(password, encoded) for encoded in password_history_recent(user=user, count=self.history)):
            raise ValidationError(
                ngettext(
                    "You cannot reuse your last password.",
                    "You cannot reuse any of your last %(count)d passwords.",
                    self.history,
                )
                % {"count": self.history},
                code="password_reused",
            )

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is not None:
            password_history_record(user=user, keep=self.history)

    def get_help_text(self) -> str:
        return ngettext(
            "Your password cannot be your last password.",
            "Your password cannot be any of your last %(count)d passwords.",
            self.history,
        ) % {"count": self.history}


def _configured_history() -> int:
    for validator in get_default_password_validators():
        if isinstance(validator, PasswordHistoryValidator):
            return validator.history
    return DEFAULT_PASSWORD_HISTORY


def password_history_recent(*, user: Any, count: int) -> list[str]:
    """The hashes of the user's last ``count`` passwords, newest first; the current one counts even when it was
    set before the history existed."""
    stored = list(PasswordHistory.objects.filter(user_id=user.pk).values_list("password", flat=True)[:count])
    hashes = [user.password] if user.password and user.password not in stored else []
    return (hashes + stored)[:count]


def password_history_record(*, user: Any, keep: int | None = None) -> None:
    """Remember ``user``'s current password hash (after ``set_password`` + ``save``) and forget all but the last
    ``keep``. Idempotent: the same hash is not recorded twice in a row. Django calls it through
    ``PasswordHistoryValidator.password_changed`` on every save after ``set_password``; call it yourself only when a
    password hash is written another way (``User.objects.filter(...).update(password=...)``)."""
    if user.pk is None or not user.has_usable_password():
        return
    keep = _configured_history() if keep is None else keep
    history = PasswordHistory.objects.filter(user_id=user.pk)
    if history.values_list("password", flat=True).first() != user.password:
        PasswordHistory.objects.create(user_id=user.pk, password=user.password)
    stale = list(history.values_list("pk", flat=True)[keep:])
    if stale:
        PasswordHistory.objects.filter(pk__in=stale).delete()


# --- login lockout -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LockoutPolicy:
    user_failures: int
    ip_failures: int
    window_seconds: int
    lockout_seconds: int
    trusted_proxies: int

    @classmethod
    def from_settings(cls) -> LockoutPolicy:
        return cls(
            user_failures=getattr(settings, "AUTH_LOCKOUT_FAILURES", 5),
            ip_failures=getattr(settings, "AUTH_LOCKOUT_IP_FAILURES", 20),
            window_seconds=max(1, getattr(settings, "AUTH_LOCKOUT_WINDOW_SECONDS", 900)),
            lockout_seconds=getattr(settings, "AUTH_LOCKOUT_SECONDS", 900),
            trusted_proxies=getattr(settings, "AUTH_LOCKOUT_TRUSTED_PROXIES", 0),
        )


def _now() -> float:
    return time.time()  # tests move the clock here


def lockout_message() -> str:
    return _("Too many failed login attempts. Try again in %(minutes)d minutes.") % {
        "minutes": max(1, math.ceil(LockoutPolicy.from_settings().lockout_seconds / 60))
    }


def client_ip(request: HttpRequest | None, *, trusted_proxies: int = 0) -> str | None:
    """The caller's address: ``REMOTE_ADDR``, or with ``trusted_proxies`` reverse proxies in front, the address
    the outermost of them saw (the N-th entry from the right of ``X-Forwarded-For``, which a client cannot forge)."""
    if request is None:
        return None
    if trusted_proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= trusted_proxies:
            return forwarded[-trusted_proxies]
    return request.META.get("REMOTE_ADDR") or None


def _ident(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _subjects(username: str, ip: str | None) -> list[tuple[str, str]]:
    subjects = [("user", _ident(username.casefold()))]
    if ip:
        subjects.append(("ip", _ident(ip)))
    return subjects


def _lock_key(scope: str, ident: str) -> str:
    return f"auth:lockout:lock:{scope}:{ident}"


def _failure_key(scope: str, ident: str, bucket: int) -> str:
    return f"auth:lockout:fail:{scope}:{ident}:{bucket}"


def _failure_keys(scope: str, ident: str, now: float, window: int) -> tuple[str, str]:
    """Failures are counted in fixed buckets of one window; the current and the previous bucket together cover
    at least the last ``window`` seconds (and at most two windows), so any N failures within a window lock."""
    bucket = int(now // window)
    return _failure_key(scope, ident, bucket), _failure_key(scope, ident, bucket - 1)


def lockout_active(*, username: str, ip: str | None) -> str | None:
    """``"user"`` or ``"ip"`` when logins for this username or from this address are locked, else ``None``."""
    now = _now()
    keys = {_lock_key(scope, ident): scope for scope, ident in _subjects(username, ip)}
    for key, until in cache.get_many(list(keys)).items():
        if until is not None and until > now:
            return keys[key]
    return None


@dataclass
class LoginAttempt:
    """One login attempt, counted *before* the password is checked, so that a burst of parallel attempts cannot
    get more guesses than the limit: the counters are atomic increments in the cache."""

    policy: LockoutPolicy
    now: float
    # scope → (ident, the bucket key incremented, failures counted including this attempt)
    counts: dict[str, tuple[str, str, int]]

    def over_limit(self) -> str | None:
        limits = {"user": self.policy.user_failures, "ip": self.policy.ip_failures}
        return next((scope for scope, (_, _, count) in self.counts.items() if count > limits[scope]), None)

    def lock(self, scope: str) -> None:
        ident, _, _ = self.counts[scope]
        cache.set(_lock_key(scope, ident), self.now + self.policy.lockout_seconds, self.policy.lockout_seconds + 60)
        # Once the lock is over, the count starts again.
        cache.delete_many(list(_failure_keys(scope, ident, self.now, self.policy.window_seconds)))

    def failed(self) -> list[str]:
        """The password was wrong: lock the username and/or the address that reached its limit."""
        limits = {"user": self.policy.user_failures, "ip": self.policy.ip_failures}
        locked = [scope for scope, (_, _, count) in self.counts.items() if count >= limits[scope]]
        for scope in locked:
            self.lock(scope)
        return locked

    def succeeded(self) -> None:
        """Clear the username's failures; give the address its attempt back (only failures count against it, and
        one valid account must not let an address wipe its failures and keep guessing others)."""
        ident, _, _ = self.counts["user"]
        cache.delete_many(
            [*_failure_keys("user", ident, self.now, self.policy.window_seconds), _lock_key("user", ident)]
        )
        if "ip" in self.counts:
            _, key, _ = self.counts["ip"]
            with contextlib.suppress(ValueError):  # the bucket expired meanwhile
                cache.decr(key)


def lockout_attempt_begin(*, username: str, ip: str | None) -> LoginAttempt:
    policy = LockoutPolicy.from_settings()
    now = _now()
    timeout = 2 * policy.window_seconds + 60
    counts = {}
    for scope, ident in _subjects(username, ip):
        current, previous = _failure_keys(scope, ident, now, policy.window_seconds)
        cache.add(current, 0, timeout=timeout)
        try:
            count = cache.incr(current)
        except ValueError:  # expired between add() and incr()
            cache.set(current, 1, timeout=timeout)
            count = 1
        counts[scope] = (ident, current, count + (cache.get(previous) or 0))
    return LoginAttempt(policy=policy, now=now, counts=counts)


def _log_username(username: str) -> str:
    # The username only, never the password field; odd characters replaced and the length capped.
    return re.sub(r"[^\w.@+-]", "?", username)[:64]


class LockoutModelBackend(ModelBackend):
    """``ModelBackend`` with the lockout in front, plus the hotel-admin permissions (``tenants.admin_scoping``)."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        policy = LockoutPolicy.from_settings()
        ip = client_ip(request, trusted_proxies=policy.trusted_proxies)
        log_ip = {"ip": ip} if getattr(settings, "DJANGO_STRUCTLOG_IP_LOGGING_ENABLED", False) else {}

        locked_scope = lockout_active(username=username, ip=ip)
        attempt = None
        if locked_scope is None:
            attempt = lockout_attempt_begin(username=username, ip=ip)
            locked_scope = attempt.over_limit()  # parallel attempts past the limit
            if locked_scope is not None:
                attempt.lock(locked_scope)
        if attempt is None or locked_scope is not None:
            # Refused without looking at the password: the answer says nothing about it.
            auth_login_failures_total.labels(reason=f"locked_{locked_scope}").inc()
            logger.warning("auth.login_refused_locked", username=_log_username(username), scope=locked_scope, **log_ip)
            if request is not None:
                request.auth_lockout = True  # type: ignore[attr-defined]  # read by the login forms
            raise PermissionDenied(lockout_message())

        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            auth_login_failures_total.labels(reason="invalid_credentials").inc()
            locked = attempt.failed()
            logger.warning("auth.login_failed", username=_log_username(username), **log_ip)
            for scope in locked:
                logger.warning("auth.lockout_started", username=_log_username(username), scope=scope, **log_ip)
            return None
        attempt.succeeded()
        logger.info("auth.login_succeeded", user_id=user.pk)
        return user

    # --- hotel admins ------------------------------------------------------------------------------------------
    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return super().has_perm(user_obj, perm, obj) or hotel_admin_has_perm(user_obj, perm)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return super().has_module_perms(user_obj, app_label) or any(
            perm.startswith(f"{app_label}.") for perm in hotel_admin_permissions(user_obj)
        )


def hotel_admin_permissions(user: Any) -> frozenset[str]:
    """``app.codename`` permissions a hotel admin holds: those named by ``hotel_admin_permissions`` on every
    tenant-scoped ``ModelAdmin`` (the admin narrows them to their hotels' rows). Empty for everyone else."""
    from django.contrib import admin
    from django.contrib.auth import get_permission_codename

    from tenants.admin_scoping import TenantScopedAdminMixin, hotel_admin_tenant_ids

    cached = getattr(user, "_hotel_admin_perms", None)
    if cached is not None:
        return cached
    if not user.is_active or not hotel_admin_tenant_ids(user):
        user._hotel_admin_perms = frozenset()
        return user._hotel_admin_perms
    perms = set()
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, TenantScopedAdminMixin):
            opts = model._meta
            perms.update(
                f"{opts.app_label}.{get_permission_codename(action, opts)}"
                for action in model_admin.hotel_admin_permissions
            )
    user._hotel_admin_perms = frozenset(perms)
    return user._hotel_admin_perms


def hotel_admin_has_perm(user: Any, perm: str) -> bool:
    return perm in hotel_admin_permissions(user)


# --- active hotel ----------------------------------------------------------------------------------------------
@receiver(user_logged_in, dispatch_uid="tenants.auth.select_only_hotel")
def _select_only_hotel(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Staff with exactly one hotel start in it; with several they pick one (``console-switch-tenant``)."""
    session = getattr(request, "session", None)
    if session is None:
        return
    tenant_ids = list(staff_tenants(user=user).values_list("pk", flat=True)[:2])
    if len(tenant_ids) == 1:
        session[ACTIVE_TENANT_SESSION_KEY] = tenant_ids[0]
