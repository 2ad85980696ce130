"""The PMS adapter interface. One module per implementation (``mock``, ``qloapps``), chosen by ``registry``.

Prices are ``Decimal`` with an ISO currency; every offer says whether taxes are included. Errors are typed:
``PMSNotFound``, ``PMSNoAvailability`` and ``PMSInvalidRequest`` are terminal business answers (never retried,
never counted as breaker failures); ``PMSUnavailable`` (and its ``PMSTimeout``) are transient.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


class PMSError(Exception):
    """Base of every PMS error."""


class PMSBusinessError(PMSError):
    """A terminal answer from the PMS: retrying will not change it."""


class PMSNotFound(PMSBusinessError):
    pass


class PMSNoAvailability(PMSBusinessError):
    pass


class PMSInvalidRequest(PMSBusinessError):
    pass


class PMSUnavailable(PMSError):
    """The PMS cannot answer now (down, 5xx, breaker open): transient."""


class PMSTimeout(PMSUnavailable):
    pass


@dataclass(frozen=True)
class RoomType:
    code: str  # the PMS's id, as a string
    name: str  # in the hotel's default language
    max_adults: int
    max_children: int
    max_occupancy: int
    base_price: Decimal  # a typical nightly price, for "general price" answers
    currency: str
    taxes_included: bool
    names: dict[str, str] = field(default_factory=dict)  # language → name
    descriptions: dict[str, str] = field(default_factory=dict)  # language → description
    amenities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Offer:
    room_type: RoomType
    rooms_left: int
    nightly_prices: tuple[Decimal, ...]  # one per night, check-in first
    total_price: Decimal
    currency: str
    taxes_included: bool

    @property
    def nights(self) -> int:
        return len(self.nightly_prices)


@dataclass(frozen=True)
class GuestDetails:
    name: str
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Booking:
    reference: str
    status: str  # confirmed | cancelled
    room_type: RoomType
    check_in: dt.date
    check_out: dt.date
    adults: int
    children: int
    guest: GuestDetails
    total_price: Decimal
    currency: str
    taxes_included: bool


@dataclass(frozen=True)
class StayPolicy:
    """What late check-out / early check-in answers need."""

    check_in_time: dt.time
    check_out_time: dt.time
    late_checkout_until: dt.time | None  # latest time granted on request, None = never
    late_checkout_fee: Decimal | None
    early_checkin_from: dt.time | None
    early_checkin_fee: Decimal | None
    currency: str


class PMSAdapter(Protocol):
    name: str

    def room_types(self) -> list[RoomType]: ...

    def availability(
        self, check_in: dt.date, check_out: dt.date, adults: int, children: int = 0, room_type: str | None = None
    ) -> list[Offer]: ...

    def create_booking(
        self,
        *,
        room_type: str,
        check_in: dt.date,
        check_out: dt.date,
        adults: int,
        children: int,
        guest: GuestDetails,
    ) -> Booking: ...

    def get_booking(self, reference: str) -> Booking: ...

    def cancel_booking(self, reference: str) -> Booking: ...

    def modify_booking(
        self,
        reference: str,
        *,
        check_in: dt.date | None = None,
        check_out: dt.date | None = None,
        adults: int | None = None,
        children: int | None = None,
        room_type: str | None = None,
    ) -> Booking: ...

    def stay_policy(self) -> StayPolicy: ...

    def late_checkout_available(self, reference: str | None, day: dt.date) -> bool:
        """Whether the room can stay occupied past the normal check-out on ``day`` (no arrival needs it)."""

    def early_checkin_available(self, reference: str | None, day: dt.date) -> bool:
        """Whether a room of the booking's type is free the night before ``day``."""
