"""The fan-out against the emulator (real HTTP): faults, retries, timeouts, broken streams, Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from difyctl.broadcast import engine as engine_mod
from difyctl.broadcast.engine import BroadcastOptions, broadcast, run_broadcast
from difyctl.broadcast.results import TargetResult
from difyctl.broadcast.targets import Target
from tests.broadcast.conftest import Sleeps, demo_targets, echo_targets

Q = "What is Dify?"


def opts(**kw: Any) -> BroadcastOptions:
    base: dict[str, Any] = {"query": Q, "user": "tester", "concurrency": 8, "per_app": 4, "timeout": 5.0}
    base.update(kw)
    return BroadcastOptions(**base)


async def test_every_mode_answers_with_usage_and_price(emu: Any, sleeps: Sleeps) -> None:
    result = await broadcast(demo_targets(emu), opts(), runtime=sleeps.runtime())
    by_name = {t.name: t for t in result.targets}
    assert result.exit_code == 0 and result.ok_count == 4 and sleeps == []
    assert by_name["echo-workflow"].mode == "workflow"
    assert by_name["echo-workflow"].outputs == {"result": Q}  # QUERY filled the `query` input
    assert by_name["echo-chat"].answer == Q and by_name["echo-completion"].answer == Q
    assert all(t.attempts == 1 and t.latency_ms is not None for t in result.targets)
    summary = result.summary()
    assert summary["tokens"]["total"] == sum(t.tokens["total"] for t in result.targets) > 0
    priced = [Decimal(t.price) for t in result.targets if t.price]
    assert Decimal(summary["price"]["USD"]) == sum(priced)
    assert summary["latency_ms"]["min"] <= summary["latency_ms"]["p50"] <= summary["latency_ms"]["max"]


async def test_streaming_measures_time_to_first_token(emu: Any, sleeps: Sleeps) -> None:
    result = await broadcast(echo_targets(emu, 3), opts(stream=True), runtime=sleeps.runtime())
    assert result.exit_code == 0
    for t in result.targets:
        assert t.answer == Q and t.ttft_ms is not None and t.ttft_ms <= (t.latency_ms or 0)


async def test_429_and_500_are_retried_and_no_target_is_lost_or_counted_twice(
    emu: Any, sleeps: Sleeps
) -> None:
    emu.faults.rate_limit_rate = 0.10
    emu.faults.error_rate_5xx = 0.05
    targets = echo_targets(emu, 20) + demo_targets(emu)
    reported: list[TargetResult] = []
    result = await broadcast(targets, opts(retries=4), runtime=sleeps.runtime(), on_result=reported.append)
    assert [t.index for t in result.targets] == list(range(len(targets)))
    assert sorted(Counter(r.index for r in reported).items()) == [(i, 1) for i in range(len(targets))]
    retried = [t for t in result.targets if t.attempts > 1]
    assert retried, "with 15 % faults some target must have been re-sent"
    assert len(sleeps) == sum(t.attempts - 1 for t in result.targets)
    for t in result.targets:
        assert 1 <= t.attempts <= 5
        assert t.ok or (t.error and t.error["code"] in ("too_many_requests", "http_500"))
    assert result.summary()["ok"] + result.summary()["failed"] == len(targets)


async def test_backoff_is_jittered_exponential_within_the_budget(emu: Any, sleeps: Sleeps) -> None:
    emu.faults.rate_limit_rate = 1.0
    result = await broadcast(echo_targets(emu, 1), opts(retries=3), runtime=sleeps.runtime())
    (t,) = result.targets
    assert t.status == "rate_limited" and t.attempts == 4
    assert t.error is not None and t.error["code"] == "too_many_requests" and t.error["http_status"] == 429
    assert sleeps == [0.5 * 0.875, 1.0 * 0.875, 2.0 * 0.875]  # base * 2^n, jitter factor at rng=0.5
    assert result.exit_code == 7


async def test_per_app_cap_is_honoured_so_dify_never_answers_429(emu: Any, sleeps: Sleeps) -> None:
    emu.faults.latency_ms = 30
    key = emu.demo_keys()["echo-chat-0001"]
    app_id = emu.app_id("echo-chat-0001")
    emu.state.app_by_name("echo-chat-0001").max_active_requests = 2  # Dify's per-app limit
    try:
        targets = [Target("echo-chat-0001", f"copy-{i}", emu.base_url, key, app_id=app_id) for i in range(6)]
        result = await broadcast(targets, opts(per_app=2, concurrency=6), runtime=sleeps.runtime())
    finally:
        emu.state.app_by_name("echo-chat-0001").max_active_requests = None
    assert result.exit_code == 0 and sleeps == []  # no 429: the cap held, nothing was retried


async def test_wrong_key_fails_alone(emu: Any, sleeps: Sleeps) -> None:
    targets = echo_targets(emu, 3)
    targets[1] = Target("bad", "bad", emu.base_url, "app-wrongwrongwrongwrongwrong")
    result = await broadcast(targets, opts(), runtime=sleeps.runtime())
    assert [t.status for t in result.targets] == ["ok", "error", "ok"]
    assert result.targets[1].error is not None and result.targets[1].error["http_status"] == 401
    assert result.targets[1].attempts == 1 and result.exit_code == 3


async def test_a_server_that_never_answers_is_cut_at_the_timeout(emu: Any, sleeps: Sleeps) -> None:
    emu.faults.hang = True
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    result = await broadcast(echo_targets(emu, 2), opts(timeout=0.3), runtime=sleeps.runtime())
    assert loop.time() - t0 < 3.0
    assert [t.status for t in result.targets] == ["timeout", "timeout"]
    assert all(t.attempts == 1 for t in result.targets)  # a run that may be executing is never re-sent
    for t in result.targets:  # one line saying what it waited for, not a bare "TimeoutError"
        assert t.error is not None and t.error["code"] == "timeout"
        assert t.error["message"] == "no complete answer in 0.3 s (--timeout)"
    assert result.exit_code == 5  # every target found no server in time: unavailable, as for one app


async def test_a_stream_cut_mid_answer_keeps_the_partial_answer(emu: Any, sleeps: Sleeps) -> None:
    emu.faults.stream_cut_rate = 1.0
    emu.faults.stream_cut_after = 3  # workflow_started, node_started, message: then the cut
    result = await broadcast(echo_targets(emu, 2), opts(stream=True), runtime=sleeps.runtime())
    for t in result.targets:
        assert t.status == "error" and t.partial and t.answer == Q
        assert t.error is not None and t.error["code"] == "stream_truncated"
        assert t.attempts == 1


async def test_a_midstream_error_event_is_a_failure_not_retried(emu: Any, sleeps: Sleeps) -> None:
    emu.faults.midstream_error_rate = 1.0
    result = await broadcast(echo_targets(emu, 2), opts(stream=True), runtime=sleeps.runtime())
    for t in result.targets:
        assert t.status == "error" and t.partial and t.attempts == 1
        assert t.error is not None and t.error["code"] == "internal_server_error"
    assert sleeps == []


async def test_one_pool_per_base_url_shared_by_every_target(
    emu: Any, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    from difyctl.client.transport import build_async_client as real

    built: list[str] = []

    def counting(base_url: str, *args: Any, **kw: Any) -> Any:
        built.append(base_url)
        return real(base_url, *args, **kw)

    monkeypatch.setattr("difyctl.broadcast.engine.build_async_client", counting)
    result = await broadcast(echo_targets(emu, 10), opts(), runtime=sleeps.runtime())
    assert result.exit_code == 0 and built == [emu.base_url]


async def test_cancelling_returns_what_finished(emu: Any, sleeps: Sleeps) -> None:
    done = asyncio.Event()
    reported: list[TargetResult] = []

    def on_result(res: TargetResult) -> None:
        reported.append(res)
        if len(reported) == 2:
            emu.faults.hang = True  # the third target (concurrency 1) will never get an answer
            done.set()

    task = asyncio.ensure_future(
        broadcast(echo_targets(emu, 3), opts(concurrency=1), runtime=sleeps.runtime(), on_result=on_result)
    )
    await asyncio.wait_for(done.wait(), 5)
    await asyncio.sleep(0.05)
    task.cancel()
    result = await task
    assert result.interrupted and result.exit_code == 130
    assert [t.status for t in result.targets] == ["ok", "ok", "cancelled"]
    assert len(reported) == 2


def test_ctrl_c_in_the_sync_entry_point_prints_what_finished(emu: Any, sleeps: Sleeps) -> None:
    emu.faults.hang = True
    key = emu.demo_keys()["echo-chat-0001"]
    ok_target = Target("fast", "fast", emu.base_url, key, preset_error=None)

    def on_start(index: int) -> None:
        if index == 1:
            signal.raise_signal(signal.SIGINT)

    targets = [Target("nokey", "nokey", emu.base_url, "", preset_error="no key"), ok_target]
    result = run_broadcast(targets, opts(concurrency=1), runtime=sleeps.runtime(), on_start=on_start)
    assert result.interrupted and result.exit_code == 130
    assert [t.status for t in result.targets] == ["error", "cancelled"]


def test_sync_entry_point_closes_its_loop_clean(emu: Any, sleeps: Sleeps) -> None:
    result = run_broadcast(echo_targets(emu, 3), opts(), runtime=sleeps.runtime())
    assert result.exit_code == 0 and result.wall_ms > 0


def test_options_are_checked() -> None:
    with pytest.raises(ValueError):
        engine_mod.Fanout([], BroadcastOptions(query=Q, user="u", concurrency=0))
