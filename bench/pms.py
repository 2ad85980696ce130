"""PMS benchmark (not a test): availability latency through the resilient adapter, uncached vs cached, and the
fail-fast path with the circuit breaker open, up to the guest's degraded reply.

    .venv/bin/python bench/pms.py [--runs 200] [--json]

Uses whatever DATABASE_URL / REDIS_URL the environment gives (default: the development SQLite file and the
local-memory cache). Creates two throwaway hotels: one on the mock PMS, one whose PMS is a QloApps address that
refuses connections (127.0.0.1:9, the discard port), so its breaker opens. Targets (issue 4): cached availability
≤ 5 ms; degraded reply with the breaker open ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotel_agent.settings")
os.environ.setdefault("LOG_LEVEL", "ERROR")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from pms.base import PMSUnavailable  # noqa: E402
from pms.models import PMSConfig  # noqa: E402
from pms.seed import pms_seed_demo  # noqa: E402
from pms.services import pms_cache_invalidate, pms_for_tenant  # noqa: E402
from tenants.knowledge import knowledge_seed_demo  # noqa: E402
from tenants.models import Tenant  # noqa: E402


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))], 3)

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "mean": round(statistics.fmean(ordered), 3)}


def timed(call, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    suffix = uuid.uuid4().hex[:6]

    mock_hotel = Tenant.objects.create(slug=f"bench-pms-{suffix}", name="Bench PMS (mock)")
    pms_seed_demo(mock_hotel)
    check_in = dt.date.today() + dt.timedelta(days=30)
    check_out = check_in + dt.timedelta(days=2)

    def uncached() -> None:
        pms_cache_invalidate(tenant=mock_hotel)
        pms_for_tenant(mock_hotel).availability(check_in, check_out, 2, 0)

    def cached() -> None:
        pms_for_tenant(mock_hotel).availability(check_in, check_out, 2, 0)

    uncached()  # warm the code paths
    uncached_ms = timed(uncached, args.runs)
    cached()
    cached_ms = timed(cached, args.runs)

    # A hotel whose PMS refuses connections: trip the breaker, then time the fail-fast path and the guest's reply.
    down_hotel = Tenant.objects.create(slug=f"bench-pms-down-{suffix}", name="Bench PMS (down)")
    knowledge_seed_demo(down_hotel)
    PMSConfig.objects.create(
        tenant=down_hotel, kind="qloapps", base_url="http://127.0.0.1:9/api", api_key="bench-key-0123456789",
        hotel_id="1", connect_timeout_seconds=0.5, read_timeout_seconds=0.5, breaker_fail_max=2,
        breaker_reset_timeout=300, max_retries=0,
    )  # fmt: skip
    trips = 0
    while pms_for_tenant(down_hotel).breaker_state() != "open" and trips < 10:
        with contextlib.suppress(PMSUnavailable):
            pms_for_tenant(down_hotel).availability(check_in, check_out, 2, 0)
        trips += 1

    def open_breaker_call() -> None:
        with contextlib.suppress(PMSUnavailable):
            pms_for_tenant(down_hotel).availability(check_in, check_out, 2, 0)

    open_ms = timed(open_breaker_call, args.runs)

    from conversations.agent.clock import override_today
    from conversations.simulator import Rehearsal

    rehearsal = Rehearsal(tenant=down_hotel, today=dt.date.today())
    months = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
              "noviembre", "diciembre")  # fmt: skip
    question = (
        f"¿Tenéis habitación del {check_in.day} de {months[check_in.month - 1]} "
        f"al {check_out.day} de {months[check_out.month - 1]}?"
    )
    replies: list[str | None] = []

    def degraded_turn() -> None:
        rehearsal.reset()
        with override_today(dt.date.today()):
            replies.append(rehearsal.send(question).reply)

    degraded_turn()
    turn_ms = timed(degraded_turn, max(20, args.runs // 10))

    # The reply itself: the orchestrator (NLU, session, handler, PMS fail-fast) on a stored guest message.
    from conversations.agent.orchestrator import orchestrate
    from conversations.models import Conversation, Direction, Message, Sender

    conversation = Conversation.objects.filter(tenant=down_hotel).select_related("guest", "channel_account").first()
    message = Message.objects.create(
        tenant=down_hotel, conversation=conversation, channel_account=conversation.channel_account,
        direction=Direction.INBOUND, sender=Sender.GUEST, text=question, status="received",
    )  # fmt: skip

    def degraded_reply() -> None:
        with override_today(dt.date.today()):
            reply, _nlu = orchestrate(tenant=down_hotel, conversation=conversation, message=message)
        assert reply.pending and reply.pending.get("action") == "offer_staff", reply

    reply_ms = timed(degraded_reply, args.runs)

    result = {
        "availability_uncached_ms": percentiles(uncached_ms),
        "availability_cached_ms": percentiles(cached_ms),
        "breaker_state": pms_for_tenant(down_hotel).breaker_state(),
        "breaker_open_call_ms": percentiles(open_ms),
        "degraded_reply_ms": percentiles(reply_ms),
        "degraded_turn_ms": percentiles(turn_ms),
        "degraded_reply_sample": replies[-1],
        "targets": {
            "cached_p99_le_5ms": percentiles(cached_ms)["p99"] <= 5,
            "degraded_reply_p99_le_20ms": percentiles(reply_ms)["p99"] <= 20,
        },
    }
    Tenant.objects.filter(slug__in=[mock_hotel.slug, down_hotel.slug]).update(is_active=False)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    verdict = {True: "PASS", False: "MISS"}
    print(f"availability, uncached (mock PMS, {args.runs} runs): {result['availability_uncached_ms']}")
    print(f"availability, cached:                           {result['availability_cached_ms']}  "
          f"target p99 ≤ 5 ms: {verdict[result['targets']['cached_p99_le_5ms']]}")  # fmt: skip
    print(f"breaker {result['breaker_state']}: availability fails fast in  {result['breaker_open_call_ms']}")
    print(f"degraded reply (orchestrator, breaker open):        {result['degraded_reply_ms']}  "
          f"target p99 ≤ 20 ms: {verdict[result['targets']['degraded_reply_p99_le_20ms']]}")  # fmt: skip
    print(f"whole guest turn (store, answer, send; breaker open): {result['degraded_turn_ms']}")
    print(f"  reply: {result['degraded_reply_sample']}")


if __name__ == "__main__":
    main()
