#!/usr/bin/env python
"""Benchmark of the staff console's realtime fan-out: N consoles of one hotel, inbound WhatsApp messages at a fixed
rate, delivery latency from the webhook to every console; then the cost of idle console connections per daphne
process.

A measurement, not a test: it exits 0 once it has measured (1 only when it could not set up or serve).

What it does (see ``bench/README.md``):

1. Prepares PostgreSQL ``bench_fanout`` (created when missing, recreated when its migration history no longer
   matches) and Redis db 8 (flushed); without them a temporary SQLite file and the in-memory channel layer (then the
   webhooks go to daphne itself: an in-memory layer is not shared between processes). Migrates, creates the tenant
   ``bench-fanout``, its WhatsApp account and N staff users with memberships (bulk), and logs them in
   programmatically: one ``django_session`` row each with the auth keys and the active hotel.
2. Serves the production way for this path: daphne (one process) with ``hotel_agent.asgi`` for ``/ws/``, gunicorn
   (2 sync workers, ``hotel_agent.wsgi``) for the webhook, both on the same channels_redis layer (``REDIS_URL``).
   Celery is not eager and its broker is Redis, but no worker runs: ``message.created`` is published on commit
   inside the webhook request, so the bot is not needed to measure "webhook → console".
3. Fan-out phase: ``--consoles`` websockets (``websockets`` library, Cookie = the session, Origin = the host),
   spread over ``--client-procs`` processes; signed webhooks at ``--rate``/s for ``--duration`` s (open loop), each
   text carrying a unique marker. Every console records when each marker arrives. Latency per console-event pair,
   from the moment the webhook request was *sent* (primary) and from its 200 being received.
4. Idle phase: a fresh daphne, RSS before and after ``--idle-consoles`` (500) idle consoles ⇒ KiB per connection;
   they are held ``--idle-seconds`` (30 s > the 25 s server heartbeat) and must all stay connected and get a
   heartbeat.
5. Prints the targets (p95 ≤ 200 ms; 500 idle consoles per ASGI process) with PASS/MISS, or one JSON object
   with ``--json``. Every process it started is stopped at the end, on errors and on Ctrl+C/SIGTERM.

Usage::

    .venv/bin/python bench/console_fanout.py                          # 200 consoles, 20/s for 15 s, 500 idle 30 s
    .venv/bin/python bench/console_fanout.py --consoles 50 --duration 5 --idle-seconds 5
    .venv/bin/python bench/console_fanout.py --phases idle --idle-consoles 500 --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import BenchError  # noqa: E402  (after the sys.path setup above)
from bench.common.procs import interrupt, raise_nofile_limit  # noqa: E402
from bench.fanout.config import TARGET_IDLE, log  # noqa: E402
from bench.fanout.data import setup_data  # noqa: E402  (``manage.py shell -c "from bench.console_fanout import ..."``)
from bench.fanout.report import render  # noqa: E402
from bench.fanout.runner import Bench  # noqa: E402

__all__ = ["main", "parse_args", "render", "setup_data"]  # and layer_fix_application (module __getattr__)


def __getattr__(name: str) -> Any:
    """``bench.console_fanout:layer_fix_application`` (``--layer-fix``): ``hotel_agent.asgi`` with one change, the
    channels_redis connections get ``socket_timeout=None``. redis-py 8 defaults ``socket_timeout`` to 5 s, the same
    as channels_redis' blocking ``BZPOPMIN`` (``brpop_timeout = 5``), so an idle receive raises ``TimeoutError`` and
    kills a consumer (close 1011) about every 5 s per process (django/channels_redis#422). Lazy, so that importing
    this module elsewhere never loads Django."""
    if name != "layer_fix_application":
        raise AttributeError(name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotel_agent.settings")
    from django.conf import settings

    from hotel_agent.asgi import application

    config = settings.CHANNEL_LAYERS["default"].setdefault("CONFIG", {})
    config["hosts"] = [
        h if isinstance(h, dict) else {"address": h} for h in config.get("hosts", [os.environ["REDIS_URL"]])
    ]
    for host in config["hosts"]:
        host["socket_timeout"] = None
    return application


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--consoles", type=int, default=200, help="consoles in the fan-out phase (200)")
    p.add_argument("--rate", type=float, default=20.0, help="webhooks per second (20)")
    p.add_argument("--duration", type=float, default=15.0, help="seconds of webhooks (15)")
    p.add_argument("--idle-consoles", type=int, default=TARGET_IDLE, help="consoles in the idle phase (500)")
    p.add_argument("--idle-seconds", type=float, default=30.0, help="how long the idle consoles are held (30)")
    p.add_argument("--phases", default="fanout,idle", help="fanout,idle (default both)")
    p.add_argument("--senders", type=int, default=100, help="distinct guest numbers (100)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn sync workers for the webhook (2)")
    p.add_argument("--celery-concurrency", type=int, default=1, help="Celery worker processes (1)")
    p.add_argument("--client-procs", type=int, default=2, help="console client processes (2)")
    p.add_argument("--connect-concurrency", type=int, default=50, help="handshakes in flight (50)")
    p.add_argument("--connect-timeout", type=float, default=20.0)
    p.add_argument("--request-timeout", type=float, default=10.0)
    p.add_argument("--drain", type=float, default=3.0, help="seconds to wait for late events (3)")
    p.add_argument("--start-timeout", type=float, default=60.0)
    p.add_argument("--quiet-wait", type=float, default=60.0, help="max seconds to wait for an idle machine (60)")
    p.add_argument("--db", choices=("auto", "postgres", "sqlite"), default="auto")
    p.add_argument("--redis", choices=("auto", "on", "off"), default="auto")
    p.add_argument(
        "--layer-fix",
        action="store_true",
        help="serve daphne with channels_redis socket_timeout=None (A/B of the fix for the 5 s receive timeout)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = p.parse_args(argv)
    args.phases = {x.strip() for x in args.phases.split(",") if x.strip()}
    if not args.phases <= {"fanout", "idle"} or not args.phases:
        p.error("--phases takes fanout, idle or both")
    if args.consoles < 1 or args.idle_consoles < 1 or args.rate <= 0 or args.duration <= 0:
        p.error("--consoles, --idle-consoles, --rate and --duration must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise_nofile_limit()  # daphne and the clients hold one socket per console
    try:
        import websockets  # noqa: F401
    except ImportError:
        print("the websockets library is missing: .venv/bin/pip install websockets (bench-only)", file=sys.stderr)
        return 1
    bench = Bench(args)
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "args": {
        k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items()}}  # fmt: skip
    try:
        bench.choose_backend()
        report["backend"] = bench.backend
        needed = max(args.consoles if "fanout" in args.phases else 0,
                     args.idle_consoles if "idle" in args.phases else 0)  # fmt: skip
        data = bench.prepare(needed)
        bench.backend["daphne"] = "1 process, hotel_agent.asgi:application" + (
            " + channels_redis socket_timeout=None (--layer-fix, not main's settings)" if args.layer_fix else ""
        )
        if "fanout" in args.phases:
            bench.start_daphne()
            bench.start_gunicorn()
            bench.start_worker()
            report["fanout"] = bench.fanout_phase(data)
            bench.stop_proc("daphne")
            bench.stop_proc("gunicorn")
            bench.stop_proc("worker")
        if "idle" in args.phases:
            bench.start_daphne()  # fresh process: a clean RSS baseline
            report["idle"] = bench.idle_phase(data)
    except BenchError as exc:
        log(f"error: {exc}")
        bench.stop()
        return 1
    except KeyboardInterrupt:
        log("interrupted; stopping everything")
        bench.stop()
        return 130
    finally:
        bench.stop()
    with contextlib.suppress(OSError):
        timeouts = (bench.tmp / "daphne.log").read_text(errors="replace").count("Timeout reading from")
        if timeouts:
            bench.notes.append(
                f"daphne logged {timeouts} redis TimeoutError ('Timeout reading from ...') crashes: redis-py 8 "
                "defaults socket_timeout to 5 s = channels_redis' BZPOPMIN timeout, so the consumer running the "
                "shared receive loop dies (close 1011) about every 5 s and the process's deliveries stall "
                "(django/channels_redis#422); --layer-fix measures the same app with socket_timeout=None"
            )
    report["notes"] = bench.notes
    report["logs"] = str(bench.tmp)
    if args.json:
        print(json.dumps(report, default=str))
    else:
        print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
