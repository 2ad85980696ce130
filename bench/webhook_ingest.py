#!/usr/bin/env python
"""Benchmark of WhatsApp webhook ingestion under gunicorn, compared with a trivial JSON view.

A measurement, not a test: it always exits 0 once it has measured (1 only when it could not set up or serve).

What it does (see ``bench/README.md``):

1. Prepares a database: PostgreSQL ``bench_ingest`` (created when missing) and Redis db 9 (flushed) when they are
   reachable, else a temporary SQLite file and no Redis. Migrates and makes sure the tenant ``bench`` owns the
   WhatsApp account ``100000000000099`` (``manage.py tenants ...`` when that command exists, else the ORM).
2. Serves ``hotel_agent.wsgi`` with gunicorn (sync workers) on 127.0.0.1:<free port>, DEBUG off, LOG_LEVEL=WARNING,
   Celery broker = Redis (the webhook really enqueues), optionally a Celery worker consuming (``--with-worker``).
3. Load from separate generator processes (asyncio + raw sockets, request bytes built before timing; gunicorn's
   sync worker closes every connection, so every request is a new TCP connection, as it is behind a proxy):
   a fixed-rate open-loop phase (latency from the *scheduled* send time: no coordinated omission) and a flat-out
   phase with C connections, first for signed webhooks (every POST a new message id), then for GET /health/live.
4. Prints a table (or one JSON object with ``--json``) with throughput, latency percentiles, errors, server-side
   CPU per request, the targets with PASS/MISS and the number of Message rows stored.

Usage::

    .venv/bin/python bench/webhook_ingest.py                      # defaults: 10 s phases, 300 req/s, C=16
    .venv/bin/python bench/webhook_ingest.py --duration 8 --json
    .venv/bin/python bench/webhook_ingest.py --db sqlite           # force the SQLite backend
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import BenchError  # noqa: E402  (after the sys.path setup above)
from bench.common.procs import interrupt  # noqa: E402
from bench.ingest.config import (  # noqa: E402
    DEFAULT_WSGI_APP,
    LIVE_PATH,
    QUIET_CORES,
    TARGET_P99_MS,
    TARGET_RATIO,
    WEBHOOK_PATH,
    log,
)
from bench.ingest.report import render_table  # noqa: E402
from bench.ingest.runner import Bench  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per phase (default 10)")
    ap.add_argument("--rate", type=float, default=300.0, help="fixed-rate phase, requests/s (default 300)")
    ap.add_argument("--concurrency", type=int, default=16, help="flat-out phase connections (default 16)")
    ap.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn workers (default: production's, gunicorn.conf.py's 2 × CPUs + 1)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per gunicorn worker; > 1 serves with the gthread worker class (default 1: sync workers)",
    )
    ap.add_argument("--procs", type=int, default=2, help="load generator processes (default 2)")
    ap.add_argument("--with-worker", action="store_true", help="also run a Celery worker consuming the queue")
    ap.add_argument("--db", choices=("auto", "postgres", "sqlite"), default="auto")
    ap.add_argument("--redis", choices=("auto", "on", "off"), default="auto")
    ap.add_argument("--senders", type=int, default=2000, help="distinct guest numbers (default 2000)")
    ap.add_argument("--no-prewarm", action="store_true", help="do not pre-create the guests (first message each)")
    ap.add_argument(
        "--client", choices=("threads", "asyncio"), default="threads", help="flat-out client (default threads)"
    )
    ap.add_argument("--no-analyze", action="store_true", help="skip ANALYZE of the database before the phases")
    ap.add_argument("--only", choices=("all", "webhook", "live"), default="all", help="which endpoint to load")
    ap.add_argument("--request-timeout", type=float, default=10.0, help="per-request timeout, s (default 10)")
    ap.add_argument("--max-inflight", type=int, default=512, help="per generator process, fixed-rate phase")
    ap.add_argument("--flat-budget-rps", type=int, default=2500, help="bodies pre-built for flat out, per second")
    ap.add_argument("--start-timeout", type=float, default=60.0, help="seconds to wait for /health/ready")
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between phases (default 1)")
    ap.add_argument(
        "--pairs",
        type=int,
        default=4,
        help="after the phases, N pairs of short flat-out slices webhook/trivial in alternating order; the ratio "
        "target is judged on their median (default 4; 0 = judge the single flat-out phases)",
    )
    ap.add_argument("--pair-duration", type=float, default=3.0, help="seconds per interleaved slice (default 3)")
    ap.add_argument(
        "--wsgi-app", default=DEFAULT_WSGI_APP, help="WSGI app for gunicorn (A/B a candidate; default the project's)"
    )
    ap.add_argument(
        "--trivial-path",
        default=LIVE_PATH,
        help=f"the trivial JSON view to compare with ({LIVE_PATH}, a plain Django view; with "
        "--wsgi-app bench.drf_ping:application also /bench/drf-ping, a trivial DRF APIView)",
    )
    ap.add_argument("--webhook-path", default=WEBHOOK_PATH, help=f"path the webhooks are posted to ({WEBHOOK_PATH})")
    ap.add_argument("--pythonpath", default="", help="extra import path for the server (with --wsgi-app)")
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run a phase up to N times while other jobs disturb it (other load > 0.15 cores); keep the quietest",
    )
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each phase wait up to this many s for the machine to be idle (other jobs); 0 = don't",
    )
    ap.add_argument("--no-conf", action="store_true", help="ignore gunicorn.conf.py even if it exists")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (logs, SQLite file)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        ap.error("--workers must be at least 1")
    if args.threads < 1:
        ap.error("--threads must be at least 1")
    if args.pairs < 0 or args.pair_duration <= 0:
        ap.error("--pairs must be >= 0 and --pair-duration > 0")
    return args


REPORTED_ARGS = (
    "duration", "rate", "concurrency", "workers", "procs", "with_worker", "request_timeout", "client", "pairs",
    "pair_duration",
)  # fmt: skip


def run_pairs(bench: Bench, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Short flat-out slices of the webhook and the trivial view, alternating which goes first. On a shared VM the
    CPU available to the bench drifts by tens of percent over minutes; two phases run ~30 s apart measure that drift
    as much as the code, while each pair here is measured within a few seconds, and the median of the pairs' ratios
    is what the target is judged on."""
    out = []
    for k in range(args.pairs):
        order = ("webhook", "live") if k % 2 == 0 else ("live", "webhook")
        got: dict[str, dict[str, Any]] = {}
        for target in order:
            time.sleep(args.pause)
            bench.settle()
            if args.quiet_wait > 0:
                bench.wait_quiet(min(args.quiet_wait, 15.0))
            got[target] = bench.run_phase(f"pair{k}_{target}", target, "flat", duration=args.pair_duration)
        w, lv = got["webhook"], got["live"]
        ratio = w["achieved_rps"] / lv["achieved_rps"] if lv["achieved_rps"] else math.nan
        log(f"pair {k + 1}/{args.pairs} ({' then '.join(order)}): webhook {w['achieved_rps']} req/s, trivial "
            f"{lv['achieved_rps']} req/s, ratio {ratio:.3f}")  # fmt: skip
        out.append(
            {
                "index": k,
                "order": list(order),
                "webhook_rps": w["achieved_rps"],
                "live_rps": lv["achieved_rps"],
                "ratio": round(ratio, 4),
                "errors": w["errors"] + lv["errors"],
                "other_load_cores": max(w["other_load_cores"], lv["other_load_cores"]),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background (SIG_IGN)
    bench = Bench(args)
    notes: list[str] = []
    try:
        bench.choose_backend()
        bench.prepare_database()
        before = bench.counts()
        bench.start_server()
        log(f"gunicorn workers: {bench.worker_pids()}")
        # Warm-up (untimed): every worker imports its lazy modules and opens its DB / Redis connections.
        warm = bench.run_phase("warmup_webhook", "webhook", "flat", duration=1.0, connections=4)
        bench.run_phase("warmup_live", "live", "flat", duration=1.0, connections=4)
        if warm["errors"]:
            notes.append(f"warm-up webhook errors: {warm['error_kinds']}")
        guests = bench.counts()["guests"]
        if not args.no_prewarm and guests < len(bench.senders):
            # First message from a guest also creates Guest + Conversation; steady state is returning guests.
            log(f"pre-creating guests ({guests} of {len(bench.senders)} exist) with one webhook per guest (untimed)")
            pre = bench.run_phase(
                "prewarm", "webhook", "flat", duration=300.0, connections=8, limit=len(bench.senders), sender_offset=0
            )
            log(f"prewarm: {pre['ok']} webhooks, {pre['errors']} errors")
        if not args.no_analyze:
            bench.analyze()
        phases: dict[str, dict[str, Any]] = {}
        targets = ("webhook", "live") if args.only == "all" else (args.only,)
        for target in targets:
            for mode in ("rate", "flat"):
                name = f"{target}_{mode}"
                for attempt in range(1, args.repeat + 1):
                    time.sleep(args.pause)
                    waited = bench.settle()
                    if waited > 2:
                        log(f"waited {waited:.1f}s for the server to drain the previous phase's backlog")
                        notes.append(f"before {name}: waited {waited:.1f}s for the server to drain a backlog")
                    if args.quiet_wait > 0:
                        waited, busy = bench.wait_quiet(args.quiet_wait)
                        if waited > 1.5:
                            log(f"waited {waited:.1f}s for other jobs to leave the CPUs (busy {busy:.2f} cores)")
                    what = f"at {args.rate:g} req/s" if mode == "rate" else f"flat out, {args.concurrency} connections"
                    more = f" (attempt {attempt} of {args.repeat})" if args.repeat > 1 else ""
                    log(f"phase {name}: {args.duration:g}s {what}{more}")
                    r = bench.run_phase(name, target, mode)
                    r["attempt"] = attempt
                    log(f"  → {r['achieved_rps']} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
                        f"errors {r['errors']}, other load {r['other_load_cores']} cores")  # fmt: skip
                    # Keep the least disturbed attempt; stop as soon as one ran on an otherwise idle machine.
                    if name not in phases or r["other_load_cores"] < phases[name]["other_load_cores"]:
                        phases[name] = r
                    if r["other_load_cores"] <= QUIET_CORES:
                        break
        pairs = run_pairs(bench, args) if args.only == "all" and args.pairs else []
        if args.with_worker:
            time.sleep(1)
        after = bench.counts()
    except KeyboardInterrupt:
        log("interrupted; stopping")
        bench.stop()
        return 130
    except BenchError as exc:
        log(f"error: {exc}")
        bench.stop()
        return 1
    except BaseException:
        bench.stop()
        raise
    server_note = bench.server_note
    bench.stop()

    def get(name: str, key: str) -> float:
        return phases.get(name, {}).get(key, math.nan)

    ratio = get("webhook_flat", "achieved_rps") / get("live_flat", "achieved_rps")
    pair_ratios = sorted(p["ratio"] for p in pairs if not math.isnan(p["ratio"]))
    pair_median = statistics.median(pair_ratios) if pair_ratios else math.nan
    judged = pair_median if pair_ratios else ratio
    for p in pairs:
        if p["other_load_cores"] > QUIET_CORES:
            notes.append(f"pair {p['index']}: other processes used {p['other_load_cores']} cores (pessimistic)")

    def server_cpu(name: str) -> float:  # ms of server-side CPU (web + database + cache) per request
        per = phases.get(name, {}).get("server_cpu_ms_per_req", {})
        return sum(per.get(g, 0.0) for g in ("gunicorn", "postgres", "redis")) or math.nan

    # Load-independent cross-check of the ratio: what the two would do on the same dedicated CPUs.
    cpu_ratio = server_cpu("live_flat") / server_cpu("webhook_flat")
    p99 = get("webhook_rate", "p99_ms")
    achieved = get("webhook_rate", "achieved_rps")
    rate_ok = achieved >= 0.98 * args.rate and get("webhook_rate", "errors") == 0
    for name, r in phases.items():
        if r["mode"] == "rate" and r.get("sends_waiting_for_inflight_cap"):
            notes.append(
                f"{name}: the server fell behind the offered rate ({r['sends_waiting_for_inflight_cap']} sends "
                f"waited for one of the {args.max_inflight}/process in-flight slots); latencies count from the "
                "scheduled send time, so they include the queueing"
            )
        elif r["mode"] == "rate" and r.get("send_lag_p99_ms", 0) > 5:
            notes.append(
                f"{name}: generator sent late (lag p99 {r['send_lag_p99_ms']} ms, machine saturated); latencies "
                "still count from the scheduled time"
            )
        if r.get("other_load_cores", 0) > QUIET_CORES:
            notes.append(
                f"{name}: other processes used {r['other_load_cores']} cores of the machine during the phase "
                "(not this bench): numbers are pessimistic, re-run on a quiet machine"
            )
        if r.get("bodies_built_during_timing"):
            notes.append(f"{name}: {r['bodies_built_during_timing']} bodies built during timing (raise budget)")
    stored = after["inbound"] - before["inbound"]
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        "server": server_note,
        "backend": bench.backend,
        "tenant_setup": bench.setup_method,
        "analyzed": not args.no_analyze,
        "config": {k: getattr(args, k) for k in REPORTED_ARGS},
        "phases": phases,
        "pairs": pairs,
        "targets": {
            "ratio": round(ratio, 3),
            "ratio_target": TARGET_RATIO,
            "ratio_interleaved_median": round(pair_median, 3),
            "ratio_interleaved": [round(r, 3) for r in pair_ratios],
            "ratio_judged_on": "interleaved median" if pair_ratios else "single flat-out phases",
            "ratio_result": "PASS" if judged >= TARGET_RATIO else "MISS",
            "cpu_ratio": round(cpu_ratio, 3),
            "server_cpu_ms_per_webhook": round(server_cpu("webhook_flat"), 2),
            "server_cpu_ms_per_live": round(server_cpu("live_flat"), 2),
            "p99_ms": p99,
            "p99_target_ms": TARGET_P99_MS,
            "achieved_rps": achieved,
            "p99_result": "PASS" if p99 <= TARGET_P99_MS and rate_ok else "MISS",
        },
        "messages": {
            "before": before["inbound"],
            "after": after["inbound"],
            "stored": stored,
            "webhooks_200": bench.webhook_ok,
            "equal": stored == bench.webhook_ok,
            "flagged_new": after["flagged"] - before["flagged"],
            "webhook_timeouts": bench.webhook_timeouts,
        },
        "notes": notes,
    }
    if args.json:
        print(json.dumps(report, default=str))
    else:
        print(render_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
