"""Summary of a load phase and the text report of the webhook ingestion benchmark."""

from __future__ import annotations

import math
from array import array
from typing import Any

from bench.common.stats import ms as _ms
from bench.common.stats import pct as _pct
from bench.ingest.config import TARGET_P99_MS, TARGET_RATIO


def summarize(name, target, mode, results, t0, duration, args, cpu, wall) -> dict[str, Any]:
    lat, svc, lag = array("d"), array("d"), array("d")
    errors: dict[str, int] = {}
    agg = dict.fromkeys(
        ("ok", "new_messages", "flagged", "duplicates", "sent", "built_late", "max_inflight", "capped"), 0
    )
    last_done, gen_cpu = t0, 0.0
    for r in results:
        for field, arr in (("lat", lat), ("svc", svc), ("lag", lag)):
            arr.frombytes(r[field])
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
        for k in agg:
            agg[k] += r[k]
        if r["last_done"]:
            last_done = max(last_done, r["last_done"])
        gen_cpu += r["cpu_s"]
    lat_s, svc_s, lag_s = sorted(lat), sorted(svc), sorted(lag)
    n_err = sum(errors.values())
    elapsed = max(last_done - t0, 1e-9)
    # Fixed rate: completions over the time from the first scheduled send to the last response (the drain of a
    # backlog counts). Flat out: completions over the same window (the last in-flight requests end just after it).
    rps = agg["ok"] / elapsed
    out: dict[str, Any] = {
        "phase": name,
        "target": target,
        "mode": mode,
        "duration_s": duration,
        "offered_rps": args.rate if mode == "rate" else None,
        "connections": args.concurrency if mode == "flat" else None,
        "sent": agg["sent"],
        "ok": agg["ok"],
        "errors": n_err,
        "error_kinds": errors,
        "achieved_rps": round(rps, 1),
        "elapsed_s": round(elapsed, 3),
        "p50_ms": _ms(_pct(lat_s, 50)),
        "p90_ms": _ms(_pct(lat_s, 90)),
        "p99_ms": _ms(_pct(lat_s, 99)),
        "max_ms": _ms(lat_s[-1]) if lat_s else math.nan,
        "mean_ms": _ms(sum(lat_s) / len(lat_s)) if lat_s else math.nan,
        "generator_cpu_s": round(gen_cpu, 2),
        "server_cpu_s": {k: round(v, 2) for k, v in cpu.items() if k not in ("machine", "kernel")},
        "server_cpu_ms_per_req": {
            k: round(v * 1000 / max(agg["ok"], 1), 3) for k, v in cpu.items() if k not in ("machine", "kernel")
        },
        # CPU the machine spent on anything but this bench (other jobs sharing the 2 cores), in cores.
        "other_load_cores": round(
            max(0.0, cpu["machine"] - gen_cpu - sum(v for k, v in cpu.items() if k != "machine")) / wall, 2
        ),
        "machine_busy_cores": round(cpu["machine"] / wall, 2),
        "kernel_threads_cores": round(cpu["kernel"] / wall, 2),
    }
    if mode == "rate":
        out["service_p50_ms"] = _ms(_pct(svc_s, 50))
        out["service_p99_ms"] = _ms(_pct(svc_s, 99))
        out["send_lag_p99_ms"] = _ms(_pct(lag_s, 99))
        out["send_lag_max_ms"] = _ms(lag_s[-1]) if lag_s else math.nan
        out["max_inflight"] = agg["max_inflight"]
        out["sends_waiting_for_inflight_cap"] = agg["capped"]
    if target == "webhook":
        out["responses_new_message"] = agg["new_messages"]
        out["responses_flagged"] = agg["flagged"]
        out["responses_duplicate"] = agg["duplicates"]
    if agg["built_late"]:
        out["bodies_built_during_timing"] = agg["built_late"]
    return out


def _fmt(v: Any, width: int = 8) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-".rjust(width)
    if isinstance(v, float):
        return f"{v:{width}.1f}" if abs(v) >= 100 else f"{v:{width}.2f}"
    return str(v).rjust(width)


def render_table(report: dict[str, Any]) -> str:
    p = report["phases"]
    lines = []
    cfg = report["config"]
    lines.append("")
    lines.append(f"Webhook ingest benchmark — {report['date']} — {report['machine']}")
    lines.append(f"  server:   {report['server']}; DEBUG=false, LOG_LEVEL=WARNING")
    lines.append(f"  database: {report['backend']['database']}")
    lines.append(f"  cache:    {report['backend']['cache']}; broker: {report['backend']['broker']}")
    lines.append(f"  celery worker consuming: {'yes' if cfg['with_worker'] else 'no'}")
    lines.append(
        f"  load:     {cfg['procs']} generator processes, phases of {cfg['duration']:g} s, fixed rate "
        f"{cfg['rate']:g} req/s (open loop, latency from the scheduled send), flat out {cfg['concurrency']} "
        "connections; one TCP connection per request (gunicorn sync workers close every connection)"
    )
    lines.append("")
    rate_title = f"fixed rate {cfg['rate']:g} req/s"
    lines.append(f"{'':14}| {rate_title:^57} | {'flat out, C=' + str(cfg['concurrency']):^26}")
    lines.append(
        f"{'endpoint':14}| {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>6} "
        f"{'lag99':>6} | {'req/s':>8} {'p50 ms':>8} {'p99 ms':>7}"
    )
    lines.append("-" * 14 + "+" + "-" * 59 + "+" + "-" * 27)
    for target, label in (("webhook", "POST webhook"), ("live", "GET live")):
        r, f = p.get(f"{target}_rate"), p.get(f"{target}_flat")
        if not r or not f:
            continue
        lines.append(
            f"{label:14}| {_fmt(r['achieved_rps'])} {_fmt(r['p50_ms'])} {_fmt(r['p90_ms'])} {_fmt(r['p99_ms'])} "
            f"{_fmt(r['max_ms'])} {_fmt(r['errors'], 6)} {_fmt(r['send_lag_p99_ms'], 6)} | "
            f"{_fmt(f['achieved_rps'])} {_fmt(f['p50_ms'])} {_fmt(f['p99_ms'], 7)}"
        )
    lines.append("")
    lines.append("errors in flat-out phases: " + ", ".join(f"{k} {p[k]['errors']}" for k in p if k.endswith("_flat")))
    for key in p:
        if p[key]["error_kinds"]:
            lines.append(f"  {key} error kinds: {p[key]['error_kinds']}")
    lines.append("")
    lines.append(
        "CPU per request (ms; gunicorn = master + workers, postgres = bench database backends + background "
        "processes, generator = load generator); then cores used meanwhile by kernel threads and by unrelated "
        "processes:"
    )
    groups = ["gunicorn", "postgres", "redis", "celery"]
    lines.append(
        f"  {'':14}" + "".join(f"{g:>10}" for g in groups) + f"{'generator':>11} | cores: {'kthreads':>8} {'other':>6}"
    )
    for key in ("webhook_flat", "live_flat", "webhook_rate", "live_rate"):
        if key in p:
            per = p[key]["server_cpu_ms_per_req"]
            gen = p[key]["generator_cpu_s"] * 1000 / max(p[key]["ok"], 1)
            lines.append(
                f"  {key:14}"
                + "".join(f"{per[g]:10.2f}" for g in groups)
                + f"{gen:11.2f} |        {p[key]['kernel_threads_cores']:8.2f} {p[key]['other_load_cores']:6.2f}"
            )
    if report.get("pairs"):
        lines.append("")
        lines.append(f"interleaved flat-out pairs ({cfg['pair_duration']:g} s slices, C={cfg['concurrency']}):")
        for p in report["pairs"]:
            order = " first, ".join(p["order"]) + " second"
            lines.append(
                f"  pair {p['index'] + 1} ({order}): webhook {p['webhook_rps']:8.1f} req/s, "
                f"trivial {p['live_rps']:8.1f} req/s, ratio {p['ratio']:.3f}, errors {p['errors']}, "
                f"other {p['other_load_cores']:.2f} cores"
            )
    t = report["targets"]
    lines.append("")
    lines.append("targets:")
    if t.get("ratio_interleaved"):
        lines.append(
            f"  flat-out req/s ratio webhook/trivial, median of {len(t['ratio_interleaved'])} interleaved pairs = "
            f"{t['ratio_interleaved_median']:.3f}  (target ≥ {TARGET_RATIO})  {t['ratio_result']}"
        )
        lines.append(
            f"  (pairs: {', '.join(f'{r:.3f}' for r in t['ratio_interleaved'])}; "
            f"the single {cfg['duration']:g} s phases above: {t['ratio']:.3f})"
        )
    else:
        lines.append(
            f"  flat-out req/s ratio webhook/trivial = {t['ratio']:.3f}  (target ≥ {TARGET_RATIO})  {t['ratio_result']}"
        )
    lines.append(
        f"  (cross-check from server CPU per request, web + database + cache: trivial {t['server_cpu_ms_per_live']} "
        f"ms / webhook {t['server_cpu_ms_per_webhook']} ms = {t['cpu_ratio']:.3f})"
    )
    lines.append(
        f"  webhook p99 at {cfg['rate']:g} req/s = {t['p99_ms']:.1f} ms, achieved {t['achieved_rps']:.1f} req/s "
        f"(target p99 ≤ {TARGET_P99_MS:.0f} ms at the full rate)  {t['p99_result']}"
    )
    m = report["messages"]
    lines.append("")
    lines.append(
        f"Notifications stored (bench account): {m['before']} before, {m['after']} after → {m['stored']} stored; "
        f"webhooks answered 200 (warm-up included): {m['webhooks_200']}  "
        f"{'OK (equal)' if m['stored'] == m['webhooks_200'] else 'MISMATCH'}; flagged as flood: {m['flagged_new']}"
    )
    if m["stored"] != m["webhooks_200"] and m["webhook_timeouts"]:
        lines.append(
            f"  ({m['webhook_timeouts']} webhooks timed out on the client after {cfg['request_timeout']:g} s; gunicorn "
            "still processed them from its backlog, so rows were stored without a 200 being seen)"
        )
    for note in report["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines)
