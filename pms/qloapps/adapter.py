"""``QloAppsAdapter``: the ``PMSAdapter`` of one hotel (``PMSConfig.hotel_id``) of a QloApps install.

Calls (shapes in ``pms.qloapps.parsing``, errors in ``pms.qloapps.client``):

* ``room_types()``: ``GET hotel_room_types`` (which room types the hotel has and their maximum occupancy) then
  ``GET room_types?filter[id]=[..]`` (names, descriptions, base price tax excluded). ``RoomType.code`` is the
  QloApps product id as a string. Kept on the adapter instance for ``CATALOG_TTL`` seconds (adapters are built
  per request; the resilience layer caches across requests).
* ``availability()``: ``POST hotel_ari`` with the XML body QloApps requires (it reads no JSON there), one
  ``room_occupancy``. ``rooms_left`` = rooms listed as available (``total_available_rooms`` when the list is
  missing); the total is ``total_price_with_tax`` (taxes included) and, as ``hotel_ari`` gives no per-night
  breakdown for a range, the nightly prices are that total spread evenly (``parsing.spread_evenly``).
* ``create_booking()``: ``POST bookings`` (JSON); the reference is the order id QloApps returns. QloApps finds an
  existing customer by e-mail itself, so no ``customers`` call is needed; it requires an e-mail.
* ``get_booking()``: ``GET bookings/{id}`` + ``GET orders/{id}`` (the booking answer has no status; the order's
  ``current_state`` in ``cancelled_states`` — QloApps' install: 4 Canceled, 5 Refund — means cancelled).
  A booking of another hotel of the same install is ``PMSNotFound``, like an unknown one.
* ``cancel_booking()``: the booking as read, sent back whole with ``booking_status`` 3 (``PUT bookings``
  replaces the booking). Idempotent.
* ``modify_booking()``: availability re-checked, then ``PUT bookings`` with the new room line (QloApps adds the
  new dates' room and removes the old one). QloApps counts the booking's own room when it checks the new dates,
  so moving the *last* room to overlapping dates is refused (``PMSNoAvailability``); and it cannot change the
  party of a room without a change of dates or room type (``PMSInvalidRequest``). Bookings of several rooms
  (made elsewhere) are left to the staff (``PMSInvalidRequest``): the ``PUT`` would drop the other rooms.
* ``stay_policy()``: the hotel's ``check_in``/``check_out`` from ``GET hotels/{id}``; the rest (late
  check-out/early check-in times and fees) from ``PMSConfig``, which also answers when QloApps cannot.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

import httpx
import structlog
from django.conf import settings

from pms.base import (
    Booking,
    GuestDetails,
    Offer,
    PMSError,
    PMSInvalidRequest,
    PMSNoAvailability,
    PMSNotFound,
    PMSUnavailable,
    RoomType,
    StayPolicy,
)
from pms.models import PMSConfig
from pms.qloapps import parsing as p
from pms.qloapps import payloads
from pms.qloapps.client import MALFORMED, QloAppsClient
from pms.qloapps.payloads import BOOKING_STATUS_CANCELLED, NO_LAST_NAME, is_date

logger = structlog.get_logger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_LANGUAGES: dict[int, str] = {1: "en", 2: "es", 3: "pt"}  # QloApps language id → our code
CANCELLED_ORDER_STATES = frozenset({4, 5})  # install/data/xml: PS_OS_CANCELED = 4, PS_OS_REFUND = 5
CATALOG_TTL = 60.0
MALFORMED_ERRORS = (KeyError, ValueError, TypeError, ArithmeticError, AttributeError, IndexError)


def guarded(method: Callable[P, T]) -> Callable[P, T]:
    """A malformed QloApps answer (a missing key, a non-number...) becomes ``PMSUnavailable``, never a crash."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except PMSError:
            raise
        except MALFORMED_ERRORS as exc:
            logger.warning("qloapps_malformed_answer", operation=method.__name__, error=repr(exc)[:200])
            raise PMSUnavailable(MALFORMED) from exc

    return wrapper


def _fits(room_type: RoomType, adults: int, children: int) -> bool:
    return (
        adults <= room_type.max_adults
        and children <= room_type.max_children
        and adults + children <= room_type.max_occupancy
    )


class QloAppsAdapter:
    name = "qloapps"

    def __init__(
        self,
        config: PMSConfig,
        *,
        languages: dict[int, str] | None = None,
        cancelled_states: frozenset[int] = CANCELLED_ORDER_STATES,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        hotel_id = str(config.hotel_id or "").strip()
        if not (hotel_id.isascii() and hotel_id.isdigit()):
            raise ValueError("QloApps needs the hotel's numeric id (PMSConfig.hotel_id)")
        self.config = config
        self.hotel_id = int(config.hotel_id)
        self.currency = config.currency or "EUR"
        self.languages = dict(languages or getattr(settings, "QLOAPPS_LANGUAGES", None) or DEFAULT_LANGUAGES)
        self.cancelled_states = frozenset(cancelled_states)
        self.client = QloAppsClient(
            base_url=config.base_url,
            api_key=config.api_key,
            connect_timeout=config.connect_timeout_seconds,
            read_timeout=config.read_timeout_seconds,
            transport=transport,
        )
        self._catalog: tuple[float, dict[str, RoomType]] | None = None
        self._catalog_lock = threading.Lock()

    @classmethod
    def from_config(cls, config: PMSConfig) -> QloAppsAdapter:
        return cls(config)

    def close(self) -> None:
        self.client.close()

    # --- reads ----------------------------------------------------------------------------------------------
    @guarded
    def room_types(self) -> list[RoomType]:
        return list(self._room_type_map().values())

    @guarded
    def availability(
        self, check_in: dt.date, check_out: dt.date, adults: int, children: int = 0, room_type: str | None = None
    ) -> list[Offer]:
        self._validate_stay(check_in, check_out, adults, children)
        catalog = self._room_type_map()
        if room_type is not None and room_type not in catalog:
            raise PMSInvalidRequest(f"unknown room type {room_type!r}")
        return self._offers(catalog, check_in, check_out, adults, children, room_type)

    @guarded
    def get_booking(self, reference: str) -> Booking:
        raw = self._raw_booking(reference)
        return self._booking_value(raw, status=self._status(raw))

    @guarded
    def stay_policy(self) -> StayPolicy:
        c = self.config
        check_in, check_out = c.check_in_time, c.check_out_time
        try:
            hotel = self.client.get(f"hotels/{self.hotel_id}")["hotel"]
            check_in = p.as_time(hotel.get("check_in")) or check_in
            check_out = p.as_time(hotel.get("check_out")) or check_out
        except (PMSUnavailable, PMSNotFound, *MALFORMED_ERRORS) as exc:
            logger.warning("qloapps_hotel_times_unavailable", hotel_id=self.hotel_id, error=str(exc)[:200])
        return StayPolicy(
            check_in_time=check_in,
            check_out_time=check_out,
            late_checkout_until=c.late_checkout_until,
            late_checkout_fee=c.late_checkout_fee,
            early_checkin_from=c.early_checkin_from,
            early_checkin_fee=c.early_checkin_fee,
            currency=self.currency,
        )

    @guarded
    def late_checkout_available(self, reference: str | None, day: dt.date) -> bool:
        """Late check-out on ``day`` is possible when the policy offers it and a room of the booking's type (any
        type without a reference) is free the night of ``day``, so no arrival needs it."""
        if not is_date(day):
            raise PMSInvalidRequest("day must be a date")
        if self.config.late_checkout_until is None or day < self.today():
            return False
        return self._free_night(reference, day, night=day, attribute="check_out")

    @guarded
    def early_checkin_available(self, reference: str | None, day: dt.date) -> bool:
        """Early check-in on ``day`` is possible when the policy offers it and a room of the booking's type (any
        type without a reference) was free the night before."""
        if not is_date(day):
            raise PMSInvalidRequest("day must be a date")
        if self.config.early_checkin_from is None or day < self.today():
            return False
        return self._free_night(reference, day, night=day - dt.timedelta(days=1), attribute="check_in")

    # --- writes ---------------------------------------------------------------------------------------------
    @guarded
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
        customer = payloads.customer_detail(guest)
        self._fitting_room_type(room_type, adults, children)
        if not self._offers(self._room_type_map(), check_in, check_out, adults, children, room_type):
            raise PMSNoAvailability(f"room type {room_type} is sold out for {check_in}..{check_out}")
        body = payloads.booking_body(
            hotel_id=self.hotel_id,
            currency=self.currency,
            customer=customer,
            line=payloads.room_line(room_type, check_in, check_out, adults, children),
        )
        raw = self.client.request("POST", "bookings", json_body=body)["booking"]
        booking = self._booking_value(raw, status="confirmed")
        logger.info("qloapps_booking_created", hotel_id=self.hotel_id, reference=booking.reference)
        return booking

    @guarded
    def cancel_booking(self, reference: str) -> Booking:
        raw = self._raw_booking(reference)
        if self._status(raw) == "cancelled":
            return self._booking_value(raw, status="cancelled")  # idempotent
        body = {"booking": {**payloads.put_base(raw), "booking_status": BOOKING_STATUS_CANCELLED}}
        answer = self.client.request("PUT", "bookings", json_body=body)["booking"]
        return self._booking_value(answer, status="cancelled")

    @guarded
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
        raw = self._raw_booking(reference)
        if self._status(raw) != "confirmed":
            raise PMSInvalidRequest("a cancelled booking cannot be changed")
        lines = p.as_list((raw.get("associations") or {}).get("room_types"))
        if len(lines) != 1 or len(p.as_list(lines[0].get("rooms"))) != 1:
            raise PMSInvalidRequest("a booking of several rooms is changed by the hotel's staff, not by chat")
        current = self._booking_value(raw, status="confirmed")
        new_in = current.check_in if check_in is None else check_in
        new_out = current.check_out if check_out is None else check_out
        new_adults = current.adults if adults is None else adults
        new_children = current.children if children is None else children
        new_type = current.room_type.code if room_type is None else room_type
        self._validate_stay(new_in, new_out, new_adults, new_children)
        self._fitting_room_type(new_type, new_adults, new_children)
        same_line = (new_type, new_in, new_out) == (current.room_type.code, current.check_in, current.check_out)
        if same_line:
            if (new_adults, new_children) == (current.adults, current.children):
                return current
            raise PMSInvalidRequest("QloApps cannot change the guests of a booked room without other changes")
        if not self._offers(self._room_type_map(), new_in, new_out, new_adults, new_children, new_type):
            raise PMSNoAvailability(f"room type {new_type} is sold out for {new_in}..{new_out}")
        base = payloads.put_base(raw)
        associations = {
            **base["associations"],
            "room_types": [payloads.room_line(new_type, new_in, new_out, new_adults, new_children)],
        }
        body = {"booking": {**base, "associations": associations}}
        answer = self.client.request("PUT", "bookings", json_body=body)["booking"]
        return self._booking_value(answer, status="confirmed")

    # --- helpers --------------------------------------------------------------------------------------------
    def today(self) -> dt.date:
        """The hotel's date (its time zone), which decides what is "in the past"."""
        try:
            zone = zoneinfo.ZoneInfo(self.config.tenant.timezone)
        except Exception:  # no tenant, unknown zone
            zone = dt.UTC
        return dt.datetime.now(zone).date()

    def _default_language(self) -> str:
        try:
            return self.config.tenant.default_language or "es"
        except Exception:
            return "es"

    def _room_type_map(self) -> dict[str, RoomType]:
        with self._catalog_lock:
            if self._catalog is not None and time.monotonic() - self._catalog[0] < CATALOG_TTL:
                return self._catalog[1]
        catalog = self._fetch_catalog()
        with self._catalog_lock:
            self._catalog = (time.monotonic(), catalog)
        return catalog

    def _fetch_catalog(self) -> dict[str, RoomType]:
        links = self.client.get("hotel_room_types", {"display": "full", "filter[id_hotel]": f"[{self.hotel_id}]"})
        limits = {
            p.as_int(row["id_product"]): row
            for row in p.as_list(links.get("hotel_room_types") if isinstance(links, dict) else links)
            if p.as_int(row.get("id_hotel", self.hotel_id)) == self.hotel_id
        }
        if not limits:
            return {}
        ids = "|".join(str(i) for i in sorted(limits))
        answer = self.client.get("room_types", {"display": "full", "filter[id]": f"[{ids}]"})
        products = p.as_list(answer.get("room_types") if isinstance(answer, dict) else answer)
        catalog: dict[str, RoomType] = {}
        for product in products:
            product_id = p.as_int(product["id"])
            if product_id not in limits or str(product.get("active", "1")) in ("0", "False", "false"):
                continue
            catalog[str(product_id)] = self._room_type_value(product, limits[product_id])
        return catalog

    def _room_type_value(self, product: dict[str, Any], limits: dict[str, Any]) -> RoomType:
        fallback = self._default_language()
        names = p.by_language(product.get("name"), self.languages, fallback)
        descriptions = {
            lang: p.plain_text(text)
            for lang, text in p.by_language(product.get("description"), self.languages, fallback).items()
        }
        max_adults = p.as_int(limits.get("max_adults") or limits.get("adults") or product.get("adults") or 1)
        max_children = p.as_int(limits.get("max_children") or limits.get("children") or product.get("children") or 0)
        max_guests = p.as_int(limits.get("max_guests") or 0) or max_adults + max_children
        code = str(p.as_int(product["id"]))
        return RoomType(
            code=code,
            name=names.get(fallback) or names.get("en") or next(iter(names.values()), f"Room type {code}"),
            max_adults=max_adults,
            max_children=max_children,
            max_occupancy=max(1, min(max_guests, max_adults + max_children)),
            base_price=p.as_money(product.get("price") or 0),
            currency=self.currency,
            taxes_included=False,  # Product.price is without taxes
            names=names,
            descriptions={lang: text for lang, text in descriptions.items() if text},
        )

    def _fitting_room_type(self, code: str, adults: int, children: int) -> RoomType:
        room_type = self._room_type_map().get(str(code))
        if room_type is None:
            raise PMSInvalidRequest(f"unknown room type {code!r}")
        if not _fits(room_type, adults, children):
            raise PMSInvalidRequest(f"{adults} adults and {children} children do not fit in {room_type.name}")
        return room_type

    def _offers(
        self,
        catalog: dict[str, RoomType],
        check_in: dt.date,
        check_out: dt.date,
        adults: int,
        children: int,
        room_type: str | None,
    ) -> list[Offer]:
        body = payloads.ari_xml(self.hotel_id, check_in, check_out, adults, children, room_type)
        ari = self.client.request("POST", "hotel_ari", xml_body=body)["hotel_ari"]
        currency = str(ari.get("currency") or self.currency).upper()
        nights = (check_out - check_in).days
        offers = []
        for row in p.as_list(ari.get("room_types")):
            code = str(p.as_int(row["id_room_type"]))
            known = catalog.get(code)
            if known is None or (room_type is not None and code != room_type):
                continue  # another hotel's, inactive, or not the one asked for
            if not _fits(known, adults, children):
                continue
            rooms = row.get("rooms") or {}
            if isinstance(rooms, dict) and "available" in rooms:
                rooms_left = len(p.as_list(rooms["available"]))
            else:
                rooms_left = p.as_int(row.get("total_available") or ari.get("total_available_rooms") or 0)
            if rooms_left < 1:
                continue
            total = p.as_money(row["total_price_with_tax"])
            if total <= 0:
                continue  # no price for these dates: not sellable
            offers.append(
                Offer(
                    room_type=known if known.currency == currency else replace(known, currency=currency),
                    rooms_left=rooms_left,
                    nightly_prices=p.spread_evenly(total, nights),
                    total_price=total,
                    currency=currency,
                    taxes_included=True,
                )
            )
        return offers

    def _raw_booking(self, reference: str) -> dict[str, Any]:
        order_id = str(reference or "").strip()
        if not (order_id.isascii() and order_id.isdigit()) or len(order_id) > 10:
            raise PMSNotFound(f"no booking {order_id!r}")
        try:
            raw = self.client.get(f"bookings/{int(order_id)}")["booking"]
        except PMSNotFound:
            raise PMSNotFound(f"no booking {order_id!r}") from None
        if p.as_int(raw.get("id_property", 0)) != self.hotel_id:
            raise PMSNotFound(f"no booking {order_id!r}")  # another hotel's: same answer as an unknown one
        return raw

    def _status(self, raw: dict[str, Any]) -> str:
        if raw.get("booking_status") not in (None, ""):
            return "cancelled" if p.as_int(raw["booking_status"]) in (3, 4) else "confirmed"
        order = self.client.get(f"orders/{p.as_int(raw['id'])}")["order"]
        return "cancelled" if p.as_int(order["current_state"]) in self.cancelled_states else "confirmed"

    def _booking_value(self, raw: dict[str, Any], *, status: str) -> Booking:
        associations = raw.get("associations") or {}
        lines = p.as_list(associations.get("room_types"))
        if not lines:
            raise KeyError("room_types")
        line = lines[0]
        rooms = p.as_list(line.get("rooms"))
        adults = sum(p.as_int(r.get("adults") or 0) for r in rooms)
        children = sum(p.as_int(r.get("child") or 0) for r in rooms)
        code = str(p.as_int(line["id_room_type"]))
        currency = str(raw.get("currency") or self.currency).upper()
        room_type = self._room_type_map().get(code) or RoomType(
            code=code,
            name=str(line.get("name") or f"Room type {code}"),
            max_adults=max(adults, 1),
            max_children=children,
            max_occupancy=max(adults + children, 1),
            base_price=Decimal("0.00"),
            currency=currency,
            taxes_included=False,
        )
        customer = associations.get("customer_detail") or {}
        last = str(customer.get("lastname") or "").strip()
        name = " ".join(
            part
            for part in (str(customer.get("firstname") or "").strip(), "" if last == NO_LAST_NAME else last)
            if part
        )
        return Booking(
            reference=str(p.as_int(raw["id"])),
            status=status,
            room_type=room_type if room_type.currency == currency else replace(room_type, currency=currency),
            check_in=p.as_date(line["checkin_date"]),
            check_out=p.as_date(line["checkout_date"]),
            adults=adults,
            children=children,
            guest=GuestDetails(
                name=name, email=str(customer.get("email") or ""), phone=str(customer.get("phone") or "")
            ),
            total_price=p.booking_total(raw),
            currency=currency,
            taxes_included=True,
        )

    def _free_night(self, reference: str | None, day: dt.date, *, night: dt.date, attribute: str) -> bool:
        room_type = None
        if reference:
            booking = self.get_booking(reference)
            if booking.status != "confirmed":
                return False
            if getattr(booking, attribute) != day:
                raise PMSInvalidRequest(f"{day} is not the booking's {attribute.replace('_', '-')} day")
            room_type = booking.room_type.code
        catalog = self._room_type_map()
        return bool(self._offers(catalog, night, night + dt.timedelta(days=1), 1, 0, room_type))

    def _validate_stay(self, check_in: dt.date, check_out: dt.date, adults: int, children: int) -> None:
        payloads.validate_stay(check_in, check_out, adults, children, today=self.today())
