"""`health`: every app's service key checked with GET /v1/info (no tokens spent), then optional
probe queries. Async fan-out: ONE pooled AsyncClient, a semaphore for the concurrency, and every
key resolved BEFORE the fan-out by the one resolver (difyctl/targets.py)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from difyctl.client.errors import AuthenticationError, DifyError, PermissionDeniedError
from difyctl.exit_codes import ExitCode, all_failed
from difyctl.jsonshape import app_fields, ms
from difyctl.redact import mask
from difyctl.targets import NO_KEY

if TYPE_CHECKING:
    import httpx

    from difyctl.client.models import App
    from difyctl.client.transport import ClientOptions, Runtime
    from difyctl.targets import ResolvedApp


@dataclass(frozen=True)
class HealthTarget:
    app: str
    app_id: str | None
    base_url: str
    token: str = field(repr=False)
    key_source: str = ""
    error: str | None = None  # no key found: reported, never checked
    cause: int | None = None  # a failed key lookup's exit code (4 refused, 5 no server)
    # `--all`: the target as its key lookup will make it; its check starts as soon as it is known
    pending: Callable[[], Awaitable[HealthTarget]] | None = field(default=None, repr=False, compare=False)


@dataclass
class HealthCheck:
    app: str
    app_id: str | None
    key: str  # masked
    key_source: str
    ok: bool = False
    status: str = "fail"
    mode: str | None = None
    latency_ms: float | None = None
    error: str | None = None
    probes: list[dict[str, Any]] = field(default_factory=list)
    # what the failure says of the run as a whole (its error's exit code: 4 the key lookup was refused
    # or the proxy wanted credentials, 5 no server, 7 rate limited). A key the server refuses (401 /
    # 403 to the check) is the check's own verdict: None
    cause: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("cause")
        d["latency_ms"] = ms(self.latency_ms)
        d["probes"] = [{**p, "latency_ms": ms(p.get("latency_ms"))} for p in self.probes]
        return {**d, **app_fields(self.app_id, self.app, self.mode)}


@dataclass
class HealthReport:
    results: list[HealthCheck]
    wall_ms: float
    resolve_ms: float = 0.0
    interrupted: bool = False  # Ctrl-C / SIGTERM: `results` holds what finished, the rest "cancelled"

    def interrupt(self) -> None:
        """A check that neither passed nor failed had not finished."""
        self.interrupted = True
        for res in self.results:
            if res.error is None and not res.ok:
                res.status, res.error = "cancelled", "interrupted before it finished"

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        failed = sum(1 for r in self.results if not r.ok)
        if not failed:
            return ExitCode.OK
        if failed < len(self.results):
            return ExitCode.PARTIAL
        return all_failed(r.cause for r in self.results)  # dead keys (cause None) are health's verdict: 1

    def to_dict(self) -> dict[str, Any]:
        ok = sum(1 for r in self.results if r.ok)
        return {
            "results": [r.to_dict() for r in self.results],
            "summary": {
                "total": len(self.results),
                "ok": ok,
                "failed": len(self.results) - ok,
                "wall_ms": round(self.wall_ms, 1),
                "resolve_ms": round(self.resolve_ms, 1),
                "interrupted": self.interrupted,
            },
        }


def health_targets(apps: Sequence[ResolvedApp]) -> list[HealthTarget]:
    """From the one resolver's answers: a failed key lookup stays a lookup failure (with its status),
    only an app that really has no key says so."""
    return [
        HealthTarget(a.name, a.app_id, a.base_url, a.api_key, a.key_source, _explain(a.error), a.exit_code)
        for a in apps
    ]


_KEY_REFUSED = (AuthenticationError, PermissionDeniedError)  # the service API refused the key itself


def pending_target(app: App, base_url: str, key: Awaitable[ResolvedApp]) -> HealthTarget:
    """A listed app whose key is still being looked up (`Resolver.key_tasks`)."""

    async def resolved() -> HealthTarget:
        return health_targets([await key])[0]

    return HealthTarget(app.name, app.id, base_url, "", pending=resolved)


def _explain(error: str | None) -> str | None:
    if error == NO_KEY:
        return f"{NO_KEY} (difyctl keys create APP --store)"
    return error


async def check_all(
    targets: Sequence[HealthTarget],
    *,
    probes: Sequence[str],
    concurrency: int,
    options: ClientOptions,
    runtime: Runtime,
    user: str,
    started: list[HealthReport] | None = None,
) -> HealthReport:
    """Check every target. Ctrl-C (the task cancelled) ends the checks in flight and returns what
    finished, the report marked interrupted; `started` receives the report as it fills, for a
    caller whose KeyboardInterrupt escapes the loop (Python 3.10)."""
    from difyctl.broadcast.pool import fanout_options
    from difyctl.client.transport import build_async_client

    options = fanout_options(options, concurrency)
    slot = asyncio.Semaphore(concurrency)
    results = [
        HealthCheck(t.app, t.app_id, mask(t.token), t.key_source, error=t.error, cause=t.cause)
        for t in targets
    ]
    report = HealthReport(results, 0.0)
    if started is not None:
        started.append(report)
    t0 = runtime.clock()
    pools: dict[str, httpx.AsyncClient] = {}

    try:
        for t in targets:
            if t.base_url not in pools:
                pools[t.base_url] = build_async_client(t.base_url, options, runtime)
        tasks = [
            asyncio.ensure_future(_one(t, r, pools[t.base_url], slot, probes, options, runtime, user))
            for t, r in zip(targets, results, strict=True)
            if t.error is None
        ]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            report.interrupt()
            uncancel = getattr(asyncio.current_task(), "uncancel", None)
            if uncancel is not None:  # 3.11+: asyncio.run returns the partial report
                uncancel()
    finally:
        for pool in pools.values():
            await pool.aclose()
    report.wall_ms = (runtime.clock() - t0) * 1000
    return report


async def _one(
    target: HealthTarget,
    res: HealthCheck,
    pool: httpx.AsyncClient,
    slot: asyncio.Semaphore,
    probes: Sequence[str],
    options: ClientOptions,
    runtime: Runtime,
    user: str,
) -> None:
    from difyctl.client.service import AsyncServiceClient

    if target.pending is not None:  # --all: the key lookup of this app, checked as soon as it answers
        target = await target.pending()
        res.key, res.key_source, res.error, res.cause = (
            mask(target.token),
            target.key_source,
            target.error,
            target.cause,
        )
        if target.error is not None:
            return
    service = AsyncServiceClient(target.base_url, target.token, options, runtime, http_client=pool)
    async with slot:
        t0 = runtime.clock()
        step = "/v1/info"
        try:
            info = await service.info()
            res.mode = info.mode
            res.latency_ms = (runtime.clock() - t0) * 1000
            for text in probes:
                step = f"probe {text!r}"
                run = await service.run(
                    info.mode, query=text, inputs=_probe_inputs(info.mode, text), user=user
                )
                res.probes.append(
                    {"query": text, "ok": run.ok, "latency_ms": run.latency_ms, "error": run.error}
                )
                if not run.ok:
                    raise _Failed(f"{step}: {run.status} {run.error or ''}".strip())
        except (DifyError, _Failed) as exc:
            res.error = (
                f"{step}: {getattr(exc, 'message', None) or exc}" if isinstance(exc, DifyError) else str(exc)
            )
            if res.latency_ms is None:
                res.latency_ms = (runtime.clock() - t0) * 1000
            if isinstance(exc, DifyError) and not isinstance(exc, _KEY_REFUSED):
                res.cause = exc.exit_code  # the server, the proxy or the rate limit: see all_failed
            return
    res.ok, res.status = True, "ok"


def _probe_inputs(mode: str, text: str) -> dict[str, Any]:
    """Workflows and completions take the probe as their `query` input (the usual name)."""
    return {} if mode in ("chat", "advanced-chat", "agent-chat") else {"query": text}


class _Failed(Exception):
    pass
