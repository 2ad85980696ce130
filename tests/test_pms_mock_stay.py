"""The mock PMS's stay policy (late check-out, early check-in) and the demo hotel seed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pms.base import GuestDetails, PMSInvalidRequest, PMSNotFound
from pms.mock import MockPMS
from pms.models import MockRoomType, PMSConfig
from pms.seed import pms_seed_demo
from tests.pms_factories import MockRoomTypeFactory, PMSConfigFactory
from tests.test_pms_contract import monday_after

pytestmark = pytest.mark.django_db

GUEST = GuestDetails(name="Ana García", email="ana@example.com", phone="+34600000001")
DAY = dt.timedelta(days=1)


@pytest.fixture
def pms(tenant) -> MockPMS:
    return MockPMS(tenant=tenant, config=PMSConfigFactory(tenant=tenant))


@pytest.fixture
def monday(pms) -> dt.date:
    return monday_after(pms.today() + dt.timedelta(days=14))


def book(pms: MockPMS, code: str, check_in: dt.date, check_out: dt.date):
    return pms.create_booking(room_type=code, check_in=check_in, check_out=check_out, adults=2, children=0, guest=GUEST)


def july_monday(pms: MockPMS) -> dt.date:
    return monday_after(dt.date(pms.today().year + 1, 6, 30))


# --- late check-out / early check-in ----------------------------------------------------------------------------
def test_late_checkout_when_a_room_stays_free_that_night(pms, tenant, monday):
    # given: two rooms; our guest leaves on Wednesday; one other guest arrives that day
    MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=2)
    ours = book(pms, "DBL", monday, monday + 2 * DAY)
    book(pms, "DBL", monday + 2 * DAY, monday + 4 * DAY)

    # then
    assert pms.late_checkout_available(ours.reference, monday + 2 * DAY) is True
    assert pms.late_checkout_available(None, monday + 2 * DAY) is True


def test_no_late_checkout_when_arrivals_need_every_room(pms, tenant, monday):
    # given: two rooms, both needed on Wednesday night by arrivals
    MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=2)
    ours = book(pms, "DBL", monday, monday + 2 * DAY)
    book(pms, "DBL", monday + 2 * DAY, monday + 4 * DAY)
    book(pms, "DBL", monday + 2 * DAY, monday + 3 * DAY)

    # then
    assert pms.late_checkout_available(ours.reference, monday + 2 * DAY) is False


def test_late_checkout_policy_and_requests(pms, tenant, monday):
    # given
    MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=2)
    ours = book(pms, "DBL", monday, monday + 2 * DAY)

    # then: the day must be the check-out day; unknown references are not found
    with pytest.raises(PMSInvalidRequest, match="check-out day"):
        pms.late_checkout_available(ours.reference, monday + DAY)
    with pytest.raises(PMSNotFound):
        pms.late_checkout_available("SYM-ZZZZZ", monday + 2 * DAY)

    # when the hotel never offers it
    pms.config.late_checkout_until = None
    assert pms.late_checkout_available(ours.reference, monday + 2 * DAY) is False


def test_early_checkin_when_the_room_was_free_the_night_before(pms, tenant, monday):
    # given: one room; our guest arrives on Wednesday
    MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=1)
    ours = book(pms, "DBL", monday + 2 * DAY, monday + 4 * DAY)

    # then: free on Tuesday night
    assert pms.early_checkin_available(ours.reference, monday + 2 * DAY) is True

    # when someone stays Tuesday night
    book(pms, "DBL", monday + DAY, monday + 2 * DAY)

    # then
    assert pms.early_checkin_available(ours.reference, monday + 2 * DAY) is False


def test_early_checkin_policy_and_requests(pms, tenant, monday):
    # given
    MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=1)
    ours = book(pms, "DBL", monday + 2 * DAY, monday + 4 * DAY)

    # then
    with pytest.raises(PMSInvalidRequest, match="check-in day"):
        pms.early_checkin_available(ours.reference, monday + 3 * DAY)
    pms.cancel_booking(ours.reference)
    assert pms.early_checkin_available(ours.reference, monday + 2 * DAY) is False
    pms.config.early_checkin_from = None
    assert pms.early_checkin_available(None, monday + 2 * DAY) is False


def test_stay_policy_defaults(tenant):
    policy = MockPMS(tenant=tenant).stay_policy()

    assert (policy.check_in_time, policy.check_out_time) == (dt.time(15), dt.time(12))
    assert (policy.late_checkout_until, policy.early_checkin_from) == (dt.time(14), dt.time(11))
    assert (policy.late_checkout_fee, policy.early_checkin_fee, policy.currency) == (None, None, "EUR")


# --- demo seed --------------------------------------------------------------------------------------------------
def test_seed_builds_a_realistic_hotel(tenant):
    # when
    summary = pms_seed_demo(tenant)

    # then
    assert summary == {"created": 6, "updated": 0}
    room_types = list(MockRoomType.objects.for_tenant(tenant))
    assert [rt.code for rt in room_types] == ["IND", "DBL", "DBL-SEA", "TWIN", "FAM", "SUITE-JR"]
    assert room_types[2].names["es"] == "Doble Superior con vistas al mar"
    for rt in room_types:
        assert set(rt.names) == set(rt.descriptions) == {"es", "en", "pt"}
        assert rt.amenities
        assert 2 <= rt.room_count <= 10
        assert Decimal(70) <= rt.weekday_rate <= Decimal(260)
        assert rt.weekend_rate == (rt.weekday_rate * Decimal("1.15")).quantize(Decimal("0.01"))
        assert (rt.season_start, rt.season_end, rt.season_multiplier) == ("07-01", "08-31", Decimal("1.30"))
    config = PMSConfig.objects.get(tenant=tenant)
    assert (config.late_checkout_fee, config.early_checkin_fee) == (Decimal("20.00"), Decimal("15.00"))


def test_seed_is_idempotent_and_keeps_bookings_and_config(tenant):
    # given
    pms_seed_demo(tenant)
    PMSConfig.objects.filter(tenant=tenant).update(late_checkout_fee=Decimal("30.00"))
    pms = MockPMS(tenant=tenant)
    monday = monday_after(pms.today() + dt.timedelta(days=14))
    reference = book(pms, "DBL", monday, monday + DAY).reference

    # when
    summary = pms_seed_demo(tenant)

    # then
    assert summary == {"created": 0, "updated": 6}
    assert MockRoomType.objects.for_tenant(tenant).count() == 6
    assert pms.get_booking(reference).status == "confirmed"
    assert PMSConfig.objects.get(tenant=tenant).late_checkout_fee == Decimal("30.00")


def test_seeded_sea_view_double_in_july(tenant):
    # given
    pms_seed_demo(tenant)
    pms = MockPMS(tenant=tenant)
    monday = july_monday(pms)

    # when: a Tuesday night in July
    (offer,) = pms.availability(monday + DAY, monday + 2 * DAY, 2, 1, room_type="DBL-SEA")

    # then: 135 × 1.3
    assert (offer.total_price, offer.rooms_left, offer.room_type.name) == (
        Decimal("175.50"),
        6,
        "Doble Superior con vistas al mar",
    )
