"""Evaluation of an NLU engine on labelled examples (``nlu eval`` and ``bench/nlu.py``)."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from typing import Any

from conversations.agent.nlu.base import NLUEngine
from conversations.agent.nlu.training import Example

OOS = "out_of_scope"


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _normalize_entity(value: Any, key: str = "") -> Any:
    if key == "phone" and isinstance(value, str):  # "+34 600 111 222" and "+34600111222" are the same number
        return ("+" if value.strip().startswith("+") else "") + "".join(ch for ch in value if ch.isdigit())
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip().lower()
    return value


def evaluate(examples: list[Example], *, engine: NLUEngine, tenant: Any, today: dt.date | None) -> dict[str, Any]:
    context: dict[str, Any] = {"today": today} if today else {}
    gold: list[str] = []
    predicted: list[str] = []
    latencies: list[float] = []
    per_language: dict[str, list[bool]] = defaultdict(list)
    language_hits: list[bool] = []
    entity_hits: dict[str, list[bool]] = defaultdict(list)
    confusions: Counter[tuple[str, str]] = Counter()
    for example in examples:
        started = time.perf_counter()
        result = engine.parse(example.text, tenant=tenant, context=dict(context))
        latencies.append((time.perf_counter() - started) * 1000)
        gold.append(example.intent)
        predicted.append(result.intent)
        correct = result.intent == example.intent
        if example.language:
            per_language[example.language].append(correct)
            language_hits.append(result.language == example.language)
        if not correct:
            confusions[(example.intent, result.intent)] += 1
        for key, expected in (example.entities or {}).items():
            got = result.entities.get(key)
            entity_hits[key].append(_normalize_entity(got, key) == _normalize_entity(expected, key))

    labels = sorted(set(gold) | set(predicted))
    per_intent: dict[str, dict[str, float]] = {}
    f1s = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if p == label and g != label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        support = tp + fn
        per_intent[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
        if support:
            f1s.append(f1)
    in_scope = [(g, p) for g, p in zip(gold, predicted, strict=True) if g != OOS]
    out_scope = [(g, p) for g, p in zip(gold, predicted, strict=True) if g == OOS]
    return {
        "examples": len(examples),
        "accuracy": round(sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold), 4),
        "macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else 0.0,
        "per_language": {
            lang: {"accuracy": round(sum(hits) / len(hits), 4), "examples": len(hits)}
            for lang, hits in sorted(per_language.items())
        },
        "per_intent": per_intent,
        "confusions": [{"gold": g, "predicted": p, "count": n} for (g, p), n in confusions.most_common(20)],
        "language_accuracy": round(sum(language_hits) / len(language_hits), 4) if language_hits else None,
        "entity_exact_match": {
            key: {"accuracy": round(sum(hits) / len(hits), 4), "examples": len(hits)}
            for key, hits in sorted(entity_hits.items())
        },
        # In-scope messages rejected as out of scope, and out-of-scope messages accepted as an intent.
        "oos_false_rejection": round(sum(p == OOS for _, p in in_scope) / len(in_scope), 4) if in_scope else None,
        "oos_false_acceptance": round(sum(p != OOS for _, p in out_scope) / len(out_scope), 4) if out_scope else None,
        "latency_p50_ms": round(_percentile(latencies, 50), 3),
        "latency_p99_ms": round(_percentile(latencies, 99), 3),
    }


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"examples            {report['examples']}",
        f"accuracy            {report['accuracy']:.2%}",
        f"macro-F1            {report['macro_f1']:.4f}",
    ]
    for lang, row in report["per_language"].items():
        lines.append(f"  accuracy [{lang}]     {row['accuracy']:.2%}  ({row['examples']})")
    if report["language_accuracy"] is not None:
        lines.append(f"language-ID accuracy {report['language_accuracy']:.2%}")
    if report["oos_false_acceptance"] is not None:
        lines.append(f"OOS false acceptance {report['oos_false_acceptance']:.2%}  (out-of-scope taken as an intent)")
    if report["oos_false_rejection"] is not None:
        lines.append(f"OOS false rejection  {report['oos_false_rejection']:.2%}  (in-scope taken as out of scope)")
    lines.append(f"latency p50 / p99   {report['latency_p50_ms']:.2f} / {report['latency_p99_ms']:.2f} ms")
    lines.append("")
    lines.append(f"{'intent':<22}{'precision':>10}{'recall':>10}{'f1':>8}{'support':>9}")
    for label, row in report["per_intent"].items():
        lines.append(f"{label:<22}{row['precision']:>10.2f}{row['recall']:>10.2f}{row['f1']:>8.2f}{row['support']:>9}")
    if report["entity_exact_match"]:
        lines.append("")
        lines.append("entity exact match")
        for key, row in report["entity_exact_match"].items():
            lines.append(f"  {key:<18}{row['accuracy']:.2%}  ({row['examples']})")
    if report["confusions"]:
        lines.append("")
        lines.append("most frequent confusions (gold → predicted)")
        for row in report["confusions"]:
            lines.append(f"  {row['gold']} → {row['predicted']}: {row['count']}")
    return "\n".join(lines)
