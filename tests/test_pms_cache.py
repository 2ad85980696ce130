"""The resilience wrapper's cache: hits and misses, stale copies served (and marked) while the PMS is down, and
availability dropped after every booking change of the hotel — and only of that hotel."""

from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client import REGISTRY

from pms.base import GuestDetails, PMSNoAvailability, PMSUnavailable
from pms.resilience import PMSCircuitOpen, ResiliencePolicy, ResilientPMS, invalidate_availability
from pms.services import pms_cache_invalidate
from tests.factories import TenantFactory
from tests.pms_factories import FAKE_ROOM, FakePMS

pytestmark = pytest.mark.django_db

MAY_6, MAY_8, MAY_9 = dt.date(2030, 5, 6), dt.date(2030, 5, 8), dt.date(2030, 5, 9)
GUEST = GuestDetails(name="Ana García", email="ana@example.com")


@pytest.fixture
def fake() -> FakePMS:
    return FakePMS()


@pytest.fixture
def pms(fake, tenant) -> ResilientPMS:
    return ResilientPMS(fake, tenant=tenant, sleep=lambda seconds: None)


def counter(name: str, operation: str) -> float:
    return REGISTRY.get_sample_value(name, {"operation": operation}) or 0.0


# --- hits and misses ----------------------------------------------------------------------------------------------
def test_second_identical_availability_read_is_a_hit(pms, fake):
    # given
    hits, misses = counter("pms_cache_hits_total", "availability"), counter("pms_cache_misses_total", "availability")

    # when
    first = pms.availability_result(MAY_6, MAY_8, 2, 0)
    fake.rooms_left = 1
    second = pms.availability_result(MAY_6, MAY_8, 2, 0)

    # then
    assert fake.calls["availability"] == 1
    assert second == first
    assert (second.stale, second.value[0].rooms_left) == (False, 3)
    assert counter("pms_cache_hits_total", "availability") - hits == 1
    assert counter("pms_cache_misses_total", "availability") - misses == 1


@pytest.mark.parametrize(
    "other_request",
    [(MAY_6, MAY_9, 2, 0, None), (MAY_6, MAY_8, 1, 0, None), (MAY_6, MAY_8, 2, 1, None), (MAY_6, MAY_8, 2, 0, "DBL")],
    ids=["dates", "adults", "children", "room-type"],
)
def test_a_different_request_is_a_miss(pms, fake, other_request):
    pms.availability(MAY_6, MAY_8, 2, 0)

    pms.availability(*other_request)

    assert fake.calls["availability"] == 2


def test_room_types_and_stay_policy_are_cached(pms, fake):
    assert pms.room_types() == pms.room_types()
    assert pms.stay_policy() == pms.stay_policy()

    assert (fake.calls["room_types"], fake.calls["stay_policy"]) == (1, 1)


def test_a_zero_ttl_disables_the_fresh_cache(fake, tenant):
    pms = ResilientPMS(fake, tenant=tenant, policy=ResiliencePolicy(room_types_ttl=0, availability_ttl=0))

    pms.room_types()
    pms.room_types()
    pms.availability(MAY_6, MAY_8, 2, 0)
    pms.availability(MAY_6, MAY_8, 2, 0)

    assert (fake.calls["room_types"], fake.calls["availability"]) == (2, 2)


def test_bookings_are_never_cached(pms, fake):
    pms.get_booking("FAK-AAAAA")
    pms.get_booking("FAK-AAAAA")

    assert fake.calls["get_booking"] == 2


# --- stale copies ---------------------------------------------------------------------------------------------------
def test_pms_down_serves_the_stale_copy_marked_stale(pms, fake, tenant):
    # given: an answer was cached, then expired (version bump), then the PMS went down
    fresh = pms.availability_result(MAY_6, MAY_8, 2, 0)
    invalidate_availability(tenant.pk)
    fake.down = True
    stale_before = counter("pms_stale_served_total", "availability")

    # when
    result = pms.availability_result(MAY_6, MAY_8, 2, 0)
    offers = pms.availability(MAY_6, MAY_8, 2, 0)

    # then
    assert (result.stale, result.value, result.fetched_at) == (True, fresh.value, fresh.fetched_at)
    assert offers == fresh.value
    assert (pms.last_result_stale, pms.last_result_fetched_at) == (True, fresh.fetched_at)
    assert counter("pms_stale_served_total", "availability") - stale_before == 2
    # the first stale answer came after three failed attempts, the second after two: the fifth failure opened the
    # breaker, and a retry would only have been rejected
    assert fake.calls["availability"] == 1 + 3 + 2
    assert pms.breaker_state() == "open"


def test_open_breaker_serves_the_stale_copy_without_calling(pms, fake, tenant):
    # given
    pms.room_types()
    pms_cache_invalidate(tenant=tenant, catalog=True)
    pms.breaker.open()

    # when
    result = pms.room_types_result()

    # then
    assert (result.stale, result.value) == (True, [FAKE_ROOM])
    assert fake.calls["room_types"] == 1


def test_nothing_cached_and_pms_down_raises(pms, fake):
    # given
    fake.down = True

    # when / then
    with pytest.raises(PMSUnavailable):
        pms.availability(MAY_6, MAY_8, 2, 0)
    assert pms.last_result_stale is False


def test_nothing_cached_and_breaker_open_raises_circuit_open(pms, fake):
    pms.breaker.open()

    with pytest.raises(PMSCircuitOpen):
        pms.stay_policy()
    assert fake.calls["stay_policy"] == 0


def test_a_fresh_answer_clears_the_stale_mark(pms, fake, tenant):
    # given
    pms.availability(MAY_6, MAY_8, 2, 0)
    invalidate_availability(tenant.pk)
    fake.down = True
    pms.availability(MAY_6, MAY_8, 2, 0)
    assert pms.last_result_stale is True

    # when
    fake.down = False
    pms.availability(MAY_6, MAY_8, 2, 0)

    # then
    assert pms.last_result_stale is False


def test_the_cache_is_per_hotel(fake, tenant):
    # given
    other = TenantFactory(slug="otro-hotel")
    ours, theirs = ResilientPMS(fake, tenant=tenant), ResilientPMS(FakePMS(), tenant=other)
    ours.availability(MAY_6, MAY_8, 2, 0)
    theirs.adapter.down = True

    # when / then: the other hotel never gets our copy, fresh or stale
    with pytest.raises(PMSUnavailable):
        theirs.availability(MAY_6, MAY_8, 2, 0)


# --- invalidation ---------------------------------------------------------------------------------------------------
WRITES = {
    "create": lambda pms: pms.create_booking(
        room_type="DBL", check_in=MAY_6, check_out=MAY_8, adults=2, children=0, guest=GUEST
    ),
    "cancel": lambda pms: pms.cancel_booking("FAK-AAAAA"),
    "modify": lambda pms: pms.modify_booking("FAK-AAAAA", check_out=MAY_9),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_booking_change_drops_cached_availability(pms, fake, write):
    # given
    pms.availability(MAY_6, MAY_8, 2, 0)
    fake.rooms_left = 2

    # when
    write(pms)

    # then
    assert pms.availability(MAY_6, MAY_8, 2, 0)[0].rooms_left == 2
    assert fake.calls["availability"] == 2


def test_a_refused_booking_drops_cached_availability_too(pms, fake):
    # given: the cache says a room is left, the PMS says sold out
    pms.availability(MAY_6, MAY_8, 2, 0)
    fake.errors = [PMSNoAvailability("sold out")]

    # when
    with pytest.raises(PMSNoAvailability):
        WRITES["create"](pms)

    # then
    pms.availability(MAY_6, MAY_8, 2, 0)
    assert fake.calls["availability"] == 2


def test_a_booking_change_keeps_room_types_and_other_hotels(pms, fake):
    # given
    other_fake = FakePMS()
    theirs = ResilientPMS(other_fake, tenant=TenantFactory(slug="otro-hotel"))
    pms.room_types()
    theirs.availability(MAY_6, MAY_8, 2, 0)

    # when
    WRITES["cancel"](pms)

    # then
    pms.room_types()
    theirs.availability(MAY_6, MAY_8, 2, 0)
    assert fake.calls["room_types"] == 1
    assert other_fake.calls["availability"] == 1


def test_catalog_invalidation_drops_room_types_policy_and_availability(pms, fake, tenant):
    # given
    pms.room_types()
    pms.stay_policy()
    pms.availability(MAY_6, MAY_8, 2, 0)

    # when
    pms_cache_invalidate(tenant=tenant, catalog=True)

    # then
    pms.room_types()
    pms.stay_policy()
    pms.availability(MAY_6, MAY_8, 2, 0)
    assert (fake.calls["room_types"], fake.calls["stay_policy"], fake.calls["availability"]) == (2, 2, 2)
