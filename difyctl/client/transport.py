"""httpx Client/AsyncClient construction: timeouts, pooling, the redacting trace, error wrapping.

Everything that depends on time or chance is in `Runtime`, so tests inject a fake clock/sleep.
The trace goes to the `difyctl.http` logger at DEBUG (the CLI's --verbose turns it on); it logs
method, path (never the query), status and elapsed time, and headers only through
`redact_headers`. Bodies are never logged: they can hold passwords, keys and secret variables.
"""

from __future__ import annotations

import logging
import os
import random
import ssl
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from difyctl import __version__
from difyctl.client.errors import PROXY_AUTH_HINT, DifyConnectionError, DifyTimeoutError, ProxyRefusedError
from difyctl.client.retry import DEFAULT_RETRY, RetryPolicy
from difyctl.redact import redact_headers

logger = logging.getLogger("difyctl.http")

_T0 = "difyctl.t0"


async def _asyncio_sleep(seconds: float) -> None:
    import asyncio  # imported lazily: most commands never go async

    await asyncio.sleep(seconds)


@dataclass(frozen=True)
class Runtime:
    """The injected effects: tests pass fakes, production the defaults."""

    sleep: Callable[[float], None] = time.sleep
    asleep: Callable[[float], Awaitable[None]] = _asyncio_sleep
    clock: Callable[[], float] = time.monotonic  # durations (latency, ttft)
    now: Callable[[], float] = time.time  # wall clock (Retry-After dates)
    rng: Callable[[], float] = random.random  # backoff jitter


DEFAULT_DEADLINE_S = 300.0
# a streamed run may take as long as the server lets a run take: Dify's WORKFLOW_MAX_EXECUTION_TIME
# defaults to 1200 s (api/configs/feature/__init__.py), then the server ends the run itself; a minute
# more for its last events. Past that only a stuck stream is left (pings and nothing else)
DEFAULT_STREAM_DEADLINE_S = 1260.0


def default_timeout() -> httpx.Timeout:
    # connect fast, but let a blocking run take a minute; streams get ping frames every ~10 s
    return httpx.Timeout(60.0, connect=5.0)


USER_AGENT_PRODUCT = "difyctl-ops"


def timeout_for(seconds: float) -> httpx.Timeout:
    """`--timeout S`: S between two reads (and for the whole response, see ClientOptions.deadline);
    connecting never waits longer than the default 5 s, nor longer than S."""
    return httpx.Timeout(seconds, connect=min(5.0, seconds))


class DeadlineExceeded(httpx.ReadTimeout):
    """The response went on for longer than the request's total deadline (a body that never ends or
    arrives a byte at a time: the read timeout between bytes never fires then)."""

    def __init__(self, deadline: float, request: httpx.Request) -> None:
        super().__init__(f"no complete response within {deadline:g} s", request=request)
        self.deadline = deadline


class _DeadlineStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that raises DeadlineExceeded once `clock()` passes `until` between chunks."""

    def __init__(
        self, inner: Any, until: float, deadline: float, clock: Callable[[], float], request: Any
    ) -> None:
        self._inner, self._until, self._deadline, self._clock, self._request = (
            inner,
            until,
            deadline,
            clock,
            request,
        )

    def _check(self) -> None:
        if self._clock() > self._until:
            raise DeadlineExceeded(self._deadline, self._request)

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            self._check()
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._check()
            yield chunk

    def close(self) -> None:
        self._inner.close()

    async def aclose(self) -> None:
        await self._inner.aclose()


def bound_body(
    response: httpx.Response, started: float, deadline: float | None, clock: Callable[[], float]
) -> None:
    """Make reading `response`'s body raise DeadlineExceeded past `started + deadline`."""
    if deadline is None:
        return
    if clock() - started > deadline:
        raise DeadlineExceeded(deadline, response.request)
    response.stream = _DeadlineStream(response.stream, started + deadline, deadline, clock, response.request)


@dataclass(frozen=True)
class ClientOptions:
    timeout: httpx.Timeout = field(default_factory=default_timeout)
    # the whole response (headers and body) of a request; retries only start inside it
    deadline: float | None = DEFAULT_DEADLINE_S
    # a streamed answer's whole: Dify's pings every ~10 s reset the read timeout of a stuck run, but a
    # real one may stream for as long as the server allows a run (`--timeout` sets both)
    stream_deadline: float | None = DEFAULT_STREAM_DEADLINE_S
    retry: RetryPolicy = DEFAULT_RETRY
    transport: httpx.BaseTransport | None = None  # tests: httpx.MockTransport(handler)
    async_transport: httpx.AsyncBaseTransport | None = None
    # never "difyctl/...": Dify >= 1.15 reserves it for the official TypeScript CLI and answers 426 to
    # versions below its minimum (recording 1.16.0/047; DESIGN.md "Global behaviour")
    user_agent: str = f"{USER_AGENT_PRODUCT}/{__version__}"
    verify: bool | str = True  # False, or a CA bundle path for self-signed servers
    max_connections: int = 100  # async fan-out: keep >= the broadcast concurrency
    max_keepalive_connections: int = 100
    trust_env: bool = True  # HTTP(S)_PROXY, SSL_CERT_FILE ...

    @property
    def limits(self) -> httpx.Limits:
        return httpx.Limits(
            max_connections=self.max_connections, max_keepalive_connections=self.max_keepalive_connections
        )


_CONTEXTS: dict[tuple[bool | str, bool], ssl.SSLContext] = {}
_CA_LOCK = threading.Lock()


class _DeferredCAContext(ssl.SSLContext):
    """httpx's default context (`verify=True`), its CA bundle loaded at the first TLS handshake."""

    _load_ca: Callable[[ssl.SSLContext], None] | None = None

    def _ready(self) -> None:
        with _CA_LOCK:
            load, self._load_ca = self._load_ca, None
            if load is not None:
                load(self)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:  # sync httpcore
        self._ready()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:  # asyncio, anyio (async pools, aiohttp)
        self._ready()
        return super().wrap_bio(*args, **kwargs)


def _load_default_ca(trust_env: bool) -> Callable[[ssl.SSLContext], None]:
    """What httpx.create_ssl_context(verify=True) loads: SSL_CERT_FILE / SSL_CERT_DIR, else certifi."""

    def load(ctx: ssl.SSLContext) -> None:
        if trust_env and os.environ.get("SSL_CERT_FILE"):
            ctx.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
        elif trust_env and os.environ.get("SSL_CERT_DIR"):
            ctx.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
        else:
            import certifi

            ctx.load_verify_locations(cafile=certifi.where())

    return load


def ssl_context_for(verify: bool | str, trust_env: bool) -> ssl.SSLContext:
    """ONE context per process and setting, shared by every client (each httpx client used to build
    its own: 20 ms of CPU on a quiet machine, 140 ms at load 4, twice per broadcast before its first
    request). With `verify=True` the CA bundle loads only when a TLS handshake needs it, so a command
    against an http:// server never pays for it; the context is httpx's default otherwise (TLS client,
    hostname checked, certificate required)."""
    key = (verify, trust_env)
    found = _CONTEXTS.get(key)
    if found is None:
        if verify is True:
            found = _DeferredCAContext(ssl.PROTOCOL_TLS_CLIENT)
            found._load_ca = _load_default_ca(trust_env)
            keylog = os.environ.get("SSLKEYLOGFILE")
            if keylog and not sys.flags.ignore_environment:
                found.keylog_filename = keylog
        else:
            found = httpx.create_ssl_context(verify=verify, trust_env=trust_env)
        found = _CONTEXTS.setdefault(key, found)
    return found


def _no_store_cookies() -> CookieJar:
    """A jar that stores nothing: auth strategies send their own Cookie header, and a
    Set-Cookie from one response must never leak into the next request."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


_ENV_PROXY = "difyctl.env_proxy"  # the client routes through the environment's proxy variables


def _on_request(request: httpx.Request, clock: Callable[[], float], env_proxy: bool = False) -> None:
    request.extensions[_T0] = clock()
    if env_proxy:
        request.extensions[_ENV_PROXY] = True
    if logger.isEnabledFor(logging.DEBUG):
        headers = redact_headers(dict(request.headers))
        logger.debug("-> %s %s headers=%s", request.method, request.url.path, headers)


def _on_response(response: httpx.Response, clock: Callable[[], float]) -> None:
    request = response.request
    t0 = request.extensions.get(_T0)
    elapsed = (clock() - t0) * 1000.0 if isinstance(t0, float) else -1.0
    logger.debug(
        "<- %s %s %d (%.1f ms) x-version=%s",
        request.method,
        request.url.path,
        response.status_code,
        elapsed,
        response.headers.get("x-version", "-"),
    )


def _common_kwargs(base_url: str, options: ClientOptions, headers: dict[str, str] | None) -> dict[str, Any]:
    return {
        "base_url": base_url.rstrip("/"),
        "timeout": options.timeout,
        "headers": {"User-Agent": options.user_agent, "Accept": "application/json", **(headers or {})},
        "cookies": _no_store_cookies(),
        "follow_redirects": False,
        "trust_env": options.trust_env,
        "limits": options.limits,
        "verify": ssl_context_for(options.verify, options.trust_env),
    }


def build_client(
    base_url: str,
    options: ClientOptions,
    runtime: Runtime,
    *,
    auth: httpx.Auth | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Client:
    clock = runtime.clock
    env_proxy = options.trust_env and options.transport is None  # httpx ignores them with a transport
    return httpx.Client(
        auth=auth,
        transport=options.transport,
        event_hooks={
            "request": [lambda r: _on_request(r, clock, env_proxy)],
            "response": [lambda r: _on_response(r, clock)],
        },
        **_common_kwargs(base_url, options, headers),
    )


def build_async_client(
    base_url: str,
    options: ClientOptions,
    runtime: Runtime,
    *,
    auth: httpx.Auth | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    clock = runtime.clock
    env_proxy = options.trust_env and options.async_transport is None

    async def on_request(request: httpx.Request) -> None:
        _on_request(request, clock, env_proxy)

    async def on_response(response: httpx.Response) -> None:
        _on_response(response, clock)

    return httpx.AsyncClient(
        auth=auth,
        transport=options.async_transport,
        event_hooks={"request": [on_request], "response": [on_response]},
        **_common_kwargs(base_url, options, headers),
    )


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    for needle, reason in (
        ("refused", "connection refused"),
        ("name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("temporary failure in name resolution", "unknown host"),
        ("certificate", "TLS certificate verification failed"),
        ("reset by peer", "connection reset by the server"),
    ):
        if needle in lowered:
            return reason
    return text


def _origin(url: httpx.URL) -> str:
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    port = f":{url.port}" if url.port is not None and url.port != default_port else ""
    return f"{url.scheme}://{url.host}{port}"


def proxy_for(url: httpx.URL) -> str | None:
    """The proxy the environment routes `url` through (as httpx does with trust_env), without any
    user:password part; None when there is none or NO_PROXY exempts the host."""
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    if not proxies or urllib.request.proxy_bypass_environment(url.host, proxies):  # type: ignore[attr-defined]
        return None
    raw = proxies.get(url.scheme) or proxies.get("all")
    if not raw:
        return None
    # scheme://host:port only, cut by hand: a password pasted unescaped ('@', '#', '/', '?' in it) made
    # URL parsing take its tail for the host and a fragment, shown as "http://ss#w:rd@proxy:3128"
    scheme, sep, rest = raw.strip().partition("://")
    if not sep:  # host:port alone, as curl takes it
        scheme, rest = "http", scheme
    host = rest.rsplit("@", 1)[-1].split("/", 1)[0]  # the userinfo ends at the last '@'
    return f"{scheme}://{host}" if host else "(unparseable proxy URL)"


def _read_timeout(request: httpx.Request | None, attempts: int = 1) -> str:
    timeouts = request.extensions.get("timeout") if request is not None else None
    read = timeouts.get("read") if isinstance(timeouts, dict) else None
    waited = f"in {read:g} s" if isinstance(read, int | float) else "before the read timeout"
    return f"{waited}, {attempts} times" if attempts > 1 else waited  # retried: each waited that long


_RUN_PATHS = ("/chat-messages", "/completion-messages", "/workflows/run")  # the service API's runs
_SLOW_HINT = "raise --timeout (env DIFYCTL_TIMEOUT) if the server is only slow"


def wrap_transport_error(
    exc: httpx.TransportError, request: httpx.Request | None = None, *, attempts: int = 1
) -> DifyConnectionError:
    """Turn an httpx transport failure into our error tree, naming the server (never the query).
    `attempts`: how many times the request was sent (a read timeout then says so)."""
    if request is None:
        try:
            request = exc.request
        except RuntimeError:
            request = None
    origin = _origin(request.url) if request is not None else "the server"
    where = f"{origin}{request.url.path}" if request is not None else origin
    proxy = proxy_for(request.url) if request is not None and request.extensions.get(_ENV_PROXY) else None
    tries = f" after {attempts} attempts" if attempts > 1 else ""  # retried: say so, as a read timeout does
    if proxy and isinstance(exc, httpx.ProxyError) and str(exc).startswith("407"):
        # httpcore's "407 Proxy Authentication Required" for a CONNECT (an https:// server)
        return ProxyRefusedError(
            f"the proxy {proxy} refused to connect to {origin}: 407 Proxy Authentication Required",
            url=origin,
            hint=PROXY_AUTH_HINT,
        )
    if proxy and isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.ProxyError):
        return DifyConnectionError(
            f"cannot reach {origin} through the proxy {proxy}{tries}: {_reason(exc)}",
            url=origin,
            hint="check HTTPS_PROXY / HTTP_PROXY / ALL_PROXY, or exempt the server with NO_PROXY",
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return DifyTimeoutError(
            f"timed out connecting to {origin}{tries}",
            url=origin,
            hint="nothing accepted the connection: check the base URL and that no firewall drops it "
            "(--verbose shows each request)",
        )
    if isinstance(exc, httpx.PoolTimeout):
        return DifyTimeoutError(
            f"timed out waiting for a free connection to {origin}{tries}", url=origin, hint=_SLOW_HINT
        )
    if isinstance(exc, DeadlineExceeded):
        return DifyTimeoutError(
            f"{where} was still answering after {exc.deadline:g} s (a response that never ends or "
            "trickles in); gave up",
            url=where,
            hint=_SLOW_HINT,
        )
    if isinstance(exc, httpx.ReadTimeout):
        run = request is not None and request.url.path.endswith(_RUN_PATHS)
        return DifyTimeoutError(
            f"no answer from {where} {_read_timeout(request, attempts)}",
            url=where,
            hint="raise --timeout (env DIFYCTL_TIMEOUT); a streaming run that waits on a missing "
            "required input never answers"
            if run
            else _SLOW_HINT,
        )
    if isinstance(exc, httpx.TimeoutException):
        return DifyTimeoutError(f"timed out talking to {where}{tries}", url=where, hint=_SLOW_HINT)
    if isinstance(exc, httpx.ConnectError):
        return DifyConnectionError(
            f"cannot connect to {origin}{tries}: {_reason(exc)}",
            url=origin,
            hint="check the base URL and that the server is running",
        )
    return DifyConnectionError(
        f"connection to {origin} failed{tries}: {_reason(exc)}",
        url=where,
        hint="the server (or a proxy in front of it) dropped the connection without an answer: "
        "try again; --verbose shows each request",
    )
