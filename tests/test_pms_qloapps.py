"""The QloApps adapter against a local fake QloApps webservice: the shared contract, the wire format (auth, the
``hotel_ari`` XML, the bookings JSON), QloApps' answers and error bodies mapped to typed errors, and the adapter
behind ``pms_for_tenant`` (breaker counts outages, not business refusals)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import xml.etree.ElementTree as ET
from dataclasses import replace
from decimal import Decimal

import httpx
import pytest

from pms.base import (
    GuestDetails,
    PMSInvalidRequest,
    PMSNoAvailability,
    PMSNotFound,
    PMSTimeout,
    PMSUnavailable,
)
from pms.models import PMSConfig, PMSKind
from pms.qloapps import QloAppsAdapter
from pms.qloapps.client import QloAppsClient
from pms.qloapps.parsing import as_list, by_language, spread_evenly
from pms.registry import UnavailablePMS, adapter_for_config
from pms.services import pms_for_tenant
from tests.fake_qloapps import FakeQloApps, FakeRoomType
from tests.pms_factories import PMSConfigFactory
from tests.test_pms_contract import ContractHotel, PMSContract, monday_after, offer_for

pytestmark = pytest.mark.django_db

KEY = "TESTKEY0123456789ABCDEFGHIJKLMNOP"
GUEST = GuestDetails(name="Ana García", email="ana@example.com", phone="+34600000001")


@pytest.fixture
def fake_qloapps():
    """Hotel 1: "DBL" (id 11, 5 rooms, 2 adults + 1 child) and "LAST" (id 12, one room, 2 adults); hotel 2 has
    room type 21. 100 € a night (120 € Friday/Saturday) + 10 % tax."""
    fake = FakeQloApps(api_key=KEY)
    fake.add_hotel(1, check_in="14:00", check_out="11:00")
    fake.add_hotel(2)
    fake.add_room_type(
        FakeRoomType(
            id=11,
            id_hotel=1,
            names={1: "Double room", 2: "Habitación doble", 3: "Quarto duplo"},
            descriptions={1: "<p>A <b>bright</b> double&nbsp;room.</p>", 2: "<p>Doble luminosa.</p>"},
            price=Decimal("100.00"),
            weekend_price=Decimal("120.00"),
            rooms=[(101, "101"), (102, "102"), (103, "103"), (104, "104"), (105, "105")],
            max_adults=2,
            max_children=1,
            max_guests=3,
        )
    )
    fake.add_room_type(
        FakeRoomType(
            id=12,
            id_hotel=1,
            names={1: "Attic", 2: "Ático", 3: "Sótão"},
            descriptions={},
            price=Decimal("100.00"),
            weekend_price=Decimal("120.00"),
            rooms=[(201, "201")],
        )
    )
    fake.add_room_type(
        FakeRoomType(
            id=21,
            id_hotel=2,
            names={1: "Other hotel's suite"},
            descriptions={},
            price=Decimal("300.00"),
            weekend_price=Decimal("300.00"),
            rooms=[(901, "901")],
        )
    )
    with fake:
        yield fake


def qlo_config(tenant, fake: FakeQloApps, **overrides) -> PMSConfig:
    values = {
        "tenant": tenant,
        "kind": PMSKind.QLOAPPS,
        "base_url": fake.base_url,
        "api_key": KEY,
        "hotel_id": "1",
        "currency": "EUR",
        "connect_timeout_seconds": 1.0,
        "read_timeout_seconds": 2.0,
        **overrides,
    }
    return PMSConfig(**values)


@pytest.fixture
def adapter(tenant, fake_qloapps):
    qlo = QloAppsAdapter(qlo_config(tenant, fake_qloapps))
    yield qlo
    qlo.close()


@pytest.fixture
def stay(adapter) -> tuple[dt.date, dt.date]:
    monday = monday_after(adapter.today() + dt.timedelta(days=14))
    return monday, monday + dt.timedelta(days=3)


class TestQloAppsContract(PMSContract):
    @pytest.fixture
    def hotel(self, adapter, stay) -> ContractHotel:
        monday = stay[0]
        return ContractHotel(
            adapter=adapter,
            last_room="12",
            stay=stay,
            other_stay=(monday + dt.timedelta(days=7), monday + dt.timedelta(days=9)),
            too_many_adults=3,
            guest=GUEST,
        )


# --- wire format --------------------------------------------------------------------------------------------------
def test_every_call_authenticates_with_the_key_as_basic_user_and_asks_for_json(adapter, fake_qloapps, stay):
    # when
    adapter.availability(*stay, 2, 0)

    # then
    expected = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    assert fake_qloapps.requests
    for request in fake_qloapps.requests:
        assert request["headers"]["authorization"] == expected
        assert request["query"]["output_format"] == "JSON"
        assert "ws_key" not in request["query"]


def test_availability_posts_the_hotel_ari_xml_body(adapter, fake_qloapps, stay):
    # when
    adapter.availability(*stay, 2, 1, room_type="11")

    # then
    (request,) = fake_qloapps.order_requests("POST", "hotel_ari")
    assert request["headers"]["content-type"] == "application/xml"
    root = ET.fromstring(request["body"])
    assert root.tag == "qloapps"
    ari = root.find("hotel_ari")
    assert [child.tag for child in ari] == [
        "id_hotel",
        "id_room_type",
        "date_from",
        "date_to",
        "get_available_rooms",
        "associations",
    ]
    assert ari.findtext("id_hotel") == "1"
    assert ari.findtext("id_room_type") == "11"
    assert (ari.findtext("date_from"), ari.findtext("date_to")) == (stay[0].isoformat(), stay[1].isoformat())
    assert ari.findtext("get_available_rooms") == "1"
    occupancies = ari.findall("associations/room_occupancies/room_occupancy")
    assert [(o.findtext("adults"), o.findtext("children")) for o in occupancies] == [("2", "1")]


def test_room_types_are_read_per_hotel_without_the_dynamic_id_hotel_filter(adapter, fake_qloapps):
    # when
    room_types = {rt.code: rt for rt in adapter.room_types()}

    # then: hotel 2's room type is not ours; room_types is filtered by id (QloApps refuses filter[id_hotel] there)
    assert sorted(room_types) == ["11", "12"]
    (links,) = fake_qloapps.order_requests("GET", "hotel_room_types")
    assert links["query"]["filter[id_hotel]"] == "[1]"
    (products,) = fake_qloapps.order_requests("GET", "room_types")
    assert products["query"]["filter[id]"] == "[11|12]"
    assert "filter[id_hotel]" not in products["query"]
    double = room_types["11"]
    assert double.names == {"en": "Double room", "es": "Habitación doble", "pt": "Quarto duplo"}
    assert double.name == "Habitación doble"  # the hotel's default language (es)
    assert double.descriptions == {"en": "A bright double room.", "es": "Doble luminosa."}
    assert (double.max_adults, double.max_children, double.max_occupancy) == (2, 1, 3)
    assert (double.base_price, double.currency, double.taxes_included) == (Decimal("100.00"), "EUR", False)


def test_availability_prices_the_stay_with_taxes_and_spreads_the_total_over_the_nights(adapter, stay):
    # when
    offer = offer_for(adapter.availability(*stay, 2, 0), "11")

    # then: three weeknights at 100 € + 10 % tax
    assert offer.total_price == Decimal("330.00")
    assert offer.nightly_prices == (Decimal("110.00"),) * 3
    assert (offer.rooms_left, offer.currency, offer.taxes_included) == (5, "EUR", True)


def test_uneven_totals_put_the_remaining_cents_on_the_last_night():
    assert spread_evenly(Decimal("100.00"), 3) == (Decimal("33.33"), Decimal("33.33"), Decimal("33.34"))
    assert sum(spread_evenly(Decimal("100.01"), 7)) == Decimal("100.01")


def test_qloapps_lists_and_languages_are_normalized():
    assert as_list({"101": {"id_room": "101"}, "102": {"id_room": "102"}}) == [{"id_room": "101"}, {"id_room": "102"}]
    assert as_list({"id_room": "101", "room_num": "A1"}) == [{"id_room": "101", "room_num": "A1"}]
    assert as_list([]) == [] and as_list({}) == [] and as_list(None) == []
    assert by_language("Doble", {1: "en"}, "es") == {"es": "Doble"}
    assert by_language([{"id": "1", "value": "Double"}, {"id": "9", "value": "?"}], {1: "en"}, "es") == {"en": "Double"}


def test_the_booking_is_posted_as_qloapps_json(adapter, fake_qloapps, stay):
    # when
    booking = adapter.create_booking(
        room_type="11", check_in=stay[0], check_out=stay[1], adults=2, children=1, guest=GUEST
    )

    # then
    (request,) = fake_qloapps.order_requests("POST", "bookings")
    assert request["headers"]["content-type"] == "application/json"
    sent = json.loads(request["body"])["booking"]
    assert {k: sent[k] for k in ("id_property", "currency", "booking_status", "payment_status", "source")} == {
        "id_property": 1,
        "currency": "EUR",
        "booking_status": 1,
        "payment_status": 3,
        "source": "hotel-agent",
    }
    assert sent["associations"]["customer_detail"] == {
        "firstname": "Ana",
        "lastname": "García",
        "email": "ana@example.com",
        "phone": "+34600000001",
    }
    assert sent["associations"]["room_types"] == [
        {
            "id_room_type": 11,
            "checkin_date": stay[0].isoformat(),
            "checkout_date": stay[1].isoformat(),
            "number_of_rooms": 1,
            "rooms": [{"adults": 2, "adult": 2, "child": 1, "child_ages": [8]}],
        }
    ]
    assert booking.reference == str(max(fake_qloapps.orders))
    assert (booking.adults, booking.children, booking.total_price) == (2, 1, Decimal("330.00"))


def test_a_one_word_name_gets_a_placeholder_last_name_that_is_not_read_back(adapter, fake_qloapps, stay):
    booking = adapter.create_booking(
        room_type="11", check_in=stay[0], check_out=stay[1], adults=1, children=0, guest=GuestDetails("Ana", "a@b.es")
    )

    sent = json.loads(fake_qloapps.order_requests("POST", "bookings")[0]["body"])["booking"]
    assert sent["associations"]["customer_detail"]["lastname"] == "-"
    assert booking.guest.name == "Ana"


def test_a_guest_without_email_cannot_book_in_qloapps_and_nothing_is_sent(adapter, fake_qloapps, stay):
    with pytest.raises(PMSInvalidRequest, match="e-mail"):
        adapter.create_booking(
            room_type="11",
            check_in=stay[0],
            check_out=stay[1],
            adults=2,
            children=0,
            guest=GuestDetails(name="Ana García", phone="+34600000001"),
        )

    assert fake_qloapps.order_requests("POST", "bookings") == []


def test_cancel_sends_the_whole_booking_back_with_status_3_and_no_prices(adapter, fake_qloapps, stay):
    # given
    booking = adapter.create_booking(
        room_type="12", check_in=stay[0], check_out=stay[1], adults=2, children=0, guest=GUEST
    )

    # when
    cancelled = adapter.cancel_booking(booking.reference)
    again = adapter.cancel_booking(booking.reference)

    # then
    (put,) = fake_qloapps.order_requests("PUT", "bookings")
    sent = json.loads(put["body"])["booking"]
    assert (sent["id"], sent["id_property"], sent["booking_status"]) == (int(booking.reference), 1, 3)
    assert "price_details" not in sent["associations"]
    (line,) = sent["associations"]["room_types"]
    assert line["rooms"] == [{"id_room": 201, "adults": 2, "child": 0}]
    assert cancelled.status == again.status == "cancelled"
    assert fake_qloapps.orders[int(booking.reference)].state == 4


def test_a_booking_of_another_hotel_of_the_install_is_not_found(tenant, fake_qloapps, stay):
    # given: hotel 2's adapter books its own room
    other = QloAppsAdapter(qlo_config(tenant, fake_qloapps, hotel_id="2"))
    theirs = other.create_booking(
        room_type="21", check_in=stay[0], check_out=stay[1], adults=2, children=0, guest=GUEST
    )
    ours = QloAppsAdapter(qlo_config(tenant, fake_qloapps))

    # then
    with pytest.raises(PMSNotFound):
        ours.get_booking(theirs.reference)
    with pytest.raises(PMSNotFound):
        ours.cancel_booking(theirs.reference)
    assert fake_qloapps.order_requests("PUT", "bookings") == []


def test_changing_only_the_party_of_a_room_is_refused_without_touching_the_booking(adapter, fake_qloapps, stay):
    booking = adapter.create_booking(
        room_type="11", check_in=stay[0], check_out=stay[1], adults=2, children=0, guest=GUEST
    )

    with pytest.raises(PMSInvalidRequest):
        adapter.modify_booking(booking.reference, adults=1)

    assert fake_qloapps.order_requests("PUT", "bookings") == []


def test_moving_the_last_room_to_overlapping_dates_is_no_availability_like_qloapps(adapter, fake_qloapps, stay):
    # given
    booking = adapter.create_booking(
        room_type="12", check_in=stay[0], check_out=stay[1], adults=2, children=0, guest=GUEST
    )

    # when / then
    with pytest.raises(PMSNoAvailability):
        adapter.modify_booking(booking.reference, check_out=stay[1] + dt.timedelta(days=1))
    assert adapter.get_booking(booking.reference) == booking


def test_a_booking_of_several_rooms_is_not_changed_by_the_adapter(adapter, fake_qloapps, stay):
    # given: a two-room booking made in QloApps' back office
    booking = adapter.create_booking(
        room_type="11", check_in=stay[0], check_out=stay[1], adults=2, children=0, guest=GUEST
    )
    order = fake_qloapps.orders[int(booking.reference)]
    order.lines.append(replace(order.lines[0], id=order.lines[0].id + 1, id_room=102))

    # when / then
    with pytest.raises(PMSInvalidRequest, match="several rooms"):
        adapter.modify_booking(booking.reference, check_in=stay[0] + dt.timedelta(days=1))
    assert fake_qloapps.order_requests("PUT", "bookings") == []
    assert len(fake_qloapps.orders[int(booking.reference)].lines) == 2


def test_modify_of_a_cancelled_booking_is_invalid(adapter, stay):
    booking = adapter.create_booking(
        room_type="11", check_in=stay[0], check_out=stay[1], adults=2, children=0, guest=GUEST
    )
    adapter.cancel_booking(booking.reference)

    with pytest.raises(PMSInvalidRequest):
        adapter.modify_booking(booking.reference, check_in=stay[0] + dt.timedelta(days=1))


def test_stay_policy_takes_the_hotel_times_from_qloapps_and_the_rest_from_the_config(adapter):
    policy = adapter.stay_policy()

    assert (policy.check_in_time, policy.check_out_time) == (dt.time(14, 0), dt.time(11, 0))
    assert (policy.late_checkout_until, policy.early_checkin_from, policy.currency) == (
        dt.time(14, 0),
        dt.time(11, 0),
        "EUR",
    )


def test_stay_policy_falls_back_to_the_config_when_qloapps_has_no_such_hotel(tenant, fake_qloapps):
    qlo = QloAppsAdapter(qlo_config(tenant, fake_qloapps, hotel_id="77", check_in_time=dt.time(16, 0)))

    assert qlo.stay_policy().check_in_time == dt.time(16, 0)


def test_late_checkout_and_early_checkin_depend_on_the_adjacent_night(adapter, stay):
    # given: the last room booked for the stay, and again from its check-out day
    first = adapter.create_booking(
        room_type="12", check_in=stay[0], check_out=stay[1], adults=2, children=0, guest=GUEST
    )
    after = stay[1] + dt.timedelta(days=3)
    adapter.create_booking(room_type="12", check_in=stay[1], check_out=after, adults=2, children=0, guest=GUEST)

    # then: an arrival takes the room on the check-out day; the night before the stay is free
    assert adapter.late_checkout_available(first.reference, stay[1]) is False
    assert adapter.early_checkin_available(first.reference, stay[0]) is True
    assert adapter.late_checkout_available(None, stay[1]) is True  # the doubles are free
    with pytest.raises(PMSInvalidRequest):
        adapter.late_checkout_available(first.reference, stay[0])


# --- errors -------------------------------------------------------------------------------------------------------
def test_a_slow_qloapps_is_a_timeout(tenant, fake_qloapps, stay):
    fake_qloapps.slow_seconds = 1.0
    qlo = QloAppsAdapter(qlo_config(tenant, fake_qloapps, read_timeout_seconds=0.2))
    fake_qloapps.fail("slow")

    with pytest.raises(PMSTimeout):
        qlo.room_types()


def test_a_server_error_is_unavailable(adapter, fake_qloapps):
    fake_qloapps.fail("500")

    with pytest.raises(PMSUnavailable, match="QloApps error 500: Internal error"):
        adapter.room_types()


def test_a_refused_key_is_unavailable_with_a_configuration_message(tenant, fake_qloapps):
    qlo = QloAppsAdapter(qlo_config(tenant, fake_qloapps, api_key="WRONGKEY"))

    with pytest.raises(PMSUnavailable, match="bad webservice key") as caught:
        qlo.room_types()

    assert not isinstance(caught.value, PMSTimeout)
    assert "Authentification key is not active" in str(caught.value)


def test_a_401_mode_is_unavailable(adapter, fake_qloapps):
    fake_qloapps.fail("401")

    with pytest.raises(PMSUnavailable, match="bad webservice key"):
        adapter.room_types()


def test_an_unknown_booking_is_not_found(adapter, fake_qloapps):
    with pytest.raises(PMSNotFound):
        adapter.get_booking("999")

    assert [r["path"] for r in fake_qloapps.requests] == ["/api/bookings/999"]


@pytest.mark.parametrize("reference", ["²", "١٢", "12a", ""])
def test_a_reference_that_is_not_an_ascii_number_is_not_found_without_a_call(adapter, fake_qloapps, reference):
    with pytest.raises(PMSNotFound):
        adapter.get_booking(reference)

    assert fake_qloapps.requests == []


def test_a_qloapps_400_error_body_is_an_invalid_request_with_its_message(tenant, fake_qloapps, stay):
    # given: QloApps only knows EUR
    qlo = QloAppsAdapter(qlo_config(tenant, fake_qloapps, currency="USD"))

    with pytest.raises(PMSInvalidRequest, match=r"^Please provide valid currency\.$"):
        qlo.create_booking(room_type="11", check_in=stay[0], check_out=stay[1], adults=2, children=0, guest=GUEST)
    assert fake_qloapps.orders == {}


def test_an_xml_error_body_is_read_too(adapter, fake_qloapps):
    fake_qloapps.fail("xml_error")

    with pytest.raises(PMSInvalidRequest, match=r"^Validation error: XML error$"):
        adapter.room_types()


def test_a_body_that_is_not_json_is_unavailable(adapter, fake_qloapps):
    fake_qloapps.fail("malformed")

    with pytest.raises(PMSUnavailable, match="malformed answer"):
        adapter.room_types()


def test_json_of_the_wrong_shape_is_unavailable_not_a_crash(adapter, fake_qloapps, stay):
    adapter.room_types()  # catalog cached
    fake_qloapps.fail("truncated")

    with pytest.raises(PMSUnavailable, match="malformed answer"):
        adapter.availability(*stay, 2, 0)


def test_connection_refused_is_unavailable(tenant):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = PMSConfig(tenant=tenant, base_url=f"http://127.0.0.1:{port}/api", api_key=KEY, hotel_id="1")

    with pytest.raises(PMSUnavailable, match="unreachable"):
        QloAppsAdapter(config).room_types()


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (400, {"errors": [{"code": 404, "message": "Requested room(s) not available."}]}, PMSNoAvailability, None),
        (400, {"errors": [{"code": 404, "message": "Booking not found."}]}, PMSNotFound, None),
        (400, {"errors": [{"code": 404, "message": "Please provide a valid email."}]}, PMSInvalidRequest, "email"),
        (403, {"errors": [{"code": 132, "message": "No permission for this key on this shop"}]}, PMSUnavailable, "key"),
        (405, {"errors": [{"code": 25, "message": "Method PUT is not allowed"}]}, PMSUnavailable, "not allow"),
        (502, None, PMSUnavailable, "502"),
    ],
)
def test_qloapps_answers_map_to_typed_errors(status, body, error, message):
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body) if body is not None else httpx.Response(status)

    client = QloAppsClient(
        base_url="http://qloapps.local/api",
        api_key=KEY,
        connect_timeout=1,
        read_timeout=1,
        transport=httpx.MockTransport(answer),
    )

    with pytest.raises(error) as caught:
        client.request("PUT", "bookings", json_body={})
    assert type(caught.value) is error
    if message:
        assert message in str(caught.value)


def test_the_client_raises_timeouts_as_pms_timeouts():
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    client = QloAppsClient(
        base_url="http://qloapps.local/api",
        api_key=KEY,
        connect_timeout=1,
        read_timeout=1,
        transport=httpx.MockTransport(answer),
    )

    with pytest.raises(PMSTimeout):
        client.get("hotels/1")


# --- through the registry and the resilience layer ----------------------------------------------------------------
def test_the_registry_builds_the_qloapps_adapter_from_the_config(tenant, fake_qloapps):
    adapter = adapter_for_config(qlo_config(tenant, fake_qloapps))

    assert isinstance(adapter, QloAppsAdapter)
    assert adapter.client.http.timeout == httpx.Timeout(2.0, connect=1.0, pool=1.0)


def test_a_qloapps_config_without_hotel_id_degrades_instead_of_crashing(tenant, fake_qloapps):
    adapter = adapter_for_config(qlo_config(tenant, fake_qloapps, hotel_id=""))

    assert isinstance(adapter, UnavailablePMS)
    with pytest.raises(PMSUnavailable):
        adapter.room_types()


def test_pms_for_tenant_serves_a_qloapps_hotel_and_its_breaker_counts_outages_only(tenant, fake_qloapps, stay):
    # given
    PMSConfigFactory(
        tenant=tenant,
        kind=PMSKind.QLOAPPS,
        base_url=fake_qloapps.base_url,
        api_key=KEY,
        hotel_id="1",
        breaker_fail_max=2,
        max_retries=0,
        room_types_cache_ttl=0,
        availability_cache_ttl=0,
        stale_cache_ttl=0,
    )
    pms = pms_for_tenant(tenant)

    # when: it works, then refuses business requests many times
    assert isinstance(pms.adapter, QloAppsAdapter)
    assert offer_for(pms.availability(*stay, 2, 0), "12").rooms_left == 1
    for _ in range(3):
        with pytest.raises(PMSNotFound):
            pms.get_booking("424242")
    with pytest.raises(PMSInvalidRequest):
        pms.availability(stay[0], stay[0], 2, 0)

    # then: the breaker is still closed
    assert pms.breaker_state() == "closed"

    # when: QloApps fails twice
    fake_qloapps.fail("500")
    for _ in range(2):
        with pytest.raises(PMSUnavailable):
            pms_for_tenant(tenant).room_types()

    # then: it is open, and the next call does not reach QloApps
    assert pms.breaker_state() == "open"
    seen = len(fake_qloapps.requests)
    with pytest.raises(PMSUnavailable):
        pms_for_tenant(tenant).room_types()
    assert len(fake_qloapps.requests) == seen
