"""``manage.py pms``: JSON for every subcommand (decimals as strings, dates ISO), one-line errors."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from pms.base import GuestDetails
from pms.mock import MockPMS
from pms.models import MockRoomType
from pms.services import pms_cache_invalidate, pms_for_tenant
from tests.factories import TenantFactory
from tests.pms_factories import MockRoomTypeFactory, PMSConfigFactory
from tests.test_pms_contract import monday_after

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


@pytest.fixture
def hotel(tenant):
    PMSConfigFactory(tenant=tenant)
    MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=2)
    return tenant


@pytest.fixture
def monday(hotel) -> dt.date:
    return monday_after(MockPMS(tenant=hotel).today() + dt.timedelta(days=14))


def run(*args: str) -> dict:
    out = io.StringIO()
    call_command("pms", *args, stdout=out)
    return json.loads(out.getvalue())


def book(tenant, check_in: dt.date, nights: int = 2, name: str = "Ana García"):
    return MockPMS(tenant=tenant).create_booking(
        room_type="DBL",
        check_in=check_in,
        check_out=check_in + nights * DAY,
        adults=2,
        children=0,
        guest=GuestDetails(name=name, email="ana@example.com"),
    )


ROOM_JSON = {
    "code": "DBL",
    "name": "Doble DBL",
    "max_adults": 2,
    "max_children": 1,
    "max_occupancy": 3,
    "base_price": "100.00",
    "currency": "EUR",
    "taxes_included": True,
    "names": {"es": "Doble DBL", "en": "Double DBL", "pt": "Duplo DBL"},
    "descriptions": {"es": "Habitación doble.", "en": "Double room.", "pt": "Quarto duplo."},
    "amenities": ["wifi", "air-conditioning"],
}


def test_rooms(hotel):
    data = run("--tenant", "sol-y-mar", "rooms")

    assert dt.datetime.fromisoformat(data.pop("fetched_at"))
    assert data == {"tenant": "sol-y-mar", "pms": "mock", "stale": False, "room_types": [ROOM_JSON]}


def test_availability(hotel, monday):
    # given: Thursday to Saturday, one room already taken
    book(hotel, monday + 3 * DAY)

    # when
    data = run(
        "--tenant", "sol-y-mar", "availability", "--from", str(monday + 3 * DAY), "--to", str(monday + 5 * DAY),
        "--adults", "2", "--children", "1",
    )  # fmt: skip

    # then
    data.pop("fetched_at")
    assert data == {
        "tenant": "sol-y-mar",
        "pms": "mock",
        "stale": False,
        "offers": [
            {
                "room_type": ROOM_JSON,
                "rooms_left": 1,
                "nightly_prices": ["100.00", "120.00"],
                "total_price": "220.00",
                "currency": "EUR",
                "taxes_included": True,
            }
        ],
        "request": {
            "check_in": (monday + 3 * DAY).isoformat(),
            "check_out": (monday + 5 * DAY).isoformat(),
            "adults": 2,
            "children": 1,
            "room_type": None,
        },
    }


def test_availability_for_one_room_type(hotel, monday):
    MockRoomTypeFactory(tenant=hotel, code="SUITE")

    data = run(
        "--tenant", "sol-y-mar", "availability", "--from", str(monday), "--to", str(monday + DAY),
        "--adults", "1", "--room-type", "SUITE",
    )  # fmt: skip

    assert [o["room_type"]["code"] for o in data["offers"]] == ["SUITE"]


def test_availability_marks_a_stale_answer(hotel, monday):
    # given: an answer was given, then the PMS breaker opened and the fresh copy was dropped
    args = ["--tenant", "sol-y-mar", "availability", "--from", str(monday), "--to", str(monday + DAY), "--adults", "2"]
    run(*args)
    pms_cache_invalidate(tenant=hotel)
    pms_for_tenant(hotel).breaker.open()

    # when
    data = run(*args)

    # then
    assert data["stale"] is True
    assert [o["rooms_left"] for o in data["offers"]] == [2]


def test_bookings_newest_first_and_by_status(hotel, monday):
    # given
    first = book(hotel, monday, name="Ana García")
    second = book(hotel, monday + 7 * DAY, name="João Silva")
    MockPMS(tenant=hotel).cancel_booking(first.reference)
    other = TenantFactory(slug="otro-hotel")
    MockRoomTypeFactory(tenant=other, code="DBL")
    book(other, monday)

    # when
    everything = run("--tenant", "sol-y-mar", "bookings")
    confirmed = run("--tenant", "sol-y-mar", "bookings", "--status", "confirmed")

    # then
    assert [(b["reference"], b["status"]) for b in everything["bookings"]] == [
        (second.reference, "confirmed"),
        (first.reference, "cancelled"),
    ]
    row = confirmed["bookings"][0]
    assert dt.datetime.fromisoformat(row.pop("created_at"))
    assert confirmed["bookings"] == [
        {
            "reference": second.reference,
            "status": "confirmed",
            "room_type": "DBL",
            "check_in": (monday + 7 * DAY).isoformat(),
            "check_out": (monday + 9 * DAY).isoformat(),
            "adults": 2,
            "children": 0,
            "guest": {"name": "João Silva", "email": "ana@example.com", "phone": ""},
            "total_price": "200.00",
            "currency": "EUR",
        }
    ]


def test_booking_by_reference(hotel, monday):
    booking = book(hotel, monday)

    data = run("--tenant", "sol-y-mar", "booking", booking.reference.lower())

    assert data["booking"]["reference"] == booking.reference
    assert data["booking"]["status"] == "confirmed"
    assert data["booking"]["total_price"] == "200.00"
    assert data["booking"]["check_in"] == monday.isoformat()
    assert data["booking"]["guest"] == {"name": "Ana García", "email": "ana@example.com", "phone": ""}


def test_another_hotels_booking_is_unknown(hotel, monday):
    # given
    booking = book(hotel, monday)
    TenantFactory(slug="otro-hotel")

    # when / then: the same error as a reference that does not exist
    with pytest.raises(CommandError) as theirs:
        run("--tenant", "otro-hotel", "booking", booking.reference)
    with pytest.raises(CommandError) as missing:
        run("--tenant", "otro-hotel", "booking", "SYM-ZZZZZ")
    assert str(theirs.value) == f'Unknown booking "{booking.reference}" for hotel "otro-hotel".'
    assert str(missing.value) == 'Unknown booking "SYM-ZZZZZ" for hotel "otro-hotel".'


def test_breaker(hotel):
    data = run("--tenant", "sol-y-mar", "breaker")

    assert data == {
        "tenant": "sol-y-mar",
        "pms": "mock",
        "state": "closed",
        "fail_counter": 0,
        "fail_max": 5,
        "reset_timeout": 30.0,
        "opened_at": None,
        "storage": "redis" if settings.REDIS_URL else "memory",
    }


def test_breaker_open(hotel):
    pms_for_tenant(hotel).breaker.open()

    data = run("--tenant", "sol-y-mar", "breaker")

    assert data["state"] == "open"
    assert dt.datetime.fromisoformat(data["opened_at"])


def test_seed(tenant):
    assert run("--tenant", "sol-y-mar", "seed") == {"tenant": "sol-y-mar", "room_types": {"created": 6, "updated": 0}}
    assert MockRoomType.objects.for_tenant(tenant).count() == 6


# --- errors ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nope", "rooms"], 'Unknown hotel "nope".'),
        (
            ["--tenant", "sol-y-mar", "availability", "--from", "2030-13-01", "--to", "2030-12-03", "--adults", "2"],
            'Invalid date "2030-13-01": use YYYY-MM-DD.',
        ),
        (
            ["--tenant", "sol-y-mar", "availability", "--from", "2030-05-06", "--to", "tomorrow", "--adults", "2"],
            'Invalid date "tomorrow": use YYYY-MM-DD.',
        ),
        (
            ["--tenant", "sol-y-mar", "availability", "--from", "2030-05-06", "--to", "2030-05-06", "--adults", "2"],
            "Invalid request: check-out must be after check-in",
        ),
        (
            ["--tenant", "sol-y-mar", "availability", "--from", "2020-05-06", "--to", "2020-05-07", "--adults", "2"],
            "Invalid request: check-in is in the past",
        ),
        (["--tenant", "sol-y-mar", "booking", "SYM-ZZZZZ"], 'Unknown booking "SYM-ZZZZZ" for hotel "sol-y-mar".'),
    ],
    ids=["unknown-hotel", "bad-from", "bad-to", "empty-stay", "past", "unknown-booking"],
)
def test_errors_are_one_line(hotel, args, message):
    with pytest.raises(CommandError) as caught:
        run(*args)

    assert str(caught.value) == message


def test_pms_unavailable_is_one_line(hotel):
    pms_for_tenant(hotel).breaker.open()

    with pytest.raises(CommandError) as caught:
        run("--tenant", "sol-y-mar", "booking", "SYM-ZZZZZ")

    assert str(caught.value) == "PMS unavailable: circuit open for sol-y-mar/mock"


def test_bookings_need_the_mock_pms(tenant):
    PMSConfigFactory(tenant=tenant, kind="qloapps")

    with pytest.raises(CommandError) as caught:
        run("--tenant", "sol-y-mar", "bookings")

    assert str(caught.value) == 'Listing bookings is only available for the mock PMS (hotel "sol-y-mar": qloapps).'
