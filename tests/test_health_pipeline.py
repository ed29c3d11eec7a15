"""`health --all` pipelined: an app whose key is still being looked up (`HealthTarget.pending`) is
checked as soon as its own key is known, and a failed lookup fails only its own app, unchecked."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from difyctl.client.models import App
from difyctl.client.transport import ClientOptions, Runtime
from difyctl.health import HealthCheck, HealthReport, HealthTarget, check_all, pending_target
from difyctl.redact import mask
from difyctl.targets import ResolvedApp

BASE = "http://dify.test"
GUARD_S = (
    60.0  # a deadlock guard, not a timing assertion: checks held back until every key is known never end
)
INFO = {"name": "x", "description": "", "tags": [], "mode": "advanced-chat", "author_name": "a"}


def _key(i: int) -> str:
    return f"app-key{i:04d}xxxxxxxxxxxxxxxxxx"


def _app(i: int) -> App:
    return App(id=f"id-{i}", name=f"app{i}", mode="advanced-chat")


def _resolved(i: int, **kw: Any) -> ResolvedApp:
    return ResolvedApp(f"app{i}", f"app{i}", BASE, _key(i), "console", f"id-{i}", "advanced-chat", **kw)


async def _check(
    targets: list[HealthTarget], seen: list[str], started: list[HealthReport] | None = None
) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"].removeprefix("Bearer "))
        return httpx.Response(200, json=INFO)

    options = ClientOptions(async_transport=httpx.MockTransport(handler))
    return await check_all(
        targets, probes=[], concurrency=2, options=options, runtime=Runtime(), user="u", started=started
    )


async def test_an_app_is_checked_as_soon_as_its_own_key_is_known() -> None:
    release = asyncio.Event()
    seen: list[str] = []

    async def held_key() -> ResolvedApp:
        while len(seen) < 2:  # its lookup answers only once the two others have been CHECKED
            await asyncio.sleep(0)
        release.set()
        return _resolved(0)

    async def known(i: int) -> ResolvedApp:
        return _resolved(i)

    targets = [pending_target(_app(0), BASE, held_key())] + [
        pending_target(_app(i), BASE, known(i)) for i in (1, 2)
    ]
    report = await asyncio.wait_for(_check(targets, seen), GUARD_S)
    assert release.is_set() and sorted(seen[:2]) == [_key(1), _key(2)] and seen[2] == _key(0)
    assert [r.app for r in report.results] == ["app0", "app1", "app2"]  # in the listing's order
    assert all(r.ok and r.key_source == "console" for r in report.results)
    assert report.results[0].key == mask(_key(0)) != ""  # filled once known, masked
    assert _key(0) not in str(report.to_dict())
    assert report.exit_code == 0


async def test_a_failed_lookup_fails_only_its_app_and_is_never_checked() -> None:
    seen: list[str] = []

    async def failed() -> ResolvedApp:
        return _resolved(0, error="key lookup failed: HTTP 403: no", status=403, exit_code=4)

    async def known() -> ResolvedApp:
        return _resolved(1)

    targets = [pending_target(_app(0), BASE, failed()), pending_target(_app(1), BASE, known())]
    report = await _check(targets, seen)
    bad, good = report.results
    assert seen == [_key(1)]  # the app without a key was not checked with an empty one
    assert not bad.ok and bad.error == "key lookup failed: HTTP 403: no" and bad.cause == 4
    assert good.ok and report.exit_code == 3


async def test_interrupted_while_a_key_is_looked_up_is_cancelled_not_failed() -> None:
    seen: list[str] = []
    started: list[HealthReport] = []
    never: asyncio.Future[ResolvedApp] = asyncio.get_running_loop().create_future()

    async def known() -> ResolvedApp:
        return _resolved(1)

    targets = [pending_target(_app(0), BASE, never), pending_target(_app(1), BASE, known())]
    task = asyncio.ensure_future(_check(targets, seen, started))
    while len(seen) < 1 or not started[0].results[1].ok:
        await asyncio.sleep(0)
    task.cancel()
    report = await asyncio.wait_for(task, GUARD_S)
    waiting, done = report.results
    assert report.interrupted and report.exit_code == 130
    assert isinstance(waiting, HealthCheck) and waiting.status == "cancelled" and waiting.key == ""
    assert done.ok


async def _check_answering(status: int, n: int = 2) -> HealthReport:
    """Every /v1/info answers `status` (429 and 5xx: after the retries, none slept)."""

    async def no_sleep(_: float) -> None:
        return None

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"code": "x", "message": "m", "status": status})

    targets = [HealthTarget(f"app{i}", f"id-{i}", BASE, _key(i)) for i in range(n)]
    options = ClientOptions(async_transport=httpx.MockTransport(handler))
    return await check_all(
        targets, probes=[], concurrency=2, options=options, runtime=Runtime(asleep=no_sleep), user="u"
    )


async def test_every_check_rate_limited_exits_7_as_broadcast_and_every_lookup_do() -> None:
    """The shared rule (exit_codes.all_failed): every target rate limited -> 7. A key lookup answered
    429 already said so (its exit code travels as the cause); the check itself must too."""
    report = await _check_answering(429)
    assert [r.status for r in report.results] == ["fail", "fail"]
    assert report.exit_code == 7
    assert (await _check_answering(503)).exit_code == 5
    assert (await _check_answering(401)).exit_code == 1  # dead keys: health's own verdict


async def test_every_check_refused_by_the_proxy_exits_4() -> None:
    """A forward proxy that wants credentials (407) refuses every check: exit 4 with the proxy hint, as
    for `run`, `broadcast` and every single-request command (errors.ProxyAuthRequiredError). Health
    counted it as the checks' own verdict, like a dead key (cause None): exit 1."""
    report = await _check_answering(407)
    assert [r.status for r in report.results] == ["fail", "fail"]
    assert report.exit_code == 4
