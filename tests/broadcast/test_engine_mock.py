"""The fan-out against httpx.MockTransport: shapes the emulator cannot produce, and the caps."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from difyctl.broadcast.engine import BroadcastOptions, broadcast
from difyctl.broadcast.targets import Target
from difyctl.client.service import AsyncServiceClient
from difyctl.client.transport import ClientOptions, Runtime, build_async_client
from tests.broadcast.conftest import Sleeps

BASE = "http://dify.test"


def key(i: int) -> str:
    return f"app-key{i:04d}xxxxxxxxxxxxxxxxxx"


def targets(n: int, mode: str | None = "chat") -> list[Target]:
    return [Target(f"app{i}", f"app{i}", BASE, key(i), mode=mode, app_id=f"id{i}") for i in range(n)]


def chat_answer(request: httpx.Request) -> httpx.Response:
    token = request.headers["authorization"].removeprefix("Bearer ")
    usage = {
        "prompt_tokens": 3,
        "completion_tokens": 2,
        "total_tokens": 5,
        "total_price": "0.001",
        "currency": "USD",
    }
    return httpx.Response(
        200, json={"event": "message", "answer": f"hi from {token[-22:-18]}", "metadata": {"usage": usage}}
    )


def options(handler: Any) -> ClientOptions:
    return ClientOptions(async_transport=httpx.MockTransport(handler))


def opts(**kw: Any) -> BroadcastOptions:
    return BroadcastOptions(**{"query": "q", "user": "u", "timeout": 5.0, **kw})


async def test_each_target_sends_its_own_key_over_the_shared_pool(sleeps: Sleeps) -> None:
    result = await broadcast(
        targets(5), opts(), client_options=options(chat_answer), runtime=sleeps.runtime()
    )
    assert [t.answer for t in result.targets] == [f"hi from {i:04d}" for i in range(5)]
    assert result.summary()["price"] == {"USD": "0.005"} and result.summary()["tokens"]["total"] == 25


@pytest.mark.parametrize("copies", [3, 6])  # 3: one over the per-app cap, the smallest count that needs it
async def test_global_and_per_app_caps(sleeps: Sleeps, copies: int) -> None:
    in_flight: dict[str, int] = {}
    peak: dict[str, int] = {}
    total = {"now": 0, "peak": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        app = request.headers["authorization"]
        in_flight[app] = in_flight.get(app, 0) + 1
        total["now"] += 1
        peak[app] = max(peak.get(app, 0), in_flight[app])
        total["peak"] = max(total["peak"], total["now"])
        await asyncio.sleep(0.01)
        in_flight[app] -= 1
        total["now"] -= 1
        return chat_answer(request)

    # 3 apps x `copies` copies each (same key = same app), concurrency 5, per-app 2
    many = [Target(f"a{i}", f"a{i}-{j}", BASE, key(i), mode="chat") for i in range(3) for j in range(copies)]
    result = await broadcast(
        many, opts(concurrency=5, per_app=2), client_options=options(handler), runtime=sleeps.runtime()
    )
    assert result.exit_code == 0
    assert total["peak"] == 5 and max(peak.values()) == 2


async def test_a_failed_workflow_with_http_200_is_a_failure(sleeps: Sleeps) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/parameters":
            return httpx.Response(200, json={"user_input_form": []})
        data = {
            "id": "run-1",
            "status": "failed",
            "error": "node llm failed: quota",
            "outputs": None,
            "total_tokens": 7,
        }
        return httpx.Response(200, json={"task_id": "t", "workflow_run_id": "run-1", "data": data})

    result = await broadcast(
        targets(1, mode="workflow"), opts(), client_options=options(handler), runtime=sleeps.runtime()
    )
    (t,) = result.targets
    assert t.status == "error" and t.error == {
        "code": "workflow_failed",
        "message": "node llm failed: quota",
        "http_status": 200,
    }
    assert t.workflow_run_id == "run-1" and t.tokens["total"] == 7 and t.attempts == 1
    assert result.exit_code == 1


async def test_retry_after_is_honoured_when_present(sleeps: Sleeps) -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            body = {"code": "too_many_requests", "message": "Too many requests", "status": 429}
            return httpx.Response(429, json=body, headers={"Retry-After": "3"})
        return chat_answer(request)

    result = await broadcast(targets(1), opts(), client_options=options(handler), runtime=sleeps.runtime())
    assert result.exit_code == 0 and result.targets[0].attempts == 2 and sleeps == [3.0]


async def test_a_4xx_is_not_retried_and_mode_comes_from_info(sleeps: Sleeps) -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/v1/info":
            return httpx.Response(200, json={"name": "x", "mode": "agent-chat"})
        if request.url.path == "/v1/parameters":
            return httpx.Response(200, json={"user_input_form": []})
        assert json.loads(request.content)["response_mode"] == "streaming"  # agent-chat refuses blocking
        body = {"code": "provider_quota_exceeded", "message": "quota", "status": 400}
        return httpx.Response(400, json=body)

    result = await broadcast(
        targets(1, mode=None), opts(), client_options=options(handler), runtime=sleeps.runtime()
    )
    (t,) = result.targets
    assert t.mode == "agent-chat" and t.status == "error" and t.attempts == 1 and sleeps == []
    assert t.error is not None and t.error["code"] == "provider_quota_exceeded"
    assert paths == ["/v1/info", "/v1/chat-messages"]


async def test_a_connection_refused_is_retried_because_nothing_was_sent(sleeps: Sleeps) -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return chat_answer(request)

    result = await broadcast(targets(1), opts(), client_options=options(handler), runtime=sleeps.runtime())
    assert result.exit_code == 0 and result.targets[0].attempts == 2


async def test_a_bug_in_a_callback_does_not_lose_targets(sleeps: Sleeps) -> None:
    def boom(index: int) -> None:
        if index == 0:
            raise RuntimeError("renderer bug")

    result = await broadcast(
        targets(2), opts(), client_options=options(chat_answer), runtime=sleeps.runtime(), on_start=boom
    )
    assert [t.status for t in result.targets] == ["error", "ok"]
    assert result.targets[0].error is not None and result.targets[0].error["code"] == "unexpected"


async def test_a_shared_client_is_not_closed_by_its_users() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json={"name": "n", "mode": "chat"})

    runtime = Runtime()
    shared = build_async_client(BASE, options(handler), runtime)
    try:
        for i in range(2):
            async with AsyncServiceClient(BASE, key(i), options(handler), runtime, http_client=shared) as svc:
                assert (await svc.info()).mode == "chat"
        assert not shared.is_closed
        assert seen == [f"Bearer {key(0)}", f"Bearer {key(1)}"]
    finally:
        await shared.aclose()


class _StallAfter(httpx.AsyncByteStream):
    """An SSE body that sends `head`, then either never sends another byte (a run stuck server-side:
    only --timeout ends it) or drops the connection (`drop`)."""

    def __init__(self, head: bytes, *, drop: bool = False) -> None:
        self.head, self.drop = head, drop

    async def __aiter__(self) -> Any:
        yield self.head
        if self.drop:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
        await asyncio.Event().wait()  # forever: cancelled by the attempt's --timeout


def _stalling_chat(*, drop: bool) -> Any:
    # the first frame of a chat stream as Dify 1.16.0 sends it (fixture 044-svc-chat-messages-streaming.sse)
    head = b'data: {"event": "message", "conversation_id": "c1", "message_id": "m1", "answer": "Hel"}\n\n'

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/parameters"):
            return httpx.Response(200, json={"user_input_form": []})
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_StallAfter(head, drop=drop)
        )

    return handler


async def test_a_stream_cut_by_the_timeout_keeps_what_arrived(sleeps: Sleeps) -> None:
    """broadcast keeps a broken stream's partial answer (`[partial]`); one cut by --timeout too: the
    answer that arrived before the cut is the user's, as for a stream the server cut."""
    result = await broadcast(
        targets(1),
        opts(stream=True, timeout=0.05),
        client_options=options(_stalling_chat(drop=False)),
        runtime=sleeps.runtime(),
    )
    (t,) = result.targets
    assert t.status == "timeout" and t.attempts == 1 and result.exit_code == 5
    assert t.error is not None and t.error["message"] == "no complete answer in 0.05 s (--timeout)"
    assert t.partial and t.answer == "Hel"


async def test_a_stream_whose_connection_drops_keeps_what_arrived(sleeps: Sleeps) -> None:
    result = await broadcast(
        targets(1),
        opts(stream=True),
        client_options=options(_stalling_chat(drop=True)),
        runtime=sleeps.runtime(),
    )
    (t,) = result.targets
    assert t.status == "error" and t.attempts == 1 and sleeps == []  # a sent run is never re-sent
    assert t.partial and t.answer == "Hel"


async def test_a_blocking_run_cut_by_the_timeout_has_no_partial_answer(sleeps: Sleeps) -> None:
    async def never(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    result = await broadcast(
        targets(1), opts(timeout=0.05), client_options=options(never), runtime=sleeps.runtime()
    )
    (t,) = result.targets
    assert t.status == "timeout" and not t.partial and t.answer is None
