"""Tenant-scoped reads of the PMS tables. A missing tenant reads nothing (fails closed)."""

from __future__ import annotations

from django.db.models import QuerySet

from pms.models import BookingStatus, MockBooking, MockRoomType, PMSConfig
from tenants.models import Tenant


def pms_config_get(*, tenant: Tenant) -> PMSConfig:
    """The hotel's PMS configuration; an unsaved one with the defaults (``settings.PMS_TYPE``) when it has none."""
    config = PMSConfig.objects.for_tenant(tenant).select_related("tenant").first()
    return config if config is not None else PMSConfig(tenant=tenant)


def mock_room_type_list(*, tenant: Tenant | None) -> QuerySet[MockRoomType]:
    return MockRoomType.objects.for_tenant(tenant).order_by("sort_order", "code")


def mock_booking_list(*, tenant: Tenant | None, status: str | None = None) -> QuerySet[MockBooking]:
    """The mock PMS's bookings of a hotel, newest first; ``status`` one of ``BookingStatus`` or ``None`` (all)."""
    bookings = MockBooking.objects.for_tenant(tenant).select_related("room_type")
    if status is not None:
        if status not in BookingStatus.values:
            return bookings.none()
        bookings = bookings.filter(status=status)
    return bookings.order_by("-created_at", "-pk")
