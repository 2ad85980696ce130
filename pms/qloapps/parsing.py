"""QloApps JSON answers → ``pms.base`` values.

Shapes (read in the QloApps source, not guessed):

* ``GET /api/hotel_room_types?display=full&filter[id_hotel]=[N]`` → ``{"hotel_room_types": [{"id", "id_product",
  "id_hotel", "adults", "children", "max_adults", "max_children", "max_guests", ...}]}`` (``HotelRoomType``:
  ``adults``/``children`` are the base occupancy, ``max_*`` the limits).
* ``GET /api/room_types?display=full&filter[id]=[1|2]`` → ``{"room_types": [{"id", "price", "active", "name",
  "description", "adults", "children", "id_hotel", ...}]}`` (``Product``). ``id_hotel`` there is a *dynamic*
  field: QloApps refuses ``filter[id_hotel]`` on ``room_types`` with 400 (code 34), hence the two calls.
  Multilingual fields are a plain string when the shop has one language, else ``[{"id": lang_id, "value": ...}]``.
  An empty list is ``[]`` instead of ``{"room_types": []}``.
* ``POST /api/hotel_ari`` → ``{"hotel_ari": {"id_hotel", "date_from", "date_to", "currency", "total_rooms",
  "total_available_rooms", "room_types": [{"id_room_type", "name", "base_price", "base_price_with_tax",
  "total_price", "total_price_with_tax", "rooms": {"available": [...] | {id_room: {...}}, ...}}]}}``;
  ``room_types`` is absent when nothing matched.
* ``GET/POST/PUT /api/bookings`` → ``{"booking": {"id" (the order id), "id_property", "currency", "source",
  "booking_date", "associations": {"customer_detail": {...}, "price_details": {"total_paid",
  "total_price_without_tax", "total_tax"}, "room_types": [{"id_room_type", "checkin_date", "checkout_date",
  "number_of_rooms", "name", "rooms": [{"id_room", "adults", "child", "unit_price_without_tax", "total_tax"}]}]}}}``.
  It does not say whether the booking is cancelled: that is the order's ``current_state`` (``GET /api/orders/{id}``).

Every function may raise ``KeyError``/``ValueError``/``TypeError``/``ArithmeticError`` on a malformed answer; the
adapter turns those into ``PMSUnavailable("malformed answer")``.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
TAG_RE = re.compile(r"<[^>]+>")
SPACE_RE = re.compile(r"\s+")


def as_list(value: Any) -> list[Any]:
    """QloApps lists as a Python list: PHP arrays with non-sequential keys come as JSON objects keyed by id, a
    single child may come unwrapped, nothing may come as ``None``, ``""`` or ``[]``."""
    if value is None or value is False or value == "" or value == {}:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        if value and all(isinstance(v, dict) for v in value.values()):
            return list(value.values())
        return [value]
    raise TypeError(f"expected a list, got {type(value).__name__}")


def as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    return int(str(value).strip())


def as_money(value: Any) -> Decimal:
    """``"110.000000"``, ``110.0`` or ``110`` → ``Decimal("110.00")``."""
    if isinstance(value, bool) or value is None:
        raise TypeError("expected an amount")
    amount = Decimal(str(value).strip())
    if not amount.is_finite():
        raise ValueError("amount is not finite")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def as_date(value: Any) -> dt.date:
    """``"2030-05-06"`` or ``"2030-05-06 00:00:00"`` (``htl_booking_detail.date_from`` is a DATETIME)."""
    return dt.date.fromisoformat(str(value).strip()[:10])


def as_time(value: Any) -> dt.time | None:
    """A hotel's ``check_in``/``check_out``: ``"12:00"``, ``"12:00:00"`` or ``"02:00 PM"``; ``None`` if unreadable."""
    text = str(value or "").strip().upper()
    for fmt in ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p"):
        try:
            return dt.datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    return None


def plain_text(value: str) -> str:
    """Descriptions are HTML in QloApps: tags stripped, entities decoded, spaces collapsed."""
    return SPACE_RE.sub(" ", html.unescape(TAG_RE.sub(" ", value))).strip()


def by_language(value: Any, languages: dict[int, str], fallback: str) -> dict[str, str]:
    """A multilingual field → ``{"es": ..., "en": ...}``. Language ids not in ``languages`` are ignored; a plain
    string (a one-language shop) is taken as the ``fallback`` language."""
    if value in (None, ""):
        return {}
    if isinstance(value, str | int | float):
        return {fallback: str(value)}
    out: dict[str, str] = {}
    for item in as_list(value):
        code = languages.get(as_int(item["id"]))
        text = str(item.get("value") or "").strip()
        if code and text:
            out[code] = text
    return out


def spread_evenly(total: Decimal, nights: int) -> tuple[Decimal, ...]:
    """``hotel_ari`` gives only the stay's total: each night gets ``total / nights`` rounded down to the cent, and
    the last night takes the remaining cents, so the nightly prices always add up to the total exactly."""
    if nights < 1:
        raise ValueError("a stay has at least one night")
    share = (total / nights).quantize(CENT, rounding="ROUND_DOWN")
    return (share,) * (nights - 1) + (total - share * (nights - 1),)


def booking_total(booking: dict[str, Any]) -> Decimal:
    """What the guest pays, taxes included: ``total_price_without_tax + total_tax`` of the price details, else the
    sum of the rooms' prices and taxes."""
    associations = booking.get("associations") or {}
    prices = associations.get("price_details") or {}
    if prices.get("total_price_without_tax") not in (None, ""):
        return as_money(prices["total_price_without_tax"]) + as_money(prices.get("total_tax") or 0)
    total = Decimal("0.00")
    for room_type in as_list(associations.get("room_types")):
        for room in as_list(room_type.get("rooms")):
            total += as_money(room.get("unit_price_without_tax") or 0) + as_money(room.get("total_tax") or 0)
    return total
