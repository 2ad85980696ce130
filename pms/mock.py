"""The mock PMS: a small hotel stored in the database, per tenant (``MockRoomType``, ``MockBooking``).

Availability of a room type for a night = ``room_count`` − confirmed bookings holding that night. An offer is made
only when the party fits the room type and every night has at least one room left; ``rooms_left`` is the minimum
over the nights. Nightly price: weekend rate on Friday and Saturday nights, weekday rate otherwise, times the
season multiplier inside the high season; the total is the sum of the nightly prices.

Writes re-check availability inside a transaction holding a ``SELECT … FOR UPDATE`` lock on the room type row, so
two concurrent bookings of the last room cannot both succeed (PostgreSQL; SQLite serializes writers anyway).
Cancelling is idempotent: cancelling a cancelled booking returns it unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from pms.base import (
    Booking,
    GuestDetails,
    Offer,
    PMSInvalidRequest,
    PMSNoAvailability,
    PMSNotFound,
    PMSUnavailable,
    RoomType,
    StayPolicy,
)
from pms.models import BookingStatus, MockBooking, MockRoomType, PMSConfig
from tenants.models import Tenant

MAX_NIGHTS = 30
MAX_DAYS_AHEAD = 730
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by guests
REFERENCE_LENGTH = 5
CENT = Decimal("0.01")
WEEKEND_NIGHTS = (4, 5)  # Friday and Saturday nights


def reference_prefix(tenant: Tenant) -> str:
    """Three letters from the hotel's slug: ``sol-y-mar`` → ``SYM``, ``demo`` → ``DEM``."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", tenant.slug) if p]
    if len(parts) >= 3:
        return "".join(p[0] for p in parts[:3]).upper()
    letters = "".join(parts).upper()
    return (letters + "XXX")[:3]


def new_reference(prefix: str) -> str:
    """``SYM-7K3Q9``: the hotel's prefix and five random characters."""
    return f"{prefix}-{''.join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))}"


def normalize_reference(reference: str) -> str:
    return (reference or "").strip().upper()


def nights_between(check_in: dt.date, check_out: dt.date) -> Iterator[dt.date]:
    night = check_in
    while night < check_out:
        yield night
        night += dt.timedelta(days=1)


def night_price(room_type: MockRoomType, night: dt.date) -> Decimal:
    rate = room_type.weekend_rate if night.weekday() in WEEKEND_NIGHTS else room_type.weekday_rate
    if room_type.in_season(night):
        rate = rate * room_type.season_multiplier
    return Decimal(rate).quantize(CENT, rounding=ROUND_HALF_UP)


def party_fits(room_type: MockRoomType, adults: int, children: int) -> bool:
    return (
        adults <= room_type.max_adults
        and children <= room_type.max_children
        and adults + children <= room_type.max_occupancy
    )


def _is_date(value: object) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class MockPMS:
    """The ``PMSAdapter`` of one tenant's mock hotel."""

    name = "mock"

    def __init__(self, *, tenant: Tenant, config: PMSConfig | None = None) -> None:
        if tenant is None or tenant.pk is None:
            raise PMSInvalidRequest("the mock PMS needs a saved tenant")
        self.tenant = tenant
        self.config = config if config is not None else PMSConfig(tenant=tenant)

    @classmethod
    def from_config(cls, config: PMSConfig) -> MockPMS:
        return cls(tenant=config.tenant, config=config)

    # --- reads ----------------------------------------------------------------------------------------------
    def room_types(self) -> list[RoomType]:
        return [self._room_type_value(rt) for rt in self._room_types()]

    def availability(
        self, check_in: dt.date, check_out: dt.date, adults: int, children: int = 0, room_type: str | None = None
    ) -> list[Offer]:
        self._validate_stay(check_in, check_out, adults, children)
        room_types = self._room_types()
        if room_type is not None:
            room_types = [rt for rt in room_types if rt.code == room_type]
            if not room_types:
                raise PMSInvalidRequest(f"unknown room type {room_type!r}")
        fitting = [rt for rt in room_types if party_fits(rt, adults, children)]
        occupancy = self._occupancy(fitting, check_in, check_out)
        offers = (self._offer(rt, check_in, check_out, occupancy[rt.pk]) for rt in fitting)
        return [offer for offer in offers if offer is not None]

    def get_booking(self, reference: str) -> Booking:
        booking = self._bookings().select_related("room_type").filter(reference=normalize_reference(reference)).first()
        if booking is None:
            raise PMSNotFound(f"no booking {normalize_reference(reference)!r}")
        return self._booking_value(booking)

    def stay_policy(self) -> StayPolicy:
        c = self.config
        return StayPolicy(
            check_in_time=c.check_in_time,
            check_out_time=c.check_out_time,
            late_checkout_until=c.late_checkout_until,
            late_checkout_fee=c.late_checkout_fee,
            early_checkin_from=c.early_checkin_from,
            early_checkin_fee=c.early_checkin_fee,
            currency=c.currency,
        )

    def late_checkout_available(self, reference: str | None, day: dt.date) -> bool:
        """A room may stay occupied past check-out on ``day`` when the policy offers late check-out and a room of
        the type is free the night of ``day`` (so no arrival needs that room). With a reference, ``day`` must be
        the booking's check-out day (else ``PMSInvalidRequest``); without one, any room type counts."""
        if not _is_date(day):
            raise PMSInvalidRequest("day must be a date")
        if self.config.late_checkout_until is None or day < self.today():
            return False
        room_types = self._room_types_for_request(reference, day, attribute="check_out")
        if room_types is None:
            return False
        return self._free_on(room_types, day)

    def early_checkin_available(self, reference: str | None, day: dt.date) -> bool:
        """Early check-in on ``day`` is possible when the policy offers it and a room of the booking's type was free
        the night before. With a reference, ``day`` must be the booking's check-in day (else
        ``PMSInvalidRequest``); without one, any room type counts."""
        if not _is_date(day):
            raise PMSInvalidRequest("day must be a date")
        if self.config.early_checkin_from is None or day < self.today():
            return False
        room_types = self._room_types_for_request(reference, day, attribute="check_in")
        if room_types is None:
            return False
        return self._free_on(room_types, day - dt.timedelta(days=1))

    # --- writes ---------------------------------------------------------------------------------------------
    def create_booking(
        self,
        *,
        room_type: str,
        check_in: dt.date,
        check_out: dt.date,
        adults: int,
        children: int,
        guest: GuestDetails,
    ) -> Booking:
        self._validate_stay(check_in, check_out, adults, children)
        self._validate_guest(guest)
        with transaction.atomic():
            locked = self._lock_room_type(room_type)
            if not party_fits(locked, adults, children):
                raise PMSInvalidRequest(f"{adults} adults and {children} children do not fit in {locked.code}")
            occupancy = self._occupancy([locked], check_in, check_out)
            offer = self._offer(locked, check_in, check_out, occupancy[locked.pk])
            if offer is None:
                raise PMSNoAvailability(f"{locked.code} is sold out for {check_in}..{check_out}")
            booking = self._insert(
                room_type=locked,
                check_in=check_in,
                check_out=check_out,
                adults=adults,
                children=children,
                guest=guest,
                total=offer.total_price,
            )
        return self._booking_value(booking)

    def cancel_booking(self, reference: str) -> Booking:
        with transaction.atomic():
            booking = self._lock_booking(reference)
            if booking.status == BookingStatus.CANCELLED:
                return self._booking_value(booking)  # idempotent
            if booking.check_in < self.today():
                raise PMSInvalidRequest("the stay has already started")
            booking.status = BookingStatus.CANCELLED
            booking.cancelled_at = timezone.now()
            booking.save(update_fields=["status", "cancelled_at", "updated_at"])
        return self._booking_value(booking)

    def modify_booking(
        self,
        reference: str,
        *,
        check_in: dt.date | None = None,
        check_out: dt.date | None = None,
        adults: int | None = None,
        children: int | None = None,
        room_type: str | None = None,
    ) -> Booking:
        with transaction.atomic():
            booking = self._lock_booking(reference)
            if booking.status != BookingStatus.CONFIRMED:
                raise PMSInvalidRequest("a cancelled booking cannot be changed")
            if booking.check_in < self.today():
                raise PMSInvalidRequest("the stay has already started")
            new_in = booking.check_in if check_in is None else check_in
            new_out = booking.check_out if check_out is None else check_out
            new_adults = booking.adults if adults is None else adults
            new_children = booking.children if children is None else children
            self._validate_stay(new_in, new_out, new_adults, new_children)
            locked = self._lock_room_type(room_type if room_type is not None else booking.room_type.code)
            if not party_fits(locked, new_adults, new_children):
                raise PMSInvalidRequest(f"{new_adults} adults and {new_children} children do not fit in {locked.code}")
            occupancy = self._occupancy([locked], new_in, new_out, exclude_booking_id=booking.pk)
            offer = self._offer(locked, new_in, new_out, occupancy[locked.pk])
            if offer is None:
                raise PMSNoAvailability(f"{locked.code} is sold out for {new_in}..{new_out}")
            booking.room_type = locked
            booking.check_in, booking.check_out = new_in, new_out
            booking.adults, booking.children = new_adults, new_children
            booking.total, booking.currency = offer.total_price, offer.currency
            booking.save()
        return self._booking_value(booking)

    # --- helpers --------------------------------------------------------------------------------------------
    def today(self) -> dt.date:
        """The hotel's date (its time zone), which decides what is "in the past" — or the rehearsal's ``--today``
        (``simulate``/``chat``), so a rehearsed conversation and the mock PMS agree on the date."""
        from conversations.agent.clock import today_override

        if (override := today_override()) is not None:
            return override
        try:
            zone = zoneinfo.ZoneInfo(self.tenant.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = dt.UTC
        return timezone.now().astimezone(zone).date()

    def _room_types(self) -> list[MockRoomType]:
        return list(MockRoomType.objects.for_tenant(self.tenant).filter(is_active=True))

    def _bookings(self):
        return MockBooking.objects.for_tenant(self.tenant)

    def _lock_room_type(self, code: str) -> MockRoomType:
        locked = (
            MockRoomType.objects.for_tenant(self.tenant).select_for_update().filter(code=code, is_active=True).first()
        )
        if locked is None:
            raise PMSInvalidRequest(f"unknown room type {code!r}")
        return locked

    def _lock_booking(self, reference: str) -> MockBooking:
        booking = self._bookings().select_for_update().filter(reference=normalize_reference(reference)).first()
        if booking is None:
            raise PMSNotFound(f"no booking {normalize_reference(reference)!r}")
        return booking

    def _room_types_for_request(self, reference: str | None, day: dt.date, *, attribute: str):
        """The room types a late check-out / early check-in question is about; ``None`` when it cannot apply."""
        if not reference:
            return self._room_types()
        booking = self._bookings().select_related("room_type").filter(reference=normalize_reference(reference)).first()
        if booking is None:
            raise PMSNotFound(f"no booking {normalize_reference(reference)!r}")
        if booking.status != BookingStatus.CONFIRMED:
            return None
        if getattr(booking, attribute) != day:
            raise PMSInvalidRequest(f"{day} is not the booking's {attribute.replace('_', '-')} day")
        return [booking.room_type]

    def _free_on(self, room_types: list[MockRoomType], night: dt.date) -> bool:
        occupancy = self._occupancy(room_types, night, night + dt.timedelta(days=1))
        return any(rt.room_count - occupancy[rt.pk][night] >= 1 for rt in room_types)

    def _occupancy(
        self,
        room_types: Iterable[MockRoomType],
        check_in: dt.date,
        check_out: dt.date,
        *,
        exclude_booking_id: int | None = None,
    ) -> defaultdict[int, Counter[dt.date]]:
        """Rooms taken per room type and night in ``[check_in, check_out)`` by confirmed bookings."""
        taken: defaultdict[int, Counter[dt.date]] = defaultdict(Counter)
        ids = [rt.pk for rt in room_types]
        if not ids:
            return taken
        bookings = self._bookings().occupying(check_in, check_out).filter(room_type_id__in=ids)
        if exclude_booking_id is not None:
            bookings = bookings.exclude(pk=exclude_booking_id)
        for room_type_id, booked_in, booked_out in bookings.values_list("room_type_id", "check_in", "check_out"):
            taken[room_type_id].update(nights_between(max(booked_in, check_in), min(booked_out, check_out)))
        return taken

    def _offer(
        self, room_type: MockRoomType, check_in: dt.date, check_out: dt.date, taken: Counter[dt.date]
    ) -> Offer | None:
        nights = list(nights_between(check_in, check_out))
        rooms_left = min(room_type.room_count - taken[night] for night in nights)
        if rooms_left < 1:
            return None
        prices = tuple(night_price(room_type, night) for night in nights)
        return Offer(
            room_type=self._room_type_value(room_type),
            rooms_left=rooms_left,
            nightly_prices=prices,
            total_price=sum(prices, Decimal("0.00")),
            currency=room_type.currency,
            taxes_included=room_type.taxes_included,
        )

    def _insert(self, *, room_type: MockRoomType, guest: GuestDetails, **fields) -> MockBooking:
        prefix = reference_prefix(self.tenant)
        for _attempt in range(10):
            try:
                with transaction.atomic():  # a savepoint: a reference clash must not spoil the outer transaction
                    return MockBooking.objects.create(
                        tenant=self.tenant,
                        reference=new_reference(prefix),
                        room_type=room_type,
                        guest_name=guest.name.strip(),
                        guest_email=guest.email.strip(),
                        guest_phone=guest.phone.strip(),
                        currency=room_type.currency,
                        status=BookingStatus.CONFIRMED,
                        **fields,
                    )
            except IntegrityError:
                continue
        raise PMSUnavailable("could not allocate a booking reference")

    def _validate_stay(self, check_in: dt.date, check_out: dt.date, adults: int, children: int) -> None:
        if not (_is_date(check_in) and _is_date(check_out)):
            raise PMSInvalidRequest("check-in and check-out must be dates")
        if not (_is_count(adults) and _is_count(children)):
            raise PMSInvalidRequest("adults and children must be whole numbers")
        if check_out <= check_in:
            raise PMSInvalidRequest("check-out must be after check-in")
        today = self.today()
        if check_in < today:
            raise PMSInvalidRequest("check-in is in the past")
        if (check_out - check_in).days > MAX_NIGHTS:
            raise PMSInvalidRequest(f"stays are limited to {MAX_NIGHTS} nights")
        if (check_in - today).days > MAX_DAYS_AHEAD:
            raise PMSInvalidRequest("check-in is too far ahead")
        if adults < 1 or children < 0:
            raise PMSInvalidRequest("at least one adult, and no negative number of children")

    def _validate_guest(self, guest: GuestDetails) -> None:
        name = (guest.name or "").strip() if isinstance(guest, GuestDetails) else ""
        if not name or len(name) > 200:
            raise PMSInvalidRequest("the guest's name is required (at most 200 characters)")
        email, phone = (guest.email or "").strip(), (guest.phone or "").strip()
        if not (email or phone):
            raise PMSInvalidRequest("an e-mail or a phone number is required")
        if email:
            try:
                validate_email(email)
            except ValidationError as exc:
                raise PMSInvalidRequest("invalid e-mail address") from exc
        if len(phone) > 32:
            raise PMSInvalidRequest("invalid phone number")

    def _room_type_value(self, room_type: MockRoomType) -> RoomType:
        return RoomType(
            code=room_type.code,
            name=room_type.display_name(self.tenant.default_language),
            max_adults=room_type.max_adults,
            max_children=room_type.max_children,
            max_occupancy=room_type.max_occupancy,
            base_price=Decimal(room_type.weekday_rate).quantize(CENT),
            currency=room_type.currency,
            taxes_included=room_type.taxes_included,
            names=dict(room_type.names or {}),
            descriptions=dict(room_type.descriptions or {}),
            amenities=tuple(room_type.amenities or ()),
        )

    def _booking_value(self, booking: MockBooking) -> Booking:
        room_type = booking.room_type
        return Booking(
            reference=booking.reference,
            status=booking.status,
            room_type=self._room_type_value(room_type),
            check_in=booking.check_in,
            check_out=booking.check_out,
            adults=booking.adults,
            children=booking.children,
            guest=GuestDetails(name=booking.guest_name, email=booking.guest_email, phone=booking.guest_phone),
            total_price=Decimal(booking.total).quantize(CENT),
            currency=booking.currency,
            taxes_included=room_type.taxes_included,
        )
