"""The transport under broadcast's ONE shared `httpx.AsyncClient` per base_url: a striped pool.

httpcore 1.0.x (`AsyncConnectionPool._assign_requests_to_connections`, connection_pool.py ~l.294)
re-scans every connection for every idle connection each time a request enters or leaves the pool:
`len([c.is_idle() for c in self._connections])` inside a loop over the connections, i.e. O(C^2) per
event, plus a `has_expired()` socket poll per connection. Measured at 200 ms emulated latency:
100 targets at concurrency 100 with the /v1/info probe took 4.8 s (3.2 s of client CPU), and 1000
targets at concurrency 100 took 26.6 s (13 s of CPU) through one plain pool. So the one client keeps
one pool per *stripe* of about `STRIPE_CONNECTIONS` connections and hands requests round-robin to the
stripes: the same client, auth and hooks. 1000 targets then cost ~1.0 s of client CPU (stripes of
16: 1.6 s, 8: 1.2 s, 4: 1.05 s, 2 or 1: ~0.95 s: 4 keeps the stripe count low for little loss).
Each stripe may open up to `concurrency` connections, so the global semaphore stays the only cap and
a burst on one stripe never queues.

`fanout_transport(...)` is what broadcast, health and the console fan-outs use: the aiohttp transport
(`aio_transport.py`: about half the client CPU per request; aiohttp is a default dependency) unless
`DIFYCTL_HTTP=httpx` is set (or aiohttp is missing), else the striped httpx pool. aiohttp is imported
only here, when a fan-out builds its transport (never at CLI start-up).
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx

from difyctl.client.transport import ssl_context_for

if TYPE_CHECKING:
    from difyctl.client.transport import ClientOptions

STRIPE_CONNECTIONS = 4


class StripedTransport(httpx.AsyncBaseTransport):
    def __init__(self, stripes: list[httpx.AsyncBaseTransport]) -> None:
        if not stripes:
            raise ValueError("at least one stripe")
        self.stripes = stripes
        self._next = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        stripe = self.stripes[self._next]
        self._next = (self._next + 1) % len(self.stripes)
        return await stripe.handle_async_request(request)

    async def aclose(self) -> None:
        for stripe in self.stripes:
            await stripe.aclose()


def striped_transport(
    concurrency: int, *, verify: bool | str = True, trust_env: bool = True
) -> StripedTransport:
    count = max(1, math.ceil(concurrency / STRIPE_CONNECTIONS))
    ssl_context = ssl_context_for(verify, trust_env)  # one per process, CA bundle loaded on first use
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    stripes: list[httpx.AsyncBaseTransport] = [
        httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits, trust_env=trust_env) for _ in range(count)
    ]
    return StripedTransport(stripes)


def aiohttp_enabled() -> bool:
    """aiohttp installed and not switched off with `DIFYCTL_HTTP=httpx` (looked up, not imported)."""
    if os.environ.get("DIFYCTL_HTTP", "").strip().lower() == "httpx":
        return False
    return importlib.util.find_spec("aiohttp") is not None


def fanout_transport(
    concurrency: int, *, verify: bool | str = True, trust_env: bool = True
) -> httpx.AsyncBaseTransport:
    if aiohttp_enabled():
        from difyctl.broadcast.aio_transport import AiohttpTransport

        return AiohttpTransport(concurrency, verify=verify, trust_env=trust_env)
    return striped_transport(concurrency, verify=verify, trust_env=trust_env)


def env_proxied(trust_env: bool) -> bool:
    """HTTP(S)_PROXY / ALL_PROXY set (and honoured). httpx drops its proxy mounts once a transport is
    handed to the client, so a fan-out then keeps httpx's own pool: slower, but never silently direct."""
    if not trust_env:
        return False
    import urllib.request

    return any(scheme in ("http", "https", "all") for scheme in urllib.request.getproxies())


def fanout_options(options: ClientOptions, concurrency: int) -> ClientOptions:
    """Client options for an async fan-out of `concurrency` requests (broadcast, health, and every
    console fan-out: key lookups, app-list pages, snapshot --all): the pool sized to the concurrency
    over `fanout_transport` (unless a test injected its own transport)."""
    import dataclasses

    size = max(concurrency, 10)
    options = dataclasses.replace(options, max_connections=size, max_keepalive_connections=size)
    if options.async_transport is None and not env_proxied(options.trust_env):
        transport = fanout_transport(size, verify=options.verify, trust_env=options.trust_env)
        options = dataclasses.replace(options, async_transport=transport)
    if on_httpx_pool(options.async_transport, options.trust_env):
        preload_async_backend()
    return options


def on_httpx_pool(transport: object | None, trust_env: bool) -> bool:
    """Will a fan-out over `transport` run on httpx's own pool (anyio: its backend is worth loading
    first) rather than the aiohttp transport? None: the transport `fanout_transport` will make.
    Asked of the object (its aiohttp-only method), never of the module, which the warm-up thread
    may still be importing."""
    if transport is None:
        return not aiohttp_enabled() or env_proxied(trust_env)
    return not hasattr(transport, "send_direct")


@contextlib.contextmanager
def quiet_gc(threshold: int = 50_000) -> Iterator[None]:
    """During a fan-out: the cyclic GC ignores everything alive before it (`gc.freeze`: modules,
    targets, pools) and collects the youngest generation every `threshold` allocations, not every 700.
    Measured (benchmarks/RESULTS-fanout-cpu.md): with N requests in flight each young collection
    re-scans every live request, so the default thresholds cost ~18 % of the client CPU at N = 1000.
    Garbage is still collected (thresholds raised, not the GC disabled), and all is restored after."""
    import gc

    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(old[0], threshold), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


_ASYNC_BACKEND = ("anyio._backends._asyncio", "httpcore._backends.anyio")


def preload_async_backend() -> None:
    """httpcore imports anyio's asyncio backend on the first request; do it before the clock starts
    (and before 100 requests wait behind one import on the event loop)."""
    import importlib

    for name in _ASYNC_BACKEND:
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - another httpcore backend layout
            pass


_PREFETCH: list[str] = []


def prefetch(*modules: str) -> None:
    """Name modules for the next `warm_up` to import (a command that knows what its fan-out will need,
    before the resolver knows when the network wait begins)."""
    _PREFETCH.extend(modules)


def warm_up(*modules: str) -> None:
    """Import the fan-out's modules in a background thread while the command waits on the network
    (login, the app list): `import aiohttp` alone costs 0.1-0.4 s, which would otherwise sit between
    the login and the first console fan-out. Call it when the main thread is about to wait: the
    imports hold the GIL, so started earlier they slow down the main thread's own start-up (measured:
    the first request of `broadcast --all` went out ~60 ms later). A later import of the same module
    simply waits for this one (the import lock); a failure here is left for that import."""
    import threading

    # the console's (the login's) transport, loaded here first: once the thread runs, it waits for the GIL
    import httpcore  # noqa: F401

    one_malloc_arena()  # before the first thread of the process allocates anything
    # the transport first: the main thread needs it for its first console fan-out (the list)
    names = ["difyctl.broadcast.aio_transport"] if aiohttp_enabled() else list(_ASYNC_BACKEND)
    names += [*_PREFETCH, *modules]
    _PREFETCH.clear()

    def run() -> None:
        import importlib

        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001,S112 - reported by the real import, on the main thread
                continue

    threading.Thread(target=run, name="difyctl-warm-up", daemon=True).start()


_M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
_ARENA_SET: list[bool] = []


def one_malloc_arena() -> None:
    """One malloc arena for the whole process (glibc's `M_ARENA_MAX` = 1), set once, before threads
    start. glibc gives each thread that allocates an arena of its own, and what an arena once held
    stays resident: the warm-up's imports and the console's app list, each in its own thread, cost
    ~6 MB of peak RSS at `broadcast --all -c 1000` (74 -> 68 MB measured with MALLOC_ARENA_MAX=1).
    Python threads allocate holding the GIL, so one arena costs them no lock contention. An explicit
    MALLOC_ARENA_MAX is the user's; without glibc (macOS, musl) nothing is done."""
    if _ARENA_SET or "MALLOC_ARENA_MAX" in os.environ:
        return
    _ARENA_SET.append(True)
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (ImportError, OSError, AttributeError, TypeError):  # no ctypes, libc handle (Windows), mallopt
        return
    mallopt(_M_ARENA_MAX, 1)
