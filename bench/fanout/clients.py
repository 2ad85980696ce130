"""Child processes of the console fan-out benchmark: console websocket clients and the fixed-rate webhook sender."""

from __future__ import annotations

import asyncio
import contextlib
import math
import resource
import signal
import time
from datetime import datetime
from typing import Any

from bench.common.cpu import rusage_cpu
from bench.common.procs import raise_nofile_limit
from bench.common.web import content_length, http_status, webhook_request
from bench.fanout.config import APP_SECRET, AT_RE, MARKER_RE, PHONE_NUMBER_ID, WEBHOOK_PATH, WS_PATH


async def _console(idx: int, spec: dict[str, Any], st: dict[str, Any], go: asyncio.Event, stop: asyncio.Event):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    loop = asyncio.get_running_loop()
    url = f"ws://127.0.0.1:{spec['port']}{WS_PATH}"
    headers = {"Cookie": f"{spec['cookie']}={spec['keys'][idx]}"}
    t0 = loop.time()
    try:
        async with st["slots"]:
            ws = await connect(
                url,
                origin=f"http://127.0.0.1:{spec['port']}",
                additional_headers=headers,
                proxy=None,
                open_timeout=spec["connect_timeout"],
                ping_interval=None,  # a browser sends no protocol pings; daphne pings us and we answer
                close_timeout=2,
                max_queue=None,
            )
            hello = await asyncio.wait_for(ws.recv(), spec["connect_timeout"])
    except Exception as exc:
        key = type(exc).__name__
        st["failed"][key] = st["failed"].get(key, 0) + 1
        st["pending"] -= 1
        return
    if '"hello"' not in hello:
        st["failed"]["no_hello"] = st["failed"].get("no_hello", 0) + 1
        st["pending"] -= 1
        await ws.close()
        return
    st["connect_ms"].append((loop.time() - t0) * 1000)
    st["connected"] += 1
    st["pending"] -= 1
    recv = st["recv"]
    heartbeats = 0
    try:
        async for raw in ws:
            now = time.monotonic()
            wall = time.time()
            if '"message.created"' in raw:
                m = MARKER_RE.search(raw)
                if m:
                    at = AT_RE.search(raw)
                    stored = (wall - datetime.fromisoformat(at.group(1)).timestamp()) * 1000 if at else math.nan
                    recv.setdefault(m.group(1), []).append((now, stored))
                else:
                    st["other_events"] += 1
            elif '"heartbeat"' in raw:
                heartbeats += 1
            elif '"event"' in raw:
                st["other_events"] += 1
            if stop.is_set():
                break
    except ConnectionClosed:
        pass
    finally:
        st["heartbeats"].append(heartbeats)
        if not stop.is_set():  # closed by the server (or the network) while we were still listening
            code = ws.close_code
            st["dropped"][str(code)] = st["dropped"].get(str(code), 0) + 1
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 3)


async def _client_main_async(conn, spec: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    st: dict[str, Any] = {
        "connected": 0,
        "pending": len(spec["indices"]),
        "failed": {},
        "dropped": {},
        "connect_ms": [],
        "recv": {},
        "heartbeats": [],
        "other_events": 0,
        "slots": asyncio.Semaphore(spec["connect_concurrency"]),
    }
    go, stop = asyncio.Event(), asyncio.Event()
    tasks = [loop.create_task(_console(i, spec, st, go, stop)) for i in spec["indices"]]
    deadline = loop.time() + spec["connect_deadline"]
    while st["pending"] > 0 and loop.time() < deadline:
        await asyncio.sleep(0.05)
    conn.send({"connected": st["connected"], "failed": st["failed"], "connect_ms": st["connect_ms"]})
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    # Wait for "stop" from the parent (bounded: the parent always sends it, this is only a safety net).
    has_msg = await loop.run_in_executor(None, conn.poll, spec["max_seconds"])
    if has_msg:
        conn.recv()
    connected_at_stop = st["connected"] - sum(st["dropped"].values())
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=15)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "connected": st["connected"],
        "connected_at_stop": connected_at_stop,
        "failed": st["failed"],
        "dropped": st["dropped"],
        "connect_ms": st["connect_ms"],
        "recv": st["recv"],
        "heartbeats": st["heartbeats"],
        "other_events": st["other_events"],
        "cpu_s": rusage_cpu(ru0, ru1),
    }


def client_main(conn, spec: dict[str, Any]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl+C and terminates us
    raise_nofile_limit()
    out = asyncio.run(_client_main_async(conn, spec))
    conn.send(out)
    conn.close()


# ===================================================================================================================
# Webhook sender: open loop at a fixed rate, request bytes built before timing
# ===================================================================================================================
def webhook_bytes(port: int, *, wamid: str, sender: str, text: str) -> bytes:
    return webhook_request(
        "127.0.0.1",
        port,
        path=WEBHOOK_PATH,
        phone_number_id=PHONE_NUMBER_ID,
        app_secret=APP_SECRET,
        wamid=wamid,
        sender=sender,
        text=text,
        accept=False,
    )


async def _post(host: str, port: int, req: bytes, timeout: float) -> bytes:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(req)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        length = content_length(head) or 0
        body = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
        return head + body
    finally:
        writer.close()


async def _send_schedule(spec: dict[str, Any], requests: list[tuple[str, bytes]], t0: float) -> list[dict]:
    loop = asyncio.get_running_loop()
    results: list[dict] = []
    tasks = []

    async def one(marker: str, req: bytes) -> None:
        sent = time.monotonic()
        row = {"marker": marker, "sent": sent, "done": None, "status": 0, "error": ""}
        results.append(row)
        try:
            raw = await _post("127.0.0.1", spec["port"], req, spec["timeout"])
            row["done"] = time.monotonic()
            row["status"] = http_status(raw)
        except Exception as exc:
            row["error"] = type(exc).__name__

    for i, (marker, req) in enumerate(requests):
        delay = t0 + i / spec["rate"] - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(loop.create_task(one(marker, req)))
    if tasks:
        await asyncio.wait(tasks, timeout=spec["timeout"] + 5)
    return results


def sender_main(conn, spec: dict[str, Any]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = []
    for i in range(spec["count"]):
        marker = f"{spec['tag']}-{i:06d}"
        sender = spec["senders"][i % len(spec["senders"])]
        text = f"Hola, ¿a qué hora es el desayuno? FANOUT-{marker}"
        requests.append((marker, webhook_bytes(spec["port"], wamid=f"wamid.FANOUT{marker}", sender=sender, text=text)))
    conn.send("ready")
    if not conn.poll(120):
        return
    t0 = conn.recv()
    if t0 is None:
        return
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    results = asyncio.run(_send_schedule(spec, requests, t0))
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    conn.send({"results": results, "cpu_s": rusage_cpu(ru0, ru1)})
    conn.close()
