"""The broadcast fan-out: one query to many apps at once, returning a BroadcastResult (never prints).

- ONE pooled `httpx.AsyncClient` per base_url, shared by every target of that server; each target's
  `AsyncServiceClient` sends its own `Authorization` per request (`http_client=` of the client).
- Two caps: a global `asyncio.Semaphore(concurrency)` and a per-app one (`per_app`), taken in that
  order per-app -> global, so a target waiting for its app never holds a global slot.
- Retries live HERE, not in the client: the client never re-sends a run, but Dify's 429
  `too_many_requests` (APP_MAX_ACTIVE_REQUESTS) refuses a run before it starts, and a 5xx before the
  stream opens means no answer was produced, so the engine re-sends those, with `retry.delay_for`
  (jittered exponential backoff, Retry-After honoured) through the injected `runtime.asleep`,
  holding no slot while it waits. Timeouts and broken streams are never retried: the run may be
  executing (or have executed) on the server, and Dify has no idempotency key.
- `timeout` bounds one attempt (slot taken -> answer complete), with `asyncio.timeout`; waiting for a
  slot and backoff do not count, so 1000 targets at concurrency 10 do not time out in the queue.
- Ctrl-C (the main task cancelled by `asyncio.run`) cancels every target, waits for them, and returns
  what finished, with `interrupted=True`; the pools are closed in every case.
- Keys were resolved before (targets.py): nothing here touches the keyring or the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from difyctl.broadcast import results as R
from difyctl.broadcast.pool import (
    env_proxied,
    fanout_transport,
    on_httpx_pool,
    preload_async_backend,
    quiet_gc,
)
from difyctl.broadcast.results import BroadcastResult, TargetResult
from difyctl.broadcast.targets import Target
from difyctl.client.errors import (
    DifyConnectionError,
    DifyError,
    DifyTimeoutError,
    RateLimitError,
    ServerError,
)
from difyctl.client.retry import RetryPolicy, delay_for, was_sent
from difyctl.client.service import (
    ALWAYS_STREAM,
    AsyncServiceClient,
    RunAccumulator,
    parse_blocking,
    run_spec,
)
from difyctl.client.transport import ClientOptions, Runtime, build_async_client, wrap_transport_error
from difyctl.errors import DifyctlError
from difyctl.run.inputs import check_inputs, fill_query_input

if TYPE_CHECKING:
    from difyctl.client.models import RunResult

CHAT_MODES = frozenset({"chat", "advanced-chat", "agent-chat"})
DEFAULT_CONCURRENCY = 16
# Dify's APP_MAX_ACTIVE_REQUESTS and APP_DEFAULT_ACTIVE_REQUESTS default to 0 (= unlimited) in
# api/configs/feature/__init__.py and docker/.env.example, but a stock API container serves only
# SERVER_WORKER_AMOUNT=1 gevent worker x SERVER_WORKER_CONNECTIONS=10 requests at once, and operators
# who cap an app pick small numbers (10 in Dify's own ops guides). 4 per app stays under both with room
# for the app's real users; the 429s that still happen are retried.
DEFAULT_PER_APP = 4
DEFAULT_TIMEOUT = 120.0
DEFAULT_RETRIES = 3


@dataclass(frozen=True)
class BroadcastOptions:
    query: str | None
    user: str
    stream: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    per_app: int = DEFAULT_PER_APP
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    base_delay: float = 0.5
    max_delay: float = 8.0


@dataclass(slots=True)
class _Prepared:
    """One target in flight: what it learnt on an earlier attempt (kept across retries), and its
    service client, built only when a request needs it (the direct path sends without one)."""

    target: Target
    pool: httpx.AsyncClient
    mode: str | None
    inputs: dict[str, Any]
    checked: bool = False
    service: AsyncServiceClient | None = None
    streamed: RunAccumulator | None = None  # this attempt's streamed answer so far: kept if it is cut


@dataclass(slots=True)
class _Outcome:
    run: RunResult | None = None
    exc: BaseException | None = None
    retry: bool = False
    partial: str | None = None  # a stream cut by --timeout or a dropped connection: what arrived


def _error_doc(exc: BaseException) -> dict[str, Any]:
    code = getattr(exc, "code", "") or ""
    status_code = getattr(exc, "status_code", None)
    if not code and isinstance(status_code, int):
        code = f"http_{status_code}"  # a bare 500 / a proxy's 502 page carry no Dify code
    if not code:
        code = {
            "DifyTimeoutError": "timeout",
            "DifyConnectionError": "connection_error",
            "StreamTruncatedError": "stream_truncated",
            "DifyProtocolError": "protocol_error",
            "UsageError": "invalid_input",
        }.get(type(exc).__name__, type(exc).__name__)
    status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return {"code": code, "message": message, "http_status": status if isinstance(status, int) else None}


class Fanout:
    """One broadcast. `results` is filled in place, so a KeyboardInterrupt that escapes the loop
    (Python 3.10's asyncio.run) still leaves what finished."""

    def __init__(
        self,
        targets: Sequence[Target],
        options: BroadcastOptions,
        *,
        client_options: ClientOptions | None = None,
        runtime: Runtime | None = None,
        on_start: Callable[[int], None] | None = None,
        on_result: Callable[[TargetResult], None] | None = None,
    ) -> None:
        if options.concurrency < 1 or options.per_app < 1:
            raise ValueError("concurrency and per_app must be >= 1")
        self.targets = list(targets)
        self.options = options
        self.runtime = runtime or Runtime()
        base = client_options or ClientOptions()
        # the engine owns retries; the pool is as large as the global cap (never the bottleneck)
        self.client_options = dataclasses.replace(
            base,
            retry=RetryPolicy(max_retries=0),
            max_connections=options.concurrency,
            max_keepalive_connections=options.concurrency,
            timeout=_http_timeout(options.timeout),
            deadline=None,  # `asyncio.timeout` already bounds each whole attempt
            stream_deadline=None,
        )
        self.policy = RetryPolicy(
            max_retries=options.retries, base_delay=options.base_delay, max_delay=options.max_delay
        )
        self.on_start = on_start
        self.on_result = on_result
        self._headers = {
            "User-Agent": self.client_options.user_agent,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        self.results = [
            TargetResult(i, t.app, t.name, t.profile, t.mode, app_id=t.app_id)
            for i, t in enumerate(self.targets)
        ]
        self.done: set[int] = set()
        self.wall_ms = 0.0
        # base_url -> (the aiohttp transport, its timeout): blocking runs go straight to its session
        self._direct: dict[str, tuple[Any, Any]] = {}

    # -- the fan-out -------------------------------------------------------------------------------
    async def run(self) -> BroadcastResult:
        """Set up (pools: TLS contexts; semaphores), then time the fan-out alone: first task created ->
        last target done. The process-level cost is the caller's to measure (benchmarks do)."""
        clock = self.runtime.clock
        if on_httpx_pool(self.client_options.async_transport, self.client_options.trust_env):
            preload_async_backend()
        global_slots = asyncio.Semaphore(self.options.concurrency)
        # a per-app cap only where it can bite: an app with at most `per_app` targets never waits for
        # it (each target sends one attempt at a time), so `--all` (one target per app) makes none
        per_app: dict[tuple[str, str], int] = {}
        for target in self.targets:
            per_app[target.app_key] = per_app.get(target.app_key, 0) + 1
        app_slots: dict[tuple[str, str], Any] = {
            app: asyncio.Semaphore(self.options.per_app) if count > self.options.per_app else _NO_CAP
            for app, count in per_app.items()
        }
        pools: dict[str, httpx.AsyncClient] = {}
        interrupted = False
        t0 = clock()
        try:
            for target in self.targets:
                if target.base_url not in pools:
                    pools[target.base_url] = self._pool(target.base_url)
            t0 = clock()
            tasks = [
                asyncio.create_task(self._target(i, t, pools[t.base_url], app_slots[t.app_key], global_slots))
                for i, t in enumerate(self.targets)
            ]
            try:
                with quiet_gc():
                    await asyncio.gather(*tasks)
            except asyncio.CancelledError:
                interrupted = True
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                # handled: let asyncio.run return the partial result (3.11+: Task.uncancel)
                uncancel = getattr(asyncio.current_task(), "uncancel", None)
                if uncancel is not None:
                    uncancel()
            self.wall_ms = (clock() - t0) * 1000.0
        finally:
            if not self.wall_ms:
                self.wall_ms = (clock() - t0) * 1000.0
            await asyncio.gather(*(pool.aclose() for pool in pools.values()), return_exceptions=True)
        return self.result(interrupted=interrupted)

    def result(self, *, interrupted: bool) -> BroadcastResult:
        for index, res in enumerate(self.results):
            if index not in self.done:
                res.status = R.CANCELLED
                res.error = {"code": "cancelled", "message": "interrupted before it finished"}
                res.error["http_status"] = None
        return BroadcastResult(list(self.results), self.wall_ms, interrupted=interrupted)

    def _pool(self, base_url: str) -> httpx.AsyncClient:
        """ONE AsyncClient for every target of this server (tests inject their own transport)."""
        options = self.client_options
        transport = options.async_transport  # given: the console's (--all: its connections reused)
        if transport is None and not env_proxied(options.trust_env):
            transport = fanout_transport(
                self.options.concurrency, verify=options.verify, trust_env=options.trust_env
            )
            options = dataclasses.replace(options, async_transport=transport)
        if hasattr(transport, "send_direct") and not logging.getLogger("difyctl.http").isEnabledFor(
            logging.DEBUG  # --verbose: every request through the client's redacting trace
        ):
            from difyctl.broadcast.aio_transport import client_timeout

            # connect bounded as on the client path; no read timer per response: `asyncio.timeout`
            # (the attempt's whole deadline) always ends first (the read timeout is timeout + 5 s)
            timeout = {**options.timeout.as_dict(), "read": None}
            self._direct[base_url] = (transport, client_timeout(timeout))
        return build_async_client(_service_root(base_url), options, self.runtime)  # the service client's

    # -- one target --------------------------------------------------------------------------------
    async def _target(
        self,
        index: int,
        target: Target,
        pool: httpx.AsyncClient,
        app_slot: asyncio.Semaphore | contextlib.nullcontext[None],
        global_slot: asyncio.Semaphore,
    ) -> None:
        res = self.results[index]
        clock = self.runtime.clock
        started: float | None = None
        cancelled = False
        try:
            if target.pending is not None:  # --all: the key lookup of this target, run as soon as done
                target = await target.pending()
            if target.preset_error:
                res.status = R.ERROR
                code, status = target.preset_code or "no_key", target.preset_status
                res.error = {"code": code, "message": target.preset_error, "http_status": status}
                res.failure_exit = target.preset_exit
                return
            prepared = _Prepared(target, pool, target.mode, dict(target.inputs))
            while True:
                res.attempts += 1
                async with app_slot, global_slot:
                    if started is None:
                        started = clock()
                        if self.on_start is not None:
                            self.on_start(index)
                    attempt_t0 = clock()
                    outcome = await self._attempt(prepared)
                    res.latency_ms = (clock() - attempt_t0) * 1000.0
                res.mode = prepared.mode or res.mode
                if outcome.retry and res.attempts <= self.policy.max_retries:
                    await self.runtime.asleep(self._delay(res.attempts - 1, outcome.exc))
                    continue
                self._fill(res, outcome)
                return
        except asyncio.CancelledError:
            cancelled = True
            raise
        except Exception as exc:  # a bug must not lose the target nor leak the other tasks
            res.status = R.ERROR
            res.error = {"code": "unexpected", "message": f"{type(exc).__name__}: {exc}", "http_status": None}
        finally:
            if not cancelled:
                if started is not None:
                    res.elapsed_ms = (clock() - started) * 1000.0
                self.done.add(index)
                if self.on_result is not None:
                    self.on_result(res)

    async def _attempt(self, prepared: _Prepared) -> _Outcome:
        prepared.streamed = None  # never the answer of an earlier attempt
        try:
            if _timeout is None:  # pragma: no cover - Python 3.10
                run = await asyncio.wait_for(self._send(prepared), self.options.timeout)
            else:  # 3.11+: no extra task (nor coroutine) per attempt
                async with _timeout(self.options.timeout):
                    run = await self._send(prepared)
        except asyncio.TimeoutError:  # bare (no message): say what was waited for and which option bounds it
            seconds = self.options.timeout
            exc = DifyTimeoutError(f"no complete answer in {seconds:g} s (--timeout)")
            return _Outcome(exc=exc, partial=_answer_of(prepared.streamed))
        except (DifyError, DifyctlError) as exc:
            return _Outcome(exc=exc, retry=_retryable(exc), partial=_answer_of(prepared.streamed))
        return _Outcome(run=run)

    def _service(self, prepared: _Prepared) -> AsyncServiceClient:
        if prepared.service is None:
            target = prepared.target
            prepared.service = AsyncServiceClient(
                target.base_url, target.api_key, self.client_options, self.runtime, http_client=prepared.pool
            )
        return prepared.service

    async def _send(self, prepared: _Prepared) -> RunResult:
        """One attempt. A blocking run on the aiohttp transport goes straight to its session, from a
        pre-parsed URL: the same request, answers and errors as `service.run` (parse_blocking,
        make_status_error, the wrapped transport errors) without httpx's per-request client layer
        (~half the client CPU), in this one coroutine (each frame in flight is memory x N)."""
        opts = self.options
        if prepared.mode is None:
            prepared.mode = (await self._service(prepared).info()).mode
        mode = prepared.mode
        # parameters cost one request: needed to put QUERY into a workflow/completion input, and to
        # refuse a missing required input that a streaming chatflow would silently hang on (fixture 039)
        if not prepared.checked and (mode not in CHAT_MODES or opts.stream):
            params = await self._service(prepared).parameters()
            prepared.inputs = fill_query_input(params, mode, opts.query, prepared.inputs)
            check_inputs(params, mode, opts.query, prepared.inputs)
            prepared.checked = True
        direct = self._direct.get(prepared.target.base_url)
        if direct is None or opts.stream or mode in ALWAYS_STREAM:
            if opts.stream or mode in ALWAYS_STREAM:
                prepared.streamed = RunAccumulator(mode, self.runtime.clock)
            return await self._service(prepared).run(
                mode,
                query=opts.query,
                inputs=prepared.inputs,
                user=opts.user,
                stream=opts.stream,
                acc=prepared.streamed,
            )
        transport, timeout = direct
        inputs = prepared.inputs
        spec = run_spec(
            mode, query=opts.query, inputs=inputs, user=opts.user, conversation_id=None, streaming=False
        )
        url = transport.url(_service_root(prepared.target.base_url), spec.path)
        body = json.dumps(spec.json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        headers = {**self._headers, "Authorization": f"Bearer {prepared.target.api_key}"}
        clock = self.runtime.clock
        t0 = clock()
        try:
            status, raw_headers, content = await transport.send_direct("POST", url, headers, body, timeout)
        except httpx.TransportError as exc:
            raise wrap_transport_error(exc) from exc
        if 200 <= status < 300 and content.strip():
            try:
                answer = json.loads(content)
            except ValueError:
                pass
            else:
                return parse_blocking(mode, answer, (clock() - t0) * 1000.0)
        response = httpx.Response(
            status, headers=raw_headers, content=content, request=httpx.Request("POST", str(url))
        )
        answer = self._service(prepared)._process_response(response, spec)
        return parse_blocking(mode, answer, (clock() - t0) * 1000.0)

    def _delay(self, attempt: int, exc: BaseException | None) -> float:
        headers = getattr(exc, "retry_headers", None) or {}
        response = httpx.Response(429, headers=headers) if headers else None
        return delay_for(attempt, response, self.policy, self.runtime.rng, self.runtime.now())

    @staticmethod
    def _fill(res: TargetResult, outcome: _Outcome) -> None:
        run, exc = outcome.run, outcome.exc
        if run is not None:
            res.mode = run.mode
            res.answer, res.outputs = run.answer, run.outputs
            res.latency_ms = run.latency_ms if run.latency_ms is not None else res.latency_ms
            res.ttft_ms = run.ttft_ms
            usage = run.usage
            res.tokens = {
                "prompt": usage.prompt_tokens,
                "completion": usage.completion_tokens,
                "total": usage.total_tokens,
            }
            res.price, res.currency = usage.total_price, usage.currency
            res.conversation_id, res.workflow_run_id = run.conversation_id, run.workflow_run_id
            if run.ok:
                res.status, res.error = R.OK, None
            else:  # a workflow that ended failed/stopped with HTTP 200
                res.status = R.ERROR
                message = run.error or f"workflow run {run.status}"
                res.error = {"code": f"workflow_{run.status}", "message": message, "http_status": 200}
            return
        assert exc is not None
        res.error = _error_doc(exc)
        res.failure_exit = getattr(exc, "exit_code", None)
        partial = getattr(exc, "partial_answer", outcome.partial)
        if partial is not None:
            res.answer, res.partial = partial, True
        res.status = _status_of(exc)


def _answer_of(streamed: RunAccumulator | None) -> str | None:
    """What a cut stream had answered (None: no answer text arrived, or nothing was streamed)."""
    return (streamed.answer or None) if streamed is not None else None


_timeout: Any = getattr(asyncio, "timeout", None)  # 3.11+
_NO_CAP: contextlib.nullcontext[None] = contextlib.nullcontext()  # stateless: one for every uncapped app


def _service_root(base_url: str) -> str:
    """The server's root, as the service client reads a base URL: `https://api.dify.ai/v1/` (as Dify's
    docs write it) and `https://api.dify.ai` name the same API."""
    root = base_url.rstrip("/")
    prefix = AsyncServiceClient.api_prefix
    return root[: -len(prefix)] if prefix and root.endswith(prefix) else root


def _status_of(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError | DifyTimeoutError):
        return R.TIMEOUT
    if isinstance(exc, RateLimitError):
        return R.RATE_LIMITED
    return R.ERROR


def _retryable(exc: BaseException) -> bool:
    """429 and 5xx answered before the run started, or a request that never left the machine."""
    if isinstance(exc, RateLimitError | ServerError):
        return True
    if isinstance(exc, DifyConnectionError) and not isinstance(exc, DifyTimeoutError):
        cause = exc.__cause__
        return cause is not None and not was_sent(cause)
    return False


def _http_timeout(timeout: float) -> httpx.Timeout:
    # wait_for is the authority; httpx only bounds the connect and keeps a slack on reads
    return httpx.Timeout(timeout + 5.0, connect=min(5.0, timeout), pool=None)


async def broadcast(targets: Sequence[Target], options: BroadcastOptions, **hooks: Any) -> BroadcastResult:
    """The fan-out in a running loop; `hooks`: client_options, runtime, on_start, on_result."""
    return await Fanout(targets, options, **hooks).run()


def run_broadcast(targets: Sequence[Target], options: BroadcastOptions, **hooks: Any) -> BroadcastResult:
    """The synchronous entry point of the CLI: its own event loop, closed clean on return."""
    fanout = Fanout(targets, options, **hooks)
    try:
        return asyncio.run(fanout.run())
    except KeyboardInterrupt:  # Python 3.10: the interrupt escapes the loop; what finished is kept
        return fanout.result(interrupted=True)
