"""What the adapter sends to QloApps, and the checks it makes before sending anything.

* ``ari_xml`` — the ``POST hotel_ari`` body: QloApps reads that resource's input as XML only
  (``WebserviceSpecificManagementHotelAri::manage`` parses ``php://input`` with ``SimpleXMLElement``).
* ``booking_body`` / ``room_line`` — the ``POST bookings`` JSON (``WebserviceSpecificManagementBookings``).
  QloApps' ``formatOccupancyInRequestData`` reads a room's adults from ``adult`` (the documented field is
  ``adults``) and keeps ``child`` only when ``child_ages`` come with it: we send all of them, with
  ``DEFAULT_CHILD_AGE`` for each child (guests are not asked for ages). It requires a last name: a one-word guest
  name gets ``NO_LAST_NAME``, dropped again when the booking is read.
* ``put_base`` — a booking as read, to send back with ``PUT`` (which replaces the booking).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from pms.base import GuestDetails, PMSInvalidRequest
from pms.qloapps.parsing import as_list

BOOKING_STATUS_NEW, BOOKING_STATUS_CANCELLED = 1, 3
PAYMENT_STATUS_AWAITING = 3
SOURCE = "hotel-agent"
DEFAULT_CHILD_AGE = 8
NO_LAST_NAME = "-"
MAX_NIGHTS = 30
COMPUTED_ROOM_FIELDS = ("unit_price_without_tax", "total_tax", "id_hotel_booking")


def is_date(value: object) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def split_name(name: str) -> tuple[str, str]:
    """``"Ana García López"`` → ``("Ana", "García López")``; one word → ``(word, "-")``."""
    first, _, last = name.strip().partition(" ")
    return first, (last.strip() or NO_LAST_NAME)


def validate_stay(check_in: dt.date, check_out: dt.date, adults: int, children: int, *, today: dt.date) -> None:
    if not (is_date(check_in) and is_date(check_out)):
        raise PMSInvalidRequest("check-in and check-out must be dates")
    if not (is_count(adults) and is_count(children)):
        raise PMSInvalidRequest("adults and children must be whole numbers")
    if check_out <= check_in:
        raise PMSInvalidRequest("check-out must be after check-in")
    if check_in < today:
        raise PMSInvalidRequest("check-in is in the past")
    if (check_out - check_in).days > MAX_NIGHTS:
        raise PMSInvalidRequest(f"stays are limited to {MAX_NIGHTS} nights")
    if adults < 1 or children < 0:
        raise PMSInvalidRequest("at least one adult, and no negative number of children")


def customer_detail(guest: GuestDetails) -> dict[str, str]:
    """The guest as QloApps' ``customer_detail``; ``PMSInvalidRequest`` for what QloApps would refuse (it requires
    an e-mail: it finds or creates the customer by it)."""
    name = (guest.name or "").strip() if isinstance(guest, GuestDetails) else ""
    if not name or len(name) > 200:
        raise PMSInvalidRequest("the guest's name is required (at most 200 characters)")
    email, phone = (guest.email or "").strip(), (guest.phone or "").strip()
    if not email:
        raise PMSInvalidRequest("QloApps needs the guest's e-mail address to book")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise PMSInvalidRequest("invalid e-mail address") from exc
    if len(phone) > 32:
        raise PMSInvalidRequest("invalid phone number")
    firstname, lastname = split_name(name)
    return {"firstname": firstname, "lastname": lastname, "email": email, "phone": phone}


def ari_xml(
    hotel_id: int, check_in: dt.date, check_out: dt.date, adults: int, children: int, room_type: str | None = None
) -> str:
    root = ET.Element("qloapps")
    ari = ET.SubElement(root, "hotel_ari")
    ET.SubElement(ari, "id_hotel").text = str(hotel_id)
    if room_type is not None:
        ET.SubElement(ari, "id_room_type").text = str(int(room_type))
    ET.SubElement(ari, "date_from").text = check_in.isoformat()
    ET.SubElement(ari, "date_to").text = check_out.isoformat()
    ET.SubElement(ari, "get_available_rooms").text = "1"
    occupancies = ET.SubElement(ET.SubElement(ari, "associations"), "room_occupancies")
    occupancy = ET.SubElement(occupancies, "room_occupancy")
    ET.SubElement(occupancy, "adults").text = str(adults)
    ET.SubElement(occupancy, "children").text = str(children)
    return ET.tostring(root, encoding="unicode")


def room_line(room_type: str, check_in: dt.date, check_out: dt.date, adults: int, children: int) -> dict[str, Any]:
    room: dict[str, Any] = {"adults": adults, "adult": adults, "child": children}
    if children:
        room["child_ages"] = [DEFAULT_CHILD_AGE] * children
    return {
        "id_room_type": int(room_type),
        "checkin_date": check_in.isoformat(),
        "checkout_date": check_out.isoformat(),
        "number_of_rooms": 1,
        "rooms": [room],
    }


def booking_body(*, hotel_id: int, currency: str, customer: dict[str, str], line: dict[str, Any]) -> dict[str, Any]:
    return {
        "booking": {
            "id_property": hotel_id,
            "currency": currency,
            "booking_status": BOOKING_STATUS_NEW,
            "payment_status": PAYMENT_STATUS_AWAITING,
            "source": SOURCE,
            "associations": {"customer_detail": customer, "room_types": [line]},
        }
    }


def put_base(raw: dict[str, Any]) -> dict[str, Any]:
    """The booking as read, to send back with ``PUT``. The prices QloApps computed are left out: on ``PUT`` a room's
    ``unit_price_without_tax`` is read as a new price and ``price_details.total_paid`` as a payment, and neither is
    ours to change."""
    associations = {k: v for k, v in (raw.get("associations") or {}).items() if k != "price_details"}
    lines = []
    for line in as_list(associations.get("room_types")):
        rooms = [
            {k: v for k, v in room.items() if k not in COMPUTED_ROOM_FIELDS} for room in as_list(line.get("rooms"))
        ]
        lines.append({**{k: v for k, v in line.items() if k != "total_tax"}, "rooms": rooms})
    return {**raw, "associations": {**associations, "room_types": lines}}
