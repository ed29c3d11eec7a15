"""Percentiles (nearest rank), exact price sums, token totals, exit codes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from difyctl.broadcast.results import BroadcastResult, TargetResult
from difyctl.broadcast.stats import latency_summary, nearest_rank, price_totals, to_decimal, token_totals


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([100.0], 50, 100.0),
        ([100.0, 200.0], 50, 100.0),  # nearest rank: a value that was measured, never 150
        ([100.0, 200.0], 51, 200.0),
        ([float(v) for v in range(1, 101)], 95, 95.0),
        ([float(v) for v in range(1, 101)], 99, 99.0),
        ([float(v) for v in range(1, 101)], 100, 100.0),
        ([float(v) for v in range(1, 11)], 95, 10.0),
        ([1.0, 2.0, 3.0], 0.1, 1.0),
    ],
)
def test_nearest_rank(values: list[float], p: float, expected: float) -> None:
    assert nearest_rank(values, p) == expected


@pytest.mark.parametrize("p", [0, -1, 101])
def test_nearest_rank_refuses_out_of_range(p: float) -> None:
    with pytest.raises(ValueError):
        nearest_rank([1.0], p)
    with pytest.raises(ValueError):
        nearest_rank([], 50)


def test_latency_summary() -> None:
    assert latency_summary([]) == {"min": None, "p50": None, "p95": None, "p99": None, "max": None}
    s = latency_summary([30.0, 10.04, 20.0])
    assert s == {"min": 10.0, "p50": 20.0, "p95": 30.0, "p99": 30.0, "max": 30.0}


def test_prices_are_summed_exactly_per_currency() -> None:
    prices: list[tuple[object, str | None]] = [("0.1", "USD"), ("0.2", "USD"), ("0.0000001", "USD")]
    prices.append(("1.5", "RMB"))
    prices += [(None, "USD"), ("x", "USD")]
    assert price_totals(prices) == {"RMB": "1.5", "USD": "0.3000001"}
    assert 0.1 + 0.2 != 0.3 and Decimal(price_totals(prices)["USD"]) == Decimal("0.3000001")
    assert price_totals([("0.5", None)]) == {"?": "0.5"}
    assert to_decimal(True) is None and to_decimal("NaN") is None and to_decimal(3) == Decimal(3)


def test_token_totals() -> None:
    assert token_totals([{"prompt": 1, "completion": 2, "total": 3}, {"total": 4}]) == {
        "prompt": 1,
        "completion": 2,
        "total": 7,
    }


def _t(i: int, status: str, failure_exit: int | None = None) -> TargetResult:
    return TargetResult(i, f"a{i}", f"a{i}", status=status, failure_exit=failure_exit)


# (status, what the failure means): None is a failure with no process-wide meaning (a failed workflow)
@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        ([("ok", None), ("ok", None)], 0),
        ([("ok", None), ("error", 4)], 3),
        ([("ok", None), ("rate_limited", 7)], 3),
        ([("error", None), ("timeout", 5)], 1),
        ([("rate_limited", 7), ("rate_limited", 7)], 7),
        ([("rate_limited", 7), ("error", None)], 1),
        ([("error", 4), ("error", 4)], 4),  # every key (or key lookup) refused
        ([("error", 5), ("timeout", 5)], 5),  # no server: refused connections, timeouts, 5xx
        ([("error", 4), ("error", 5)], 1),  # failing in different ways: no single cause to report
        ([("error", 2), ("error", 2)], 1),  # a usage error of each target is not the command's usage
        ([("error", None), ("error", None)], 1),
        ([], 0),
    ],
)
def test_exit_codes(statuses: list[tuple[str, int | None]], code: int) -> None:
    result = BroadcastResult([_t(i, s, e) for i, (s, e) in enumerate(statuses)], wall_ms=1.0)
    assert result.exit_code == code
    assert BroadcastResult([_t(0, "ok")], 1.0, interrupted=True).exit_code == 130


def test_an_answer_invalid_by_the_schema_is_not_a_shared_cause() -> None:
    invalid = TargetResult(0, "a", "a", status="ok", validation={"ok": False})
    refused = _t(1, "error", 4)
    assert BroadcastResult([invalid, refused], 1.0).exit_code == 1
    assert BroadcastResult([refused, _t(2, "error", 4)], 1.0).exit_code == 4


def test_json_shape_is_stable() -> None:
    ok = TargetResult(0, "a", "A", mode="workflow", status="ok", outputs={"x": 1}, latency_ms=12.345)
    bad = TargetResult(1, "b", "B", mode="chat", status="error", error={"code": "c", "message": "m"})
    doc = BroadcastResult([ok, bad], wall_ms=20.0).to_dict()
    assert set(doc) == {"targets", "summary"}
    first, second = doc["targets"]
    assert first["outputs"] == {"x": 1} and "answer" not in first and first["latency_ms"] == 12.3
    assert second["answer"] is None and second["ok"] is False
    for key in ("app", "name", "mode", "ok", "error", "latency_ms", "ttft_ms", "tokens", "attempts", "price"):
        assert key in first
    summary = doc["summary"]
    for key in ("ok", "failed", "wall_ms", "latency_ms", "tokens", "price"):
        assert key in summary
    assert set(summary["latency_ms"]) == {"min", "p50", "p95", "p99", "max"}
