"""Admin for the PMS: pages open, the api key is write-only, bookings are read-only and cancelled through the PMS,
edits drop the hotel's cached PMS answers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.urls import reverse

from pms.base import GuestDetails
from pms.mock import MockPMS
from pms.models import BookingStatus, MockBooking, MockRoomType, PMSConfig
from pms.services import pms_for_tenant
from tests.pms_factories import MockRoomTypeFactory, PMSConfigFactory
from tests.test_pms_contract import monday_after

pytestmark = pytest.mark.django_db

API_KEY = "QLO-s3cr3t-webservice-key-0042"


@pytest.fixture(autouse=True)
def _english_admin(admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def admin_url(model: type, view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def booking(tenant) -> MockBooking:
    MockRoomTypeFactory(tenant=tenant, code="DBL")
    pms = MockPMS(tenant=tenant)
    monday = monday_after(pms.today() + dt.timedelta(days=14))
    created = pms.create_booking(
        room_type="DBL",
        check_in=monday,
        check_out=monday + dt.timedelta(days=2),
        adults=2,
        children=0,
        guest=GuestDetails(name="Ana García", email="ana@example.com"),
    )
    return MockBooking.objects.get(reference=created.reference)


def config_form(config: PMSConfig, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "kind": config.kind,
        "base_url": config.base_url,
        "hotel_id": config.hotel_id,
        "currency": config.currency,
        "connect_timeout_seconds": config.connect_timeout_seconds,
        "read_timeout_seconds": config.read_timeout_seconds,
        "room_types_cache_ttl": config.room_types_cache_ttl,
        "availability_cache_ttl": config.availability_cache_ttl,
        "stale_cache_ttl": config.stale_cache_ttl,
        "breaker_fail_max": config.breaker_fail_max,
        "breaker_reset_timeout": config.breaker_reset_timeout,
        "max_retries": config.max_retries,
        "check_in_time": "15:00",
        "check_out_time": "12:00",
        "late_checkout_until": "14:00",
        "late_checkout_fee": "",
        "early_checkin_from": "11:00",
        "early_checkin_fee": "",
        "new_api_key": "",
    }
    data.update(changes)
    return data


def test_pms_models_are_registered():
    assert {m for m in admin.site._registry if m._meta.app_label == "pms"} == {PMSConfig, MockRoomType, MockBooking}


@pytest.mark.parametrize("model", [PMSConfig, MockRoomType, MockBooking], ids=lambda m: m.__name__)
def test_changelist_and_change_form_open(admin_client, tenant, booking, model):
    # given
    PMSConfigFactory(tenant=tenant, api_key=API_KEY)
    obj = model.objects.first()

    # when
    changelist = admin_client.get(admin_url(model, "changelist"))
    change = admin_client.get(admin_url(model, "change", obj.pk))

    # then
    assert (changelist.status_code, change.status_code) == (200, 200)
    assert API_KEY not in changelist.content.decode()
    assert API_KEY not in change.content.decode()


def test_search_bookings_by_reference_and_guest(admin_client, booking):
    by_reference = admin_client.get(admin_url(MockBooking, "changelist"), {"q": booking.reference})
    by_guest = admin_client.get(admin_url(MockBooking, "changelist"), {"q": "García"})
    nobody = admin_client.get(admin_url(MockBooking, "changelist"), {"q": "Nobody"})

    assert [by_reference.context["cl"].result_count, by_guest.context["cl"].result_count] == [1, 1]
    assert nobody.context["cl"].result_count == 0


def test_api_key_is_kept_when_left_blank(admin_client, tenant):
    # given
    config = PMSConfigFactory(tenant=tenant, api_key=API_KEY)

    # when
    response = admin_client.post(admin_url(PMSConfig, "change", config.pk), config_form(config, hotel_id="7"))

    # then
    assert response.status_code == 302
    config.refresh_from_db()
    assert (config.api_key, config.hotel_id) == (API_KEY, "7")


def test_api_key_is_replaced_or_cleared(admin_client, tenant):
    # given
    config = PMSConfigFactory(tenant=tenant, api_key=API_KEY)

    # when / then
    admin_client.post(admin_url(PMSConfig, "change", config.pk), config_form(config, new_api_key="NEW-KEY-1"))
    config.refresh_from_db()
    assert config.api_key == "NEW-KEY-1"

    admin_client.post(admin_url(PMSConfig, "change", config.pk), config_form(config, clear_api_key="on"))
    config.refresh_from_db()
    assert config.api_key == ""


def test_api_key_cannot_be_set_and_cleared_at_once(admin_client, tenant):
    config = PMSConfigFactory(tenant=tenant, api_key=API_KEY)

    response = admin_client.post(
        admin_url(PMSConfig, "change", config.pk), config_form(config, new_api_key="NEW", clear_api_key="on")
    )

    assert response.status_code == 200
    assert "Either enter a new value or clear it, not both." in response.content.decode()
    config.refresh_from_db()
    assert config.api_key == API_KEY


def test_bookings_cannot_be_added_or_deleted_here(admin_client, booking):
    assert admin_client.get(admin_url(MockBooking, "add")).status_code == 403
    assert admin_client.post(admin_url(MockBooking, "delete", booking.pk), {"post": "yes"}).status_code == 403
    assert MockBooking.objects.count() == 1


def test_cancel_action_goes_through_the_pms(admin_client, tenant, booking):
    # given: the hotel's availability is cached with the room taken
    pms = pms_for_tenant(tenant)
    stay = (booking.check_in, booking.check_out)
    assert pms.availability(*stay, 2, 0)[0].rooms_left == 1

    # when
    response = admin_client.post(
        admin_url(MockBooking, "changelist"), {"action": "cancel_selected", "_selected_action": [booking.pk]}
    )

    # then
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert booking.cancelled_at is not None
    assert pms.availability(*stay, 2, 0)[0].rooms_left == 2


def test_editing_a_room_type_drops_cached_room_types(admin_client, tenant):
    # given
    room_type = MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=2)
    pms = pms_for_tenant(tenant)
    assert [rt.base_price for rt in pms.room_types()] == [room_type.weekday_rate]
    data = {
        "tenant": tenant.pk,
        "code": "DBL",
        "names": '{"es": "Doble"}',
        "descriptions": "{}",
        "amenities": "[]",
        "max_adults": 2,
        "max_children": 0,
        "max_occupancy": 2,
        "room_count": 2,
        "weekday_rate": "90.00",
        "weekend_rate": "110.00",
        "season_start": "",
        "season_end": "",
        "season_multiplier": "1.00",
        "currency": "EUR",
        "taxes_included": "on",
        "is_active": "on",
        "sort_order": 0,
    }

    # when
    response = admin_client.post(admin_url(MockRoomType, "change", room_type.pk), data)

    # then
    assert response.status_code == 302
    assert [str(rt.base_price) for rt in pms.room_types()] == ["90.00"]
