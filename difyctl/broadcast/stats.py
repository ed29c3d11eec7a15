"""Aggregates of a broadcast: latency percentiles, token totals, exact price sums per currency.

Percentiles use the **nearest-rank** method (the value at rank ceil(p/100 * n) of the sorted sample):
every reported number is a latency that was actually measured, p100 is the max, and on small samples
(3 apps, 10 apps) nothing is interpolated between two unrelated apps. p50 of [100, 200] is 100.
Prices are JSON strings in Dify (`"0.0001230"`): they are summed as `Decimal`, per currency, and
rendered back as strings, so no float rounding creeps into a cost report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 50.0), ("p95", 95.0), ("p99", 99.0))


def nearest_rank(sorted_values: Sequence[float], p: float) -> float:
    """The p-th percentile (0 < p <= 100) of an ascending, non-empty sequence, nearest-rank method."""
    if not sorted_values:
        raise ValueError("no values")
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} is not in (0, 100]")
    rank = math.ceil(p / 100.0 * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]


def latency_summary(values: Iterable[float]) -> dict[str, float | None]:
    """{min, p50, p95, p99, max} in ms (rounded to 0.1), all None when there is no value."""
    ordered = sorted(values)
    keys = ["min", *(name for name, _ in PERCENTILES), "max"]
    if not ordered:
        return dict.fromkeys(keys)
    out: dict[str, float | None] = {"min": round(ordered[0], 1)}
    for name, p in PERCENTILES:
        out[name] = round(nearest_rank(ordered, p), 1)
    out["max"] = round(ordered[-1], 1)
    return out


def to_decimal(value: object) -> Decimal | None:
    """A Dify decimal (string, int or float) as a Decimal; None for absent or garbage values."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def price_totals(prices: Iterable[tuple[object, str | None]]) -> dict[str, str]:
    """Sum (price, currency) pairs per currency: {"USD": "0.0003690"}. Unknown currency -> "?"."""
    totals: dict[str, Decimal] = {}
    for raw, currency in prices:
        amount = to_decimal(raw)
        if amount is None:
            continue
        key = currency or "?"
        totals[key] = totals.get(key, Decimal(0)) + amount
    return {currency: format(total, "f") for currency, total in sorted(totals.items())}


def token_totals(tokens: Iterable[dict[str, int]]) -> dict[str, int]:
    out = {"prompt": 0, "completion": 0, "total": 0}
    for item in tokens:
        for key in out:
            out[key] += int(item.get(key, 0) or 0)
    return out
