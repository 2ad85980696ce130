"""``distributed_lock`` against a real Redis: contention, expiry while held, per-tenant keys."""

from __future__ import annotations

import threading
import time

import pytest

from conversations.locks import LockNotAcquired, distributed_lock
from conversations.models import LockAction, LockAudit
from tests.conftest import REAL_REDIS
from tests.factories import TenantFactory

pytestmark = [
    pytest.mark.skipif(not REAL_REDIS, reason="needs a real Redis (REDIS_URL)"),
    pytest.mark.django_db(transaction=True),  # the audit rows are written from other threads
]


def _hold(tenant_id: int, resource: str, held: threading.Event, release: threading.Event, errors: list) -> None:
    try:
        with distributed_lock(tenant_id=tenant_id, resource=resource, timeout=10, wait=1):
            held.set()
            release.wait(5)
    except Exception as exc:  # surfaced by the test
        errors.append(exc)
        held.set()
    finally:
        from django.db import connection

        connection.close()


def test_contending_threads_one_waits_out_and_is_audited():
    tenant = TenantFactory()
    held, release, errors = threading.Event(), threading.Event(), []
    holder = threading.Thread(target=_hold, args=(tenant.pk, "booking:DBL", held, release, errors))
    holder.start()
    assert held.wait(5)
    outcome: list = []

    def contender():
        try:
            with distributed_lock(tenant_id=tenant.pk, resource="booking:DBL", timeout=10, wait=0.2):
                outcome.append("acquired")
        except LockNotAcquired:
            outcome.append("not acquired")
        finally:
            from django.db import connection

            connection.close()

    second = threading.Thread(target=contender)
    second.start()
    second.join(5)
    release.set()
    holder.join(5)

    assert errors == []
    assert outcome == ["not acquired"]
    actions = list(LockAudit.objects.filter(tenant=tenant, resource="booking:DBL").values_list("action", flat=True))
    assert sorted(actions) == sorted([LockAction.ACQUIRED, LockAction.CONTENDED, LockAction.RELEASED])


def test_a_lock_whose_ttl_runs_out_while_held_logs_expired():
    tenant = TenantFactory()

    with distributed_lock(tenant_id=tenant.pk, resource="conversation:1", timeout=0.1, wait=0):
        time.sleep(0.3)

    last = LockAudit.objects.filter(tenant=tenant, resource="conversation:1").order_by("-pk").first()
    assert last.action == LockAction.EXPIRED
    assert last.held_ms >= 300


def test_the_same_resource_in_two_tenants_does_not_contend():
    one, two = TenantFactory(), TenantFactory()

    with (
        distributed_lock(tenant_id=one.pk, resource="booking:DBL", timeout=5, wait=0),
        distributed_lock(tenant_id=two.pk, resource="booking:DBL", timeout=5, wait=0),
    ):
        pass

    assert not LockAudit.objects.filter(action=LockAction.CONTENDED).exists()
    assert LockAudit.objects.filter(tenant=two, action=LockAction.RELEASED).count() == 1
