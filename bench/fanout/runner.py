"""Orchestration of the console fan-out benchmark (parent process): database, daphne/gunicorn/Celery, phases."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing as mp
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import ROOT, BenchError
from bench.common.cpu import machine_busy, rss_kib, tree_cpu, wait_quiet
from bench.common.db import Manage, migrate, postgres_ready, redis_ready
from bench.common.procs import free_port, server_env, spawn, stop_children, stop_popen, tail, wait_http_200
from bench.common.stats import pct
from bench.common.web import http_request
from bench.fanout.clients import client_main, sender_main, webhook_bytes
from bench.fanout.config import (
    APP_SECRET,
    HEARTBEAT_SECONDS,
    LIVE_PATH,
    PG_BENCH_URL,
    PG_DB,
    REDIS_BENCH_URL,
    TARGET_IDLE,
    WEBHOOK_PATH,
    log,
)
from bench.fanout.report import fanout_report


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="bench_fanout_"))
        self.bin = Path(sys.executable).parent
        self.daphne: subprocess.Popen | None = None
        self.gunicorn: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.children: list[mp.Process] = []
        self.logs: list[Any] = []
        self.notes: list[str] = []
        self.env: dict[str, str] = {}
        self.backend: dict[str, str] = {}
        self.redis = False
        self.ctx = mp.get_context("spawn")
        self.last_quiet: dict[str, float] = {}

    # --- setup ---------------------------------------------------------------------------------------------------
    # --- setup ---------------------------------------------------------------------------------------------------
    def choose_backend(self) -> None:
        a = self.args
        db_url = ""
        if a.db in ("auto", "postgres"):
            why = postgres_ready(PG_DB, log)
            if not why:
                db_url = PG_BENCH_URL
                self.backend["database"] = f"postgres (127.0.0.1:5432/{PG_DB})"
            elif a.db == "postgres":
                raise BenchError(f"PostgreSQL not usable: {why}")
            else:
                self.notes.append(f"PostgreSQL not reachable ({why}): temporary SQLite instead")
        if not db_url:
            path = self.tmp / "bench.sqlite3"
            db_url = f"sqlite:///{path}"
            self.backend["database"] = f"sqlite ({path}, temporary)"
        redis_url = ""
        if a.redis in ("auto", "on"):
            why = redis_ready(REDIS_BENCH_URL)
            if not why:
                redis_url = REDIS_BENCH_URL
            elif a.redis == "on":
                raise BenchError(f"Redis not usable: {why}")
            else:
                self.notes.append(f"Redis not reachable ({why})")
        self.redis = bool(redis_url)
        if self.redis:
            self.backend["channel_layer"] = "channels_redis (redis db 8, flushed)"
            self.backend["webhook_server"] = f"gunicorn, {a.workers} sync workers (same Redis channel layer)"
        else:
            self.backend["channel_layer"] = "in-memory (no Redis)"
            self.backend["webhook_server"] = "daphne itself (an in-memory channel layer is per process)"
            self.notes.append(
                "no Redis: in-memory channel layer, so the webhooks are served by the same daphne process as the "
                "consoles; not the production topology, numbers are indicative only"
            )
        log("; ".join(f"{k}: {v}" for k, v in self.backend.items()))
        prom = self.tmp / "prometheus"
        prom.mkdir()
        # Not eager: the bot must not run inside the webhook request. Nothing consumes the queue.
        self.env = server_env(
            database_url=db_url,
            redis_url=redis_url,
            broker=redis_url or "memory://",
            cache_prefix="benchfanout",
            app_secret=APP_SECRET,
        )
        self.gunicorn_env = {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(prom)}
        self.manage = Manage(ROOT, sys.executable, self.env, timeout=300, label_args=2)

    def prepare(self, consoles: int) -> dict[str, Any]:
        migrate(self.manage, PG_DB, PG_BENCH_URL, log)
        t = time.monotonic()
        out = self.tmp / "sessions.json"
        self.manage("shell", "-c", f"from bench.console_fanout import setup_data; setup_data({consoles}, '{out}')")
        data = json.loads(out.read_text())
        log(f"tenant {data['tenant']}, {len(data['keys'])} staff users + memberships + sessions in "
            f"{time.monotonic() - t:.1f}s")  # fmt: skip
        return data

    # --- servers -------------------------------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
        fh = open(self.tmp / f"{name}.log", "a")  # noqa: SIM115 (closed in stop)
        self.logs.append(fh)
        return spawn(cmd, cwd=ROOT, env=env, log_file=fh)

    def start_daphne(self) -> None:
        self.daphne_port = free_port()
        app = "bench.console_fanout:layer_fix_application" if self.args.layer_fix else "hotel_agent.asgi:application"
        cmd = [str(self.bin / "daphne"), "-b", "127.0.0.1", "-p", str(self.daphne_port), "-v", "0", app]  # fmt: skip
        self.daphne = self._spawn("daphne", cmd, self.env)
        self._wait_live(self.daphne, self.daphne_port, "daphne")
        log(f"daphne pid {self.daphne.pid} on 127.0.0.1:{self.daphne_port}")

    def start_gunicorn(self) -> None:
        if not self.redis:
            self.webhook_port = self.daphne_port
            return
        self.webhook_port = free_port()
        cmd = [str(self.bin / "gunicorn")]
        if (ROOT / "gunicorn.conf.py").exists():
            cmd += ["-c", str(ROOT / "gunicorn.conf.py")]
        cmd += ["--workers", str(self.args.workers), "--worker-class", "sync", "--threads", "1",
                "--bind", f"127.0.0.1:{self.webhook_port}", "hotel_agent.wsgi:application"]  # fmt: skip
        self.gunicorn = self._spawn("gunicorn", cmd, self.gunicorn_env)
        self._wait_live(self.gunicorn, self.webhook_port, "gunicorn")
        log(f"gunicorn pid {self.gunicorn.pid} ({self.args.workers} sync workers) on 127.0.0.1:{self.webhook_port}")

    def start_worker(self) -> None:
        """The webhook stores each notification and enqueues it; a Celery worker turns it into messages (and their
        ``message.created`` events), so the fan-out path needs one."""
        if not self.redis:
            return
        cmd = [str(self.bin / "celery"), "-A", "hotel_agent", "worker", "-l", "warning",
               "--concurrency", str(self.args.celery_concurrency),
               "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
        self.worker = self._spawn("celery", cmd, self.gunicorn_env)
        deadline = time.monotonic() + self.args.start_timeout
        while time.monotonic() < deadline and "ready" not in self._tail("celery", 200):
            if self.worker.poll() is not None:
                raise BenchError(f"celery exited with {self.worker.returncode}:\n{self._tail('celery')}")
            time.sleep(0.3)
        log(f"celery worker pid {self.worker.pid} (concurrency {self.args.celery_concurrency})")

    def _wait_live(self, proc: subprocess.Popen, port: int, name: str) -> None:
        log_tail = lambda: self._tail(name)  # noqa: E731
        wait_http_200(proc, port, LIVE_PATH, self.args.start_timeout, name=name, log_tail=log_tail, prefix=f"{name}: ")

    def _tail(self, name: str, lines: int = 30) -> str:
        return tail(self.tmp / f"{name}.log", lines)

    def stop_proc(self, attr: str) -> None:
        popen: subprocess.Popen | None = getattr(self, attr)
        if popen is None:
            return
        setattr(self, attr, None)
        stop_popen(popen, 10)

    def stop_children(self) -> None:
        stop_children(self.children, 5, after_kill=2)
        self.children = []

    def stop(self) -> None:
        self.stop_children()
        self.stop_proc("daphne")
        self.stop_proc("gunicorn")
        self.stop_proc("worker")
        for fh in self.logs:
            fh.close()
        self.logs = []

    # --- consoles ------------------------------------------------------------------------------------------------
    def open_consoles(self, data: dict[str, Any], count: int, hold_seconds: float) -> tuple[list, dict[str, Any]]:
        """Start client processes that connect ``count`` consoles; returns (pipes, connect summary)."""
        a = self.args
        procs = max(1, min(a.client_procs, count))
        pipes = []
        for k in range(procs):
            spec = {
                "port": self.daphne_port,
                "cookie": data["cookie"],
                "keys": data["keys"],
                "indices": list(range(k, count, procs)),
                "connect_timeout": a.connect_timeout,
                "connect_concurrency": max(1, a.connect_concurrency // procs),
                "connect_deadline": a.connect_timeout * (count // max(1, a.connect_concurrency) + 2),
                "max_seconds": hold_seconds + 300,
            }
            parent_end, child_end = self.ctx.Pipe()
            proc = self.ctx.Process(target=client_main, args=(child_end, spec), daemon=True)
            proc.start()
            self.children.append(proc)
            pipes.append(parent_end)
        t0 = time.monotonic()
        summary = {"connected": 0, "failed": {}, "connect_ms": []}
        for pipe in pipes:
            if not pipe.poll(spec["connect_deadline"] + 60):
                raise BenchError("a console client process did not report its connections")
            got = pipe.recv()
            summary["connected"] += got["connected"]
            for key, n in got["failed"].items():
                summary["failed"][key] = summary["failed"].get(key, 0) + n
            summary["connect_ms"] += got["connect_ms"]
        summary["connect_wall_s"] = time.monotonic() - t0
        ms = sorted(summary.pop("connect_ms"))
        summary["handshake_ms_p50"], summary["handshake_ms_p95"] = pct(ms, 50), pct(ms, 95)
        log(f"{summary['connected']}/{count} consoles connected in {summary['connect_wall_s']:.1f}s"
            + (f" (failed: {summary['failed']})" if summary["failed"] else ""))  # fmt: skip
        return pipes, summary

    def close_consoles(self, pipes: list) -> list[dict[str, Any]]:
        for pipe in pipes:
            with contextlib.suppress(OSError):
                pipe.send("stop")
        results = []
        for pipe in pipes:
            if pipe.poll(60):
                results.append(pipe.recv())
            else:
                self.notes.append("a console client process did not report after stop")
        self.stop_children()
        return results

    def warm_up(self, data: dict[str, Any]) -> None:
        """One console connect/close (imports, DB and Redis connections) before any RSS baseline."""
        pipes, _ = self.open_consoles({**data, "keys": data["keys"][:2]}, 2, 5)
        time.sleep(0.5)
        self.close_consoles(pipes)
        time.sleep(1.0)

    def settle_rss(self, seconds: float) -> int:
        """RSS of daphne after ``seconds`` of quiet (the last of a few samples)."""
        end = time.monotonic() + seconds
        value = rss_kib(self.daphne.pid)
        while time.monotonic() < end:
            time.sleep(0.25)
            value = rss_kib(self.daphne.pid)
        return value

    def wait_quiet(self) -> dict[str, float]:
        """Wait (at most ``--quiet-wait`` s) until the machine is idle (< 0.3 cores busy over two 0.5 s windows) so
        a timed phase does not start while other jobs share the CPUs."""
        waited, busy, quiet = wait_quiet(self.args.quiet_wait, 0.3)
        if not quiet:
            log(f"machine still busy after {waited:.0f}s ({busy:.2f} cores); measuring anyway")
        self.last_quiet = {"waited_s": waited, "busy_cores": busy, "quiet": quiet}
        return self.last_quiet

    # --- phases --------------------------------------------------------------------------------------------------
    def prewarm_guests(self, senders: list[str]) -> None:
        """One untimed webhook per guest number: the timed phase sees returning guests, not first contacts."""
        for i, sender in enumerate(senders):
            req = webhook_bytes(self.webhook_port, wamid=f"wamid.FANOUTWARM{uuid.uuid4().hex[:10]}{i}",
                                 sender=sender, text="hola")  # fmt: skip
            head, _, body = req.partition(b"\r\n\r\n")
            headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
            status, resp = http_request(self.webhook_port, "POST", WEBHOOK_PATH, body=body, headers=headers)
            if status != 200:
                raise BenchError(f"prewarm webhook answered {status}: {resp[:300]!r}")

    def fanout_phase(self, data: dict[str, Any]) -> dict[str, Any]:
        a = self.args
        senders = [f"3461{i:07d}" for i in range(a.senders)]
        t = time.monotonic()
        self.prewarm_guests(senders)
        log(f"prewarmed {len(senders)} guests in {time.monotonic() - t:.1f}s")
        self.warm_up(data)
        rss_before = self.settle_rss(1.0)
        pipes, conn_summary = self.open_consoles(data, a.consoles, a.duration + 60)
        rss_after = self.settle_rss(2.0)
        connected = conn_summary["connected"]
        # Sender process
        count = int(a.rate * a.duration)
        tag = uuid.uuid4().hex[:8]
        parent_end, child_end = self.ctx.Pipe()
        spec = {"port": self.webhook_port, "rate": a.rate, "count": count, "tag": tag, "senders": senders,
                "timeout": a.request_timeout}  # fmt: skip
        sender = self.ctx.Process(target=sender_main, args=(child_end, spec), daemon=True)
        sender.start()
        self.children.append(sender)
        if not parent_end.poll(120) or parent_end.recv() != "ready":
            raise BenchError("the webhook sender did not get ready")
        self.wait_quiet()
        cpu0 = {"daphne": tree_cpu(self.daphne.pid), "gunicorn": tree_cpu(self.gunicorn and self.gunicorn.pid),
                "machine": machine_busy()}  # fmt: skip
        t_start = time.monotonic() + 0.2
        parent_end.send(t_start)
        log(f"sending {count} webhooks at {a.rate}/s to {connected} consoles")
        if not parent_end.poll(a.duration + a.request_timeout + 30):
            raise BenchError("the webhook sender did not report")
        sent = parent_end.recv()
        time.sleep(a.drain)  # late deliveries
        wall = time.monotonic() - t_start
        cpu1 = {"daphne": tree_cpu(self.daphne.pid), "gunicorn": tree_cpu(self.gunicorn and self.gunicorn.pid),
                "machine": machine_busy()}  # fmt: skip
        self.children.remove(sender)
        sender.join(5)
        clients = self.close_consoles(pipes)
        return fanout_report(
            self.args, self.last_quiet, self.notes, sent, clients, conn_summary, rss_before, rss_after, cpu0, cpu1, wall
        )

    def idle_phase(self, data: dict[str, Any]) -> dict[str, Any]:
        a = self.args
        n = a.idle_consoles
        self.warm_up(data)
        rss_before = self.settle_rss(1.0)
        cpu0 = tree_cpu(self.daphne.pid)
        pipes, conn_summary = self.open_consoles(data, n, a.idle_seconds)
        rss_after = self.settle_rss(2.0)
        log(f"holding {conn_summary['connected']} idle consoles for {a.idle_seconds:.0f}s")
        t_hold = time.monotonic()
        end = t_hold + a.idle_seconds
        while time.monotonic() < end and self.daphne.poll() is None:
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        rss_end = rss_kib(self.daphne.pid) if self.daphne.poll() is None else 0
        cpu1 = tree_cpu(self.daphne.pid)
        hold = time.monotonic() - t_hold
        clients = self.close_consoles(pipes)
        connected = sum(c["connected"] for c in clients)
        still = sum(c["connected_at_stop"] for c in clients)
        heartbeats = sorted(h for c in clients for h in c["heartbeats"])
        expect_hb = a.idle_seconds > HEARTBEAT_SECONDS + 2
        with_hb = sum(1 for h in heartbeats if h >= 1)
        report = {
            "consoles": n,
            "connected": connected,
            "connect": conn_summary,
            "held_s": hold,
            "still_connected": still,
            "dropped": {k: v for c in clients for k, v in c["dropped"].items()},
            "heartbeats_expected": expect_hb,
            "consoles_with_heartbeat": with_hb,
            "rss_kib": {"before": rss_before, "after_connect": rss_after, "after_hold": rss_end},
            "kib_per_connection": (rss_after - rss_before) / connected if connected else math.nan,
            "daphne_cpu_cores_while_idle": (cpu1 - cpu0) / max(hold, 1e-9),
        }
        report["target_idle"] = {
            "target": TARGET_IDLE,
            "pass": bool(n >= TARGET_IDLE and connected == n and still == n and (with_hb == n if expect_hb else True)),
            "note": "" if expect_hb else f"hold < {HEARTBEAT_SECONDS + 2:.0f}s: heartbeats not checked",
        }
        if n < TARGET_IDLE:
            report["target_idle"]["note"] = f"only {n} consoles tried (target {TARGET_IDLE})"
        return report
