"""`broadcast --all` pipelined: a target whose key is still being looked up (`Target.pending`) runs as
soon as its own key is known, and a failed lookup fails only its own target."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from difyctl.broadcast.engine import BroadcastOptions, broadcast
from difyctl.broadcast.results import TargetResult
from difyctl.broadcast.targets import Target, from_resolved
from difyctl.targets import ResolvedApp
from tests.broadcast.conftest import Sleeps, echo_targets

Q = "What is Dify?"
GUARD_S = 60.0  # a deadlock guard, not a timing assertion: a barrier before the runs never ends


def _opts() -> BroadcastOptions:
    return BroadcastOptions(query=Q, user="tester", concurrency=8, per_app=4, timeout=5.0)


def _pending(target: Target, resolve: Any) -> Target:
    return dataclasses.replace(target, api_key="", pending=resolve)


async def test_a_target_runs_as_soon_as_its_own_key_is_known(emu: Any, sleeps: Sleeps) -> None:
    first, second, held = echo_targets(emu, 3)
    release = asyncio.Event()
    finished: list[str] = []

    async def key_of_held() -> Target:
        await release.wait()  # its lookup answers only once the two others have FINISHED their runs
        return held

    def on_result(res: TargetResult) -> None:
        finished.append(res.name)
        if len(finished) == 2:
            release.set()

    targets = [_pending(held, key_of_held), first, second]
    run = broadcast(targets, _opts(), runtime=sleeps.runtime(), on_result=on_result)
    result = await asyncio.wait_for(run, GUARD_S)
    assert sorted(finished[:2]) == [first.name, second.name] and finished[2] == held.name
    assert result.exit_code == 0 and [t.name for t in result.targets] == [held.name, first.name, second.name]
    assert all(t.ok and t.answer == Q for t in result.targets)


async def test_a_failed_lookup_fails_only_its_target(emu: Any, sleeps: Sleeps) -> None:
    ok, broken = echo_targets(emu, 2)
    failed = ResolvedApp(broken.name, broken.name, broken.base_url, error="key lookup failed: HTTP 500: boom")
    failed = dataclasses.replace(failed, status=500, app_id="a-1")

    async def lookup() -> Target:
        return from_resolved(failed, {})

    result = await broadcast([ok, _pending(broken, lookup)], _opts(), runtime=sleeps.runtime())
    good, bad = result.targets
    assert good.ok and result.exit_code == 3
    assert bad.status == "error" and bad.error == {
        "code": "key_lookup_failed",
        "message": "key lookup failed: HTTP 500: boom",
        "http_status": 500,
    }
