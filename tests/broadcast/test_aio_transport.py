"""The optional aiohttp transport under the one httpx client: streaming, errors, timeouts, the cap,
and broadcast's reliability scenarios run over both transports (aiohttp and the striped httpx pool).

The raw servers below are asyncio.start_server on 127.0.0.1, scripted byte by byte; none sleeps
beyond a few milliseconds (ordering is driven by events, not by time)."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

aiohttp = pytest.importorskip("aiohttp")

import httpx  # noqa: E402

from difyctl.broadcast import pool as pool_mod  # noqa: E402
from difyctl.broadcast.aio_transport import AiohttpTransport  # noqa: E402
from difyctl.broadcast.engine import BroadcastOptions, broadcast  # noqa: E402
from difyctl.broadcast.targets import Target  # noqa: E402
from difyctl.client.sse import aiter_events  # noqa: E402
from tests.broadcast import test_engine as engine_tests  # noqa: E402
from tests.broadcast.conftest import Sleeps  # noqa: E402

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, dict[str, Any]], Awaitable[None]]


class RawServer:
    """One scripted HTTP/1.1 server; every connection and handler is closed/cancelled at the end."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.connections = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.append(writer)
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = [tuple(x.split(": ", 1)) for x in lines[1:] if x]
                length = int({k.lower(): v for k, v in headers}.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                request = {"method": method, "target": target, "headers": headers, "body": body}
                self.requests.append(request)
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    await self.handler(reader, writer, request)
                finally:
                    self.in_flight -= 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)


def response(status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers or [])]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@pytest.fixture
async def aio() -> AsyncIterator[AiohttpTransport]:
    transport = AiohttpTransport(8)
    yield transport
    await transport.aclose()


def client(url: str, transport: httpx.AsyncBaseTransport, **kw: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, transport=transport, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed: nothing listens there


# -- the wire ---------------------------------------------------------------------------------------


async def test_headers_and_body_cross_both_ways_untouched(aio: AiohttpTransport) -> None:
    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: dict[str, Any]) -> None:
        extra = [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Version", "1.13.0")]
        w.write(response(201, b'{"ok": true}', [("Content-Type", "application/json"), *extra]))
        await w.drain()

    async with RawServer(handler) as srv, client(srv.url, aio, headers={"User-Agent": "difyctl/x"}) as c:
        r = await c.post("/v1/chat-messages?x=1%2F2", json={"q": "é"}, headers={"Authorization": "Bearer k"})
        await c.get("/v1/info")
    assert r.status_code == 201 and r.json() == {"ok": True} and r.http_version == "HTTP/1.1"
    assert r.headers.get_list("set-cookie") == ["a=1", "b=2"] and r.headers["x-version"] == "1.13.0"
    post, get = srv.requests
    assert post["target"] == "/v1/chat-messages?x=1%2F2"  # never re-quoted
    assert json.loads(post["body"]) == {"q": "é"}
    sent = {k.lower(): v for k, v in post["headers"]}
    assert sent["authorization"] == "Bearer k" and sent["user-agent"] == "difyctl/x"
    assert sent["content-length"] == str(len(post["body"])) and sent["content-type"] == "application/json"
    names = [k.lower() for k, _ in get["headers"]]
    assert "content-type" not in names and len(names) == len(set(names))  # aiohttp added nothing
    assert srv.connections == 1  # kept alive


async def test_gzip_is_decoded_once_by_httpx(aio: AiohttpTransport) -> None:
    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: dict[str, Any]) -> None:
        w.write(response(200, gzip.compress(b'{"a": 1}'), [("Content-Encoding", "gzip")]))
        await w.drain()

    async with RawServer(handler) as srv, client(srv.url, aio) as c:
        r = await c.get("/")
    assert r.json() == {"a": 1}


async def test_sse_arrives_chunk_by_chunk(aio: AiohttpTransport) -> None:
    """The server sends the next event only after the client has decoded the previous one: a
    transport that buffered the body would never finish (guarded by a 5 s timeout)."""
    got_one = asyncio.Event()

    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: dict[str, Any]) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        w.write(chunk(b"event: ping\n\n" + sse({"event": "message", "answer": "Hel"})))
        await w.drain()
        await got_one.wait()
        w.write(chunk(sse({"event": "message", "answer": "lo"})) + chunk(sse({"event": "message_end"})))
        w.write(b"0\r\n\r\n")
        await w.drain()

    events = []

    async def read(c: httpx.AsyncClient) -> None:
        async with c.stream("POST", "/v1/chat-messages", json={}) as r:
            async for event in aiter_events(r.aiter_bytes()):
                events.append(event)
                got_one.set()

    async with RawServer(handler) as srv, client(srv.url, aio) as c:
        await asyncio.wait_for(read(c), 5)
    assert [e.data.get("answer") for e in events] == ["Hel", "lo", None]


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
async def test_a_cut_body_surfaces_as_remote_protocol_error(aio: AiohttpTransport, framing: str) -> None:
    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: dict[str, Any]) -> None:
        if framing == "chunked":
            w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(sse({"answer": "Hel"})))
        else:
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + sse({"answer": "Hel"}))
        await w.drain()
        w.close()

    received: list[bytes] = []
    async with RawServer(handler) as srv, client(srv.url, aio) as c:
        async with c.stream("GET", "/") as r:
            with pytest.raises(httpx.RemoteProtocolError):
                async for part in r.aiter_bytes():
                    received.append(part)
    assert b"".join(received) == sse({"answer": "Hel"})  # what came before the cut is delivered


async def test_a_connection_closed_before_the_answer_is_remote_protocol_error(aio: AiohttpTransport) -> None:
    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: dict[str, Any]) -> None:
        w.close()

    async with RawServer(handler) as srv, client(srv.url, aio) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post("/v1/chat-messages", json={})


async def test_connection_refused_is_connect_error(aio: AiohttpTransport) -> None:
    async with client(f"http://127.0.0.1:{free_port()}", aio) as c:
        with pytest.raises(httpx.ConnectError):
            await c.get("/v1/info")


async def test_a_malformed_status_line_is_remote_protocol_error(aio: AiohttpTransport) -> None:
    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: dict[str, Any]) -> None:
        w.write(b"NOT HTTP AT ALL\r\n\r\n")
        await w.drain()

    async with RawServer(handler) as srv, client(srv.url, aio) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get("/")


@pytest.mark.parametrize("where", ["headers", "body"])
async def test_read_timeout(aio: AiohttpTransport, where: str) -> None:
    never = asyncio.Event()

    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: dict[str, Any]) -> None:
        if where == "body":
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            await w.drain()
        await never.wait()

    timeout = httpx.Timeout(5.0, read=0.05)
    async with RawServer(handler) as srv, client(srv.url, aio, timeout=timeout) as c:
        with pytest.raises(httpx.ReadTimeout):
            r = await c.get("/")
            await r.aread()


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (lambda: aiohttp.ConnectionTimeoutError("connect"), httpx.ConnectTimeout),
        (lambda: aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout),
        (lambda: asyncio.TimeoutError(), httpx.ReadTimeout),
        (lambda: aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (lambda: aiohttp.ClientPayloadError("cut"), httpx.RemoteProtocolError),
        (lambda: aiohttp.InvalidURL("nope://x"), httpx.UnsupportedProtocol),
        (lambda: aiohttp.ClientOSError(104, "reset by peer"), httpx.ReadError),
        (lambda: ConnectionResetError(104, "reset"), httpx.ReadError),
    ],
)
def test_aiohttp_errors_become_the_httpx_errors_the_client_wraps(
    raised: Callable[[], BaseException], expected: type[httpx.TransportError]
) -> None:
    from difyctl.broadcast.aio_transport import _to_httpx

    request = httpx.Request("POST", "http://x/v1/chat-messages")
    mapped = _to_httpx(raised(), request)
    assert type(mapped) is expected and mapped.request is request


async def test_a_streamed_request_body_is_sent_whole_with_its_length(aio: AiohttpTransport) -> None:
    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: dict[str, Any]) -> None:
        w.write(response(200, b"{}"))
        await w.drain()

    async def parts() -> AsyncIterator[bytes]:
        yield b'{"a": '
        yield b"1}"

    async with RawServer(handler) as srv, client(srv.url, aio) as c:
        await c.post("/", content=parts())
    (req,) = srv.requests
    sent = {k.lower(): v for k, v in req["headers"]}
    assert req["body"] == b'{"a": 1}' and sent["content-length"] == "8" and "transfer-encoding" not in sent


async def test_https_refused_is_connect_error_too(aio: AiohttpTransport) -> None:
    async with client(f"https://127.0.0.1:{free_port()}", aio) as c:
        with pytest.raises(httpx.ConnectError):
            await c.get("/v1/info")
    assert aio._ssl is not None  # built for the https request, once


def test_the_timeout_extension_becomes_aiohttp_socket_timeouts() -> None:
    from difyctl.broadcast.aio_transport import _timeout

    request = httpx.Request(
        "GET", "http://x/", extensions={"timeout": httpx.Timeout(9.0, connect=2.0).as_dict()}
    )
    t = _timeout(request)
    assert (t.total, t.sock_connect, t.sock_read, t.connect) == (None, 2.0, 9.0, 11.0)
    unbounded = _timeout(
        httpx.Request("GET", "http://x/", extensions={"timeout": httpx.Timeout(None).as_dict()})
    )
    assert (unbounded.sock_connect, unbounded.sock_read, unbounded.connect) == (None, None, None)


async def test_the_connector_caps_concurrency() -> None:
    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)
        w.write(response(200, b"{}"))
        await w.drain()

    transport = AiohttpTransport(3)
    try:
        async with RawServer(handler) as srv, client(srv.url, transport) as c:
            answers = await asyncio.gather(*(c.get(f"/{i}") for i in range(12)))
    finally:
        await transport.aclose()
    assert [a.status_code for a in answers] == [200] * 12
    assert srv.max_in_flight == 3 and srv.connections == 3  # 3 sockets, reused


async def test_aclose_closes_the_session_and_refuses_more() -> None:
    transport = AiohttpTransport(2)
    await transport.aclose()  # never opened: nothing to close
    with pytest.raises(ValueError):
        AiohttpTransport(0)
    async with client("http://127.0.0.1:1", transport) as c:
        with pytest.raises(RuntimeError):
            await c.get("/")


async def test_https_gets_one_shared_verifying_tls_context(aio: AiohttpTransport) -> None:
    first = aio._ssl_context()
    assert aio._ssl_context() is first and first.verify_mode.name == "CERT_REQUIRED"


# -- the factory ------------------------------------------------------------------------------------


def test_factory_prefers_aiohttp_unless_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIFYCTL_HTTP", raising=False)
    assert isinstance(pool_mod.fanout_transport(4), AiohttpTransport)
    monkeypatch.setenv("DIFYCTL_HTTP", "httpx")
    assert isinstance(pool_mod.fanout_transport(4), pool_mod.StripedTransport)
    monkeypatch.delenv("DIFYCTL_HTTP")
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)  # aiohttp not installed
    assert isinstance(pool_mod.fanout_transport(4), pool_mod.StripedTransport)


# -- broadcast over both transports -----------------------------------------------------------------


@pytest.fixture(params=["aiohttp", "httpx"])
def transport_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "httpx":
        monkeypatch.setenv("DIFYCTL_HTTP", "httpx")
    else:
        monkeypatch.delenv("DIFYCTL_HTTP", raising=False)
    built: list[httpx.AsyncBaseTransport] = []
    real = pool_mod.fanout_transport

    def spy(*args: Any, **kw: Any) -> httpx.AsyncBaseTransport:
        built.append(real(*args, **kw))
        return built[-1]

    monkeypatch.setattr("difyctl.broadcast.engine.fanout_transport", spy)
    yield request.param
    expected = AiohttpTransport if request.param == "aiohttp" else pool_mod.StripedTransport
    assert built and all(isinstance(t, expected) for t in built)


RELIABILITY = [
    engine_tests.test_every_mode_answers_with_usage_and_price,
    engine_tests.test_streaming_measures_time_to_first_token,
    engine_tests.test_429_and_500_are_retried_and_no_target_is_lost_or_counted_twice,
    engine_tests.test_wrong_key_fails_alone,
    engine_tests.test_a_server_that_never_answers_is_cut_at_the_timeout,
    engine_tests.test_a_stream_cut_mid_answer_keeps_the_partial_answer,
    engine_tests.test_a_midstream_error_event_is_a_failure_not_retried,
    engine_tests.test_cancelling_returns_what_finished,
]


@pytest.mark.parametrize("case", RELIABILITY, ids=[c.__name__.removeprefix("test_") for c in RELIABILITY])
async def test_broadcast_reliability_over_both_transports(
    case: Callable[[Any, Sleeps], Awaitable[None]], transport_kind: str, emu: Any, sleeps: Sleeps
) -> None:
    await case(emu, sleeps)


async def test_refused_connections_are_retried_then_reported(transport_kind: str, sleeps: Sleeps) -> None:
    target = Target("gone", "gone", f"http://127.0.0.1:{free_port()}", "app-k", mode="advanced-chat")
    options = BroadcastOptions(query="q", user="u", retries=2, timeout=5.0)
    result = await broadcast([target], options, runtime=sleeps.runtime())
    (t,) = result.targets
    assert t.status == "error" and t.attempts == 3 and len(sleeps) == 2  # never sent: safe to re-send
    assert t.error is not None and "cannot connect" in t.error["message"]
    assert result.exit_code == 5  # every target found no server (as with the httpx pool)


# -- proxies from the environment --------------------------------------------------------------------


def _proxy_env(monkeypatch: pytest.MonkeyPatch, proxy: str | None) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    if proxy is not None:
        monkeypatch.setenv("HTTP_PROXY", proxy)


@pytest.mark.parametrize("http", ["aiohttp", "httpx"])
async def test_a_broadcast_goes_through_the_environments_proxy(
    http: str, monkeypatch: pytest.MonkeyPatch, sleeps: Sleeps
) -> None:
    """httpx ignores HTTP(S)_PROXY once a transport is handed to the client, so the fan-out transports
    (aiohttp, striped pools) must not replace its proxy mounts: a proxied broadcast never goes direct."""
    monkeypatch.setenv("DIFYCTL_HTTP", http)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: dict[str, Any]) -> None:
        writer.write(response(502, b""))
        await writer.drain()

    async with RawServer(answer) as proxy:
        _proxy_env(monkeypatch, proxy.url)
        target = Target("far", "far", f"http://127.0.0.1:{free_port()}", "app-k", mode="workflow")
        options = BroadcastOptions(query="q", user="u", retries=0, timeout=5.0)
        result = await broadcast([target], options, runtime=sleeps.runtime())
    assert proxy.requests and proxy.requests[0]["target"].startswith(target.base_url)  # absolute form
    assert "cannot connect" not in str(result.targets[0].error)


def test_console_fanouts_keep_the_environments_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    from difyctl.client.transport import ClientOptions

    _proxy_env(monkeypatch, None)
    assert pool_mod.fanout_options(ClientOptions(), 8).async_transport is not None
    _proxy_env(monkeypatch, "http://127.0.0.1:9")
    assert pool_mod.fanout_options(ClientOptions(), 8).async_transport is None  # httpx mounts the proxy
    assert pool_mod.fanout_options(ClientOptions(trust_env=False), 8).async_transport is not None


class _Threads:
    """threading.Thread stand-in: records what warm_up would import, starts nothing."""

    started: list[Any] = []

    def __init__(self, target: Callable[[], None], name: str, daemon: bool) -> None:
        self.target, self.name, self.daemon = target, name, daemon

    def start(self) -> None:
        _Threads.started.append(self)


def _warm_names(monkeypatch: pytest.MonkeyPatch, http: str, *prefetched: str) -> list[str]:
    import importlib
    import threading

    monkeypatch.setenv("DIFYCTL_HTTP", http)
    monkeypatch.setattr(threading, "Thread", _Threads)
    monkeypatch.setattr(pool_mod, "_PREFETCH", list(pool_mod._PREFETCH) if not prefetched else [])
    _Threads.started = []
    pool_mod.prefetch(*prefetched)
    pool_mod.warm_up("difyctl.broadcast.engine")
    (thread,) = _Threads.started
    imported: list[str] = []
    monkeypatch.setattr(importlib, "import_module", imported.append)
    thread.target()
    return imported


def test_warm_up_imports_the_prefetched_modules_once_and_anyio_only_for_httpx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = _warm_names(monkeypatch, "aiohttp", "difyctl.output.broadcast")
    expected = ["difyctl.broadcast.aio_transport", "difyctl.output.broadcast", "difyctl.broadcast.engine"]
    assert names == expected  # the transport first: the main thread waits for it before the others
    names = _warm_names(monkeypatch, "httpx")  # the prefetch list was used up by the first warm-up
    assert names == [*pool_mod._ASYNC_BACKEND, "difyctl.broadcast.engine"]


def test_the_aiohttp_fan_out_never_loads_anyio(monkeypatch: pytest.MonkeyPatch) -> None:
    from difyctl.client.transport import ClientOptions

    _proxy_env(monkeypatch, None)
    loaded: list[bool] = []
    monkeypatch.setattr(pool_mod, "preload_async_backend", lambda: loaded.append(True))
    monkeypatch.setenv("DIFYCTL_HTTP", "aiohttp")
    assert isinstance(pool_mod.fanout_options(ClientOptions(), 8).async_transport, AiohttpTransport)
    assert loaded == []
    monkeypatch.setenv("DIFYCTL_HTTP", "httpx")
    pool_mod.fanout_options(ClientOptions(), 8)
    assert loaded == [True]


class _Libc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return 1


def _fake_libc(monkeypatch: pytest.MonkeyPatch, libc: object) -> None:
    import ctypes

    monkeypatch.setattr(ctypes, "CDLL", lambda name: libc)
    monkeypatch.setattr(pool_mod, "_ARENA_SET", [])
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)


def test_warm_up_first_sets_one_malloc_arena_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each thread that allocates gets a glibc arena that stays resident (~6 MB at -c 1000): M_ARENA_MAX
    is set to 1 before the warm-up thread starts, once per process."""
    libc = _Libc()
    _fake_libc(monkeypatch, libc)
    calls_when_started: list[int] = []
    original = _Threads.start

    def start(self: _Threads) -> None:
        calls_when_started.append(len(libc.calls))
        original(self)

    monkeypatch.setattr(_Threads, "start", start)
    _warm_names(monkeypatch, "aiohttp")
    _warm_names(monkeypatch, "aiohttp")
    assert libc.calls == [(-8, 1)] and calls_when_started == [1, 1]


def test_an_explicit_malloc_arena_max_or_a_libc_without_mallopt_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    libc = _Libc()
    _fake_libc(monkeypatch, libc)
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    pool_mod.one_malloc_arena()
    assert libc.calls == []
    _fake_libc(monkeypatch, object())  # macOS, musl builds without the symbol: nothing, no error
    pool_mod.one_malloc_arena()
    assert pool_mod._ARENA_SET == [True]


def test_a_platform_without_a_process_c_library_handle_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes

    _fake_libc(monkeypatch, object())

    def windows_cdll(name: object) -> object:  # Windows: LoadLibrary(None) is a TypeError
        raise TypeError("LoadLibrary() argument 1 must be str, not None")

    monkeypatch.setattr(ctypes, "CDLL", windows_cdll)
    pool_mod.one_malloc_arena()  # the warm-up (every --all fan-out) must not fail there
    assert pool_mod._ARENA_SET == [True]


def test_fanout_options_while_the_warm_up_is_still_importing_the_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With HTTP(S)_PROXY set the fan-out keeps httpx's pool, and the warm-up thread may be halfway
    # through importing aio_transport: the module is in sys.modules without its classes yet.
    # `broadcast --all` behind a proxy reported "unexpected AttributeError: partially initialized
    # module" for the apps whose key lookup opened the console's fan-out client at that moment.
    import sys
    import types

    from difyctl.client.transport import ClientOptions

    monkeypatch.setitem(sys.modules, "difyctl.broadcast.aio_transport", types.ModuleType("half-imported"))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    options = pool_mod.fanout_options(ClientOptions(), 8)
    assert options.async_transport is None and options.max_connections == 10  # httpx's own proxied pool
