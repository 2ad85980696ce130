"""A local fake QloApps webservice (loopback only) for the adapter's tests.

It answers like QloApps 1.6/1.7 (``classes/webservice/*``, ``modules/hotelreservationsystem/classes/
WebserviceSpecificManagementHotelAri.php``): Basic auth with the key as user (401 + ``WWW-Authenticate`` else),
JSON only with ``output_format=JSON`` (errors in XML otherwise), ``hotel_ari`` reading an XML body only,
``filter[id_hotel]`` on ``room_types`` refused (a dynamic field, code 34), ``/api/bookings`` refusals as HTTP 400
with ``{"errors": [{"code": 404, "message": ...}]}``, an unknown booking as 404 with an empty body, the booking
answer without a status (that is ``orders/{id}`` ``current_state``), a child without ``child_ages`` dropped and
the adults read from ``adult``.

State is in memory: ``hotels``, ``room_types`` (``FakeRoomType``), ``orders``. Prices: ``price`` per night
(``weekend_price`` on Friday and Saturday nights), taxes ``tax_rate`` on top.

Fail modes (``fake.fail(mode, times=None)``): ``"500"``, ``"slow"`` (sleeps ``slow_seconds``), ``"401"``,
``"malformed"`` (200 with a body that is not JSON), ``"truncated"`` (200 with JSON missing keys),
``"xml_error"`` (400 with an XML error body). ``fake.requests`` records every request.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CENT = Decimal("0.01")
STATE_AWAITING_PAYMENT, STATE_CANCELED, STATE_REFUND = 1, 4, 5


@dataclass
class FakeRoomType:
    id: int
    id_hotel: int
    names: dict[int, str]  # QloApps language id → name
    descriptions: dict[int, str]
    price: Decimal  # per night, tax excluded
    weekend_price: Decimal
    rooms: list[tuple[int, str]]  # (id_room, room_num)
    adults: int = 2  # base occupancy
    children: int = 0
    max_adults: int = 2
    max_children: int = 0
    max_guests: int = 2
    active: bool = True


@dataclass
class FakeRoomLine:
    id: int  # id_hotel_booking
    id_product: int
    id_room: int
    date_from: dt.date
    date_to: dt.date
    adults: int
    children: int
    price_te: Decimal
    price_ti: Decimal


@dataclass
class FakeOrder:
    id: int
    id_property: int
    currency: str
    source: str
    customer: dict[str, Any]
    lines: list[FakeRoomLine] = field(default_factory=list)
    state: int = STATE_AWAITING_PAYMENT
    booking_date: str = ""


class ApiError(Exception):
    def __init__(self, status: int, message: str = "", code: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def nights(date_from: dt.date, date_to: dt.date) -> list[dt.date]:
    return [date_from + dt.timedelta(days=i) for i in range((date_to - date_from).days)]


def parse_date(value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError as exc:
        raise ApiError(400, "Invalid check in date in the request", 404) from exc


def money(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


class FakeQloApps:
    def __init__(self, *, api_key: str = "TESTKEY0123456789ABCDEFGHIJKLMNOP", tax_rate: str = "0.10") -> None:
        self.api_key = api_key
        self.tax_rate = Decimal(tax_rate)
        self.currency = "EUR"
        self.hotels: dict[int, dict[str, Any]] = {}
        self.room_types: dict[int, FakeRoomType] = {}
        self.orders: dict[int, FakeOrder] = {}
        self.requests: list[dict[str, Any]] = []
        self.slow_seconds = 2.0
        self._mode: str | None = None
        self._mode_times: int | None = None
        self._next_order = 100
        self._next_line = 1000
        self.lock = threading.RLock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PUT(self) -> None:
                fake._handle(self, "PUT")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # --- test API -------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api"

    def __enter__(self) -> FakeQloApps:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, mode: str | None, times: int | None = None) -> None:
        """Answer the next ``times`` requests (all, when ``None``) in ``mode``; ``fail(None)`` heals."""
        with self.lock:
            self._mode, self._mode_times = mode, times

    def add_hotel(self, hotel_id: int, *, check_in: str = "14:00", check_out: str = "11:00") -> None:
        self.hotels[hotel_id] = {"id": hotel_id, "check_in": check_in, "check_out": check_out}

    def add_room_type(self, room_type: FakeRoomType) -> FakeRoomType:
        self.room_types[room_type.id] = room_type
        return room_type

    def order_requests(self, method: str, resource: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and r["resource"] == resource]

    # --- pricing and inventory ------------------------------------------------------------------------------
    def night_price(self, room_type: FakeRoomType, night: dt.date) -> Decimal:
        return room_type.weekend_price if night.weekday() in (4, 5) else room_type.price

    def stay_price(self, room_type: FakeRoomType, date_from: dt.date, date_to: dt.date) -> tuple[Decimal, Decimal]:
        te = sum((self.night_price(room_type, n) for n in nights(date_from, date_to)), Decimal("0"))
        ti = (te * (1 + self.tax_rate)).quantize(CENT, rounding=ROUND_HALF_UP)
        return te.quantize(CENT), ti

    def free_rooms(self, room_type: FakeRoomType, date_from: dt.date, date_to: dt.date) -> list[tuple[int, str]]:
        taken = {
            line.id_room
            for order in self.orders.values()
            if order.state not in (STATE_CANCELED, STATE_REFUND)
            for line in order.lines
            if line.id_product == room_type.id and line.date_from < date_to and line.date_to > date_from
        }
        return [room for room in room_type.rooms if room[0] not in taken]

    # --- HTTP -----------------------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        segments = [s for s in url.path.split("/") if s][1:]  # drop "api"
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        record = {
            "method": method,
            "path": url.path,
            "resource": segments[0] if segments else "",
            "query": query,
            "headers": {k.lower(): v for k, v in handler.headers.items()},
            "body": body,
        }
        as_json = query.get("output_format", query.get("io_format", "")).upper() == "JSON"
        with self.lock:
            self.requests.append(record)
            mode = self._mode
            if mode is not None and self._mode_times is not None:
                self._mode_times -= 1
                if self._mode_times <= 0:
                    self._mode, self._mode_times = None, None
        try:
            if mode == "slow":
                time.sleep(self.slow_seconds)
            elif mode == "500":
                raise ApiError(500, "Internal error", 0)
            elif mode == "401":
                raise ApiError(401, "Invalid authentication key format", 18)
            elif mode == "malformed":
                return self._send(handler, 200, b"<html>Fatal error: Uncaught Exception</html>", "text/html")
            elif mode == "xml_error":
                return self._send_error(handler, ApiError(400, "Validation error: XML error", 85), as_json=False)
            self._authenticate(record, query)
            with self.lock:
                answer = self._route(method, segments, query, body)
            if mode == "truncated":
                answer = {next(iter(answer)): [{"unexpected": True}]} if isinstance(answer, dict) and answer else {}
            if not as_json:
                raise ApiError(400, "This fake speaks JSON only on success: add output_format=JSON", 0)
            data = json.dumps(answer).encode()
            self._send(handler, 200, data, "application/json")
        except ApiError as error:
            self._send_error(handler, error, as_json=as_json)

    def _authenticate(self, record: dict[str, Any], query: dict[str, str]) -> None:
        header = record["headers"].get("authorization", "")
        key = query.get("ws_key")
        if header.startswith("Basic "):
            try:
                key = base64.b64decode(header[6:]).decode().split(":", 1)[0]
            except ValueError:
                key = None
        if not key:
            raise ApiError(401, "Authentication key is empty", 17)
        if key != self.api_key:
            raise ApiError(401, "Authentification key is not active", 20)

    def _send(self, handler: BaseHTTPRequestHandler, status: int, data: bytes, content_type: str, **headers) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _send_error(self, handler: BaseHTTPRequestHandler, error: ApiError, *, as_json: bool) -> None:
        extra = {}
        if error.status == 401:
            extra["WWW-Authenticate"] = 'Basic realm="Welcome to QloApps Webservice"'
        if not error.message:  # e.g. an unknown booking: 404, output disabled
            return self._send(handler, error.status, b"", "application/json" if as_json else "text/xml", **extra)
        if as_json:
            data = json.dumps({"errors": [{"code": error.code, "message": error.message}]}).encode()
            return self._send(handler, error.status, data, "application/json", **extra)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">\n'
            f"<errors>\n<error>\n<code><![CDATA[{error.code}]]></code>\n"
            f"<message><![CDATA[{error.message}]]></message>\n</error>\n</errors>\n</prestashop>\n"
        )
        return self._send(handler, error.status, xml.encode(), "text/xml;charset=utf-8", **extra)

    def _route(self, method: str, segments: list[str], query: dict[str, str], body: str) -> Any:
        resource = segments[0] if segments else ""
        ident = segments[1] if len(segments) > 1 else ""
        routes = {
            ("GET", "hotels"): lambda: self._hotel(ident),
            ("GET", "hotel_room_types"): lambda: self._hotel_room_types(query),
            ("GET", "room_types"): lambda: self._room_types(query),
            ("POST", "hotel_ari"): lambda: self._hotel_ari(body),
            ("GET", "bookings"): lambda: self._booking_answer(self._order(ident)),
            ("POST", "bookings"): lambda: self._create(body),
            ("PUT", "bookings"): lambda: self._replace(body),
            ("GET", "orders"): lambda: self._order_answer(ident),
        }
        route = routes.get((method, resource))
        if route is None:
            if resource == "bookings":
                raise ApiError(405, f"Method {method} is not allowed for the resource bookings", 101)
            raise ApiError(400, f'Resource of type "{resource}" does not exists', 27)
        return route()

    # --- resources ------------------------------------------------------------------------------------------
    def _hotel(self, ident: str) -> dict[str, Any]:
        hotel = self.hotels.get(int(ident)) if ident.isdigit() else None
        if hotel is None:
            raise ApiError(404, "")
        return {"hotel": {**hotel, "hotel_name": "Hotel", "active": "1"}}

    @staticmethod
    def _filter_values(value: str) -> set[str]:
        return set(value.strip("[]").split("|"))

    def _hotel_room_types(self, query: dict[str, str]) -> Any:
        rows = list(self.room_types.values())
        if "filter[id_hotel]" in query:
            wanted = self._filter_values(query["filter[id_hotel]"])
            rows = [rt for rt in rows if str(rt.id_hotel) in wanted]
        if not rows:
            return []  # QloApps' empty list
        return {
            "hotel_room_types": [
                {
                    "id": rt.id + 500,
                    "id_product": str(rt.id),
                    "id_hotel": str(rt.id_hotel),
                    "adults": str(rt.adults),
                    "children": str(rt.children),
                    "max_adults": str(rt.max_adults),
                    "max_children": str(rt.max_children),
                    "max_guests": str(rt.max_guests),
                }
                for rt in rows
            ]
        }

    def _room_types(self, query: dict[str, str]) -> Any:
        if "filter[id_hotel]" in query:
            raise ApiError(
                400, 'The field "id_hotel" is dynamic. It is not possible to filter GET query with this field.', 34
            )
        rows = list(self.room_types.values())
        if "filter[id]" in query:
            wanted = self._filter_values(query["filter[id]"])
            rows = [rt for rt in rows if str(rt.id) in wanted]
        if not rows:
            return []

        def i18n(values: dict[int, str]) -> Any:
            return [{"id": str(lang), "value": text} for lang, text in values.items()]

        return {
            "room_types": [
                {
                    "id": rt.id,
                    "id_hotel": str(rt.id_hotel),
                    "adults": str(rt.adults),
                    "children": str(rt.children),
                    "price": f"{rt.price:.6f}",
                    "active": "1" if rt.active else "0",
                    "booking_product": "1",
                    "name": i18n(rt.names),
                    "description": i18n(rt.descriptions),
                }
                for rt in rows
            ]
        }

    def _hotel_ari(self, body: str) -> dict[str, Any]:
        if not body.strip():
            raise ApiError(400, "Validation error: ARI search parameters are missing.", 85)
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise ApiError(400, "Validation error: Invalid ARI search parameters found.", 85) from exc
        ari = root.find("hotel_ari")
        if ari is None:
            raise ApiError(400, "Validation error: Invalid request XML", 85)
        for required in ("id_hotel", "date_from", "date_to"):
            if ari.findtext(required) is None:
                raise ApiError(400, f'parameter "{required}" required', 41)
        date_from, date_to = parse_date(ari.findtext("date_from")), parse_date(ari.findtext("date_to"))
        if date_to <= date_from:
            raise ApiError(400, 'Validation error: "Date to" must be after "date from"', 85)
        id_hotel = int(ari.findtext("id_hotel") or 0)
        only_type = ari.findtext("id_room_type")
        occupancy = ari.find("associations/room_occupancies/room_occupancy")
        adults = int(occupancy.findtext("adults") or 0) if occupancy is not None else 1
        children = int(occupancy.findtext("children") or 0) if occupancy is not None else 0
        if occupancy is not None and adults < 1:
            message = "Invalid value for number of adults for Room-1 occupancy(value must be greater than 0)."
            raise ApiError(400, f"Validation error: {message}", 85)
        answer: dict[str, Any] = {
            "id_hotel": str(id_hotel),
            "date_from": date_from.isoformat(),
            "date_to": date_to.isoformat(),
            "currency": self.currency,
        }
        rows = []
        total_rooms = total_available = 0
        for rt in self.room_types.values():
            if rt.id_hotel != id_hotel or not rt.active or (only_type and str(rt.id) != only_type):
                continue
            if adults > rt.max_adults or children > rt.max_children or adults + children > rt.max_guests:
                continue
            free = self.free_rooms(rt, date_from, date_to)
            te, ti = self.stay_price(rt, date_from, date_to)
            n = len(nights(date_from, date_to))
            total_rooms += len(rt.rooms)
            total_available += len(free)
            rows.append(
                {
                    "id_room_type": str(rt.id),
                    "base_price": float(te / n),
                    "base_price_with_tax": float(ti / n),
                    "total_price": float(te),
                    "total_price_with_tax": float(ti),
                    "name": rt.names.get(1, ""),
                    "rooms": {
                        # a PHP array keyed by id_room: a JSON object
                        "available": {str(i): {"id_room": str(i), "room_num": num} for i, num in free},
                        "unavailable": [],
                        "booked": [],
                        "partially_available": [],
                    },
                }
            )
        if rows:
            answer.update(total_rooms=total_rooms, total_available_rooms=total_available, room_types=rows)
        return {"hotel_ari": answer}

    # bookings
    def _order(self, ident: Any) -> FakeOrder:
        order = self.orders.get(int(ident)) if str(ident).isdigit() else None
        if order is None:
            raise ApiError(404, "")
        return order

    def _order_answer(self, ident: str) -> dict[str, Any]:
        order = self._order(ident)
        return {"order": {"id": order.id, "current_state": str(order.state), "id_currency": "1"}}

    def _booking_answer(self, order: FakeOrder) -> dict[str, Any]:
        grouped: dict[tuple[int, dt.date, dt.date], dict[str, Any]] = {}
        for line in order.lines:
            key = (line.id_product, line.date_from, line.date_to)
            entry = grouped.setdefault(
                key,
                {
                    "id_room_type": line.id_product,
                    "checkin_date": f"{line.date_from.isoformat()} 00:00:00",
                    "checkout_date": f"{line.date_to.isoformat()} 00:00:00",
                    "total_tax": 0.0,
                    "number_of_rooms": 0,
                    "name": self.room_types[line.id_product].names.get(1, ""),
                    "rooms": [],
                },
            )
            entry["number_of_rooms"] += 1
            entry["total_tax"] = float(Decimal(str(entry["total_tax"])) + line.price_ti - line.price_te)
            entry["rooms"].append(
                {
                    "id_room": line.id_room,
                    "id_hotel_booking": line.id,
                    "adults": line.adults,
                    "child": line.children,
                    "unit_price_without_tax": float(line.price_te),
                    "total_tax": float(line.price_ti - line.price_te),
                }
            )
        te = sum((line.price_te for line in order.lines), Decimal("0"))
        ti = sum((line.price_ti for line in order.lines), Decimal("0"))
        return {
            "booking": {
                "id": order.id,
                "id_property": order.id_property,
                "currency": order.currency,
                "source": order.source,
                "booking_date": order.booking_date,
                "id_language": 1,
                "associations": {
                    "customer_detail": order.customer,
                    "price_details": {
                        "total_paid": 0,
                        "total_price_without_tax": float(te),
                        "total_tax": float(ti - te),
                    },
                    "cart_rules": [],
                    "remarks": [],
                    "room_types": list(grouped.values()),
                },
            }
        }

    @staticmethod
    def _booking_params(body: str) -> dict[str, Any]:
        try:
            params = json.loads(body)["booking"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ApiError(500, "Invalid request.", 127) from exc
        params = {**params, **(params.pop("associations", None) or {})}
        params["room_types"] = params.get("room_types") or []
        return params

    def _room_line_requests(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        lines = []
        for line in params["room_types"]:
            if "id_room_type" not in line:
                raise ApiError(400, "Id room type is missing", 404)
            date_from, date_to = parse_date(line.get("checkin_date")), parse_date(line.get("checkout_date"))
            if "number_of_rooms" not in line:
                raise ApiError(400, "number of rooms is missing", 404)
            room_type = self.room_types.get(int(line["id_room_type"]))
            if room_type is None:
                raise ApiError(400, "Invalid room type in the request", 404)
            rooms = line.get("rooms") or []
            if rooms and len(rooms) != int(line["number_of_rooms"]):
                raise ApiError(400, "Room count does not matches with the number of rooms", 404)
            if date_from > date_to:
                raise ApiError(400, "Invalid check in and check out dates in the request", 404)
            lines.append({"room_type": room_type, "from": date_from, "to": date_to, "rooms": rooms})
        return lines

    def _occupancy(self, room: dict[str, Any], room_type: FakeRoomType) -> tuple[int, int]:
        # like formatOccupancyInRequestData: ``adult`` (not ``adults``), children only with their ages
        adults = int(room.get("adult") or room_type.adults)
        children = int(room.get("child") or 0) if room.get("child_ages") else 0
        return adults, children

    def _add_lines(self, order: FakeOrder, lines: list[dict[str, Any]]) -> None:
        for line in lines:
            room_type, date_from, date_to = line["room_type"], line["from"], line["to"]
            free = self.free_rooms(room_type, date_from, date_to)
            rooms = line["rooms"] or [{}]
            if len(free) < len(rooms):
                raise ApiError(400, "Requested room(s) not available.", 404)
            te, ti = self.stay_price(room_type, date_from, date_to)
            for room, (id_room, _num) in zip(rooms, free, strict=False):
                adults, children = self._occupancy(room, room_type)
                self._next_line += 1
                order.lines.append(
                    FakeRoomLine(self._next_line, room_type.id, id_room, date_from, date_to, adults, children, te, ti)
                )

    def _create(self, body: str) -> dict[str, Any]:
        params = self._booking_params(body)
        customer = params.get("customer_detail") or {}
        if "id" in params:
            raise ApiError(400, "id is forbidden when adding a new resource", 404)
        if params.get("currency") != self.currency:
            raise ApiError(400, "Please provide valid currency.", 404)
        if not customer:
            raise ApiError(400, "Customer details not found.", 404)
        if int(params.get("id_property") or 0) not in self.hotels:
            raise ApiError(400, "Please provide a valid id_property.", 404)
        for key, label in (("firstname", "first name"), ("lastname", "last name"), ("email", "email")):
            if not str(customer.get(key) or "").strip():
                raise ApiError(400, f"Please provide a valid {label}.", 404)
        if not params["room_types"]:
            raise ApiError(400, "Requested room(s) not available.", 404)
        status = int(params.get("booking_status") or 1)
        if not 1 <= status <= 4:
            raise ApiError(400, "Invalid booking status.", 404)
        lines = self._room_line_requests(params)
        self._next_order += 1
        order = FakeOrder(
            id=self._next_order,
            id_property=int(params["id_property"]),
            currency=params["currency"],
            source=str(params.get("source") or "webservice"),
            customer={
                "id_customer": 7,
                "firstname": customer["firstname"],
                "lastname": customer["lastname"],
                "email": customer["email"],
                "phone": customer.get("phone") or "",
            },
            booking_date=dt.datetime(2030, 1, 1, 12).isoformat(sep=" "),
        )
        self._add_lines(order, lines)
        if status == 3:
            order.state = STATE_CANCELED
        self.orders[order.id] = order
        return self._booking_answer(order)

    def _replace(self, body: str) -> dict[str, Any]:
        params = self._booking_params(body)
        if not params.get("id"):
            raise ApiError(400, "id is required with PUT requests.", 404)
        order = self.orders.get(int(params["id"]))
        if order is None:
            raise ApiError(400, "Booking not found.", 404)
        status = params.get("booking_status")
        if status is not None and not 1 <= int(status) <= 4:
            raise ApiError(400, "Invalid booking status.", 404)
        if not params["room_types"]:
            raise ApiError(400, "Rooms not found in the request.", 404)
        if int(params.get("id_property") or 0) not in self.hotels:
            raise ApiError(400, "Please provide a valid id_property.", 404)
        if (params.get("customer_detail") or {}).get("email") != order.customer["email"]:
            raise ApiError(400, "Customer not found.", 404)
        requested = self._room_line_requests(params)
        kept: list[FakeRoomLine] = []
        to_add = []
        remaining = list(order.lines)
        for line in requested:
            key = (line["room_type"].id, line["from"], line["to"])
            matching = [x for x in remaining if (x.id_product, x.date_from, x.date_to) == key]
            if matching:  # same room type and dates: the room stays (occupancy is not updated by QloApps)
                kept.extend(matching)
                remaining = [x for x in remaining if x not in matching]
            else:
                to_add.append(line)
        # new lines are validated against the inventory *with* this booking's current rooms (removal comes last)
        staged = FakeOrder(order.id, order.id_property, order.currency, order.source, order.customer)
        self._add_lines(staged, to_add)
        order.lines = kept + staged.lines
        if status is not None:
            order.state = {3: STATE_CANCELED, 4: STATE_REFUND}.get(int(status), STATE_AWAITING_PAYMENT)
        return self._booking_answer(order)
