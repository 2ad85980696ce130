"""factory_boy factories for the PMS tables (mock PMS and per-hotel configuration), and ``FakePMS``, a scripted
adapter for the resilience layer's tests."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import factory

from pms.base import Booking, GuestDetails, Offer, PMSUnavailable, RoomType, StayPolicy
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


# --- a scripted fake adapter, for the resilience layer ----------------------------------------------------------
FAKE_ROOM = RoomType(
    code="DBL",
    name="Doble",
    max_adults=2,
    max_children=1,
    max_occupancy=3,
    base_price=Decimal("100.00"),
    currency="EUR",
    taxes_included=True,
)


class FakePMS:
    """A ``PMSAdapter`` that counts calls per operation and fails on demand.

    ``errors``: exceptions raised by the next calls, in order; ``down``: every call raises ``PMSUnavailable``;
    ``on_call(operation)``: runs inside each call (to look at the breaker mid-call, or to block);
    ``rooms_left``: what availability answers, so a test can tell a cached answer from a fresh one.
    """

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.calls: Counter[str] = Counter()
        self.errors: list[BaseException] = []
        self.down = False
        self.rooms_left = 3
        self.on_call: Callable[[str], object] | None = None

    def _answer(self, operation: str) -> None:
        self.calls[operation] += 1
        if self.on_call is not None:
            self.on_call(operation)
        if self.errors:
            raise self.errors.pop(0)
        if self.down:
            raise PMSUnavailable("connection refused")

    def _booking(self, reference: str = "FAK-AAAAA", status: str = "confirmed") -> Booking:
        return Booking(
            reference=reference,
            status=status,
            room_type=FAKE_ROOM,
            check_in=dt.date(2030, 5, 6),
            check_out=dt.date(2030, 5, 8),
            adults=2,
            children=0,
            guest=GuestDetails(name="Ana García", email="ana@example.com"),
            total_price=Decimal("200.00"),
            currency="EUR",
            taxes_included=True,
        )

    def room_types(self) -> list[RoomType]:
        self._answer("room_types")
        return [FAKE_ROOM]

    def availability(self, check_in, check_out, adults, children=0, room_type=None) -> list[Offer]:
        self._answer("availability")
        nights = (check_out - check_in).days
        prices = (Decimal("100.00"),) * nights
        return [Offer(FAKE_ROOM, self.rooms_left, prices, sum(prices, Decimal("0.00")), "EUR", True)]

    def create_booking(self, **kwargs) -> Booking:
        self._answer("create_booking")
        return self._booking()

    def get_booking(self, reference: str) -> Booking:
        self._answer("get_booking")
        return self._booking(reference)

    def cancel_booking(self, reference: str) -> Booking:
        self._answer("cancel_booking")
        return self._booking(reference, "cancelled")

    def modify_booking(self, reference: str, **changes) -> Booking:
        self._answer("modify_booking")
        return self._booking(reference)

    def stay_policy(self) -> StayPolicy:
        self._answer("stay_policy")
        return StayPolicy(dt.time(15), dt.time(12), dt.time(14), None, dt.time(11), None, "EUR")

    def late_checkout_available(self, reference, day) -> bool:
        self._answer("late_checkout_available")
        return True

    def early_checkin_available(self, reference, day) -> bool:
        self._answer("early_checkin_available")
        return False
