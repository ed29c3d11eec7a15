"""The async client's direct path: body-less requests on the aiohttp session, without httpx's client
layer. Every test marked BOTH in tests/client also runs on it ("direct"); these pin down WHEN it is
taken, that it puts the same request on the wire, and the aiohttp side (`send_checked`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from difyctl.client import errors as e
from difyctl.client.base import RequestSpec
from difyctl.client.retry import RetryPolicy
from difyctl.client.session import ConsoleSession, SessionAuth

from .conftest import DirectMockTransport, FakeRuntime, console, recorded

aiohttp = pytest.importorskip("aiohttp")

from difyctl.broadcast.aio_transport import AiohttpTransport  # noqa: E402
from tests.broadcast.test_aio_transport import RawServer, response  # noqa: E402

TIMEOUT = httpx.Timeout(5.0).as_dict()


def _auth() -> SessionAuth:
    return SessionAuth(ConsoleSession("acc", "ref", "csrf-1"), on_refresh=None)


def _recording(seen: list[httpx.Request]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            return httpx.Response(201, json={"id": "k", "token": "app-x", "type": "app", "created_at": 1})
        if request.url.path.endswith("/apps"):
            return httpx.Response(
                200, json={"data": [], "page": 1, "limit": 100, "total": 0, "has_more": False}
            )
        return recorded("011", request=request)

    return handler


async def test_body_less_requests_go_direct_and_the_rest_through_httpx(fake: FakeRuntime) -> None:
    seen: list[httpx.Request] = []
    client = console(_recording(seen), _auth(), "direct", fake)
    transport = client.options.async_transport
    assert isinstance(transport, DirectMockTransport)
    await client.profile()
    await client.list_apps(page=2, limit=100, name="a b/é&x")
    assert transport.direct_sent == 2
    await client.request(RequestSpec("POST", "/console/api/apps/app-1/api-keys", json={}))  # a body: httpx
    assert transport.direct_sent == 2 and [r.method for r in seen] == ["GET", "GET", "POST"]
    await client.aclose()


async def test_the_direct_path_sends_what_httpx_sends(fake: FakeRuntime) -> None:
    async def both(call: Any) -> tuple[httpx.Request, httpx.Request]:
        pair = []
        for variant in (True, "direct"):
            seen: list[httpx.Request] = []
            client = console(_recording(seen), _auth(), variant, fake)
            await call(client)
            await client.aclose()
            pair.append(seen[-1])
        return pair[0], pair[1]

    for call in (lambda c: c.profile(), lambda c: c.list_apps(page=2, limit=100, mode=None, name="a b/é&x")):
        via_httpx, direct = await both(call)
        assert str(direct.url) == str(via_httpx.url)  # the query string encoded the same way
        assert dict(direct.headers) == dict(via_httpx.headers)  # UA, Accept, cookies, CSRF


async def test_a_verbose_trace_keeps_every_request_on_httpx(
    fake: FakeRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[httpx.Request] = []
    client = console(_recording(seen), _auth(), "direct", fake)
    with caplog.at_level(logging.DEBUG, logger="difyctl.http"):
        await client.profile()
    assert client.options.async_transport.direct_sent == 0 and len(seen) == 1
    assert any("-> GET /console/api/account/profile" in r.getMessage() for r in caplog.records)
    await client.aclose()


async def test_an_error_status_names_the_request(fake: FakeRuntime) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"code": "not_found", "message": "App not found.", "status": 404})

    client = console(handler, _auth(), "direct", fake)
    with pytest.raises(e.DifyStatusError) as info:
        await client.list_api_keys("8d6e0b3c-0000-4000-8000-000000000000")
    assert info.value.status_code == 404 and "App not found." in info.value.message
    assert client.options.async_transport.direct_sent == 1
    await client.aclose()


async def test_a_read_timeout_says_how_long_was_waited_as_on_httpx(fake: FakeRuntime) -> None:
    # headers and then nothing: "no answer from ... in 60 s" on both paths (the direct one said
    # "before the read timeout": its error request carried no timeout)
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    messages = []
    for variant in (True, "direct"):
        client = console(handler, _auth(), variant, fake)
        with pytest.raises(e.DifyTimeoutError) as info:
            await client.list_api_keys("app-1")
        messages.append(info.value.message)
        await client.aclose()
    assert messages[0] == messages[1]
    # the GET was sent once and retried, each attempt waited 60 s: the message says both
    sent = RetryPolicy().max_retries + 1
    assert messages[1].endswith(f"/console/api/apps/app-1/api-keys in 60 s, {sent} times")
    once = console(handler, _auth(), "direct", fake, retry=RetryPolicy(max_retries=0))
    with pytest.raises(e.DifyTimeoutError) as info:
        await once.list_api_keys("app-1")
    assert info.value.message.endswith("/console/api/apps/app-1/api-keys in 60 s")
    await once.aclose()


# -- AiohttpTransport.send_checked on a loopback server ----------------------------------------------


async def test_send_checked_returns_status_headers_body_and_checks_every_chunk() -> None:
    async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: dict[str, Any]) -> None:
        w.write(response(200, b'{"data": [1]}', [("X-Version", "1.16.0"), ("Set-Cookie", "a=1")]))
        await w.drain()

    transport = AiohttpTransport(4)
    checks: list[int] = []
    try:
        async with RawServer(handler) as srv:
            status, raw, body = await transport.send_checked(
                "GET", f"{srv.url}/console/api/apps/x/api-keys?a=%2F", {"X-CSRF-Token": "t"},
                httpx.Timeout(5.0).as_dict(), lambda: checks.append(1),
            )  # fmt: skip
        sent = srv.requests[0]
    finally:
        await transport.aclose()
    assert (status, body) == (200, b'{"data": [1]}')
    assert (b"X-Version", b"1.16.0") in raw and (b"Set-Cookie", b"a=1") in raw
    assert sent["target"] == "/console/api/apps/x/api-keys?a=%2F"  # never re-quoted
    assert ("X-CSRF-Token", "t") in sent["headers"] and len(checks) >= 2  # headers + each chunk


async def test_send_checked_stops_where_the_check_raises_and_maps_socket_errors() -> None:
    async def drip(_r: asyncio.StreamReader, w: asyncio.StreamWriter, _req: dict[str, Any]) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):
            w.write(b" ")
            await w.drain()
            await asyncio.sleep(0)

    class Late(Exception):
        pass

    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise Late

    transport = AiohttpTransport(4)
    try:
        async with RawServer(drip) as srv:
            with pytest.raises(Late):
                await transport.send_checked("GET", f"{srv.url}/x", {}, TIMEOUT, check)
        with pytest.raises(httpx.ConnectError):
            await transport.send_checked(
                "GET", srv.url + "/x", {}, httpx.Timeout(5.0).as_dict(), lambda: None
            )
    finally:
        await transport.aclose()
    assert calls == 3


def test_session_headers_are_built_once_per_set_of_tokens() -> None:
    auth = _auth()
    first = auth.direct_headers()
    assert auth.direct_headers() is first  # one Cookie string for a whole fan-out, not one per request
    auth.session.access_token = "rotated"  # a refresh
    again = auth.direct_headers()
    assert again is not first and "access_token=rotated" in again["Cookie"]
