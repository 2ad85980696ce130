"""factory_boy factories for the PMS tables (mock PMS and per-hotel configuration)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from pms.models import BookingStatus, MockBooking, MockRoomType, PMSConfig, PMSKind
from tests.factories import TenantFactory


class PMSConfigFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PMSConfig

    tenant = factory.SubFactory(TenantFactory)
    kind = PMSKind.MOCK


class MockRoomTypeFactory(factory.django.DjangoModelFactory):
    """A double with 2 rooms at 100 € on weeknights and 120 € on Friday/Saturday nights, no season."""

    class Meta:
        model = MockRoomType

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"RT{n}")
    names = factory.LazyAttribute(
        lambda o: {"es": f"Doble {o.code}", "en": f"Double {o.code}", "pt": f"Duplo {o.code}"}
    )
    descriptions = factory.LazyAttribute(
        lambda o: {"es": "Habitación doble.", "en": "Double room.", "pt": "Quarto duplo."}
    )
    amenities = factory.LazyFunction(lambda: ["wifi", "air-conditioning"])
    max_adults = 2
    max_children = 1
    max_occupancy = 3
    room_count = 2
    weekday_rate = Decimal("100.00")
    weekend_rate = Decimal("120.00")


class MockBookingFactory(factory.django.DjangoModelFactory):
    """A confirmed booking written straight to the table (no availability check): for "given" states."""

    class Meta:
        model = MockBooking

    room_type = factory.SubFactory(MockRoomTypeFactory)
    tenant = factory.SelfAttribute("room_type.tenant")
    reference = factory.Sequence(lambda n: f"TST-{n:05d}")
    check_in = factory.LazyFunction(lambda: dt.date.today() + dt.timedelta(days=30))
    check_out = factory.LazyAttribute(lambda o: o.check_in + dt.timedelta(days=2))
    adults = 2
    children = 0
    guest_name = "Ana García"
    guest_email = "ana@example.com"
    guest_phone = "+34600000001"
    total = Decimal("200.00")
    currency = "EUR"
    status = BookingStatus.CONFIRMED
