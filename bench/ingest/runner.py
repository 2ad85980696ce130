"""Orchestration of the webhook ingestion benchmark (parent process): database, gunicorn (+ Celery), load phases."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import ROOT, BenchError
from bench.common.cpu import child_pids, cpu_delta, cpu_snapshot, wait_quiet
from bench.common.db import Manage, analyze, ensure_tenant, migrate, postgres_ready, redis_ready
from bench.common.procs import free_port, server_env, spawn, stop_children, stop_popen, tail, wait_http_200
from bench.common.web import http_request
from bench.ingest.config import (
    APP_SECRET,
    DEFAULT_WSGI_APP,
    LIVE_PATH,
    PG_BENCH_URL,
    PG_DB,
    PHONE_NUMBER_ID,
    QUIET_CORES,
    READY_PATH,
    REDIS_BENCH_URL,
    TENANT_NAME,
    TENANT_SLUG,
    WEBHOOK_PATH,
    log,
)
from bench.ingest.loadgen import generator_main
from bench.ingest.report import summarize


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
        self.python = sys.executable
        self.bin = Path(sys.executable).parent
        self.gunicorn: subprocess.Popen | None = None
        self.celery: subprocess.Popen | None = None
        self.generators: list[mp.Process] = []
        self.port = 0
        self.env: dict[str, str] = {}
        self.backend: dict[str, str] = {}
        self.webhook_ok = 0  # every webhook answered 200, warm-up included
        self.webhook_timeouts = 0
        self.senders = [f"3460{i:07d}" for i in range(args.senders)]

    # --- setup ---------------------------------------------------------------------------------------------------
    def choose_backend(self) -> None:
        a = self.args
        db_url, db_note = "", ""
        if a.db in ("auto", "postgres"):
            why = postgres_ready(PG_DB, log)
            if not why:
                db_url, db_note = PG_BENCH_URL, f"postgres (127.0.0.1:5432/{PG_DB})"
            elif a.db == "postgres":
                raise BenchError(f"PostgreSQL not usable: {why}")
            else:
                log(f"PostgreSQL not reachable ({why}); falling back to SQLite")
        if not db_url:
            path = self.tmp / "bench.sqlite3"
            db_url, db_note = f"sqlite:///{path}", f"sqlite ({path}, temporary)"
        redis_url = ""
        if a.redis in ("auto", "on"):
            why = redis_ready(REDIS_BENCH_URL, flush=True)
            if not why:
                redis_url = REDIS_BENCH_URL
            elif a.redis == "on":
                raise BenchError(f"Redis not usable: {why}")
            else:
                log(f"Redis not reachable ({why}); running without Redis")
        # Without Redis there is no broker: an in-memory one keeps Celery non-eager (eager would run the whole
        # agent inside the webhook request, which is not what production does); enqueueing is then not measured.
        broker = redis_url or "memory://"
        self.backend = {
            "database": db_note,
            "cache": "redis db 9 (flushed)" if redis_url else "local memory",
            "broker": "redis db 9" if redis_url else "memory:// (nothing consumes; enqueue cost not measured)",
        }
        if a.with_worker and not redis_url:
            raise BenchError("--with-worker needs Redis (the broker)")
        log(f"database: {self.backend['database']}; cache: {self.backend['cache']}; broker: {self.backend['broker']}")
        self.multiproc_dir = self.tmp / "prometheus"
        self.multiproc_dir.mkdir()
        if a.workers is None:
            a.workers = self.production_workers()
            log(f"gunicorn workers: {a.workers}, as gunicorn.conf.py sets them in production (GUNICORN_WORKERS unset)")
        env = server_env(
            database_url=db_url,
            redis_url=redis_url,
            broker=broker,
            cache_prefix="bench",
            app_secret=APP_SECRET,
            PROMETHEUS_MULTIPROC_DIR=str(self.multiproc_dir),
            GUNICORN_WORKERS=str(a.workers),
            GUNICORN_WORKER_CLASS=self.worker_class(),
            GUNICORN_THREADS=str(a.threads),
        )
        if a.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [a.pythonpath, env.get("PYTHONPATH", "")]))
        self.env = env
        self.manage = Manage(ROOT, self.python, env, timeout=180, label_args=None)

    def worker_class(self) -> str:
        return "gthread" if self.args.threads > 1 else "sync"

    def worker_note(self) -> str:
        a = self.args
        if a.threads > 1:
            return f"{a.workers} gthread workers × {a.threads} threads"
        return f"{a.workers} sync workers"

    def production_workers(self) -> int:
        """The worker count production gets on this machine: ``gunicorn.conf.py``'s own default with
        ``GUNICORN_WORKERS``/``WEB_CONCURRENCY`` unset (2 × usable CPUs + 1), read by running that file."""
        conf = ROOT / "gunicorn.conf.py"
        if not conf.exists() or self.args.no_conf:
            return 2 * max(1, len(os.sched_getaffinity(0))) + 1
        env = {k: v for k, v in os.environ.items() if k not in ("GUNICORN_WORKERS", "WEB_CONCURRENCY")}
        code = "import runpy, sys; print(runpy.run_path(sys.argv[1])['workers'])"
        out = subprocess.run(
            [self.python, "-c", code, str(conf)], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        if out.returncode != 0 or not out.stdout.strip().isdigit():
            raise BenchError(f"could not read the worker count from {conf.name}: {out.stderr.strip()[-300:]}")
        return int(out.stdout.strip())

    def prepare_database(self) -> None:
        migrate(self.manage, PG_DB, PG_BENCH_URL, log, log_drop=True)
        self.setup_method = ensure_tenant(
            self.manage, log, slug=TENANT_SLUG, name=TENANT_NAME, phone_number_id=PHONE_NUMBER_ID
        )
        # Runs without a worker leave their notifications unprocessed; the rows are the queue and drains take the
        # oldest first, so a later --with-worker run would work through that backlog instead of its own load.
        out = self.manage.shell(
            "from conversations.models import InboundNotification\n"
            "print(InboundNotification.objects.filter(processed_at__isnull=True).delete()[0])"
        )
        log(f"dropped {out.strip().splitlines()[-1]} unprocessed notification(s) left by earlier runs")

    def counts(self) -> dict[str, int]:
        out = self.manage.shell(
            "import json\n"
            "from conversations.models import Direction, Guest, InboundNotification, Message\n"
            f"q = Message.objects.filter(channel_account__channel='whatsapp', "
            f"channel_account__external_id='{PHONE_NUMBER_ID}', direction=Direction.INBOUND)\n"
            # The webhook stores each notification durably; messages are created from it by the worker.
            f"n = InboundNotification.objects.filter(channel_account__external_id='{PHONE_NUMBER_ID}')\n"
            "print(json.dumps({'inbound': n.count(), 'messages': q.count(), 'flagged': q.filter(flagged=True).count(), "
            f"'guests': Guest.objects.filter(tenant__slug='{TENANT_SLUG}').count()}}))"
        )
        return json.loads(out.splitlines()[-1])

    def analyze(self) -> None:
        """Refresh planner statistics. This machine's PostgreSQL runs with autovacuum off, so a fresh bench database
        is never analyzed and the flood-check COUNT plans as a scan of every message of the tenant (the README has
        the numbers); production runs autovacuum, so the bench measures the analyzed steady state."""
        analyze(self.env["DATABASE_URL"], log)

    # --- serving -------------------------------------------------------------------------------------------------
    def start_server(self) -> None:
        a = self.args
        self.port = free_port()
        conf = ROOT / "gunicorn.conf.py"
        cmd = [str(self.bin / "gunicorn")]
        if conf.exists() and not a.no_conf:
            cmd += ["-c", str(conf)]
            self.server_note = f"gunicorn -c gunicorn.conf.py, {self.worker_note()}"
        else:
            cmd += ["-c", "/dev/null", "--timeout", "30", "--graceful-timeout", "5", "--log-level", "warning"]
            self.server_note = f"gunicorn (command-line flags, no gunicorn.conf.py), {self.worker_note()}"
        # Command-line flags win over the config file: the bench decides workers, class and bind.
        cmd += ["--workers", str(a.workers), "--worker-class", self.worker_class(), "--threads", str(a.threads)]
        cmd += ["--bind", f"127.0.0.1:{self.port}", a.wsgi_app]
        if a.trivial_path != LIVE_PATH:
            self.server_note += f"; trivial view {a.trivial_path}"
        if a.wsgi_app != DEFAULT_WSGI_APP or a.webhook_path != WEBHOOK_PATH:
            self.server_note += f"; app {a.wsgi_app}, webhook {a.webhook_path} (candidate, not the default)"
        self.server_log = open(self.tmp / "gunicorn.log", "w")  # noqa: SIM115 (closed in stop)
        log(f"starting {self.server_note} on 127.0.0.1:{self.port}")
        self.gunicorn = spawn(cmd, cwd=ROOT, env=self.env, log_file=self.server_log)
        if a.with_worker:
            self.celery_log = open(self.tmp / "celery.log", "w")  # noqa: SIM115
            cmd = [str(self.bin / "celery"), "-A", "hotel_agent", "worker", "--concurrency", "1", "-l", "warning"]
            self.celery = spawn(cmd, cwd=ROOT, env=self.env, log_file=self.celery_log)
        body = wait_http_200(
            self.gunicorn,
            self.port,
            READY_PATH,
            self.args.start_timeout,
            name="gunicorn",
            log_tail=lambda: tail(self.tmp / "gunicorn.log"),
            body_chars=300,
        )
        log(f"ready: {body.decode()[:300]}")

    def settle(self, limit: float = 60.0) -> float:
        """Wait until the server answers /health/live quickly again (a previous phase may have left a backlog of
        requests the client gave up on, which gunicorn still processes). Returns the seconds waited."""
        start = time.monotonic()
        fast = 0
        while time.monotonic() - start < limit and fast < 3:
            t = time.monotonic()
            try:
                status, _ = http_request(self.port, "GET", LIVE_PATH)
            except OSError:
                status = 0
            fast = fast + 1 if status == 200 and time.monotonic() - t < 0.02 else 0
            time.sleep(0.05)
        return time.monotonic() - start

    def wait_quiet(self, limit: float, threshold: float = QUIET_CORES) -> tuple[float, float]:
        """Wait (at most ``limit`` s) until the machine is idle (see ``wait_quiet``). Returns (waited s, last busy)."""
        waited, busy, _ = wait_quiet(limit, threshold)
        return waited, busy

    def worker_pids(self) -> list[int]:
        return child_pids(self.gunicorn.pid) if self.gunicorn else []

    # --- load ----------------------------------------------------------------------------------------------------
    def spec(self, target: str, mode: str, index: int, procs: int, **extra: Any) -> dict[str, Any]:
        a = self.args
        return {
            "target": target,
            "mode": mode,
            "index": index,
            "procs": procs,
            "host": "127.0.0.1",
            "port": self.port,
            "duration": a.duration,
            "rate": a.rate,
            "timeout": a.request_timeout,
            "max_inflight": a.max_inflight,
            "flat_budget_rps": a.flat_budget_rps,
            "senders": self.senders,
            "sender_offset": extra.pop("sender_offset", 0),
            "tag": extra.pop("tag", uuid.uuid4().hex[:12]),
            "connections": 0,
            "limit": 0,
            "client": a.client,
            "webhook_path": a.webhook_path,
            "trivial_path": a.trivial_path,
            **extra,
        }

    def run_phase(self, name: str, target: str, mode: str, **overrides: Any) -> dict[str, Any]:
        a = self.args
        procs = a.procs
        duration = overrides.pop("duration", a.duration)
        tag = uuid.uuid4().hex[:12]
        offset = overrides.pop("sender_offset", int.from_bytes(os.urandom(4), "big") % len(self.senders))
        total_limit = overrides.pop("limit", 0)
        specs = []
        for k in range(procs):
            spec = self.spec(target, mode, k, procs, tag=tag, sender_offset=offset, duration=duration, **overrides)
            if mode == "flat":
                total = overrides.get("connections", a.concurrency)
                spec["connections"] = total // procs + (1 if k < total % procs else 0)
            if total_limit:
                spec["limit"] = total_limit // procs + (1 if k < total_limit % procs else 0)
            specs.append(spec)
        specs = [s for s in specs if mode != "flat" or s["connections"] > 0]
        ctx = mp.get_context("spawn")
        pipes = []
        self.generators = []
        for spec in specs:
            parent_end, child_end = ctx.Pipe()
            proc = ctx.Process(target=generator_main, args=(child_end, spec), daemon=True)
            proc.start()
            self.generators.append(proc)
            pipes.append(parent_end)
        for pipe in pipes:
            if not pipe.poll(120) or pipe.recv() != "ready":
                raise BenchError(f"{name}: a load generator did not get ready")
        t0 = time.monotonic() + 0.3
        cpu0 = cpu_snapshot(PG_DB, self.gunicorn.pid, self.celery.pid if self.celery else None)
        for pipe in pipes:
            pipe.send(t0)
        results = []
        deadline = t0 + duration + 3 * a.request_timeout + 15  # see give_up in _run_fixed_rate
        for pipe in pipes:
            if not pipe.poll(max(0.1, deadline - time.monotonic())):
                raise BenchError(f"{name}: a load generator did not finish in time")
            results.append(pipe.recv())
        cpu1 = cpu_snapshot(PG_DB, self.gunicorn.pid, self.celery.pid if self.celery else None)
        for proc in self.generators:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
        self.generators = []
        wall = time.monotonic() - t0
        summary = summarize(name, target, mode, results, t0, duration, a, cpu_delta(cpu0, cpu1), wall)
        if target == "webhook":
            self.webhook_ok += summary["ok"]
            self.webhook_timeouts += summary["error_kinds"].get("timeout", 0)
        return summary

    def stop(self) -> None:
        stop_children(self.generators, 3)
        for popen in (self.celery, self.gunicorn):
            stop_popen(popen, 10, reap_exited=False)
        for fh in ("server_log", "celery_log"):
            if hasattr(self, fh):
                getattr(self, fh).close()
        if not self.args.keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            log(f"kept {self.tmp}")
