"""`health`: every app's service key checked with GET /v1/info (no tokens spent), then optional
probe queries. Async fan-out: ONE pooled AsyncClient, a semaphore for the concurrency, and every
key resolved BEFORE the fan-out (no keyring or console calls inside `gather`)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from difyctl.client.errors import DifyError
from difyctl.exit_codes import ExitCode
from difyctl.redact import mask

if TYPE_CHECKING:
    import httpx

    from difyctl.client.console import ConsoleClient
    from difyctl.client.transport import ClientOptions, Runtime
    from difyctl.context import AppContext


@dataclass(frozen=True)
class HealthTarget:
    app: str
    app_id: str | None
    base_url: str
    token: str = field(repr=False)
    key_source: str = ""
    error: str | None = None  # no key found: reported, never checked


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

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["latency_ms"] = None if self.latency_ms is None else round(self.latency_ms, 1)
        return d


@dataclass
class HealthReport:
    results: list[HealthCheck]
    wall_ms: float
    resolve_ms: float = 0.0

    @property
    def exit_code(self) -> int:
        failed = sum(1 for r in self.results if not r.ok)
        if not failed:
            return int(ExitCode.OK)
        return int(ExitCode.FAILED if failed == len(self.results) else ExitCode.PARTIAL)

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
            },
        }


def resolve_targets(
    actx: AppContext, refs: Sequence[str], all_apps: bool, concurrency: int
) -> list[HealthTarget]:
    """Every key read here (keyring, env, then the console for apps without a stored key)."""
    if not all_apps:
        out = []
        for ref in refs:
            try:
                t = actx.service_target(ref)
            except DifyError as exc:
                out.append(HealthTarget(ref, None, actx.profile().base_url, "", error=exc.message))
                continue
            out.append(HealthTarget(t.name or ref, t.app_id, t.base_url, t.api_key, t.key_source))
        return out
    profile = actx.profile()
    with actx.console() as console:
        apps = list(console.iter_apps())
        stored = {a.id: actx.credentials.get_app_key(profile.name, a.id) for a in apps}
        missing = [a.id for a in apps if not stored[a.id]]
        fetched = asyncio.run(_newest_keys(actx, console, missing, concurrency)) if missing else {}
    targets = []
    for a in apps:
        token, source = (stored[a.id], "stored") if stored[a.id] else (fetched.get(a.id) or "", "console")
        error = None if token else "the app has no service API key (difyctl keys create APP --store)"
        targets.append(HealthTarget(a.name, a.id, profile.base_url, token or "", source, error))
    return targets


async def _newest_keys(
    actx: AppContext, console: ConsoleClient, app_ids: list[str], concurrency: int
) -> dict[str, str]:
    from difyctl.client.console import AsyncConsoleClient

    options = _pooled(actx.client_options(), concurrency)
    slot = asyncio.Semaphore(concurrency)
    async with AsyncConsoleClient(console.base_url, console.auth, options, actx.get_runtime()) as client:

        async def one(app_id: str) -> tuple[str, str]:
            async with slot:
                try:
                    keys = await client.list_api_keys(app_id)
                except DifyError:
                    return app_id, ""
            return app_id, max(keys, key=lambda k: k.created_at or 0).token if keys else ""

        return dict(await asyncio.gather(*(one(i) for i in app_ids)))


async def check_all(
    targets: Sequence[HealthTarget],
    *,
    probes: Sequence[str],
    concurrency: int,
    options: ClientOptions,
    runtime: Runtime,
    user: str,
) -> HealthReport:
    from difyctl.client.transport import build_async_client

    options = _pooled(options, concurrency)
    slot = asyncio.Semaphore(concurrency)
    results = [HealthCheck(t.app, t.app_id, mask(t.token), t.key_source, error=t.error) for t in targets]
    t0 = runtime.clock()
    pools: dict[str, httpx.AsyncClient] = {}
    try:
        for t in targets:
            if t.base_url not in pools:
                pools[t.base_url] = build_async_client(t.base_url, options, runtime)
        await asyncio.gather(
            *(
                _one(t, r, pools[t.base_url], slot, probes, options, runtime, user)
                for t, r in zip(targets, results, strict=True)
                if t.error is None
            )
        )
    finally:
        for pool in pools.values():
            await pool.aclose()
    return HealthReport(results, (runtime.clock() - t0) * 1000)


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
            return
    res.ok, res.status = True, "ok"


def _pooled(options: ClientOptions, concurrency: int) -> ClientOptions:
    """One client over broadcast's transport: aiohttp when installed, else striped httpcore pools
    (httpcore's single pool is O(C^2) per event)."""
    from difyctl.broadcast.engine import _preload_async_backend
    from difyctl.broadcast.pool import fanout_transport

    _preload_async_backend()
    size = max(concurrency, 10)
    options = dataclasses.replace(options, max_connections=size, max_keepalive_connections=size)
    if options.async_transport is None:
        transport = fanout_transport(size, verify=options.verify, trust_env=options.trust_env)
        options = dataclasses.replace(options, async_transport=transport)
    return options


def _probe_inputs(mode: str, text: str) -> dict[str, Any]:
    """Workflows and completions take the probe as their `query` input (the usual name)."""
    return {} if mode in ("chat", "advanced-chat", "agent-chat") else {"query": text}


class _Failed(Exception):
    pass
