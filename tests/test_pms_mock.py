"""The mock PMS behaves like a hotel: prices per night, availability arithmetic, validation, tenant isolation,
late check-out / early check-in, and the demo seed. (The adapter contract itself: ``test_pms_contract.py``.)"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from pms import mock as mock_module
from pms.base import GuestDetails, PMSInvalidRequest, PMSNoAvailability, PMSNotFound
from pms.mock import MockPMS, reference_prefix
from pms.models import BookingStatus, MockBooking, MockRoomType
from tests.factories import TenantFactory
from tests.pms_factories import MockBookingFactory, MockRoomTypeFactory, PMSConfigFactory
from tests.test_pms_contract import monday_after

pytestmark = pytest.mark.django_db

GUEST = GuestDetails(name="Ana García", email="ana@example.com", phone="+34600000001")
DAY = dt.timedelta(days=1)


@pytest.fixture
def pms(tenant) -> MockPMS:
    return MockPMS(tenant=tenant, config=PMSConfigFactory(tenant=tenant))


@pytest.fixture
def monday(pms) -> dt.date:
    """A Monday at least two weeks ahead (outside any season the tests define)."""
    return monday_after(pms.today() + dt.timedelta(days=14))


def july_monday(pms: MockPMS) -> dt.date:
    return monday_after(dt.date(pms.today().year + 1, 6, 30))


def book(pms: MockPMS, code: str, check_in: dt.date, check_out: dt.date, adults: int = 2, children: int = 0):
    return pms.create_booking(
        room_type=code, check_in=check_in, check_out=check_out, adults=adults, children=children, guest=GUEST
    )


def rooms_left(pms: MockPMS, code: str, check_in: dt.date, check_out: dt.date) -> int | None:
    offers = pms.availability(check_in, check_out, 1, 0, room_type=code)
    return offers[0].rooms_left if offers else None


# --- prices -----------------------------------------------------------------------------------------------------
def test_weekday_and_weekend_nights_are_priced_apart(pms, tenant, monday):
    # given: 100 € weeknights, 120 € Friday and Saturday nights
    MockRoomTypeFactory(tenant=tenant, code="DBL")

    # when: Monday to the next Monday
    (offer,) = pms.availability(monday, monday + 7 * DAY, 2, 0)

    # then
    assert offer.nightly_prices == tuple(Decimal(p) for p in ("100", "100", "100", "100", "120", "120", "100"))
    assert offer.total_price == Decimal("740.00")
    assert (offer.currency, offer.taxes_included) == ("EUR", True)


def test_high_season_multiplies_and_rounds_half_up(pms, tenant):
    # given
    MockRoomTypeFactory(
        tenant=tenant,
        code="DBL",
        weekday_rate=Decimal("95.00"),
        weekend_rate=Decimal("109.25"),
        season_start="07-01",
        season_end="08-31",
        season_multiplier=Decimal("1.30"),
    )
    monday = july_monday(pms)

    # when: Thursday, Friday and Saturday nights in July
    (offer,) = pms.availability(monday + 3 * DAY, monday + 6 * DAY, 2, 0)

    # then: 95 × 1.3 = 123.50; 109.25 × 1.3 = 142.025 → 142.03
    assert offer.nightly_prices == (Decimal("123.50"), Decimal("142.03"), Decimal("142.03"))
    assert offer.total_price == Decimal("407.56")


def test_season_ends_on_its_last_day(pms, tenant):
    # given: a flat 100 € rate, ×1.3 from 1 July to 31 August
    MockRoomTypeFactory(
        tenant=tenant,
        code="DBL",
        weekday_rate=Decimal("100.00"),
        weekend_rate=Decimal("100.00"),
        season_start="07-01",
        season_end="08-31",
        season_multiplier=Decimal("1.30"),
    )
    year = pms.today().year + 1

    # when: nights of 30 and 31 August and 1 September
    (offer,) = pms.availability(dt.date(year, 8, 30), dt.date(year, 9, 2), 2, 0)

    # then
    assert offer.nightly_prices == (Decimal("130.00"), Decimal("130.00"), Decimal("100.00"))


@pytest.mark.parametrize(
    ("night", "in_season"),
    [("2026-12-19", False), ("2026-12-20", True), ("2026-12-31", True), ("2027-01-06", True), ("2027-01-07", False)],
)
def test_season_may_wrap_around_new_year(night, in_season):
    room_type = MockRoomType(season_start="12-20", season_end="01-06")

    assert room_type.in_season(dt.date.fromisoformat(night)) is in_season


# --- availability arithmetic --------------------------------------------------------------------------------
def test_a_booking_takes_one_room_for_its_nights_only(pms, tenant, monday):
    # given: two rooms; a booking for Tuesday and Wednesday nights
    MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=2)
    book(pms, "DBL", monday + DAY, monday + 3 * DAY)

    # then
    assert rooms_left(pms, "DBL", monday, monday + 5 * DAY) == 1  # the minimum over the nights
    assert rooms_left(pms, "DBL", monday, monday + DAY) == 2  # Monday night is untouched
    assert rooms_left(pms, "DBL", monday + 3 * DAY, monday + 4 * DAY) == 2  # check-out day is free again


def test_sold_out_nights_get_no_offer(pms, tenant, monday):
    # given: both rooms taken on Wednesday night
    MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=2)
    MockRoomTypeFactory(tenant=tenant, code="TWIN", room_count=1)
    book(pms, "DBL", monday, monday + 3 * DAY)
    book(pms, "DBL", monday + 2 * DAY, monday + 4 * DAY)

    # when
    offers = pms.availability(monday, monday + 5 * DAY, 2, 0)

    # then
    assert [o.room_type.code for o in offers] == ["TWIN"]
    with pytest.raises(PMSNoAvailability):
        book(pms, "DBL", monday + 2 * DAY, monday + 3 * DAY)
    assert MockBooking.objects.count() == 2


def test_cancellation_restores_the_room(pms, tenant, monday):
    # given
    MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=1)
    booking = book(pms, "DBL", monday, monday + 2 * DAY)
    assert rooms_left(pms, "DBL", monday, monday + 2 * DAY) is None

    # when
    pms.cancel_booking(booking.reference)

    # then
    assert rooms_left(pms, "DBL", monday, monday + 2 * DAY) == 1
    assert book(pms, "DBL", monday, monday + 2 * DAY).status == "confirmed"


@pytest.mark.parametrize(
    ("adults", "children", "offered"),
    [(2, 1, True), (3, 0, False), (1, 2, False), (2, 2, False)],
    ids=["fits", "too-many-adults", "too-many-children", "over-occupancy"],
)
def test_party_must_fit(pms, tenant, monday, adults, children, offered):
    # given: 2 adults, 1 child, 3 people at most
    MockRoomTypeFactory(tenant=tenant, code="DBL", max_adults=2, max_children=1, max_occupancy=3)

    # when
    offers = pms.availability(monday, monday + DAY, adults, children)

    # then
    assert bool(offers) is offered


def test_party_too_big_cannot_book(pms, tenant, monday):
    MockRoomTypeFactory(tenant=tenant, code="DBL", max_adults=2)

    with pytest.raises(PMSInvalidRequest, match="do not fit"):
        book(pms, "DBL", monday, monday + DAY, adults=3)
    assert MockBooking.objects.count() == 0


def test_inactive_room_types_are_neither_listed_nor_offered(pms, tenant, monday):
    MockRoomTypeFactory(tenant=tenant, code="DBL")
    MockRoomTypeFactory(tenant=tenant, code="OLD", is_active=False)

    assert [rt.code for rt in pms.room_types()] == ["DBL"]
    assert [o.room_type.code for o in pms.availability(monday, monday + DAY, 2, 0)] == ["DBL"]


def test_room_type_value_speaks_the_hotels_language(tenant, monday):
    # given
    tenant.default_language = "pt"
    tenant.save()
    MockRoomTypeFactory(tenant=tenant, code="DBL")

    # when
    (room_type,) = MockPMS(tenant=tenant).room_types()

    # then
    assert room_type.name == "Duplo DBL"
    assert room_type.names == {"es": "Doble DBL", "en": "Double DBL", "pt": "Duplo DBL"}
    assert room_type.base_price == Decimal("100.00")
    assert room_type.amenities == ("wifi", "air-conditioning")


# --- validation -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("nights", "change", "message"),
    [
        ((0, 0), {}, "check-out must be after check-in"),
        ((-30, -29), {}, "check-in is in the past"),
        ((0, 31), {}, "stays are limited to 30 nights"),
        ((800, 801), {}, "check-in is too far ahead"),
        ((0, 2), {"adults": 0}, "at least one adult"),
        ((0, 2), {"children": -1}, "no negative number of children"),
        ((0, 2), {"room_type": "NOPE"}, "unknown room type 'NOPE'"),
        ((0, 2), {"guest": GuestDetails(name="  ", email="a@example.com")}, "the guest's name is required"),
        ((0, 2), {"guest": GuestDetails(name="Ana")}, "an e-mail or a phone number is required"),
        ((0, 2), {"guest": GuestDetails(name="Ana", email="not-an-email")}, "invalid e-mail address"),
    ],
)
def test_bad_booking_requests_are_invalid_and_write_nothing(pms, tenant, monday, nights, change, message):
    # given
    MockRoomTypeFactory(tenant=tenant, code="DBL")
    request = {
        "room_type": "DBL",
        "check_in": monday + nights[0] * DAY,
        "check_out": monday + nights[1] * DAY,
        "adults": 2,
        "children": 0,
        "guest": GUEST,
    }

    # when / then
    with pytest.raises(PMSInvalidRequest, match=re.escape(message)):
        pms.create_booking(**{**request, **change})
    assert MockBooking.objects.count() == 0


def test_availability_for_an_unknown_room_type_is_invalid(pms, tenant, monday):
    MockRoomTypeFactory(tenant=tenant, code="DBL")

    with pytest.raises(PMSInvalidRequest, match="unknown room type 'SUITE'"):
        pms.availability(monday, monday + DAY, 2, 0, room_type="SUITE")


def test_datetimes_are_not_dates(pms, tenant, monday):
    MockRoomTypeFactory(tenant=tenant, code="DBL")
    start = dt.datetime.combine(monday, dt.time(15, 0))

    with pytest.raises(PMSInvalidRequest, match="must be dates"):
        pms.availability(start, start + DAY, 2, 0)


# --- references -------------------------------------------------------------------------------------------------
def test_reference_carries_the_hotels_prefix(pms, tenant, monday):
    MockRoomTypeFactory(tenant=tenant, code="DBL")

    booking = book(pms, "DBL", monday, monday + DAY)

    assert re.fullmatch(r"SYM-[A-HJ-NP-Z2-9]{5}", booking.reference)
    assert pms.get_booking(f"  {booking.reference.lower()} ") == booking


@pytest.mark.parametrize(
    ("slug", "prefix"), [("sol-y-mar", "SYM"), ("demo", "DEM"), ("hotel-a", "HOT"), ("x", "XXX"), ("a-b-c-d", "ABC")]
)
def test_reference_prefix(slug, prefix):
    assert reference_prefix(TenantFactory.build(slug=slug)) == prefix


def test_a_reference_clash_is_retried(pms, tenant, monday, monkeypatch):
    # given: the first reference drawn already exists
    MockRoomTypeFactory(tenant=tenant, code="DBL")
    existing = book(pms, "DBL", monday, monday + DAY)
    drawn = iter([existing.reference, "SYM-NEW22"])
    monkeypatch.setattr(mock_module, "new_reference", lambda prefix: next(drawn))

    # when
    booking = book(pms, "DBL", monday, monday + DAY)

    # then
    assert booking.reference == "SYM-NEW22"
    assert sorted(MockBooking.objects.values_list("reference", flat=True)) == sorted([existing.reference, "SYM-NEW22"])


# --- tenant isolation -------------------------------------------------------------------------------------------
def test_another_hotel_cannot_see_change_or_cancel_a_booking(pms, tenant, monday):
    # given: both hotels have a "DBL" room type; hotel A books its only room
    MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=1)
    other = TenantFactory(slug="otro-hotel")
    MockRoomTypeFactory(tenant=other, code="DBL", room_count=1)
    booking = book(pms, "DBL", monday, monday + 2 * DAY)
    other_pms = MockPMS(tenant=other)

    # when / then: the same answer as for a reference that does not exist
    for attempt in (
        lambda: other_pms.get_booking(booking.reference),
        lambda: other_pms.cancel_booking(booking.reference),
        lambda: other_pms.modify_booking(booking.reference, adults=1),
    ):
        with pytest.raises(PMSNotFound) as caught:
            attempt()
        assert str(caught.value) == f"no booking {booking.reference!r}"

    # and nothing changed, and hotel B's own room is free
    assert MockBooking.objects.get().status == BookingStatus.CONFIRMED
    assert MockBooking.objects.get().adults == 2
    assert rooms_left(other_pms, "DBL", monday, monday + 2 * DAY) == 1


# --- cancel and modify ------------------------------------------------------------------------------------------
def test_cancelling_twice_is_idempotent(pms, tenant, monday):
    # given
    MockRoomTypeFactory(tenant=tenant, code="DBL")
    reference = book(pms, "DBL", monday, monday + DAY).reference
    first = pms.cancel_booking(reference)
    cancelled_at = MockBooking.objects.get().cancelled_at

    # when
    second = pms.cancel_booking(reference)

    # then
    assert second == first
    assert second.status == "cancelled"
    assert MockBooking.objects.get().cancelled_at == cancelled_at


def test_a_started_stay_cannot_be_cancelled(pms, tenant):
    # given
    room_type = MockRoomTypeFactory(tenant=tenant, code="DBL")
    started = MockBookingFactory(
        room_type=room_type, check_in=pms.today() - DAY, check_out=pms.today() + DAY, reference="SYM-AAAAA"
    )

    # when / then
    with pytest.raises(PMSInvalidRequest, match="already started"):
        pms.cancel_booking(started.reference)
    assert MockBooking.objects.get().status == BookingStatus.CONFIRMED


def test_modify_excludes_the_booking_itself(pms, tenant, monday):
    # given: the only room, booked Monday and Tuesday nights
    MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=1)
    booking = book(pms, "DBL", monday, monday + 2 * DAY)

    # when: one more night
    changed = pms.modify_booking(booking.reference, check_out=monday + 3 * DAY)

    # then
    assert (changed.check_in, changed.check_out, changed.total_price) == (monday, monday + 3 * DAY, Decimal("300.00"))
    assert MockBooking.objects.get().total == Decimal("300.00")


def test_modify_into_sold_out_nights_changes_nothing(pms, tenant, monday):
    # given: the only room is taken on Wednesday night by someone else
    MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=1)
    booking = book(pms, "DBL", monday, monday + 2 * DAY)
    book(pms, "DBL", monday + 2 * DAY, monday + 3 * DAY)

    # when / then
    with pytest.raises(PMSNoAvailability):
        pms.modify_booking(booking.reference, check_out=monday + 3 * DAY)
    assert pms.get_booking(booking.reference) == booking


def test_modify_to_another_room_type_reprices(pms, tenant, monday):
    # given
    MockRoomTypeFactory(tenant=tenant, code="DBL")
    MockRoomTypeFactory(tenant=tenant, code="SUITE", weekday_rate=Decimal("250.00"), weekend_rate=Decimal("300.00"))
    booking = book(pms, "DBL", monday, monday + 2 * DAY)

    # when
    changed = pms.modify_booking(booking.reference, room_type="SUITE")

    # then
    assert (changed.room_type.code, changed.total_price) == ("SUITE", Decimal("500.00"))


@pytest.mark.parametrize(
    ("change", "message"),
    [({"adults": 3}, "do not fit"), ({"room_type": "NOPE"}, "unknown room type"), ({"check_out": 0}, "after")],
)
def test_invalid_modifications_change_nothing(pms, tenant, monday, change, message):
    # given
    MockRoomTypeFactory(tenant=tenant, code="DBL")
    booking = book(pms, "DBL", monday, monday + 2 * DAY)
    if "check_out" in change:
        change = {"check_out": monday}

    # when / then
    with pytest.raises(PMSInvalidRequest, match=message):
        pms.modify_booking(booking.reference, **change)
    assert pms.get_booking(booking.reference) == booking


def test_a_cancelled_booking_cannot_be_modified(pms, tenant, monday):
    MockRoomTypeFactory(tenant=tenant, code="DBL")
    reference = book(pms, "DBL", monday, monday + DAY).reference
    pms.cancel_booking(reference)

    with pytest.raises(PMSInvalidRequest, match="cancelled"):
        pms.modify_booking(reference, adults=1)
