"""Operator admin for the PMS configuration and the mock PMS's room types and bookings.

The api key is write-only (``PMSConfigAdminForm``); lists only say whether it is set. Bookings are read-only here:
they are made through the PMS (availability checks), and cancelled through the "cancel" action, which uses it.
Saving a configuration or a room type drops the hotel's cached PMS answers.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from pms.base import PMSError
from pms.forms import PMSConfigAdminForm
from pms.models import BookingStatus, MockBooking, MockRoomType, PMSConfig
from pms.services import mock_booking_cancel, pms_cache_invalidate
from tenants.admin_scoping import TenantScopedAdminMixin


@admin.register(PMSConfig)
class PMSConfigAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    # Which PMS and where it lives is the operator's call (the server calls that URL); hotel admins tune the rest.
    hotel_admin_permissions = ("view", "change")
    superuser_only_fields = ("kind", "base_url")
    form = PMSConfigAdminForm
    list_display = ["tenant", "kind", "base_url", "hotel_id", "currency", "api_key_set", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["tenant__slug", "tenant__name", "hotel_id"]
    list_select_related = ["tenant"]
    autocomplete_fields = ["tenant"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["tenant", "kind", "base_url", "hotel_id", "currency"]}),
        (
            _("API key (write-only)"),
            {
                "fields": [("new_api_key", "clear_api_key")],
                "description": _("The stored key is never shown: leave blank to keep it, tick “clear” to remove it."),
            },
        ),
        (
            _("Resilience"),
            {
                "fields": [
                    ("connect_timeout_seconds", "read_timeout_seconds"),
                    ("room_types_cache_ttl", "availability_cache_ttl", "stale_cache_ttl"),
                    ("breaker_fail_max", "breaker_reset_timeout", "max_retries"),
                ]
            },
        ),
        (
            _("Stay policy"),
            {
                "fields": [
                    ("check_in_time", "check_out_time"),
                    ("late_checkout_until", "late_checkout_fee"),
                    ("early_checkin_from", "early_checkin_fee"),
                ]
            },
        ),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: PMSConfig | None = None) -> list[str]:
        fields = ["tenant", "created_at", "updated_at"] if obj else ["created_at", "updated_at"]
        return [*fields, *super().get_readonly_fields(request, obj)]  # + superuser-only fields for hotel admins

    @admin.display(description=_("API key"), boolean=True)
    def api_key_set(self, obj: PMSConfig) -> bool:
        return bool(obj.api_key)

    def save_model(self, request: HttpRequest, obj: PMSConfig, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        pms_cache_invalidate(tenant=obj.tenant, catalog=True)


@admin.register(MockRoomType)
class MockRoomTypeAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "code",
        "tenant",
        "name_es",
        "room_count",
        "max_occupancy",
        "weekday_rate",
        "weekend_rate",
        "season_multiplier",
        "is_active",
    ]
    list_filter = ["tenant", "is_active"]
    search_fields = ["code", "names", "tenant__slug"]
    list_select_related = ["tenant"]
    autocomplete_fields = ["tenant"]
    ordering = ["tenant__slug", "sort_order", "code"]

    @admin.display(description=_("name"))
    def name_es(self, obj: MockRoomType) -> str:
        return obj.display_name(obj.tenant.default_language)

    def save_model(self, request: HttpRequest, obj: MockRoomType, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        pms_cache_invalidate(tenant=obj.tenant, catalog=True)


@admin.register(MockBooking)
class MockBookingAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    hotel_admin_permissions = ("view", "change")
    list_display = ["reference", "tenant", "room_type", "check_in", "check_out", "guest_name", "total", "status"]
    list_filter = ["tenant", "status"]
    search_fields = ["reference", "guest_name", "guest_email", "guest_phone"]
    list_select_related = ["tenant", "room_type"]
    date_hierarchy = "check_in"
    actions = ["cancel_selected"]
    readonly_fields = [f.name for f in MockBooking._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # bookings are made through the PMS, which checks availability

    def has_delete_permission(self, request: HttpRequest, obj: MockBooking | None = None) -> bool:
        return False  # cancel instead: a deleted booking leaves no trace

    @admin.action(description=_("Cancel selected bookings"))
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[MockBooking]) -> None:
        cancelled, failed = 0, []
        for booking in queryset.filter(status=BookingStatus.CONFIRMED).select_related("tenant"):
            try:
                mock_booking_cancel(tenant=booking.tenant, reference=booking.reference)
                cancelled += 1
            except PMSError as exc:
                failed.append(f"{booking.reference}: {exc}")
        self.message_user(request, _("%(count)d booking(s) cancelled.") % {"count": cancelled}, messages.SUCCESS)
        if failed:
            self.message_user(request, "; ".join(failed), messages.WARNING)
