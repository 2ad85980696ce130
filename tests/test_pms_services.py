"""``pms_for_tenant``: the registry picks the adapter from the hotel's configuration, the configuration tunes the
resilience layer, a missing adapter degrades instead of crashing; the mock through the whole stack; the PMS
readiness check."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings

from hotel_agent.health import NON_FATAL_CHECKS, CheckResult
from pms import registry
from pms.base import GuestDetails, PMSInvalidRequest, PMSUnavailable
from pms.breakers import breaker_for
from pms.mock import MockPMS
from pms.models import PMSConfig
from pms.registry import UnavailablePMS
from pms.resilience import ResiliencePolicy, ResilientPMS
from pms.services import mock_booking_cancel, pms_breaker_status, pms_for_tenant, pms_health_check
from tests.pms_factories import FakePMS, MockRoomTypeFactory, PMSConfigFactory
from tests.test_pms_contract import monday_after

pytestmark = pytest.mark.django_db

GUEST = GuestDetails(name="Ana García", phone="+34600000001")


# --- adapter choice and configuration -------------------------------------------------------------------------------
def test_a_hotel_without_configuration_gets_the_default_kind(tenant):
    # when
    pms = pms_for_tenant(tenant)

    # then
    assert isinstance(pms, ResilientPMS)
    assert (pms.kind, settings.PMS_TYPE) == ("mock", "mock")
    assert isinstance(pms.adapter, MockPMS)
    assert pms.policy == ResiliencePolicy()
    assert PMSConfig.objects.count() == 0  # reading does not write


def test_the_configuration_tunes_the_resilience_layer(tenant):
    # given
    PMSConfigFactory(
        tenant=tenant,
        breaker_fail_max=3,
        breaker_reset_timeout=10,
        max_retries=1,
        room_types_cache_ttl=600,
        availability_cache_ttl=15,
        stale_cache_ttl=3600,
    )

    # when
    pms = pms_for_tenant(tenant)

    # then
    assert pms.policy == ResiliencePolicy(
        fail_max=3, reset_timeout=10.0, max_retries=1, room_types_ttl=600, availability_ttl=15, stale_ttl=3600
    )
    assert (pms.breaker.fail_max, pms.breaker.reset_timeout) == (3, 10.0)


def test_wrappers_of_one_hotel_share_one_breaker(tenant):
    assert pms_for_tenant(tenant).breaker is pms_for_tenant(tenant).breaker


def test_another_kind_plugs_in_through_the_registry(tenant, monkeypatch):
    # given
    fake = FakePMS(name="qloapps")
    monkeypatch.setitem(registry.ADAPTERS, "qloapps", lambda config: fake)
    PMSConfigFactory(tenant=tenant, kind="qloapps", base_url="https://pms.example.com/api", api_key="k")

    # when
    pms = pms_for_tenant(tenant)

    # then
    assert (pms.adapter, pms.kind) == (fake, "qloapps")
    assert pms.breaker is breaker_for(tenant.slug, "qloapps")


def test_a_kind_without_adapter_degrades_to_unavailable(tenant, monkeypatch):
    # given
    monkeypatch.delitem(registry.ADAPTERS, "qloapps", raising=False)
    PMSConfigFactory(tenant=tenant, kind="qloapps")

    # when
    pms = pms_for_tenant(tenant)

    # then
    assert isinstance(pms.adapter, UnavailablePMS)
    with pytest.raises(PMSUnavailable, match="no adapter for PMS kind 'qloapps'"):
        pms.get_booking("SYM-AAAAA")
    with pytest.raises(PMSUnavailable):
        pms.late_checkout_available(None, dt.date(2030, 5, 6))


def test_a_broken_adapter_factory_degrades_to_unavailable(tenant, monkeypatch):
    def broken(config):
        raise ValueError("base_url is required")

    monkeypatch.setitem(registry.ADAPTERS, "qloapps", broken)
    PMSConfigFactory(tenant=tenant, kind="qloapps")

    with pytest.raises(PMSUnavailable, match="PMS 'qloapps' is misconfigured: ValueError"):
        pms_for_tenant(tenant).room_types()


def test_no_hotel_no_pms():
    with pytest.raises(PMSInvalidRequest):
        pms_for_tenant(None)


# --- the mock through the whole stack --------------------------------------------------------------------------------
def test_booking_through_the_stack_updates_cached_availability(tenant):
    # given: two rooms, availability already cached
    PMSConfigFactory(tenant=tenant)
    MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=2)
    pms = pms_for_tenant(tenant)
    monday = monday_after(pms.adapter.today() + dt.timedelta(days=14))
    assert pms.availability(monday, monday + 2 * dt.timedelta(days=1), 2, 0)[0].rooms_left == 2

    # when
    booking = pms.create_booking(
        room_type="DBL", check_in=monday, check_out=monday + dt.timedelta(days=2), adults=2, children=0, guest=GUEST
    )

    # then
    (offer,) = pms_for_tenant(tenant).availability(monday, monday + dt.timedelta(days=2), 2, 0)
    assert offer.rooms_left == 1
    assert booking.total_price == Decimal("200.00")
    assert pms_for_tenant(tenant).get_booking(booking.reference) == booking


def test_operator_cancellation_drops_cached_availability(tenant):
    # given
    MockRoomTypeFactory(tenant=tenant, code="DBL", room_count=1)
    pms = pms_for_tenant(tenant)
    monday = monday_after(pms.adapter.today() + dt.timedelta(days=14))
    stay = (monday, monday + dt.timedelta(days=1))
    booking = pms.create_booking(
        room_type="DBL", check_in=stay[0], check_out=stay[1], adults=1, children=0, guest=GUEST
    )
    assert pms.availability(*stay, 1, 0) == []

    # when
    mock_booking_cancel(tenant=tenant, reference=booking.reference)

    # then
    assert pms.availability(*stay, 1, 0)[0].rooms_left == 1


# --- breaker status and readiness -------------------------------------------------------------------------------------
def test_breaker_status_for_operators(tenant):
    status = pms_breaker_status(tenant=tenant)

    assert status == {
        "tenant": "sol-y-mar",
        "pms": "mock",
        "state": "closed",
        "fail_counter": 0,
        "fail_max": 5,
        "reset_timeout": 30.0,
        "opened_at": None,
        "storage": "redis" if settings.REDIS_URL else "memory",
    }


def test_pms_check_is_registered_as_non_fatal():
    assert NON_FATAL_CHECKS["pms"] is pms_health_check


def test_pms_check_reports_breakers(tenant):
    # no call yet
    assert pms_health_check() == CheckResult(True, "no PMS calls yet")

    # a closed breaker
    pms = pms_for_tenant(tenant)
    assert pms_health_check() == CheckResult(True, "1 breaker(s) closed")

    # an open one
    pms.breaker.open()
    assert pms_health_check() == CheckResult(False, "breaker sol-y-mar/mock open")


def test_open_breaker_keeps_the_service_ready(client, tenant):
    # given
    pms_for_tenant(tenant).breaker.open()

    # when
    response = client.get("/health/ready")

    # then
    assert response.status_code == 200
    assert response.json()["optional"]["pms"]["status"] == "down"
    assert response.json()["optional"]["pms"]["detail"] == "breaker sol-y-mar/mock open"


def test_pms_check_never_raises(monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr("pms.services.breaker_states", broken)

    assert pms_health_check() == CheckResult(False, "RuntimeError: boom")
