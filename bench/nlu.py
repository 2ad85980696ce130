"""NLU benchmark (not a test): accuracy, macro-F1 and latency of the local engine on the held-out hotel messages
(es/en/pt), and out-of-scope false acceptance on CLINC150's validation split.

    .venv/bin/python bench/nlu.py [--json] [--today 2026-03-04]

Targets (issue 3): ≥ 95 % accuracy per language on held-out hotel messages, ≤ 10 % false acceptance of
out-of-scope text, p99 ≤ 5 ms per message.

It also times the worst case: messages of WhatsApp's maximum length (4,096 characters) made of one short pattern
repeated (digits, lists, dates, links …), where a regular expression that backtracks shows up as a message
that takes seconds (a 4,096-digit message took 0.3 s and "con www." repeated 0.5 s before 2026-12-07).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotel_agent.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from conversations.agent.nlu import ENGINES  # noqa: E402
from conversations.agent.nlu.evaluation import evaluate  # noqa: E402
from conversations.agent.nlu.training import DATA_DIR, read_jsonl, train  # noqa: E402


class _Tenant:
    """A stand-in hotel: the benchmark needs no database."""

    pk = None
    timezone = "Europe/Madrid"
    default_language = "es"


# Pieces of guest text that extractors look at twice: numbers and their separators, connectors, dates, links.
_PIECES = (
    "1", "12", "1,", "1/", "1-", "1:", " ", "a", "á", "de ", "del ", "al ", "y ", "con ", "mi ", "para ", "somos ",
    "@", ".", "+", "€", "#", "\n", "www.", "http://", "me llamo ", "noches ", "1 de ", "enero ", "hab ", "😀",
)  # fmt: skip
LONG_MESSAGE_CHARS = 4096  # WhatsApp's limit for a text message


def long_messages(engine, tenant, today: dt.date) -> dict:
    """Parse time of every two-piece pattern repeated to ``LONG_MESSAGE_CHARS``."""
    timings = []
    for first, second in itertools.product(_PIECES, repeat=2):
        unit = first + second
        text = (unit * (LONG_MESSAGE_CHARS // len(unit) + 1))[:LONG_MESSAGE_CHARS]
        started = time.perf_counter()
        engine.parse(text, tenant=tenant, context={"today": today})
        timings.append((1000 * (time.perf_counter() - started), unit))
    worst_ms, worst_unit = max(timings)
    return {
        "messages": len(timings),
        "chars": LONG_MESSAGE_CHARS,
        "median_ms": round(statistics.median(t for t, _ in timings), 2),
        "worst_ms": round(worst_ms, 2),
        "worst_pattern": worst_unit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--today", default="2026-03-04", help="Reference date of the held-out entities.")
    args = parser.parse_args()
    today = dt.date.fromisoformat(args.today)
    train()
    engine = ENGINES["local"]
    heldout = [e for path in sorted((DATA_DIR / "heldout").glob("*.jsonl")) for e in read_jsonl(path)]
    engine.parse("warm up", tenant=_Tenant(), context={"today": today})
    hotel = evaluate(heldout, engine=engine, tenant=_Tenant(), today=today)
    clinc = read_jsonl(DATA_DIR / "clinc150" / "val.jsonl")
    oos = [e for e in clinc if e.intent == "out_of_scope"]
    clinc_report = evaluate(oos, engine=engine, tenant=_Tenant(), today=today)
    long = long_messages(engine, _Tenant(), today)
    result = {
        "heldout": {
            k: hotel[k]
            for k in (
                "examples",
                "accuracy",
                "macro_f1",
                "per_language",
                "language_accuracy",
                "oos_false_acceptance",
                "oos_false_rejection",
                "latency_p50_ms",
                "latency_p99_ms",
                "entity_exact_match",
            )
        },
        "clinc150_val_oos_false_acceptance": clinc_report["oos_false_acceptance"],
        "clinc150_val_oos_examples": clinc_report["examples"],
        "clinc150_latency_p99_ms": clinc_report["latency_p99_ms"],
        "long_messages": long,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    targets_ok = lambda ok: "PASS" if ok else "MISS"  # noqa: E731
    print(f"held-out hotel messages: {hotel['examples']}")
    print(f"  accuracy      {hotel['accuracy']:.2%}   macro-F1 {hotel['macro_f1']:.4f}")
    for lang, row in hotel["per_language"].items():
        verdict = targets_ok(row["accuracy"] >= 0.95)
        print(f"  [{lang}] accuracy {row['accuracy']:.2%} ({row['examples']})   target ≥ 95 %: {verdict}")
    print(f"  language-ID   {hotel['language_accuracy']:.2%}")
    print(f"  latency p50 / p99  {hotel['latency_p50_ms']:.2f} / {hotel['latency_p99_ms']:.2f} ms   "
          f"target p99 ≤ 5 ms: {targets_ok(hotel['latency_p99_ms'] <= 5)}")  # fmt: skip
    for key, row in hotel["entity_exact_match"].items():
        print(f"  entity {key:<12} exact match {row['accuracy']:.2%} ({row['examples']})")
    fa = clinc_report["oos_false_acceptance"]
    print(f"CLINC150 validation out-of-scope: {clinc_report['examples']} messages, false acceptance {fa:.2%}   "
          f"target ≤ 10 %: {targets_ok(fa <= 0.10)}")  # fmt: skip
    print(f"{long['messages']} messages of {long['chars']} characters (one pattern repeated): "
          f"median {long['median_ms']:.1f} ms, worst {long['worst_ms']:.1f} ms "
          f"({long['worst_pattern']!r} repeated)")  # fmt: skip


if __name__ == "__main__":
    main()
