"""Load generator of the webhook ingestion benchmark: runs in child processes (stdlib + tests.whatsapp_payloads).

Every request is built before timing; a fixed-rate open-loop phase (asyncio) and a flat-out phase (threads or
asyncio), each request on a fresh TCP connection."""

from __future__ import annotations

import asyncio
import math
import resource
import signal
import socket
import threading
import time
from array import array
from typing import Any

from bench.common.cpu import rusage_cpu
from bench.common.web import content_length, webhook_request
from bench.ingest.config import APP_SECRET, GUEST_TEXTS, LIVE_PATH, PHONE_NUMBER_ID


def _live_request(host: str, port: int, path: str = LIVE_PATH) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: */*\r\nConnection: close\r\n\r\n".encode()


class _Exchange(asyncio.Protocol):
    """One request on a fresh connection; resolves ``done`` with the raw response once it is complete."""

    __slots__ = ("buf", "done", "need", "req", "transport")

    def __init__(self, req: bytes, done: asyncio.Future) -> None:
        self.req = req
        self.done = done
        self.buf = bytearray()
        self.need = -1  # total bytes expected once the headers are in
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.req)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.need < 0:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            length = content_length(bytes(self.buf[:end]))
            if length is None:
                return  # no length: wait for EOF
            self.need = end + 4 + length
        if len(self.buf) >= self.need and not self.done.done():
            self.done.set_result(bytes(self.buf))
            # Close now: gunicorn's sync worker lingers (close_graceful) until the client closes, so a lazy
            # close on our side would hold the worker and be measured as server time.
            self.transport.close()  # type: ignore[union-attr]

    def eof_received(self) -> bool:
        if not self.done.done():
            self.done.set_result(bytes(self.buf))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            if exc is None:
                self.done.set_result(bytes(self.buf))
            else:
                self.done.set_exception(exc)


class _Stats:
    def __init__(self) -> None:
        self.lat = array("d")  # seconds; fixed rate: from scheduled time, flat out: from send
        self.svc = array("d")  # seconds from actual send (fixed rate only)
        self.lag = array("d")  # seconds the generator sent later than scheduled (fixed rate only)
        self.ok = 0
        self.errors: dict[str, int] = {}
        self.new_messages = 0
        self.flagged = 0
        self.duplicates = 0
        self.first_done = math.inf
        self.last_done = 0.0
        self.max_inflight = 0
        self.built_late = 0
        self.capped = 0  # fixed rate: sends that waited for a free in-flight slot (the server fell behind)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.tobytes() if isinstance(v, array) else v) for k, v in self.__dict__.items()}


async def _exchange(loop, host: str, port: int, req: bytes, timeout: float) -> tuple[bytes | None, str]:
    done = loop.create_future()
    try:
        transport, _ = await loop.create_connection(lambda: _Exchange(req, done), host, port)
    except OSError as exc:
        return None, f"connect:{exc.errno}"
    timer = loop.call_later(timeout, lambda: done.done() or done.set_exception(TimeoutError()))
    try:
        return await done, ""
    except TimeoutError:
        return None, "timeout"
    except OSError as exc:
        return None, f"io:{exc.errno}"
    finally:
        timer.cancel()
        transport.close()


def _account(stats: _Stats, resp: bytes | None, err: str, webhook: bool) -> bool:
    if resp is None:
        stats.error(err)
        return False
    status = resp[9:12]
    if status != b"200":
        stats.error(f"http_{status.decode(errors='replace') or 'empty'}")
        return False
    stats.ok += 1
    if webhook:
        if b'"messages":1' in resp:
            stats.new_messages += 1
        elif b'"flagged":1' in resp:
            stats.flagged += 1
        elif b'"duplicates":1' in resp:
            stats.duplicates += 1
    return True


class _Bodies:
    """Request bytes for one generator process, built before timing starts (more only if the pool runs out)."""

    def __init__(self, spec: dict[str, Any], count: int) -> None:
        self.spec = spec
        self.webhook = spec["target"] == "webhook"
        self.n = 0
        if self.webhook:
            self.pool = [self._build(i) for i in range(count)]
        else:
            self.pool = [_live_request(spec["host"], spec["port"], spec.get("trivial_path", LIVE_PATH))]

    def _build(self, i: int) -> bytes:
        s = self.spec
        global_index = s["index"] + i * s["procs"]
        sender = s["senders"][(s["sender_offset"] + global_index) % len(s["senders"])]
        return webhook_request(
            s["host"],
            s["port"],
            path=s["webhook_path"],
            phone_number_id=PHONE_NUMBER_ID,
            app_secret=APP_SECRET,
            wamid=f"wamid.BENCH{s['tag']}{s['index']:02d}{i:09d}",
            sender=sender,
            text=GUEST_TEXTS[global_index % len(GUEST_TEXTS)],
        )

    def next(self, stats: _Stats) -> bytes:
        if not self.webhook:
            return self.pool[0]
        i = self.n
        self.n += 1
        if i < len(self.pool):
            req = self.pool[i]
            self.pool[i] = b""  # free as we go
            return req
        stats.built_late += 1
        return self._build(i)


async def _run_fixed_rate(spec: dict[str, Any], bodies: _Bodies, t0: float) -> _Stats:
    loop = asyncio.get_running_loop()
    stats = _Stats()
    period = spec["procs"] / spec["rate"]
    first = t0 + spec["index"] / spec["rate"]
    count = int(spec["duration"] * spec["rate"] / spec["procs"])
    inflight = 0
    slots = asyncio.Semaphore(spec["max_inflight"])
    tasks: set[asyncio.Task] = set()

    async def one(req: bytes, scheduled: float, sent: float) -> None:
        nonlocal inflight
        try:
            resp, err = await _exchange(loop, spec["host"], spec["port"], req, spec["timeout"])
            now = loop.time()
            if _account(stats, resp, err, bodies.webhook):
                stats.lat.append(now - scheduled)
                stats.svc.append(now - sent)
            stats.first_done = min(stats.first_done, now)
            stats.last_done = max(stats.last_done, now)
        finally:
            inflight -= 1
            slots.release()

    # A server far behind the rate fills every in-flight slot and the sends wait for timeouts to free them: stop
    # sending (and count the rest as errors) once the schedule is one request timeout late, so the phase is bounded.
    give_up = t0 + spec["duration"] + spec["timeout"]
    for i in range(count):
        scheduled = first + i * period
        if loop.time() > give_up:
            stats.errors["not_sent"] = count - i
            break
        req = bodies.next(stats)
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if slots.locked():
            stats.capped += 1
        await slots.acquire()
        sent = loop.time()
        stats.lag.append(max(0.0, sent - scheduled))
        inflight += 1
        stats.max_inflight = max(stats.max_inflight, inflight)
        task = loop.create_task(one(req, scheduled, sent))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=spec["timeout"] + 5)
    return stats


def _blocking_exchange(host: str, port: int, req: bytes, timeout: float) -> tuple[bytes | None, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
        except OSError as exc:
            return None, "timeout" if isinstance(exc, TimeoutError) else f"connect:{exc.errno}"
        sock.sendall(req)
        buf = b""
        need = -1
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return buf, ""
            buf += chunk
            if need < 0:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    continue
                length = content_length(buf[:end])
                if length is None:
                    continue  # no length: read to EOF
                need = end + 4 + length
            if len(buf) >= need:
                return buf, ""
    except TimeoutError:
        return None, "timeout"
    except OSError as exc:
        return None, f"io:{exc.errno}"
    finally:
        sock.close()


def _run_flat_threads(spec: dict[str, Any], bodies: _Bodies, t0: float) -> _Stats:
    """Flat out with one OS thread per connection and blocking sockets: far less client CPU per request than
    asyncio (the machine is shared with the server, so every client cycle is taken from it)."""
    stats = _Stats()
    lock = threading.Lock()
    t_end = t0 + spec["duration"]
    limit = spec["limit"]
    host, port, timeout = spec["host"], spec["port"], spec["timeout"]

    def connection_loop() -> None:
        delay = t0 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        while True:
            start = time.monotonic()
            with lock:
                if start >= t_end or (limit and bodies.n >= limit):
                    return
                req = bodies.next(stats)
            resp, err = _blocking_exchange(host, port, req, timeout)
            now = time.monotonic()
            with lock:
                if _account(stats, resp, err, bodies.webhook):
                    stats.lat.append(now - start)
                stats.first_done = min(stats.first_done, now)
                stats.last_done = max(stats.last_done, now)

    threads = [threading.Thread(target=connection_loop, daemon=True) for _ in range(spec["connections"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(spec["duration"] + timeout + 30)
    stats.max_inflight = spec["connections"]
    return stats


async def _run_flat_out(spec: dict[str, Any], bodies: _Bodies, t0: float) -> _Stats:
    loop = asyncio.get_running_loop()
    stats = _Stats()
    t_end = t0 + spec["duration"]
    limit = spec["limit"]  # requests for this process (0: as many as fit in the duration)

    async def connection_loop() -> None:
        while True:
            start = loop.time()
            if start >= t_end or (limit and bodies.n >= limit):
                return
            req = bodies.next(stats)
            resp, err = await _exchange(loop, spec["host"], spec["port"], req, spec["timeout"])
            now = loop.time()
            if _account(stats, resp, err, bodies.webhook):
                stats.lat.append(now - start)
            stats.first_done = min(stats.first_done, now)
            stats.last_done = max(stats.last_done, now)

    delay = t0 - loop.time()
    if delay > 0:
        await asyncio.sleep(delay)
    stats.max_inflight = spec["connections"]
    await asyncio.gather(*(connection_loop() for _ in range(spec["connections"])))
    return stats


def generator_main(conn, spec: dict[str, Any]) -> None:
    """Child process: build requests, report ready, wait for the start time, run the phase, send stats back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl+C and terminates us
    if spec["mode"] == "rate":
        count = int(spec["duration"] * spec["rate"] / spec["procs"]) + 1
    elif spec["limit"]:
        count = spec["limit"]
    else:
        count = int(spec["duration"] * spec["flat_budget_rps"] / spec["procs"]) + 1
    bodies = _Bodies(spec, count)
    conn.send("ready")
    if not conn.poll(60):
        return
    t0 = conn.recv()
    if t0 is None:
        return
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    if spec["mode"] == "rate":
        stats = asyncio.run(_run_fixed_rate(spec, bodies, t0))
    elif spec["client"] == "threads":
        stats = _run_flat_threads(spec, bodies, t0)
    else:
        stats = asyncio.run(_run_flat_out(spec, bodies, t0))
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    out = stats.as_dict()
    out["cpu_s"] = rusage_cpu(ru0, ru1)
    out["sent"] = bodies.n
    conn.send(out)
    conn.close()
