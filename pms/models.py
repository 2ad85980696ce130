"""Per-tenant PMS configuration and the mock PMS's tables.

``PMSConfig`` says which PMS a hotel uses (``kind``), how to reach it and its stay policy; a hotel without a row
uses the defaults (``settings.PMS_TYPE``). ``MockRoomType`` / ``MockBooking`` are the state of the mock PMS
(``pms.mock``), which behaves like a small hotel. Every tenant-owned table is read through
``for_tenant(tenant)``, which fails closed (``None`` ⇒ empty queryset).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from tenants.models import Tenant

MONTH_DAY_RE = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


class TenantScopedQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant | int | None) -> TenantScopedQuerySet:
        if tenant is None:
            return self.none()
        tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        if tenant_id is None:
            return self.none()
        return self.filter(tenant_id=tenant_id)


class PMSKind(models.TextChoices):
    MOCK = "mock", _("Mock (built-in demo PMS)")
    QLOAPPS = "qloapps", "QloApps"


def default_pms_kind() -> str:
    return settings.PMS_TYPE


class PMSConfig(models.Model):
    """How one hotel reaches its PMS, the resilience knobs and the stay policy. ``api_key`` is a secret: never
    rendered in admin, logs or ``repr``."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="pms_config")
    kind = models.CharField(max_length=16, choices=PMSKind.choices, default=default_pms_kind)
    base_url = models.URLField(blank=True, help_text=_("PMS webservice base URL (QloApps: https://host/api)."))
    api_key = models.CharField(max_length=255, blank=True)
    hotel_id = models.CharField(max_length=64, blank=True, help_text=_("The hotel's id inside the PMS."))
    currency = models.CharField(max_length=3, default="EUR", validators=[RegexValidator(r"^[A-Z]{3}$")])

    connect_timeout_seconds = models.FloatField(default=3.0, validators=[MinValueValidator(0.1)])
    read_timeout_seconds = models.FloatField(default=10.0, validators=[MinValueValidator(0.1)])
    room_types_cache_ttl = models.PositiveIntegerField(default=3600, help_text=_("Seconds; 0 disables caching."))
    availability_cache_ttl = models.PositiveIntegerField(default=60, help_text=_("Seconds; 0 disables caching."))
    stale_cache_ttl = models.PositiveIntegerField(
        default=24 * 3600, help_text=_("How long a copy is kept to answer (marked stale) while the PMS is down.")
    )
    breaker_fail_max = models.PositiveIntegerField(default=5, validators=[MinValueValidator(1)])
    breaker_reset_timeout = models.PositiveIntegerField(default=30, help_text=_("Seconds the breaker stays open."))
    max_retries = models.PositiveIntegerField(default=2, help_text=_("Retries of a transient failure (reads)."))

    check_in_time = models.TimeField(default=dt.time(15, 0))
    check_out_time = models.TimeField(default=dt.time(12, 0))
    late_checkout_until = models.TimeField(
        default=dt.time(14, 0), null=True, blank=True, help_text=_("Blank: late check-out is never offered.")
    )
    late_checkout_fee = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, help_text=_("Blank: free of charge.")
    )
    early_checkin_from = models.TimeField(
        default=dt.time(11, 0), null=True, blank=True, help_text=_("Blank: early check-in is never offered.")
    )
    early_checkin_fee = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, help_text=_("Blank: free of charge.")
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("PMS configuration")
        verbose_name_plural = _("PMS configurations")

    def __str__(self) -> str:
        return f"{self.tenant.slug}: {self.kind}"

    def __repr__(self) -> str:  # never leak the api key through repr()
        return f"<PMSConfig {self.pk} tenant={self.tenant_id} kind={self.kind}>"


class MockRoomType(models.Model):
    """A room type of the mock PMS. Nightly price: ``weekend_rate`` for Friday and Saturday nights,
    ``weekday_rate`` otherwise, times ``season_multiplier`` for nights inside the yearly high season
    (``season_start``..``season_end``, ``MM-DD``, inclusive, may wrap around New Year)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="mock_room_types")
    code = models.CharField(max_length=32, validators=[RegexValidator(r"^[A-Z0-9][A-Z0-9_-]*$")])
    names = models.JSONField(default=dict, help_text=_('Per language: {"es": "...", "en": "...", "pt": "..."}'))
    descriptions = models.JSONField(default=dict, blank=True)
    amenities = models.JSONField(default=list, blank=True)
    max_adults = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1)])
    max_children = models.PositiveSmallIntegerField(default=0)
    max_occupancy = models.PositiveSmallIntegerField(default=2, validators=[MinValueValidator(1)])
    room_count = models.PositiveSmallIntegerField(default=1)
    weekday_rate = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal(0))])
    weekend_rate = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal(0))])
    season_start = models.CharField(max_length=5, blank=True, validators=[RegexValidator(MONTH_DAY_RE)])
    season_end = models.CharField(max_length=5, blank=True, validators=[RegexValidator(MONTH_DAY_RE)])
    season_multiplier = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal("1.00"), validators=[MinValueValidator(Decimal("0.01"))]
    )
    currency = models.CharField(max_length=3, default="EUR", validators=[RegexValidator(r"^[A-Z]{3}$")])
    taxes_included = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ["tenant_id", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="uniq_mock_room_type_tenant_code"),
            models.CheckConstraint(
                condition=Q(max_occupancy__gte=1) & Q(max_adults__gte=1), name="mock_room_type_occupancy_positive"
            ),
            models.CheckConstraint(
                condition=Q(weekday_rate__gte=0) & Q(weekend_rate__gte=0), name="mock_room_type_rates_not_negative"
            ),
        ]
        verbose_name = _("mock room type")
        verbose_name_plural = _("mock room types")

    def __str__(self) -> str:
        return f"{self.code} {self.display_name()}"

    def clean(self) -> None:
        if bool(self.season_start) != bool(self.season_end):
            raise ValidationError(_("Give both ends of the high season, or neither."))
        if self.max_occupancy < self.max_adults:
            raise ValidationError({"max_occupancy": _("Must be at least the maximum number of adults.")})

    def display_name(self, language: str = "") -> str:
        names = self.names or {}
        return names.get(language) or names.get("es") or names.get("en") or next(iter(names.values()), self.code)

    def in_season(self, night: dt.date) -> bool:
        if not (self.season_start and self.season_end):
            return False
        day = night.strftime("%m-%d")
        if self.season_start <= self.season_end:
            return self.season_start <= day <= self.season_end
        return day >= self.season_start or day <= self.season_end  # wraps around New Year


class BookingStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    CANCELLED = "cancelled", _("Cancelled")


class MockBookingQuerySet(TenantScopedQuerySet):
    def occupying(self, check_in: dt.date, check_out: dt.date) -> MockBookingQuerySet:
        """Confirmed bookings holding a room at least one night in ``[check_in, check_out)``."""
        return self.filter(status=BookingStatus.CONFIRMED, check_in__lt=check_out, check_out__gt=check_in)


class MockBooking(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="mock_bookings")
    reference = models.CharField(max_length=16)
    room_type = models.ForeignKey(MockRoomType, on_delete=models.PROTECT, related_name="bookings")
    check_in = models.DateField()
    check_out = models.DateField()
    adults = models.PositiveSmallIntegerField()
    children = models.PositiveSmallIntegerField(default=0)
    guest_name = models.CharField(max_length=200)
    guest_email = models.EmailField(blank=True)
    guest_phone = models.CharField(max_length=32, blank=True)
    total = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    status = models.CharField(max_length=16, choices=BookingStatus.choices, default=BookingStatus.CONFIRMED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = MockBookingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "reference"], name="uniq_mock_booking_tenant_reference"),
            models.CheckConstraint(condition=Q(check_out__gt=F("check_in")), name="mock_booking_dates_ordered"),
            models.CheckConstraint(condition=Q(adults__gte=1), name="mock_booking_adults_positive"),
        ]
        indexes = [
            models.Index(fields=["tenant", "room_type", "status", "check_in"], name="mock_booking_occupancy_idx"),
        ]
        verbose_name = _("mock booking")
        verbose_name_plural = _("mock bookings")

    def __str__(self) -> str:
        return self.reference
