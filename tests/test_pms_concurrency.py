"""No double booking on a real PostgreSQL: concurrent bookings of the last room, each in its own thread and
connection, leave exactly one booking; the others are told the room is sold out."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from pms.base import GuestDetails, PMSNoAvailability
from pms.mock import MockPMS
from pms.models import BookingStatus, MockBooking
from pms.services import pms_for_tenant
from tests.conftest import REAL_POSTGRES
from tests.factories import TenantFactory
from tests.pms_factories import MockBookingFactory, MockRoomTypeFactory
from tests.test_pms_contract import monday_after

pytestmark = [
    pytest.mark.skipif(not REAL_POSTGRES, reason="needs a real PostgreSQL (DATABASE_URL=postgres://…)"),
    pytest.mark.django_db(transaction=True),
]

THREADS = 5


def run_concurrently(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call at once, each in its own thread and DB connection; return results or raised errors."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = call()
        except BaseException as exc:  # inspected by the test
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker is stuck"
    return outcomes


@pytest.fixture
def last_room():
    """A hotel whose "DBL" type has two rooms, one of them already booked for the stay."""
    tenant = TenantFactory(slug="sol-y-mar")
    room_type = MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=2)
    monday = monday_after(MockPMS(tenant=tenant).today() + dt.timedelta(days=14))
    stay = (monday, monday + dt.timedelta(days=3))
    MockBookingFactory(room_type=room_type, check_in=monday + dt.timedelta(days=1), check_out=stay[1])
    return tenant, stay


def booking_call(book: Callable[..., Any], stay: tuple[dt.date, dt.date], n: int) -> Callable[[], Any]:
    return lambda: book(
        room_type="DBL",
        check_in=stay[0],
        check_out=stay[1],
        adults=2,
        children=0,
        guest=GuestDetails(name=f"Guest {n}", email=f"guest{n}@example.com"),
    )


def assert_exactly_one_booked(outcomes: list[Any], tenant) -> None:
    booked = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, PMSNoAvailability)]
    assert (len(booked), len(refused)) == (1, THREADS - 1), outcomes
    assert MockBooking.objects.for_tenant(tenant).filter(status=BookingStatus.CONFIRMED).count() == 2
    assert MockBooking.objects.for_tenant(tenant).filter(reference=booked[0].reference).exists()


def test_concurrent_bookings_of_the_last_room_on_the_adapter(last_room):
    # given
    tenant, stay = last_room

    # when: every thread uses its own adapter, as separate workers would
    outcomes = run_concurrently([booking_call(MockPMS(tenant=tenant).create_booking, stay, n) for n in range(THREADS)])

    # then
    assert_exactly_one_booked(outcomes, tenant)


def test_concurrent_bookings_of_the_last_room_through_the_resilience_layer(last_room):
    # given
    tenant, stay = last_room

    # when
    outcomes = run_concurrently([booking_call(pms_for_tenant(tenant).create_booking, stay, n) for n in range(THREADS)])

    # then
    assert_exactly_one_booked(outcomes, tenant)
    assert pms_for_tenant(tenant).breaker_state() == "closed"  # sold out is an answer, not a failure
