"""The resilience wrapper around any adapter: breaker transitions, business errors, retries, metrics, the breaker
shared through Redis, and calls not serialized by the breaker. (Cache and stale copies: ``test_pms_cache.py``.)"""

from __future__ import annotations

import datetime as dt
import threading

import pybreaker
import pytest
from prometheus_client import REGISTRY

from pms.base import (
    PMSInvalidRequest,
    PMSNoAvailability,
    PMSNotFound,
    PMSTimeout,
    PMSUnavailable,
)
from pms.breakers import reset_breakers
from pms.resilience import PMSCircuitOpen, ResiliencePolicy, ResilientPMS
from tests.conftest import REAL_REDIS
from tests.factories import TenantFactory
from tests.pms_factories import FakePMS

pytestmark = pytest.mark.django_db


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def wrap(tenant, sleeps):
    """``wrap(fake, **policy)``: a ``ResilientPMS`` for the test hotel, recording its backoff sleeps, jitter 0.5."""

    def make(fake: FakePMS | None = None, *, on=None, **policy) -> ResilientPMS:
        return ResilientPMS(
            fake or FakePMS(),
            tenant=on or tenant,
            policy=ResiliencePolicy(**policy),
            sleep=sleeps.append,
            jitter=lambda: 0.5,
        )

    return make


@pytest.fixture
def clock(monkeypatch):
    """``clock(seconds)`` moves pybreaker's clock forward (how long the breaker has been open)."""
    offset = dt.timedelta()
    real = dt.datetime

    class Shifted(real):
        @classmethod
        def now(cls, tz=None):
            return real.now(tz) + offset

    monkeypatch.setattr(pybreaker, "datetime", Shifted)

    def advance(seconds: float) -> None:
        nonlocal offset
        offset += dt.timedelta(seconds=seconds)

    return advance


class Transitions(pybreaker.CircuitBreakerListener):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def state_change(self, cb, old_state, new_state) -> None:
        self.seen.append((old_state.name if old_state else "", new_state.name))


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def calls_total(result: str, pms: str = "fake", tenant: str = "sol-y-mar") -> float:
    return sample("pms_circuit_breaker_calls_total", tenant=tenant, pms=pms, result=result)


def breaker_gauge(tenant: str = "sol-y-mar", pms: str = "fake") -> float | None:
    return REGISTRY.get_sample_value("pms_circuit_breaker_state", {"tenant": tenant, "pms": pms})


def fail_times(pms: ResilientPMS, times: int) -> None:
    for _ in range(times):
        with pytest.raises(PMSUnavailable):
            pms.get_booking("FAK-AAAAA")


# --- breaker transitions -----------------------------------------------------------------------------------------
def test_breaker_goes_closed_open_half_open_closed(wrap, clock):
    # given: a PMS that is down, five failures allowed, no retries
    fake = FakePMS()
    fake.down = True
    pms = wrap(fake, fail_max=5, reset_timeout=30, max_retries=0)
    transitions = Transitions()
    pms.breaker.add_listener(transitions)
    rejected_before = calls_total("rejected")

    # when: five failures
    fail_times(pms, 5)

    # then: open, and the next call does not reach the PMS
    assert pms.breaker_state() == "open"
    assert breaker_gauge() == 1
    with pytest.raises(PMSCircuitOpen):
        pms.get_booking("FAK-AAAAA")
    assert fake.calls["get_booking"] == 5
    assert calls_total("rejected") - rejected_before == 1

    # when: the reset timeout passes and the PMS is back
    clock(31)
    fake.down = False
    seen_during_trial: list[str] = []
    fake.on_call = lambda operation: seen_during_trial.append(pms.breaker_state())
    booking = pms.get_booking("FAK-AAAAA")

    # then: one trial call in half-open closed the breaker
    assert booking.reference == "FAK-AAAAA"
    assert seen_during_trial == ["half-open"]
    assert pms.breaker_state() == "closed"
    assert breaker_gauge() == 0
    assert transitions.seen == [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]


def test_failed_trial_call_opens_the_breaker_again(wrap, clock):
    # given: an open breaker
    fake = FakePMS()
    fake.down = True
    pms = wrap(fake, fail_max=2, reset_timeout=30, max_retries=0)
    fail_times(pms, 2)

    # when: the timeout passes but the PMS is still down
    clock(31)
    with pytest.raises(PMSUnavailable) as trial:
        pms.get_booking("FAK-AAAAA")

    # then: the trial reached the PMS, failed, and the breaker is open again
    assert not isinstance(trial.value, PMSCircuitOpen)
    assert fake.calls["get_booking"] == 3
    assert pms.breaker_state() == "open"
    with pytest.raises(PMSCircuitOpen):
        pms.get_booking("FAK-AAAAA")
    assert fake.calls["get_booking"] == 3


@pytest.mark.parametrize("error", [PMSNotFound, PMSNoAvailability, PMSInvalidRequest])
def test_business_errors_never_open_the_breaker(wrap, error):
    # given
    fake = FakePMS()
    fake.errors = [error("no") for _ in range(10)]
    pms = wrap(fake, fail_max=2)
    successes_before = calls_total("success")

    # when
    for _ in range(10):
        with pytest.raises(error):
            pms.get_booking("FAK-AAAAA")

    # then: answered every time, never retried, counted as answers
    assert pms.breaker_state() == "closed"
    assert pms.breaker.fail_counter == 0
    assert fake.calls["get_booking"] == 10
    assert calls_total("success") - successes_before == 10


def test_each_hotel_has_its_own_breaker(wrap):
    # given
    other = TenantFactory(slug="otro-hotel")
    down = FakePMS()
    down.down = True
    ours, theirs = wrap(down, fail_max=1, max_retries=0), wrap(FakePMS(), on=other)

    # when
    fail_times(ours, 1)

    # then
    assert ours.breaker_state() == "open"
    assert theirs.breaker_state() == "closed"
    assert theirs.get_booking("FAK-AAAAA").reference == "FAK-AAAAA"


# --- retries -----------------------------------------------------------------------------------------------------
def test_transient_errors_are_retried_with_backoff_and_jitter(wrap, sleeps):
    # given: a timeout, then a 503, then an answer
    fake = FakePMS()
    fake.errors = [PMSTimeout("read timeout"), PMSUnavailable("503")]

    # when
    booking = wrap(fake).get_booking("FAK-AAAAA")

    # then: 0.1 s then 0.2 s steps, each half fixed and half jitter (0.5 here)
    assert booking.reference == "FAK-AAAAA"
    assert fake.calls["get_booking"] == 3
    assert sleeps == pytest.approx([0.075, 0.15])


def test_retries_give_up_after_two(wrap, sleeps):
    fake = FakePMS()
    fake.down = True

    with pytest.raises(PMSUnavailable):
        wrap(fake).room_types()

    assert fake.calls["room_types"] == 3
    assert len(sleeps) == 2


def test_backoff_is_capped(wrap, sleeps):
    fake = FakePMS()
    fake.down = True

    with pytest.raises(PMSUnavailable):
        wrap(fake, max_retries=4, fail_max=10).get_booking("FAK-AAAAA")

    assert sleeps == pytest.approx([0.075, 0.15, 0.3, 0.6])
    assert max(sleeps) <= 1.0


def test_business_errors_are_not_retried(wrap, sleeps):
    fake = FakePMS()
    fake.errors = [PMSNotFound("no booking")]

    with pytest.raises(PMSNotFound):
        wrap(fake).get_booking("FAK-AAAAA")

    assert fake.calls["get_booking"] == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("create_booking", lambda pms: pms.create_booking(room_type="DBL", **STAY)),
        ("modify_booking", lambda pms: pms.modify_booking("FAK-AAAAA", adults=1)),
    ],
)
def test_bookings_and_changes_are_never_retried(wrap, sleeps, operation, call):
    # given: the PMS times out — it may have applied the request
    fake = FakePMS()
    fake.errors = [PMSTimeout("read timeout")]

    # when / then
    with pytest.raises(PMSTimeout):
        call(wrap(fake))
    assert fake.calls[operation] == 1
    assert sleeps == []


def test_cancellation_is_retried(wrap, sleeps):
    fake = FakePMS()
    fake.errors = [PMSTimeout("read timeout")]

    assert wrap(fake).cancel_booking("FAK-AAAAA").status == "cancelled"
    assert fake.calls["cancel_booking"] == 2


def test_retries_stop_once_the_breaker_opens(wrap, sleeps):
    fake = FakePMS()
    fake.down = True

    with pytest.raises(PMSUnavailable):
        wrap(fake, fail_max=2, max_retries=2).get_booking("FAK-AAAAA")

    assert fake.calls["get_booking"] == 2
    assert len(sleeps) == 1


def test_an_adapter_crash_is_a_transient_failure(wrap):
    # given
    fake = FakePMS()
    fake.errors = [RuntimeError("bug")]
    pms = wrap(fake, max_retries=0)

    # when
    with pytest.raises(PMSUnavailable) as caught:
        pms.get_booking("FAK-AAAAA")

    # then
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert pms.breaker.fail_counter == 1


STAY = {
    "check_in": dt.date(2030, 5, 6),
    "check_out": dt.date(2030, 5, 8),
    "adults": 2,
    "children": 0,
    "guest": FakePMS()._booking().guest,
}


# --- metrics -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("error", "kind", "result"),
    [
        (PMSNotFound("x"), "not_found", "success"),
        (PMSNoAvailability("x"), "no_availability", "success"),
        (PMSInvalidRequest("x"), "invalid_request", "success"),
        (PMSUnavailable("x"), "unavailable", "failure"),
        (PMSTimeout("x"), "timeout", "failure"),
    ],
)
def test_errors_are_counted_by_kind(wrap, error, kind, result):
    # given
    fake = FakePMS()
    fake.errors = [error]
    errors_before, calls_before = sample("pms_errors_total", kind=kind), calls_total(result)
    latency_before = sample("pms_api_latency_seconds_count", pms="fake", operation="get_booking")

    # when
    with pytest.raises(type(error)):
        wrap(fake, max_retries=0).get_booking("FAK-AAAAA")

    # then
    assert sample("pms_errors_total", kind=kind) - errors_before == 1
    assert calls_total(result) - calls_before == 1
    assert sample("pms_api_latency_seconds_count", pms="fake", operation="get_booking") - latency_before == 1


def test_successes_and_latency_are_counted_per_attempt(wrap):
    # given
    fake = FakePMS()
    fake.errors = [PMSUnavailable("503")]
    before = {r: calls_total(r) for r in ("success", "failure", "rejected")}
    latency_before = sample("pms_api_latency_seconds_count", pms="fake", operation="late_checkout_available")

    # when
    assert wrap(fake).late_checkout_available("FAK-AAAAA", dt.date(2030, 5, 8)) is True

    # then
    assert {r: calls_total(r) - before[r] for r in before} == {"success": 1, "failure": 1, "rejected": 0}
    assert sample("pms_api_latency_seconds_count", pms="fake", operation="late_checkout_available") == (
        latency_before + 2
    )


# --- shared state and concurrency --------------------------------------------------------------------------------
@pytest.mark.skipif(not REAL_REDIS, reason="needs Redis (REDIS_URL)")
def test_breaker_state_is_shared_through_redis(wrap):
    # given: two wrappers with distinct breaker objects, as in two processes
    down = FakePMS()
    down.down = True
    first = wrap(down, fail_max=2, max_retries=0)
    reset_breakers()
    healthy = FakePMS()
    second = wrap(healthy, fail_max=2, max_retries=0)
    other_hotel = wrap(FakePMS(), on=TenantFactory(slug="otro-hotel"))
    assert first.breaker is not second.breaker

    # when: the first one trips the breaker
    fail_times(first, 2)

    # then: the second one rejects without calling its PMS; another hotel is unaffected
    with pytest.raises(PMSCircuitOpen):
        second.get_booking("FAK-AAAAA")
    assert healthy.calls["get_booking"] == 0
    assert second.breaker_state() == "open"
    assert other_hotel.breaker_state() == "closed"


def test_calls_through_one_breaker_run_in_parallel(wrap):
    # given: each call waits inside the PMS until the other one is inside too
    both_inside = threading.Barrier(2, timeout=5)
    fake = FakePMS()
    fake.on_call = lambda operation: both_inside.wait()
    pms_a, pms_b = wrap(fake), wrap(fake)
    assert pms_a.breaker is pms_b.breaker
    results: list[str] = []

    def call(pms: ResilientPMS) -> None:
        results.append(pms.get_booking("FAK-AAAAA").reference)

    # when
    threads = [threading.Thread(target=call, args=(p,)) for p in (pms_a, pms_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    # then: had the breaker serialized the calls, the barrier would have broken and both calls failed
    assert results == ["FAK-AAAAA", "FAK-AAAAA"]
    assert not both_inside.broken
