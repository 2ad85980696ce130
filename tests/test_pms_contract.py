"""The ``PMSAdapter`` contract: what every adapter (mock, QloApps, …) must do, whatever its backend.

``PMSContract`` holds the tests; a subclass named ``Test…`` provides the ``hotel`` fixture (a ``ContractHotel``)
for one adapter. To run the contract against another adapter, subclass it in that adapter's test module::

    from tests.test_pms_contract import ContractHotel, PMSContract

    class TestQloAppsContract(PMSContract):
        @pytest.fixture
        def hotel(self, fake_qloapps) -> ContractHotel: ...
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest

from pms.base import (
    Booking,
    GuestDetails,
    Offer,
    PMSAdapter,
    PMSInvalidRequest,
    PMSNoAvailability,
    PMSNotFound,
    RoomType,
    StayPolicy,
)
from pms.mock import MockPMS
from tests.pms_factories import MockRoomTypeFactory, PMSConfigFactory


@dataclass(frozen=True)
class ContractHotel:
    """A hotel in a known state, seen through ``adapter``."""

    adapter: PMSAdapter
    last_room: str  # a room type with exactly one room, free for ``stay`` and ``other_stay``, fits 2 adults
    stay: tuple[dt.date, dt.date]  # two nights or more
    other_stay: tuple[dt.date, dt.date]  # a different stay, not overlapping ``stay``
    too_many_adults: int  # more adults than ``last_room`` takes
    guest: GuestDetails


def offer_for(offers: list[Offer], code: str) -> Offer | None:
    return next((o for o in offers if o.room_type.code == code), None)


class PMSContract:
    """Adapter-independent behaviour. Subclasses provide the ``hotel`` fixture."""

    @pytest.fixture
    def hotel(self) -> ContractHotel:
        raise NotImplementedError

    def book(self, hotel: ContractHotel, stay: tuple[dt.date, dt.date] | None = None) -> Booking:
        check_in, check_out = stay or hotel.stay
        return hotel.adapter.create_booking(
            room_type=hotel.last_room,
            check_in=check_in,
            check_out=check_out,
            adults=2,
            children=0,
            guest=hotel.guest,
        )

    def test_room_types_are_typed_values(self, hotel):
        # when
        room_types = hotel.adapter.room_types()

        # then
        assert hotel.last_room in [rt.code for rt in room_types]
        for rt in room_types:
            assert isinstance(rt, RoomType)
            assert isinstance(rt.base_price, Decimal)
            assert len(rt.currency) == 3
            assert isinstance(rt.taxes_included, bool)
            assert rt.max_occupancy >= 1

    def test_availability_offers_priced_nights(self, hotel):
        # given
        check_in, check_out = hotel.stay

        # when
        offer = offer_for(hotel.adapter.availability(check_in, check_out, 2, 0), hotel.last_room)

        # then
        assert offer is not None
        assert offer.rooms_left == 1
        assert offer.nights == (check_out - check_in).days
        assert all(isinstance(price, Decimal) and price > 0 for price in offer.nightly_prices)
        assert offer.total_price == sum(offer.nightly_prices)
        assert offer.currency == offer.room_type.currency

    def test_availability_filtered_by_room_type(self, hotel):
        # when
        offers = hotel.adapter.availability(*hotel.stay, 2, 0, room_type=hotel.last_room)

        # then
        assert [o.room_type.code for o in offers] == [hotel.last_room]

    def test_check_out_not_after_check_in_is_invalid(self, hotel):
        check_in, _ = hotel.stay
        with pytest.raises(PMSInvalidRequest):
            hotel.adapter.availability(check_in, check_in, 2, 0)

    def test_party_too_big_gets_no_offer_and_cannot_book(self, hotel):
        # when
        offers = hotel.adapter.availability(*hotel.stay, hotel.too_many_adults, 0, room_type=hotel.last_room)

        # then
        assert offers == []
        with pytest.raises(PMSInvalidRequest):
            hotel.adapter.create_booking(
                room_type=hotel.last_room,
                check_in=hotel.stay[0],
                check_out=hotel.stay[1],
                adults=hotel.too_many_adults,
                children=0,
                guest=hotel.guest,
            )

    def test_booking_round_trip(self, hotel):
        # given
        check_in, check_out = hotel.stay
        quoted = offer_for(hotel.adapter.availability(check_in, check_out, 2, 0), hotel.last_room)

        # when
        booking = self.book(hotel)

        # then
        assert booking.reference
        assert booking.status == "confirmed"
        assert (booking.check_in, booking.check_out, booking.adults, booking.children) == (check_in, check_out, 2, 0)
        assert booking.room_type.code == hotel.last_room
        assert booking.total_price == quoted.total_price
        assert booking.guest.name == hotel.guest.name
        assert hotel.adapter.get_booking(booking.reference) == booking

    def test_booking_the_last_room_sells_it_out(self, hotel):
        # given
        self.book(hotel)

        # when
        offers = hotel.adapter.availability(*hotel.stay, 2, 0)

        # then
        assert offer_for(offers, hotel.last_room) is None
        with pytest.raises(PMSNoAvailability):
            self.book(hotel)

    def test_cancellation_restores_availability(self, hotel):
        # given
        booking = self.book(hotel)

        # when
        cancelled = hotel.adapter.cancel_booking(booking.reference)

        # then
        assert cancelled.status == "cancelled"
        assert hotel.adapter.get_booking(booking.reference).status == "cancelled"
        assert offer_for(hotel.adapter.availability(*hotel.stay, 2, 0), hotel.last_room).rooms_left == 1

    def test_modify_moves_and_reprices(self, hotel):
        # given
        new_in, new_out = hotel.other_stay
        quoted = offer_for(hotel.adapter.availability(new_in, new_out, 2, 0), hotel.last_room)
        booking = self.book(hotel)

        # when
        changed = hotel.adapter.modify_booking(booking.reference, check_in=new_in, check_out=new_out)

        # then
        assert (changed.reference, changed.status) == (booking.reference, "confirmed")
        assert (changed.check_in, changed.check_out) == (new_in, new_out)
        assert changed.total_price == quoted.total_price
        assert offer_for(hotel.adapter.availability(*hotel.stay, 2, 0), hotel.last_room).rooms_left == 1
        assert offer_for(hotel.adapter.availability(new_in, new_out, 2, 0), hotel.last_room) is None

    def test_unknown_reference_is_not_found(self, hotel):
        with pytest.raises(PMSNotFound):
            hotel.adapter.get_booking("NOPE-00000")
        with pytest.raises(PMSNotFound):
            hotel.adapter.cancel_booking("NOPE-00000")
        with pytest.raises(PMSNotFound):
            hotel.adapter.modify_booking("NOPE-00000", adults=1)

    def test_stay_policy(self, hotel):
        policy = hotel.adapter.stay_policy()

        assert isinstance(policy, StayPolicy)
        assert isinstance(policy.check_in_time, dt.time)
        assert isinstance(policy.check_out_time, dt.time)
        assert len(policy.currency) == 3


def monday_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(7 - day.weekday()) % 7 or 7)


class TestMockPMSContract(PMSContract):
    @pytest.fixture
    def hotel(self, tenant) -> ContractHotel:
        PMSConfigFactory(tenant=tenant)
        MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=5)
        MockRoomTypeFactory(tenant=tenant, code="LAST", room_count=1, max_adults=2, max_children=0, max_occupancy=2)
        adapter = MockPMS(tenant=tenant)
        monday = monday_after(adapter.today() + dt.timedelta(days=14))
        return ContractHotel(
            adapter=adapter,
            last_room="LAST",
            stay=(monday, monday + dt.timedelta(days=3)),
            other_stay=(monday + dt.timedelta(days=7), monday + dt.timedelta(days=9)),
            too_many_adults=3,
            guest=GuestDetails(name="Ana García", email="ana@example.com", phone="+34600000001"),
        )
