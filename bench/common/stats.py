"""Percentiles and unit helpers."""

from __future__ import annotations

import math


def pct(sorted_values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of already sorted values; NaN when there are none."""
    if not sorted_values:
        return math.nan
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def ms(v: float) -> float:
    """Seconds → milliseconds rounded to 0.01 (NaN stays NaN)."""
    return round(v * 1000, 2) if not math.isnan(v) else v
