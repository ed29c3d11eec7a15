"""The shared request loop: which operation retries on what, the delays it sleeps (injected), and
how responses become data or errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from difyctl import __version__
from difyctl.client import errors as e
from difyctl.client.base import RequestSpec, _query
from difyctl.client.retry import NO_RETRY, RetryPolicy

from .conftest import BASE, BOTH, FakeRuntime, close, console, resolve

GET = RequestSpec("GET", "/console/api/apps")
CREATE_KEY = RequestSpec("POST", "/console/api/apps/a1/api-keys", json={})
IMPORT = RequestSpec("POST", "/console/api/apps/imports", json={"mode": "yaml-content", "yaml_content": "x"})
SAFE_WRITE = RequestSpec("POST", "/console/api/x", json={}, idempotent=True)


class Script:
    """A handler that plays a list of outcomes (a status + body, or an exception) and counts calls."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        if callable(outcome):
            result: httpx.Response = outcome(request)
            return result
        status, headers = (outcome, {}) if isinstance(outcome, int) else outcome
        return httpx.Response(status, json={"ok": status}, headers={"X-Version": "1.13.2", **headers})


def refused(request: httpx.Request | None = None) -> httpx.ConnectError:
    return httpx.ConnectError("[Errno 111] Connection refused")


def read_timeout() -> httpx.ReadTimeout:
    return httpx.ReadTimeout("timed out")


async def _send(is_async: bool, fake: FakeRuntime, script: Script, spec: RequestSpec, **kw: Any) -> Any:
    client = console(script, None, is_async, fake, **kw)
    try:
        return await resolve(client.request(spec))
    finally:
        await close(client)


# ---- the retry table, end to end ----------------------------------------------------------------

RETRY_TABLE: list[tuple[str, RequestSpec, list[Any], int, type[Exception] | None]] = [
    # (case, spec, outcomes, expected calls, expected error)
    ("read: 503 then 200", GET, [503, 200], 2, None),
    ("read: 502 x3 gives up", GET, [502, 502, 502], 3, e.ServerError),
    ("read: 429 then 200", GET, [429, 200], 2, None),
    ("read: 408 then 200", GET, [408, 200], 2, None),
    ("read: read timeout then 200", GET, [read_timeout(), 200], 2, None),
    ("read: refused x3", GET, [refused(), refused(), refused()], 3, e.DifyConnectionError),
    ("read: 404 is final", GET, [404], 1, e.NotFoundError),
    ("read: 401 is final", GET, [401], 1, e.AuthenticationError),
    ("create key: 503 not retried", CREATE_KEY, [503, 201], 1, e.ServerError),
    ("create key: 429 not retried", CREATE_KEY, [429, 201], 1, e.RateLimitError),
    ("create key: read timeout not retried", CREATE_KEY, [read_timeout(), 201], 1, e.DifyTimeoutError),
    ("create key: refused then 201", CREATE_KEY, [refused(), 201], 2, None),
    ("import: connect timeout then 200", IMPORT, [httpx.ConnectTimeout("slow"), 200], 2, None),
    ("import: pool timeout then 200", IMPORT, [httpx.PoolTimeout("pool"), 200], 2, None),
    ("import: 500 not retried", IMPORT, [500, 200], 1, e.ServerError),
    ("declared idempotent write: 503 then 200", SAFE_WRITE, [503, 200], 2, None),
]


@BOTH
@pytest.mark.parametrize(
    ("case", "spec", "outcomes", "calls", "error"), RETRY_TABLE, ids=[row[0] for row in RETRY_TABLE]
)
async def test_retry_table(
    is_async: bool,
    case: str,
    spec: RequestSpec,
    outcomes: list[Any],
    calls: int,
    error: type[Exception] | None,
) -> None:
    fake = FakeRuntime()
    script = Script(*outcomes)
    if error is None:
        assert await _send(is_async, fake, script, spec) is not None
    else:
        with pytest.raises(error) as info:
            await _send(is_async, fake, script, spec)
        # a retried failure says how many times it was sent (a 502 after 3 attempts was a bare 502)
        message = getattr(info.value, "message", "")
        assert (f"after {calls} attempts" in message) == (calls > 1), message
    assert len(script.requests) == calls
    assert len(fake.sleeps) == calls - 1  # a sleep between attempts, none after the last


@BOTH
async def test_backoff_delays_are_slept_through_the_injected_sleep(is_async: bool) -> None:
    fake = FakeRuntime(rng=0.0)
    script = Script(500, 500, 500, 200)
    await _send(is_async, fake, script, GET, retry=RetryPolicy(max_retries=3))
    assert fake.sleeps == [0.5, 1.0, 2.0]


@BOTH
async def test_jitter_comes_from_the_injected_rng(is_async: bool) -> None:
    fake = FakeRuntime(rng=1.0)
    await _send(is_async, fake, Script(503, 503, 200), GET)
    assert fake.sleeps == [0.375, 0.75]


@BOTH
@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("3", 3.0), ("60", 60.0), ("61", 0.5), ("Sat, 21 Nov 2026 11:04:31 GMT", None)],
)
async def test_retry_after_is_honoured_and_capped(
    is_async: bool, retry_after: str, expected: float | None
) -> None:
    fake = FakeRuntime()
    fake.wall = 1_795_259_041.0  # 11:04:01 GMT
    await _send(is_async, fake, Script((429, {"Retry-After": retry_after}), 200), GET)
    assert fake.sleeps == [pytest.approx(expected if expected is not None else 30.0)]


@BOTH
async def test_retry_after_ms(is_async: bool) -> None:
    fake = FakeRuntime()
    await _send(is_async, fake, Script((503, {"retry-after-ms": "1200"}), 200), GET)
    assert fake.sleeps == [1.2]


@BOTH
async def test_no_retry_policy(is_async: bool) -> None:
    fake = FakeRuntime()
    script = Script(503, 200)
    with pytest.raises(e.ServerError):
        await _send(is_async, fake, script, GET, retry=NO_RETRY)
    assert len(script.requests) == 1 and fake.sleeps == []


@BOTH
async def test_connect_refused_names_the_server(is_async: bool) -> None:
    fake = FakeRuntime()
    with pytest.raises(e.DifyConnectionError) as info:
        await _send(is_async, fake, Script(refused()), GET, retry=NO_RETRY)
    assert info.value.message == "cannot connect to http://127.0.0.1:5001: connection refused"
    assert info.value.exit_code == 5
    assert isinstance(info.value.__cause__, httpx.ConnectError)


# ---- response processing ------------------------------------------------------------------------


def _body(status: int, content: bytes, content_type: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda r: httpx.Response(status, content=content, headers={"content-type": content_type})


@BOTH
async def test_2xx_html_is_a_protocol_error(is_async: bool, fake: FakeRuntime) -> None:
    script = Script(_body(200, b"<!doctype html><html>console</html>", "text/html; charset=utf-8"))
    with pytest.raises(e.DifyProtocolError) as info:
        await _send(is_async, fake, script, GET)
    assert info.value.status_code == 200
    assert "HTTP 200 with text/html" in info.value.message
    assert info.value.hint is not None and "base URL" in info.value.hint


@BOTH
async def test_2xx_garbage_is_a_protocol_error(is_async: bool, fake: FakeRuntime) -> None:
    with pytest.raises(e.DifyProtocolError, match="application/octet-stream") as info:
        await _send(is_async, fake, Script(_body(200, b"\x00\xff", "application/octet-stream")), GET)
    assert info.value.hint is None


@BOTH
@pytest.mark.parametrize("status", [200, 204])
async def test_empty_success_is_none(is_async: bool, fake: FakeRuntime, status: int) -> None:
    # 204 with "Content-Type: application/json" and no body, as DELETE api-key answers (093)
    assert await _send(is_async, fake, Script(_body(status, b"", "application/json")), GET) is None


@BOTH
async def test_accept_turns_an_error_status_into_data(is_async: bool, fake: FakeRuntime) -> None:
    spec = RequestSpec(
        "POST", "/x", json={}, accept=lambda status, body: status == 400 and body["status"] == "failed"
    )
    failed = Script(lambda r: httpx.Response(400, json={"status": "failed", "error": "App not found"}))
    assert await _send(is_async, fake, failed, spec) == {"status": "failed", "error": "App not found"}
    other = Script(
        lambda r: httpx.Response(400, json={"code": "invalid_param", "message": "m", "status": "x"})
    )
    with pytest.raises(e.BadRequestError):
        await _send(is_async, fake, other, spec)


@BOTH
async def test_server_version_is_recorded_from_any_response(is_async: bool, fake: FakeRuntime) -> None:
    client = console(Script(404), None, is_async, fake)
    assert client.last_server_version is None
    with pytest.raises(e.NotFoundError):
        await resolve(client.request(GET))
    assert client.last_server_version == "1.13.2"
    await close(client)


@BOTH
async def test_request_shape(is_async: bool, fake: FakeRuntime) -> None:
    script = Script(200)
    spec = RequestSpec(
        "GET", "/console/api/apps", params={"page": 1, "mode": None, "named_only": True, "x": False}
    )
    await _send(is_async, fake, script, spec)
    (request,) = script.requests
    assert str(request.url) == f"{BASE}/console/api/apps?page=1&named_only=true&x=false"
    assert request.headers["user-agent"] == f"difyctl-ops/{__version__}"
    assert request.headers["accept"] == "application/json"
    assert "cookie" not in request.headers


def test_query_helper() -> None:
    assert _query(None) is None
    assert _query({}) is None
    assert _query({"a": None, "b": 2}) == {"b": "2"}


@BOTH
async def test_base_url_with_api_prefix_is_accepted(is_async: bool, fake: FakeRuntime) -> None:
    from difyctl.client.console import AsyncConsoleClient, ConsoleClient

    from .conftest import options

    script = Script(200)
    cls = AsyncConsoleClient if is_async else ConsoleClient
    client = cls(f"{BASE}/console/api/", None, options=options(script), runtime=fake.runtime())
    assert client.base_url == BASE
    await resolve(client.request(GET))
    assert str(script.requests[0].url) == f"{BASE}/console/api/apps"
    await close(client)


def test_context_managers(fake: FakeRuntime) -> None:
    from difyctl.client.console import ConsoleClient

    from .conftest import options

    with ConsoleClient(BASE, None, options=options(Script(200)), runtime=fake.runtime()) as client:
        assert client.request(GET) == {"ok": 200}
    assert client._client.is_closed


async def test_async_context_manager(fake: FakeRuntime) -> None:
    from difyctl.client.console import AsyncConsoleClient

    from .conftest import options

    async with AsyncConsoleClient(BASE, None, options=options(Script(200)), runtime=fake.runtime()) as client:
        assert await client.request(GET) == {"ok": 200}
    assert client._client.is_closed


def test_default_runtime_and_options() -> None:
    import asyncio
    import time

    from difyctl.client.console import ConsoleClient
    from difyctl.client.transport import Runtime

    client = ConsoleClient(BASE, None)
    assert client.runtime.sleep is time.sleep
    assert client.options.timeout.connect == 5.0 and client.options.timeout.read == 60.0
    assert client.options.retry.max_retries == 2
    client.close()

    async def main() -> None:
        await Runtime().asleep(0)  # the lazy asyncio.sleep wrapper works

    asyncio.run(main())


@BOTH
async def test_accept_with_a_non_json_error_body_raises(is_async: bool, fake: FakeRuntime) -> None:
    spec = RequestSpec("POST", "/x", json={}, accept=lambda status, body: body is not None)
    with pytest.raises(e.BadRequestError, match="HTML page"):
        await _send(is_async, fake, Script(_body(400, b"<html>no</html>", "text/html")), spec)
