"""The fan-out phase's figures and the text report of the console fan-out benchmark."""

from __future__ import annotations

import math
from typing import Any

from bench.common.stats import pct
from bench.fanout.config import TARGET_P95_MS


def fanout_report(
    args, last_quiet, notes, sent, clients, conn_summary, rss_before, rss_after, cpu0, cpu1, wall
) -> dict:
    """The fan-out phase's report from the sender's and the consoles' results (``notes`` gets what disturbed it)."""
    a = args
    rows = sent["results"]
    ok = {r["marker"]: r for r in rows if r["status"] == 200}
    errors: dict[str, int] = {}
    for r in rows:
        if r["status"] != 200:
            key = r["error"] or f"http_{r['status']}"
            errors[key] = errors.get(key, 0) + 1
    connected = sum(c["connected"] for c in clients)
    from_sent, from_resp, from_stored = [], [], []
    pairs = unknown = 0
    for c in clients:
        for marker, times in c["recv"].items():
            row = ok.get(marker)
            if row is None:
                unknown += len(times)
                continue
            for t, stored_ms in times:
                pairs += 1
                from_sent.append((t - row["sent"]) * 1000)
                from_resp.append((t - row["done"]) * 1000)
                if not math.isnan(stored_ms):
                    from_stored.append(stored_ms)
    from_sent.sort()
    from_resp.sort()
    from_stored.sort()
    expected = len(ok) * connected
    svc = sorted((r["done"] - r["sent"]) * 1000 for r in ok.values())
    cpu = {k: cpu1[k] - cpu0[k] for k in cpu0}
    deliveries = max(1, pairs)
    report = {
        "consoles": a.consoles,
        "connected": connected,
        "connect": conn_summary,
        "dropped_during_phase": {k: v for c in clients for k, v in c["dropped"].items()},
        "rate": a.rate,
        "duration_s": a.duration,
        "webhooks_sent": len(rows),
        "webhooks_200": len(ok),
        "webhook_errors": errors,
        "webhook_ms": {"p50": pct(svc, 50), "p95": pct(svc, 95), "p99": pct(svc, 99), "max": pct(svc, 100)},
        "pairs_expected": expected,
        "pairs_delivered": pairs,
        "delivered_fraction": pairs / expected if expected else math.nan,
        "unknown_markers": unknown,
        "latency_from_request_sent_ms": {
            "p50": pct(from_sent, 50),
            "p95": pct(from_sent, 95),
            "p99": pct(from_sent, 99),
            "max": pct(from_sent, 100),
        },
        "latency_from_response_received_ms": {
            "p50": pct(from_resp, 50),
            "p95": pct(from_resp, 95),
            "p99": pct(from_resp, 99),
            "max": pct(from_resp, 100),
            "negative_fraction": sum(1 for v in from_resp if v < 0) / max(1, pairs),
        },
        "latency_from_event_stored_ms": {
            "p50": pct(from_stored, 50),
            "p95": pct(from_stored, 95),
            "p99": pct(from_stored, 99),
            "max": pct(from_stored, 100),
        },
        "quiet_wait": last_quiet,
        "cpu_cores": {
            "daphne": cpu["daphne"] / wall,
            "gunicorn": cpu["gunicorn"] / wall,
            "clients": sum(c["cpu_s"] for c in clients) / wall,
            "sender": sent["cpu_s"] / wall,
            "machine": cpu["machine"] / wall,
        },
        "wall_s": wall,
        "daphne_cpu_us_per_delivery": cpu["daphne"] / deliveries * 1e6,
        "rss_kib": {"before": rss_before, "after_connect": rss_after},
        "kib_per_connection": (rss_after - rss_before) / connected if connected else math.nan,
    }
    c = report["cpu_cores"]
    c["rest"] = c["machine"] - c["daphne"] - c["gunicorn"] - c["clients"] - c["sender"]
    if c["rest"] > 0.6:
        notes.append(
            f"fan-out phase disturbed: {c['rest']:.2f} cores used outside daphne/gunicorn/clients (PostgreSQL, "
            "Redis and other jobs on this shared machine); latencies are pessimistic"
        )
    report["target_p95"] = {
        "target_ms": TARGET_P95_MS,
        "measured_ms": report["latency_from_request_sent_ms"]["p95"],
        "pass": bool(
            pairs
            and report["latency_from_request_sent_ms"]["p95"] <= TARGET_P95_MS
            and report["delivered_fraction"] >= 0.999
            and connected == a.consoles
        ),
    }
    return report


def _f(v: Any, digits: int = 1) -> str:
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.{digits}f}"
    return str(v)


def render(report: dict[str, Any]) -> str:
    out = [f"console fan-out benchmark — {report['date']}", ""]
    for k, v in report["backend"].items():
        out.append(f"  {k:15} {v}")
    fan = report.get("fanout")
    if fan:
        s, r = fan["latency_from_request_sent_ms"], fan["latency_from_response_received_ms"]
        e = fan["latency_from_event_stored_ms"]
        out += [
            "",
            f"fan-out: {fan['connected']}/{fan['consoles']} consoles, {fan['webhooks_200']}/{fan['webhooks_sent']} "
            f"webhooks 200 at {fan['rate']}/s for {fan['duration_s']} s"
            + (f", errors {fan['webhook_errors']}" if fan["webhook_errors"] else ""),
            f"  handshake p50/p95 {_f(fan['connect']['handshake_ms_p50'])}/{_f(fan['connect']['handshake_ms_p95'])} ms;"
            f" all connected in {_f(fan['connect']['connect_wall_s'])} s",
            f"  webhook response ms     p50 {_f(fan['webhook_ms']['p50'])}  p95 {_f(fan['webhook_ms']['p95'])}  "
            f"p99 {_f(fan['webhook_ms']['p99'])}  max {_f(fan['webhook_ms']['max'])}",
            f"  delivered {fan['pairs_delivered']}/{fan['pairs_expected']} console-event pairs "
            f"({_f(fan['delivered_fraction'] * 100, 3)} %)",
            "  latency per console-event pair (ms):",
            f"    from webhook request sent      p50 {_f(s['p50'])}  p95 {_f(s['p95'])}  p99 {_f(s['p99'])}  "
            f"max {_f(s['max'])}",
            f"    from event stored (its 'at')   p50 {_f(e['p50'])}  p95 {_f(e['p95'])}  p99 {_f(e['p99'])}  "
            f"max {_f(e['max'])}  (fan-out only: commit + channel layer + daphne + client)",
            f"    from webhook 200 received      p50 {_f(r['p50'])}  p95 {_f(r['p95'])}  p99 {_f(r['p99'])}  "
            f"max {_f(r['max'])}  ({_f(r['negative_fraction'] * 100)} % negative: event before the 200)",
            "  CPU cores: "
            + ", ".join(f"{k} {_f(v, 2)}" for k, v in fan["cpu_cores"].items())
            + f"; daphne {_f(fan['daphne_cpu_us_per_delivery'], 0)} µs CPU per delivered event",
            f"  daphne RSS {fan['rss_kib']['before']} → {fan['rss_kib']['after_connect']} KiB with "
            f"{fan['connected']} consoles: {_f(fan['kib_per_connection'])} KiB per connection",
        ]
        q = fan.get("quiet_wait") or {}
        if q:
            out.append(f"  before the timed phase: waited {_f(q['waited_s'])} s for an idle machine "
                       f"({'idle' if q['quiet'] else 'still busy'}: {_f(q['busy_cores'], 2)} cores)")  # fmt: skip
        if fan["dropped_during_phase"]:
            out.append(f"  consoles closed by the server during the phase: {fan['dropped_during_phase']}")
    idle = report.get("idle")
    if idle:
        out += [
            "",
            f"idle: {idle['connected']}/{idle['consoles']} consoles connected in "
            f"{_f(idle['connect']['connect_wall_s'])} s (handshake p95 {_f(idle['connect']['handshake_ms_p95'])} ms)"
            + (f", failed {idle['connect']['failed']}" if idle["connect"]["failed"] else ""),
            f"  held {_f(idle['held_s'])} s: {idle['still_connected']} still connected"
            + (f", dropped {idle['dropped']}" if idle["dropped"] else "")
            + (f"; {idle['consoles_with_heartbeat']} got a server heartbeat" if idle["heartbeats_expected"] else ""),
            f"  daphne RSS {idle['rss_kib']['before']} → {idle['rss_kib']['after_connect']} KiB "
            f"(after hold {idle['rss_kib']['after_hold']}): {_f(idle['kib_per_connection'])} KiB per connection; "
            f"daphne CPU while idle {_f(idle['daphne_cpu_cores_while_idle'], 3)} cores",
        ]
    out += ["", "targets:"]
    if fan:
        t = fan["target_p95"]
        out.append(f"  p95 webhook → console ≤ {t['target_ms']:.0f} ms (from request sent): "
                   f"{_f(t['measured_ms'])} ms  {'PASS' if t['pass'] else 'MISS'}")  # fmt: skip
    if idle:
        t = idle["target_idle"]
        out.append(f"  {t['target']} idle consoles per ASGI process: {idle['still_connected']}/{idle['consoles']} "
                   f"held  {'PASS' if t['pass'] else 'MISS'}" + (f" ({t['note']})" if t["note"] else ""))  # fmt: skip
    for note in report["notes"]:
        out.append(f"note: {note}")
    return "\n".join(out)
