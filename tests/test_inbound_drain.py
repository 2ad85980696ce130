"""The stored notifications are the queue: webhooks wake one drain per burst, drains claim rows and go on past
failures; the webhook's one INSERT survives a dead connection; the per-process account memo; the parse fast path."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection

from channels_gateway import tasks
from channels_gateway.adapters import whatsapp
from channels_gateway.services import drain, webhook
from conversations.models import Direction, InboundNotification, Message
from tenants.models import ChannelAccount
from tenants.services import tenant_resolve
from tests import whatsapp_payloads as wa

pytestmark = pytest.mark.django_db


def post(client, payload: dict):
    body = wa.encode(payload)
    return client.post(
        wa.WEBHOOK_URL, data=body, content_type="application/json", headers={"X-Hub-Signature-256": wa.sign(body)}
    )


def store(account, *message_ids: str) -> list[InboundNotification]:
    """Notification rows as the webhook leaves them (committed, not yet processed)."""
    return [
        InboundNotification.objects.create(
            tenant=account.tenant,
            channel_account=account,
            channel="whatsapp",
            body=wa.encode(
                wa.envelope(account.external_id, messages=[wa.text_message("Hola", message_id=mid)])
            ).decode(),
        )
        for mid in message_ids
    ]


def inbound_ids() -> list[str]:
    return sorted(Message.objects.filter(direction=Direction.INBOUND).values_list("provider_message_id", flat=True))


# --- waking ------------------------------------------------------------------------------------------------------
def test_a_burst_of_webhooks_wakes_one_drain_that_processes_them_all(
    whatsapp_account, client, django_capture_on_commit_callbacks, monkeypatch
):
    woken = []
    monkeypatch.setattr(tasks.drain_inbound_notifications, "delay", lambda *a: woken.append(a))

    with django_capture_on_commit_callbacks(execute=True):
        for i in range(3):
            payload = wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id=f"w.{i}")])
            assert post(client, payload).status_code == 200

    assert len(woken) == 1  # one publish for the burst, not one per request
    assert Message.objects.count() == 0
    monkeypatch.undo()
    assert tasks.drain_inbound_notifications.run() == 3
    assert inbound_ids() == ["w.0", "w.1", "w.2"]
    assert not InboundNotification.objects.filter(processed_at__isnull=True).exists()


def test_a_row_stored_after_a_drain_started_wakes_another(whatsapp_account, client, monkeypatch):
    woken = []
    monkeypatch.setattr(tasks.drain_inbound_notifications, "delay", lambda *a: woken.append(a))
    drain.inbound_drain_wake()  # a drain is queued …
    assert len(woken) == 1
    drain.inbound_drain_wake()
    assert len(woken) == 1  # … and not started: it will see the rows, no second publish

    real_next = drain.inbound_notification_process_next
    seen_during_drain = []

    def next_then_a_new_webhook(**kwargs):
        if not seen_during_drain:  # the drain has given the key back before it looks: a new row wakes a new drain
            drain.inbound_drain_wake()
            seen_during_drain.append(len(woken))
        return real_next(**kwargs)

    monkeypatch.setattr(tasks, "inbound_notification_process_next", next_then_a_new_webhook)
    tasks.drain_inbound_notifications.run()

    assert seen_during_drain == [2]


def test_the_wake_key_expires_so_a_lost_drain_delays_rows_only_briefly(whatsapp_account, monkeypatch, settings):
    woken = []
    monkeypatch.setattr(tasks.drain_inbound_notifications, "delay", lambda *a: woken.append(a))
    settings.INBOUND_DRAIN_WAKE_SECONDS = 30
    drain.inbound_drain_wake()
    ttl = cache.ttl(drain._DRAIN_WAKE_KEY) if hasattr(cache, "ttl") else None

    assert cache.get(drain._DRAIN_WAKE_KEY) == 1
    if ttl is not None:  # django-redis (CI): the key really carries the expiry
        assert 0 < ttl <= 30
    cache.delete(drain._DRAIN_WAKE_KEY)  # what the expiry does
    drain.inbound_drain_wake()
    assert len(woken) == 2


def test_webhook_processes_inline_when_celery_is_eager(whatsapp_account, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="w.a")]))
    with django_capture_on_commit_callbacks(execute=True):
        post(client, wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="w.b")]))

    assert inbound_ids() == ["w.a", "w.b"]  # each request's drain ran and gave the key back
    assert cache.get(drain._DRAIN_WAKE_KEY) is None


# --- draining ----------------------------------------------------------------------------------------------------
def test_drain_goes_past_a_failing_notification_and_hands_it_to_its_retry_task(whatsapp_account, monkeypatch):
    _, bad, _ = store(whatsapp_account, "w.1", "w.bad", "w.2")
    real_record = drain.inbound_record

    def record(*, account, messages):
        if messages and messages[0].provider_message_id == "w.bad":
            raise RuntimeError("database hiccup")
        return real_record(account=account, messages=messages)

    retries = []
    monkeypatch.setattr(drain, "inbound_record", record)
    monkeypatch.setattr(
        tasks.process_inbound_notifications, "apply_async", lambda args, countdown: retries.append((args, countdown))
    )
    monkeypatch.setattr(tasks.drain_inbound_notifications.request, "is_eager", False, raising=False)

    processed = tasks.drain_inbound_notifications.run()

    assert processed == 2
    assert inbound_ids() == ["w.1", "w.2"]
    bad.refresh_from_db()
    assert bad.processed_at is None and bad.attempts == 1 and bad.last_error == "RuntimeError: database hiccup"
    assert retries == [(([bad.pk],), tasks.FAILED_RETRY_COUNTDOWN)]


def test_drain_fails_loudly_when_run_inline(whatsapp_account, monkeypatch):
    store(whatsapp_account, "w.bad")

    def broken(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(drain, "inbound_record", broken)
    with pytest.raises(RuntimeError, match="database hiccup"):
        tasks.drain_inbound_notifications.apply()


def test_drain_leaves_rows_that_failed_before_to_their_retry_task(whatsapp_account):
    _, failed = store(whatsapp_account, "w.fresh", "w.failed")
    InboundNotification.objects.filter(pk=failed.pk).update(attempts=1, last_error="RuntimeError: x")

    assert tasks.drain_inbound_notifications.run() == 1
    assert inbound_ids() == ["w.fresh"]


def test_a_full_drain_hands_over_to_a_new_task(whatsapp_account, monkeypatch):
    store(whatsapp_account, "w.1", "w.2", "w.3")
    handed_over = []
    monkeypatch.setattr(tasks.drain_inbound_notifications, "delay", lambda *a: handed_over.append(a))

    assert tasks.drain_inbound_notifications.run(limit=2) == 2
    assert handed_over == [(2,)]
    assert tasks.drain_inbound_notifications.run(limit=2) == 1
    assert handed_over == [(2,)]  # nothing left: no further task
    assert inbound_ids() == ["w.1", "w.2", "w.3"]


def test_drain_only_processes_each_notifications_own_account(whatsapp_account, other_tenant_account):
    body = wa.encode(
        wa.batch(
            [
                [
                    wa.change_value(
                        whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id="w.mine")]
                    )
                ],
                [
                    wa.change_value(
                        other_tenant_account.external_id, messages=[wa.text_message("Hi", message_id="w.theirs")]
                    )
                ],
            ]
        )
    ).decode()
    for account in (whatsapp_account, other_tenant_account):
        InboundNotification.objects.create(
            tenant=account.tenant, channel_account=account, channel="whatsapp", body=body
        )

    assert tasks.drain_inbound_notifications.run() == 2
    mine = Message.objects.get(provider_message_id="w.mine")
    theirs = Message.objects.get(provider_message_id="w.theirs")
    assert mine.tenant_id == whatsapp_account.tenant_id and mine.channel_account_id == whatsapp_account.pk
    assert theirs.tenant_id == other_tenant_account.tenant_id and theirs.channel_account_id == other_tenant_account.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_drains_skip_rows_another_drain_holds(whatsapp_account):
    from django.db import connections, transaction

    held, _ = store(whatsapp_account, "w.held", "w.free")
    locked, release = threading.Event(), threading.Event()

    def hold_the_first_row():
        try:
            with transaction.atomic():
                InboundNotification.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_first_row)
    holder.start()
    assert locked.wait(10)
    try:
        assert tasks.drain_inbound_notifications.run() == 1  # did not wait for the held row
        assert inbound_ids() == ["w.free"]
    finally:
        release.set()
        holder.join(10)
    assert tasks.drain_inbound_notifications.run() == 1
    assert inbound_ids() == ["w.free", "w.held"]


# --- the webhook's INSERT --------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_insert_retries_once_on_a_dead_connection(whatsapp_account, client, monkeypatch):
    woken = []
    monkeypatch.setattr(tasks.drain_inbound_notifications, "delay", lambda *a: woken.append(a))
    real = webhook._execute_returning_ids
    calls = []

    def dead_then_fine(sql, params):
        calls.append(sql)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(sql, params)

    monkeypatch.setattr(webhook, "_execute_returning_ids", dead_then_fine)

    response = post(client, wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")]))

    assert response.status_code == 200
    assert len(calls) == 2
    assert InboundNotification.objects.count() == 1
    assert len(woken) == 1


@pytest.mark.django_db(transaction=True)
def test_the_insert_gives_up_after_the_retry(whatsapp_account, client, monkeypatch):
    def dead(sql, params):
        raise OperationalError("database is down")

    monkeypatch.setattr(webhook, "_execute_returning_ids", dead)
    client.raise_request_exception = False

    response = post(client, wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola")]))

    assert response.status_code == 500  # Meta redelivers: nothing is lost
    assert InboundNotification.objects.count() == 0


# --- per-process account memo ----------------------------------------------------------------------------------
def test_another_processs_account_change_is_seen_once_the_local_entry_expires(whatsapp_account, monkeypatch):
    from tenants import services as tenant_services

    now = [1000.0]
    monkeypatch.setattr(tenant_services._local, "clock", lambda: now[0])
    assert tenant_resolve(channel="whatsapp", external_id=whatsapp_account.external_id) is not None

    # another process deactivates the account: its row and the shared cache change, this process's memo does not
    ChannelAccount.objects.filter(pk=whatsapp_account.pk).update(is_active=False)
    cache.delete(tenant_services._cache_key("whatsapp", whatsapp_account.external_id))

    assert tenant_resolve(channel="whatsapp", external_id=whatsapp_account.external_id) is not None
    now[0] += tenant_services.settings.TENANT_RESOLUTION_LOCAL_TTL + 0.1
    assert tenant_resolve(channel="whatsapp", external_id=whatsapp_account.external_id) is None


def test_this_processs_own_account_change_is_seen_at_once(whatsapp_account, django_capture_on_commit_callbacks):
    assert tenant_resolve(channel="whatsapp", external_id=whatsapp_account.external_id) is not None
    whatsapp_account.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        whatsapp_account.save()

    assert tenant_resolve(channel="whatsapp", external_id=whatsapp_account.external_id) is None


def test_the_local_memo_can_be_turned_off(whatsapp_account, settings, django_assert_num_queries):
    settings.TENANT_RESOLUTION_LOCAL_TTL = 0
    tenant_resolve(channel="whatsapp", external_id=whatsapp_account.external_id)
    cache.delete(f"tenants:resolve:v1:whatsapp:{whatsapp_account.external_id}")

    with django_assert_num_queries(1):  # nothing kept in memory: the database answers again
        tenant_resolve(channel="whatsapp", external_id=whatsapp_account.external_id)


# --- parsing once, and the storable-string fast path -------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"a": "x\\u0000y"}', "xy"),
        (b'{"a": "\\ud800"}', "?"),
        (b'{"a": "\\uDFFF"}', "?"),
        (b'{"a": "\\ud83d\\ude00"}', "\U0001f600"),
        ('{"a": "\ud800"}'.encode("utf-8", "surrogatepass"), "?"),  # raw UTF-8 bytes of a surrogate
        ('{"a": "한국어 olá"}'.encode(), "한국어 olá"),  # ED 95 9C is a real Hangul syllable, not a surrogate
        ('{"a": "olá"}'.encode("utf-16"), "olá"),
    ],
)
def test_decoded_strings_are_always_storable(body, expected):
    value = whatsapp.load_json(body)["a"]

    assert value == expected
    value.encode("utf-8")  # no lone surrogate left
    assert "\x00" not in value


def test_plain_bodies_skip_the_string_walk(monkeypatch):
    walked = []
    monkeypatch.setattr(whatsapp, "_storable", lambda v: walked.append(v) or v)

    whatsapp.load_json(wa.encode(wa.envelope("1", messages=[wa.text_message("¿Tenéis habitación?")])))
    assert walked == []
    whatsapp.load_json(b'{"a": "x\\u0000"}')
    assert len(walked) == 1


# --- coalescing the wake when Celery runs in workers ------------------------------------------------------------
@pytest.fixture
def workers_mode(monkeypatch, settings):
    """Celery as in production (not inline), coalescing at 50 ms, and a clock the test moves."""
    from hotel_agent.celery import app

    app.conf.task_always_eager = False  # the autouse fixture in conftest puts it back
    settings.INBOUND_WAKE_COALESCE_SECONDS = 0.05
    monkeypatch.setattr(drain, "_wake_seen_at", float("-inf"))
    now = [1000.0]
    monkeypatch.setattr(drain.time, "monotonic", lambda: now[0])
    return now


def test_a_process_that_just_saw_the_key_skips_the_redis_call(whatsapp_account, workers_mode, monkeypatch):
    woken, cache_calls = [], []
    real_add = cache.add
    monkeypatch.setattr(tasks.drain_inbound_notifications, "delay", lambda *a: woken.append(a))
    monkeypatch.setattr(cache, "add", lambda *a, **k: cache_calls.append(a) or real_add(*a, **k))

    drain.inbound_drain_wake()  # sets the key, publishes a drain
    workers_mode[0] += 0.02
    drain.inbound_drain_wake()  # within the window: no Redis call at all
    assert (len(cache_calls), len(woken)) == (1, 1)

    workers_mode[0] += 0.04  # 60 ms after the key was seen: ask Redis again (the key is still there: no publish)
    drain.inbound_drain_wake()
    assert (len(cache_calls), len(woken)) == (2, 1)


def test_a_drain_looks_once_more_after_its_linger(whatsapp_account, workers_mode, monkeypatch):
    """A row committed while the drain waits (its wake coalesced away) is processed by that drain's last look."""
    sleeps = []

    def a_webhook_arrives_meanwhile(seconds):
        sleeps.append(seconds)
        store(whatsapp_account, f"w.late{len(sleeps)}")

    monkeypatch.setattr(tasks.time, "sleep", a_webhook_arrives_meanwhile)
    store(whatsapp_account, "w.first")

    assert tasks.drain_inbound_notifications.run() == 2
    assert sleeps == [pytest.approx(0.1)]  # twice the coalescing window, once per drain
    assert inbound_ids() == ["w.first", "w.late1"]


def test_inline_celery_neither_coalesces_nor_lingers(whatsapp_account, monkeypatch, settings):
    settings.INBOUND_WAKE_COALESCE_SECONDS = 0.05
    monkeypatch.setattr(tasks.time, "sleep", lambda s: pytest.fail("an inline drain must not wait"))

    assert drain.drain_linger_seconds() == 0.0
    store(whatsapp_account, "w.1")
    assert tasks.drain_inbound_notifications.run() == 1
