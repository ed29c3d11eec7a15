"""Helpers for the client tests: recorded Dify 1.13.2 exchanges as httpx responses, a fake runtime
(no real sleeps, a clock the handlers advance), and sync/async client factories over MockTransport."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterable, Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from difyctl.client.console import AsyncConsoleClient, ConsoleClient
from difyctl.client.retry import RetryPolicy
from difyctl.client.service import AsyncServiceClient, ServiceClient
from difyctl.client.transport import ClientOptions, Runtime

DATA = Path(__file__).parent / "data"
BASE = "http://127.0.0.1:5001"
APP_KEY = "app-yz3eFayZyqGNk9A75ZNhFjtM"
SKIP_HEADERS = {"set-cookie", "content-length", "transfer-encoding", "connection"}

Handler = Callable[[httpx.Request], httpx.Response]


def exchange(prefix: str) -> dict[str, Any]:
    """The recorded exchange whose file name starts with `prefix` (e.g. "045")."""
    (path,) = list(DATA.glob(f"{prefix}-*.json"))
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def sse_bytes(prefix: str) -> bytes:
    (path,) = list(DATA.glob(f"{prefix}-*.sse"))
    return path.read_bytes()


def recorded(prefix: str, *, request: httpx.Request | None = None) -> httpx.Response:
    """The recorded response as an httpx.Response (Set-Cookie as separate headers, SSE body)."""
    ex = exchange(prefix)
    res = ex["response"]
    headers = [(k, v) for k, v in res["headers"].items() if k.lower() not in SKIP_HEADERS]
    headers += [("set-cookie", c) for c in res.get("set_cookie") or []]
    sse = list(DATA.glob(f"{prefix}-*.sse"))
    if sse:
        content = sse[0].read_bytes()
    elif res["status"] == 204:
        content = b""
    elif res.get("json") is None and res.get("body_raw") is not None:
        content = res["body_raw"].encode()
    else:
        content = json.dumps(res.get("json")).encode()
    return httpx.Response(res["status"], headers=headers, content=content, request=request)


class FakeRuntime:
    """Records sleeps; the monotonic clock only moves when a test (or a sleep) moves it."""

    def __init__(self, rng: float = 0.0) -> None:
        self.t = 100.0
        self.wall = 1_795_259_000.0
        self.sleeps: list[float] = []
        self.rng_value = rng

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def runtime(self) -> Runtime:
        return Runtime(
            sleep=self.sleep,
            asleep=self.asleep,
            clock=lambda: self.t,
            now=lambda: self.wall,
            rng=lambda: self.rng_value,
        )


@pytest.fixture
def fake() -> FakeRuntime:
    return FakeRuntime()


class DirectMockTransport(httpx.MockTransport):
    """A MockTransport that also offers the aiohttp transport's `send_checked`: the async client then
    sends body-less requests on its direct path (no httpx client layer) to the same handler. Every
    test marked BOTH runs a third time this way ("direct"); `direct_sent` counts what went direct."""

    def __init__(self, handler: Any) -> None:
        super().__init__(handler)
        self.direct_sent = 0

    async def send_checked(
        self, method: str, url_text: str, headers: dict[str, str], timeout: dict[str, Any], check: Any
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        self.direct_sent += 1
        request = httpx.Request(method, url_text, headers=headers, extensions={"timeout": timeout})
        response = await self.handle_async_request(request)
        check()
        chunks = []
        async for chunk in response.stream:  # type: ignore[union-attr]
            check()
            chunks.append(chunk)
        return response.status_code, list(response.headers.raw), b"".join(chunks)


def options(handler: Any, retry: RetryPolicy | None = None, direct: bool = False) -> ClientOptions:
    if isinstance(handler, httpx.MockTransport):
        transport = handler
    else:
        transport = DirectMockTransport(handler) if direct else httpx.MockTransport(handler)
    return ClientOptions(transport=transport, async_transport=transport, retry=retry or RetryPolicy())


def console(handler: Any, auth: httpx.Auth | None, is_async: Any, fake: FakeRuntime, **kw: Any) -> Any:
    cls = AsyncConsoleClient if is_async else ConsoleClient
    opts = options(handler, kw.get("retry"), direct=is_async == "direct")
    return cls(BASE, auth, options=opts, runtime=fake.runtime())


def service(handler: Any, is_async: Any, fake: FakeRuntime, key: str = APP_KEY, **kw: Any) -> Any:
    cls = AsyncServiceClient if is_async else ServiceClient
    opts = options(handler, kw.get("retry"), direct=is_async == "direct")
    return cls(BASE, key, options=opts, runtime=fake.runtime())


async def resolve(value: Any) -> Any:
    """Await the async twin's coroutine; pass the sync twin's value through."""
    return await value if inspect.isawaitable(value) else value


async def collect(items: Iterable[Any] | AsyncIterable[Any]) -> list[Any]:
    if isinstance(items, AsyncIterable):
        return [item async for item in items]
    return list(items)


async def close(client: Any) -> None:
    if hasattr(client, "aclose"):
        await client.aclose()
    else:
        client.close()


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"X-Version": "1.13.2", **headers})


# sync, async over httpx's client layer, async on the direct path (DirectMockTransport)
BOTH = pytest.mark.parametrize("is_async", [False, True, "direct"], ids=["sync", "async", "direct"])
