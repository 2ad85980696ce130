"""Group commit of the webhook's INSERT across threads: rows queued while a statement is in flight share the next
statement; each request hears the truth about its own rows; a bad row fails only its own request."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from channels_gateway import group_insert
from channels_gateway.group_insert import GroupInsert, GroupInsertTimeout
from channels_gateway.services import webhook
from conversations.models import InboundNotification
from tests import whatsapp_payloads as wa


class Recorder:
    """A fake ``execute``: records every statement's rows, hands out increasing ids, can hold the first statement."""

    def __init__(self, *, hold_first: bool = False, refuse: set[str] | None = None) -> None:
        self.statements: list[list[tuple]] = []
        self.release = threading.Event()
        self.entered = threading.Event()
        self.hold_first = hold_first
        self.refuse = refuse or set()
        self.refuse_with: Exception | None = None  # raised by every statement after the first
        self._ids = itertools.count(1)

    def __call__(self, rows: list[tuple]) -> list[int]:
        self.statements.append(list(rows))
        if len(self.statements) == 1 and self.hold_first:
            self.entered.set()
            assert self.release.wait(10)
        if self.refuse_with is not None and len(self.statements) > 1:
            raise self.refuse_with
        if any(row[0] in self.refuse for row in rows):
            raise ValueError("row refused")
        return [next(self._ids) for _ in rows]


def run_in_thread(group: GroupInsert, rows: list[tuple], results: dict, key: str) -> threading.Thread:
    def target() -> None:
        try:
            results[key] = group.insert(rows, size=len(rows))
        except Exception as exc:  # handed back to the test
            results[key] = exc

    thread = threading.Thread(target=target)
    thread.start()
    return thread


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


def start_behind_a_held_statement(recorder: Recorder, group: GroupInsert, followers: list[str], results: dict):
    """'lead' runs a statement that is held; each follower queues behind it, in order."""
    threads = [run_in_thread(group, [("lead",)], results, "lead")]
    assert recorder.entered.wait(5)
    for n, key in enumerate(followers, start=1):
        threads.append(run_in_thread(group, [(key,)], results, key))
        wait_until(lambda n=n: group.waiting() == n)
    return threads


def test_a_lone_request_runs_its_own_statement_at_once():
    recorder = Recorder()
    group = GroupInsert(recorder)

    assert group.insert([("a",), ("b",)]) == [1, 2]
    assert group.insert([("c",)]) == [3]
    assert recorder.statements == [[("a",), ("b",)], [("c",)]]
    assert group.waiting() == 0


def test_requests_queued_behind_a_statement_share_the_next_one_and_each_gets_its_own_ids():
    recorder = Recorder(hold_first=True)
    group = GroupInsert(recorder)
    results: dict = {}

    threads = start_behind_a_held_statement(recorder, group, ["b", "c", "d"], results)
    recorder.release.set()
    for thread in threads:
        thread.join(10)

    assert recorder.statements == [[("lead",)], [("b",), ("c",), ("d",)]]
    assert results == {"lead": [1], "b": [2], "c": [3], "d": [4]}
    assert group.statements == 2
    assert group.waiting() == 0


def test_a_refused_row_fails_only_its_own_request():
    recorder = Recorder(hold_first=True, refuse={"bad"})
    group = GroupInsert(recorder)
    results: dict = {}

    threads = start_behind_a_held_statement(recorder, group, ["b", "bad", "d"], results)
    recorder.release.set()
    for thread in threads:
        thread.join(10)

    # The shared statement was refused as a whole, then each request's rows ran alone.
    assert recorder.statements == [[("lead",)], [("b",), ("bad",), ("d",)], [("b",)], [("bad",)], [("d",)]]
    assert results["lead"] == [1] and results["b"] == [2] and results["d"] == [3]
    assert isinstance(results["bad"], ValueError)


def test_when_every_statement_fails_every_request_raises():
    def down(rows):
        raise ConnectionError("database is down")

    group = GroupInsert(down)
    with pytest.raises(ConnectionError):
        group.insert([("a",)])
    assert group.waiting() == 0
    with pytest.raises(ConnectionError):  # the line is free again, not stuck "in flight"
        group.insert([("b",)])


def test_a_fatal_error_fails_the_whole_batch_without_rerunning_each_request():
    recorder = Recorder(hold_first=True)
    group = GroupInsert(recorder, fatal=(ConnectionError,))
    results: dict = {}

    threads = start_behind_a_held_statement(recorder, group, ["b", "c", "d"], results)
    recorder.refuse_with = ConnectionError("database is down")
    recorder.release.set()
    for thread in threads:
        thread.join(10)

    assert recorder.statements == [[("lead",)], [("b",), ("c",), ("d",)]]  # no per-request re-runs
    assert all(isinstance(results[key], ConnectionError) for key in "bcd")
    assert group.waiting() == 0


def test_a_batch_is_capped_and_the_rest_runs_in_the_statement_after():
    recorder = Recorder(hold_first=True)
    group = GroupInsert(recorder, max_rows=2)
    results: dict = {}

    threads = start_behind_a_held_statement(recorder, group, ["b", "c", "d", "e", "f"], results)
    recorder.release.set()
    for thread in threads:
        thread.join(10)

    assert [len(rows) for rows in recorder.statements] == [1, 2, 2, 1]
    assert sorted(results.values()) == [[1], [2], [3], [4], [5], [6]]


def test_a_batch_is_capped_in_bytes_too():
    recorder = Recorder(hold_first=True)
    group = GroupInsert(recorder, max_bytes=2)  # run_in_thread gives each request size 1
    results: dict = {}

    threads = start_behind_a_held_statement(recorder, group, ["b", "c", "d"], results)
    recorder.release.set()
    for thread in threads:
        thread.join(10)

    assert [len(rows) for rows in recorder.statements] == [1, 2, 1]


def test_a_follower_that_gives_up_withdraws_and_the_line_stays_usable(monkeypatch):
    monkeypatch.setattr(group_insert, "FOLLOWER_WAIT_SECONDS", 0.05)
    recorder = Recorder(hold_first=True)
    group = GroupInsert(recorder)
    results: dict = {}

    threads = start_behind_a_held_statement(recorder, group, ["b"], results)
    threads[1].join(5)
    assert isinstance(results["b"], GroupInsertTimeout)
    assert group.waiting() == 0  # withdrawn: no later statement carries it or hands it the lead

    recorder.release.set()
    threads[0].join(5)
    assert results["lead"] == [1]
    assert group.insert([("c",)]) == [2]  # not stuck behind a leader that never came
    assert recorder.statements == [[("lead",)], [("c",)]]


@pytest.mark.django_db(transaction=True)
def test_the_multi_row_statement_stores_every_row_and_returns_their_ids_in_order(whatsapp_account):
    now = webhook.timezone.now()
    rows = [
        (whatsapp_account.tenant_id, whatsapp_account.id, "whatsapp", f'{{"n": {n}}}', now, 0, "") for n in range(3)
    ]

    ids = webhook._insert_rows_autocommit(rows)

    stored = InboundNotification.objects.filter(pk__in=ids)
    assert stored.count() == 3
    assert [stored.get(pk=pk).body for pk in ids] == ['{"n": 0}', '{"n": 1}', '{"n": 2}']


@pytest.mark.django_db(transaction=True)
def test_concurrent_webhooks_from_threads_are_each_stored_once(whatsapp_account, monkeypatch):
    from django.db import connections
    from django.test import Client

    from channels_gateway import tasks

    monkeypatch.setattr(tasks.drain_inbound_notifications, "delay", lambda *a: None)
    statuses: list[int] = []
    start = threading.Barrier(8)

    def send(n: int) -> None:
        try:
            body = wa.encode(
                wa.envelope(whatsapp_account.external_id, messages=[wa.text_message("Hola", message_id=f"w.{n}")])
            )
            start.wait(5)
            response = Client().post(
                wa.WEBHOOK_URL,
                data=body,
                content_type="application/json",
                headers={"X-Hub-Signature-256": wa.sign(body)},
            )
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert statuses == [200] * 8
    assert InboundNotification.objects.count() == 8
    bodies = list(InboundNotification.objects.values_list("body", flat=True))
    assert all(sum(f'"w.{n}"' in body for body in bodies) == 1 for n in range(8))
