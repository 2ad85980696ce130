"""Operator CLI for a hotel's PMS, printing JSON (decimals as strings, dates ISO 8601).

    manage.py pms --tenant S rooms
    manage.py pms --tenant S availability --from D --to D --adults N [--children N] [--room-type CODE]
    manage.py pms --tenant S bookings [--status confirmed|cancelled]     (mock PMS)
    manage.py pms --tenant S booking REF
    manage.py pms --tenant S breaker
    manage.py pms --tenant S seed                                        (demo room types, mock PMS)

Reads go through ``pms.services.pms_for_tenant`` (breaker, cache, stale copies: ``"stale": true`` says the PMS
was unreachable and the answer is the last copy it gave). Every failure is one ``CommandError`` line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from pms.base import PMSError, PMSInvalidRequest, PMSNoAvailability, PMSNotFound, PMSUnavailable
from pms.models import BookingStatus
from pms.resilience import PMSResult
from pms.seed import pms_seed_demo
from pms.selectors import mock_booking_list, pms_config_get
from pms.services import pms_breaker_status, pms_for_tenant
from tenants.models import Tenant


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.time):  # datetimes are dates too
        return value.isoformat()
    return value


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f'Invalid date "{value}": use YYYY-MM-DD.') from exc


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


class Command(BaseCommand):
    help = "Inspect a hotel's PMS: room types, availability, bookings, the circuit breaker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, metavar="SLUG", help="The hotel's slug.")
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

        actions.add_parser("rooms", help="Room types.")

        availability = actions.add_parser("availability", help="Offers for dates and a party.")
        availability.add_argument("--from", dest="check_in", required=True, metavar="YYYY-MM-DD", help="Check-in.")
        availability.add_argument("--to", dest="check_out", required=True, metavar="YYYY-MM-DD", help="Check-out.")
        availability.add_argument("--adults", type=int, required=True)
        availability.add_argument("--children", type=int, default=0)
        availability.add_argument("--room-type", default=None, metavar="CODE")

        bookings = actions.add_parser("bookings", help="Bookings of the mock PMS, newest first.")
        bookings.add_argument("--status", choices=BookingStatus.values, default=None)

        booking = actions.add_parser("booking", help="One booking by reference.")
        booking.add_argument("reference")

        actions.add_parser("breaker", help="The circuit breaker's state.")
        actions.add_parser("seed", help="Create or refresh the demo room types (mock PMS).")

    @no_translations
    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f'Unknown hotel "{options["tenant"]}".')
        handlers: dict[str, Callable[[Tenant, dict[str, Any]], Any]] = {
            "rooms": self._rooms,
            "availability": self._availability,
            "bookings": self._bookings,
            "booking": self._booking,
            "breaker": self._breaker,
            "seed": self._seed,
        }
        try:
            data = handlers[options["action"]](tenant, options)
        except PMSNotFound as exc:
            raise CommandError(f"Not found: {_one_line(exc)}") from exc
        except PMSNoAvailability as exc:
            raise CommandError(f"No availability: {_one_line(exc)}") from exc
        except PMSInvalidRequest as exc:
            raise CommandError(f"Invalid request: {_one_line(exc)}") from exc
        except PMSUnavailable as exc:
            raise CommandError(f"PMS unavailable: {_one_line(exc)}") from exc
        except PMSError as exc:
            raise CommandError(f"PMS error: {_one_line(exc)}") from exc
        self.stdout.write(json.dumps(_jsonable(data), ensure_ascii=False, indent=2))

    def _envelope(self, tenant: Tenant, kind: str, result: PMSResult[Any], key: str) -> dict[str, Any]:
        return {
            "tenant": tenant.slug,
            "pms": kind,
            "stale": result.stale,
            "fetched_at": result.fetched_at,
            key: result.value,
        }

    def _rooms(self, tenant: Tenant, options: dict[str, Any]) -> dict[str, Any]:
        pms = pms_for_tenant(tenant)
        return self._envelope(tenant, pms.kind, pms.room_types_result(), "room_types")

    def _availability(self, tenant: Tenant, options: dict[str, Any]) -> dict[str, Any]:
        check_in, check_out = _date(options["check_in"]), _date(options["check_out"])
        pms = pms_for_tenant(tenant)
        result = pms.availability_result(
            check_in, check_out, options["adults"], options["children"], options["room_type"]
        )
        data = self._envelope(tenant, pms.kind, result, "offers")
        data["request"] = {
            "check_in": check_in,
            "check_out": check_out,
            "adults": options["adults"],
            "children": options["children"],
            "room_type": options["room_type"],
        }
        return data

    def _bookings(self, tenant: Tenant, options: dict[str, Any]) -> dict[str, Any]:
        kind = pms_config_get(tenant=tenant).kind
        if kind != "mock":
            raise CommandError(f'Listing bookings is only available for the mock PMS (hotel "{tenant.slug}": {kind}).')
        rows = mock_booking_list(tenant=tenant, status=options["status"])
        return {
            "tenant": tenant.slug,
            "pms": kind,
            "bookings": [
                {
                    "reference": b.reference,
                    "status": b.status,
                    "room_type": b.room_type.code,
                    "check_in": b.check_in,
                    "check_out": b.check_out,
                    "adults": b.adults,
                    "children": b.children,
                    "guest": {"name": b.guest_name, "email": b.guest_email, "phone": b.guest_phone},
                    "total_price": b.total,
                    "currency": b.currency,
                    "created_at": b.created_at,
                }
                for b in rows
            ],
        }

    def _booking(self, tenant: Tenant, options: dict[str, Any]) -> dict[str, Any]:
        pms = pms_for_tenant(tenant)
        try:
            booking = pms.get_booking(options["reference"])
        except PMSNotFound as exc:
            raise CommandError(f'Unknown booking "{options["reference"]}" for hotel "{tenant.slug}".') from exc
        return {"tenant": tenant.slug, "pms": pms.kind, "booking": booking}

    def _breaker(self, tenant: Tenant, options: dict[str, Any]) -> dict[str, Any]:
        return pms_breaker_status(tenant=tenant)

    def _seed(self, tenant: Tenant, options: dict[str, Any]) -> dict[str, Any]:
        return {"tenant": tenant.slug, "room_types": pms_seed_demo(tenant)}
