"""A total deadline per response (ClientOptions.deadline): a body that never ends or trickles in is cut
even though the read timeout between two bytes never fires, and retries only start inside it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from difyctl.client import errors as e
from difyctl.client.base import RequestSpec
from difyctl.client.console import AsyncConsoleClient, ConsoleClient

from .conftest import BASE, BOTH, FakeRuntime, options, resolve

GET = RequestSpec("GET", "/console/api/apps")


class Drip(httpx.SyncByteStream, httpx.AsyncByteStream):
    """One `chunk` (a byte) at a time, every chunk one second on the fake clock; ends after 50 (so a
    broken deadline fails the test instead of hanging it)."""

    def __init__(self, fake: FakeRuntime, chunk: bytes = b" ") -> None:
        self.fake, self.chunk = fake, chunk
        self.sent = 0

    def _next(self) -> bytes:
        self.fake.t += 1.0
        self.sent += 1
        return self.chunk

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < 50:
            yield self._next()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < 50:
            yield self._next()


def client(handler: Any, is_async: Any, fake: FakeRuntime, deadline: float | None) -> Any:
    opts = dataclasses.replace(options(handler, direct=is_async == "direct"), deadline=deadline)
    cls = AsyncConsoleClient if is_async else ConsoleClient
    return cls(BASE, None, options=opts, runtime=fake.runtime())


@BOTH
async def test_a_dripping_body_is_cut_at_the_deadline(is_async: bool, fake: FakeRuntime) -> None:
    drip = Drip(fake)
    api = client(lambda r: httpx.Response(200, stream=drip), is_async, fake, deadline=5.0)
    with pytest.raises(e.DifyTimeoutError) as info:
        await resolve(api.request(GET))
    assert "still answering after 5 s" in info.value.message and "/console/api/apps" in info.value.message
    assert info.value.exit_code == 5
    assert info.value.hint is not None and "--timeout" in info.value.hint
    assert 4 <= drip.sent <= 6  # cut at the deadline, not after the body (which never ends)


@BOTH
async def test_no_deadline_reads_the_whole_body(is_async: bool, fake: FakeRuntime) -> None:
    body = httpx.ByteStream(b'{"ok": true}')
    api = client(lambda r: httpx.Response(200, stream=body), is_async, fake, deadline=None)
    assert await resolve(api.request(GET)) == {"ok": True}


@BOTH
async def test_a_slow_but_complete_answer_within_the_deadline_is_kept(
    is_async: bool, fake: FakeRuntime
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        fake.t += 4.0  # the server thought for 4 s of the 5
        return httpx.Response(200, json={"data": []})

    assert await resolve(client(handler, is_async, fake, deadline=5.0).request(GET)) == {"data": []}


@BOTH
async def test_no_retry_starts_past_the_deadline(is_async: bool, fake: FakeRuntime) -> None:
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(fake.t)
        fake.t += 4.8  # a read timeout after most of the budget
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(e.DifyTimeoutError) as info:
        await resolve(client(handler, is_async, fake, deadline=5.0).request(GET))
    assert len(calls) == 1  # the 0.5 s backoff would end past the 5 s: not retried
    assert info.value.message.startswith("no answer from")


@BOTH
async def test_retries_still_happen_inside_the_deadline(is_async: bool, fake: FakeRuntime) -> None:
    outcomes: list[int] = [503, 200]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(outcomes.pop(0), json={})

    assert await resolve(client(handler, is_async, fake, deadline=60.0).request(GET)) == {}
    assert fake.sleeps == [0.5]


@BOTH
async def test_a_stream_of_pings_is_cut_at_the_deadline(is_async: Any, fake: FakeRuntime) -> None:
    """`run APP --stream --timeout 5` against a run that only pings ran forever: the pings reset the
    read timeout, and streams had no total. The deadline holds for a stream as for any response."""
    from difyctl.client.service import AsyncServiceClient, ServiceClient

    # Dify's keep-alive while a run is stuck (a streaming chatflow waiting on a missing required
    # input, fixture 039): a ping a second, never an answer
    pings = Drip(fake, b"event: ping\n\n")
    opts = dataclasses.replace(
        options(
            lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=pings),
            direct=is_async == "direct",
        ),
        stream_deadline=5.0,  # what `--timeout 5` sets
    )
    cls = AsyncServiceClient if is_async else ServiceClient
    api = cls(BASE, "app-k", options=opts, runtime=fake.runtime())
    with pytest.raises(e.DifyTimeoutError) as info:
        await resolve(api.run("advanced-chat", query="hi", user="u", stream=True))
    assert "still answering after 5 s" in info.value.message and info.value.exit_code == 5
    assert 4 <= pings.sent <= 6  # cut at the deadline, not after the 50 pings


class LongRun(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A real long run: a ping a second for `seconds` on the fake clock, then the answer."""

    def __init__(self, fake: FakeRuntime, seconds: int) -> None:
        self.fake, self.seconds = fake, seconds

    def _frames(self) -> Iterator[bytes]:
        for _ in range(self.seconds):
            self.fake.t += 1.0
            yield b"event: ping\n\n"
        message = {"event": "message", "answer": "done", "conversation_id": "c", "message_id": "m"}
        yield f"data: {json.dumps(message)}\n\n".encode()
        yield f"data: {json.dumps({'event': 'message_end', 'metadata': {}})}\n\n".encode()

    def __iter__(self) -> Iterator[bytes]:
        yield from self._frames()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for frame in self._frames():
            yield frame


@BOTH
async def test_without_timeout_a_stream_may_run_as_long_as_the_server_runs_it(
    is_async: Any, fake: FakeRuntime
) -> None:
    """No `--timeout`: a streamed run that takes 20 minutes (Dify's WORKFLOW_MAX_EXECUTION_TIME defaults
    to 1200 s, api/configs/feature/__init__.py) is not cut at the 300 s bound of other responses; one
    that goes on past the server's own limit is."""
    from difyctl.client.service import AsyncServiceClient, ServiceClient
    from difyctl.client.transport import DEFAULT_DEADLINE_S, DEFAULT_STREAM_DEADLINE_S

    assert DEFAULT_DEADLINE_S < 1200 < DEFAULT_STREAM_DEADLINE_S
    cls = AsyncServiceClient if is_async else ServiceClient
    for seconds, finishes in ((1190, True), (int(DEFAULT_STREAM_DEADLINE_S) + 10, False)):
        stream = LongRun(fake, seconds)
        handler = lambda r, stream=stream: httpx.Response(  # noqa: E731
            200, headers={"content-type": "text/event-stream"}, stream=stream
        )
        api = cls(
            BASE, "app-k", options=options(handler, direct=is_async == "direct"), runtime=fake.runtime()
        )
        if finishes:
            result = await resolve(api.run("chat", query="hi", user="u", stream=True))
            assert result.answer == "done"
        else:
            with pytest.raises(e.DifyTimeoutError) as info:
                await resolve(api.run("chat", query="hi", user="u", stream=True))
            assert f"still answering after {DEFAULT_STREAM_DEADLINE_S:g} s" in info.value.message
