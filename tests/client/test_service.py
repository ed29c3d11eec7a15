"""ServiceClient / AsyncServiceClient: info, parameters, blocking and streaming runs in every mode."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from difyctl.client import errors as e
from difyctl.client.models import StreamEvent
from difyctl.client.service import RunAccumulator, parse_blocking, run_spec

from .conftest import (
    APP_KEY,
    BASE,
    BOTH,
    FakeRuntime,
    close,
    collect,
    exchange,
    recorded,
    resolve,
    service,
    sse_bytes,
)

SSE = {"content-type": "text/event-stream; charset=utf-8", "X-Version": "1.13.2"}


def frames(*events: dict[str, Any], ping: bool = True) -> bytes:
    out = b"event: ping\n\n" if ping else b""
    return out + b"".join(f"data: {json.dumps(ev)}\n\n".encode() for ev in events)


def stream_response(
    chunks: Sequence[bytes | Exception], is_async: bool, on_chunk: Callable[[], None] | None = None
) -> httpx.Response:
    """A streamed response whose chunks arrive one by one (the fake clock can move between them)."""

    def sync_body() -> Iterator[bytes]:
        for chunk in chunks:
            if on_chunk:
                on_chunk()
            if isinstance(chunk, Exception):
                raise chunk
            yield chunk

    async def async_body() -> AsyncIterator[bytes]:
        for chunk in sync_body():
            yield chunk

    return httpx.Response(200, headers=SSE, content=async_body() if is_async else sync_body())


class Capture:
    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


async def _run(
    is_async: bool, fake: FakeRuntime, answer: Callable[[httpx.Request], httpx.Response], mode: str, **kw: Any
) -> tuple[Any, Capture]:
    capture = Capture(answer)
    client = service(capture, is_async, fake)
    try:
        return await resolve(client.run(mode, user="ops-tester", **kw)), capture
    finally:
        await close(client)


# ---- info / parameters --------------------------------------------------------------------------


@BOTH
async def test_info_and_parameters(is_async: bool, fake: FakeRuntime) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {APP_KEY}"
        return recorded({"/v1/info": "023", "/v1/parameters": "024"}[request.url.path], request=request)

    client = service(handler, is_async, fake)
    info = await resolve(client.info())
    params = await resolve(client.parameters())
    await close(client)
    assert (info.name, info.mode, info.author_name) == ("echo-workflow", "workflow", "Admin")
    (field,) = params.inputs
    assert (field.variable, field.type, field.required, field.max_length) == (
        "query",
        "text-input",
        True,
        256,
    )


@BOTH
async def test_bad_key(is_async: bool, fake: FakeRuntime) -> None:
    client = service(lambda r: recorded("036", request=r), is_async, fake, key="app-wrong")
    with pytest.raises(e.AuthenticationError, match="Access token is invalid"):
        await resolve(client.info())
    await close(client)


@BOTH
async def test_base_url_with_v1(is_async: bool, fake: FakeRuntime) -> None:
    from difyctl.client.service import AsyncServiceClient, ServiceClient

    from .conftest import options

    capture = Capture(lambda r: recorded("023", request=r))
    cls = AsyncServiceClient if is_async else ServiceClient
    client = cls(f"{BASE}/v1", APP_KEY, options=options(capture), runtime=fake.runtime())
    await resolve(client.info())
    await close(client)
    assert str(capture.requests[0].url) == f"{BASE}/v1/info"


# ---- blocking runs --------------------------------------------------------------------------------


@BOTH
async def test_blocking_workflow(is_async: bool, fake: FakeRuntime) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        fake.t += 0.035
        return recorded("028", request=request)

    result, capture = await _run(is_async, fake, answer, "workflow", inputs={"query": "hello from blocking"})
    assert capture.bodies == [exchange("028")["request"]["body"]]
    assert capture.requests[0].url.path == "/v1/workflows/run"
    assert result.ok and result.status == "succeeded"
    assert result.outputs == {"echo": "hello from blocking"}
    assert result.workflow_run_id == "e2aeff43-3495-45a7-ac1b-4e48d52a883f"
    assert result.task_id == "a272149a-d694-498d-90ae-388d9af9aa22"
    assert result.latency_ms == pytest.approx(35.0)
    assert result.ttft_ms is None
    assert result.to_dict()["outputs"] == {"echo": "hello from blocking"}


@BOTH
@pytest.mark.parametrize(
    ("prefix", "query", "answer"),
    [
        ("030", "ping blocking", "ping blocking"),
        ("032", "abc", '{"status": "success", "data": {"echo": "abc"}}'),
    ],
)
async def test_blocking_chat(is_async: bool, fake: FakeRuntime, prefix: str, query: str, answer: str) -> None:
    result, capture = await _run(
        is_async, fake, lambda r: recorded(prefix, request=r), "advanced-chat", query=query
    )
    assert capture.bodies == [exchange(prefix)["request"]["body"]]
    assert result.answer == answer and result.ok
    assert result.conversation_id and result.message_id and result.task_id
    assert result.usage.currency == "USD" and result.usage.total_price == "0.0"
    assert result.to_dict()["answer"] == answer


@BOTH
async def test_blocking_completion_and_conversation_ids(is_async: bool, fake: FakeRuntime) -> None:
    body = {
        "event": "message",
        "task_id": "t",
        "id": "m1",
        "mode": "completion",
        "answer": "done",
        "metadata": {"usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}},
    }
    result, capture = await _run(
        is_async,
        fake,
        lambda r: httpx.Response(200, json=body),
        "completion",
        query="q",
        conversation_id="ignored-for-completion",
    )
    assert capture.requests[0].url.path == "/v1/completion-messages"
    assert capture.bodies[0] == {
        "inputs": {},
        "user": "ops-tester",
        "response_mode": "blocking",
        "query": "q",
    }
    assert (result.answer, result.message_id, result.usage.total_tokens) == ("done", "m1", 7)
    chat, capture = await _run(
        is_async, fake, lambda r: recorded("030", request=r), "chat", query="x", conversation_id="c-1"
    )
    assert capture.bodies[0]["conversation_id"] == "c-1"


@BOTH
async def test_blocking_failed_workflow_is_a_result(is_async: bool, fake: FakeRuntime) -> None:
    body = {
        "task_id": "t",
        "workflow_run_id": "r",
        "data": {
            "id": "r",
            "status": "failed",
            "outputs": None,
            "error": "Node LLM failed: quota",
            "total_tokens": 12,
        },
    }
    result, _ = await _run(is_async, fake, lambda r: httpx.Response(200, json=body), "workflow")
    assert not result.ok
    assert (result.status, result.error, result.outputs, result.usage.total_tokens) == (
        "failed",
        "Node LLM failed: quota",
        {},
        12,
    )


@BOTH
async def test_blocking_validation_error(is_async: bool, fake: FakeRuntime) -> None:
    with pytest.raises(e.BadRequestError, match="query is required in input form"):
        await _run(is_async, fake, lambda r: recorded("038", request=r), "workflow")


@BOTH
async def test_wrong_mode_endpoint(is_async: bool, fake: FakeRuntime) -> None:
    with pytest.raises(e.BadRequestError) as info:
        await _run(is_async, fake, lambda r: recorded("034", request=r), "chat", query="x")
    assert info.value.code == "not_chat_app"


def test_parse_blocking_rejects_non_objects() -> None:
    with pytest.raises(e.DifyProtocolError):
        parse_blocking("chat", ["x"])
    odd = parse_blocking("workflow", {"data": {"status": "succeeded", "outputs": 5, "total_tokens": "many"}})
    assert odd.outputs == {} and odd.status == "succeeded" and odd.usage.total_tokens == 0
    assert parse_blocking("chat", {"answer": "", "metadata": "x"}).answer == ""


@pytest.mark.parametrize(
    ("mode", "body"),
    [
        ("workflow", {}),
        ("workflow", {"data": "nope"}),
        ("workflow", {"data": {"outputs": {"echo": "x"}}}),
        ("workflow", {"data": {"status": None}}),
        ("advanced-chat", {}),
        ("chat", {"answer": None}),
        ("completion", {"answer": 5}),
    ],
)
def test_a_200_that_is_not_a_run_answer_is_no_success(mode: str, body: dict[str, object]) -> None:
    """Dify's blocking answers always carry data.status (workflow, fixture 028) and `answer` (chat,
    completion: 030, 032). A 200 without them (a gateway's '{}') was taken for a run that succeeded
    with an empty answer: `run` and `broadcast` exited 0. It is a protocol error (exit 5, as an HTML
    page with 200 is), never a success."""
    with pytest.raises(e.DifyProtocolError, match="not Dify's answer"):
        parse_blocking(mode, body)


def test_unknown_mode() -> None:
    with pytest.raises(e.DifyError, match="cannot run an app of mode 'channel'"):
        run_spec("channel", query=None, inputs=None, user="u", conversation_id=None, streaming=False)


# ---- never retried once sent ----------------------------------------------------------------------


@BOTH
@pytest.mark.parametrize("status", [429, 500, 503])
async def test_runs_are_not_retried_once_sent(is_async: bool, fake: FakeRuntime, status: int) -> None:
    with pytest.raises(e.DifyStatusError):
        _, capture = await _run(
            is_async, fake, lambda r: httpx.Response(status, json={"message": "x"}), "chat", query="q"
        )
    assert fake.sleeps == []


@BOTH
@pytest.mark.parametrize("stream", [False, True])
async def test_runs_are_retried_when_never_sent(is_async: bool, fake: FakeRuntime, stream: bool) -> None:
    attempts: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) == 1:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        if stream:
            return httpx.Response(200, headers=SSE, content=sse_bytes("031"))
        return recorded("030", request=request)

    result, _ = await _run(is_async, fake, answer, "advanced-chat", query="q", stream=stream)
    assert result.ok and len(attempts) == 2 and fake.sleeps == [0.5]


# ---- streaming runs -------------------------------------------------------------------------------


@BOTH
async def test_streaming_workflow_from_the_recording(is_async: bool, fake: FakeRuntime) -> None:
    raw = sse_bytes("029")
    chunks = [raw[i : i + 50] for i in range(0, len(raw), 50)]
    result, capture = await _run(
        is_async,
        fake,
        lambda r: stream_response(chunks, is_async, lambda: setattr(fake, "t", fake.t + 0.001)),
        "workflow",
        inputs={"query": "hello from streaming"},
        stream=True,
    )
    assert capture.bodies[0]["response_mode"] == "streaming"
    assert result.ok and result.outputs == {"echo": "hello from streaming"}
    assert result.answer == "hello from streaming"  # text_chunk deltas
    assert result.workflow_run_id == "f611f61a-feec-4ea5-b114-59e9603bca25"
    assert result.task_id == "18c33f01-8cbe-42cf-80ba-f6c8ee24a021"
    assert result.usage.total_tokens == 0
    assert 0 < result.ttft_ms < result.latency_ms


@BOTH
@pytest.mark.parametrize(
    ("prefix", "answer"),
    [
        ("031", "ping streaming"),
        ("033", '{"status": "success", "data": {"echo": "abc"}}'),
    ],
)
async def test_streaming_chatflow_from_the_recording(
    is_async: bool, fake: FakeRuntime, prefix: str, answer: str
) -> None:
    seen: list[StreamEvent] = []
    result, _ = await _run(
        is_async,
        fake,
        lambda r: httpx.Response(200, headers=SSE, content=sse_bytes(prefix)),
        "advanced-chat",
        query="q",
        stream=True,
        on_event=seen.append,
    )
    assert result.answer == answer and result.ok
    assert result.outputs is None  # chat modes keep the answer; to_dict shows it
    assert result.conversation_id and result.message_id and result.workflow_run_id
    assert result.usage.currency == "USD"  # the full usage of message_end
    names = [ev.event for ev in seen]
    assert "ping" not in names and names[0] == "workflow_started"
    assert names.index("message_end") < names.index("workflow_finished")


@BOTH
async def test_agent_chat_always_streams(is_async: bool, fake: FakeRuntime) -> None:
    body = frames(
        {"event": "agent_thought", "id": "t1", "thought": "hmm"},
        {"event": "agent_message", "answer": "Hel", "conversation_id": "c", "message_id": "m"},
        {"event": "agent_message", "answer": "lo"},
        {"event": "message_end", "id": "m", "metadata": {"usage": {"total_tokens": 9}}},
    )
    result, capture = await _run(
        is_async,
        fake,
        lambda r: httpx.Response(200, headers=SSE, content=body),
        "agent-chat",
        query="hi",
        stream=False,
    )
    assert capture.bodies[0]["response_mode"] == "streaming"
    assert (result.answer, result.usage.total_tokens, result.conversation_id) == ("Hello", 9, "c")


@BOTH
async def test_ttft_and_latency_use_the_injected_clock(is_async: bool, fake: FakeRuntime) -> None:
    chunks: list[bytes | Exception] = [
        b"event: ping\n\n",
        frames({"event": "workflow_started", "workflow_run_id": "r"}, ping=False),
        frames({"event": "message", "answer": "a"}, ping=False),
        frames({"event": "message", "answer": "b"}, ping=False),
        frames({"event": "message_end", "metadata": {}}, ping=False),
    ]
    result, _ = await _run(
        is_async,
        fake,
        lambda r: stream_response(chunks, is_async, lambda: setattr(fake, "t", fake.t + 0.1)),
        "chat",
        query="q",
        stream=True,
    )
    assert result.ttft_ms == pytest.approx(300.0)  # the first delta arrived with the 3rd chunk
    assert result.latency_ms == pytest.approx(500.0)


@BOTH
async def test_message_replace_and_usage_from_workflow_finished(is_async: bool, fake: FakeRuntime) -> None:
    body = frames(
        {"event": "message", "answer": "bad words"},
        {"event": "message_replace", "answer": "[moderated]"},
        {"event": "message", "answer": "!"},
        {
            "event": "workflow_finished",
            "data": {"status": "succeeded", "outputs": {"x": 1}, "total_tokens": 42},
        },
    )
    result, _ = await _run(
        is_async,
        fake,
        lambda r: httpx.Response(200, headers=SSE, content=body),
        "advanced-chat",
        query="q",
        stream=True,
    )
    assert result.answer == "[moderated]!" and result.usage.total_tokens == 42


@BOTH
async def test_streaming_failed_workflow_is_a_result(is_async: bool, fake: FakeRuntime) -> None:
    body = frames(
        {"event": "text_chunk", "data": {"text": "part"}},
        {"event": "text_replace", "data": {"text": "whole"}},
        {
            "event": "workflow_finished",
            "workflow_run_id": "r",
            "data": {"status": "failed", "error": "boom", "outputs": None},
        },
    )
    result, _ = await _run(
        is_async, fake, lambda r: httpx.Response(200, headers=SSE, content=body), "workflow", stream=True
    )
    assert (result.ok, result.status, result.error, result.answer, result.outputs) == (
        False,
        "failed",
        "boom",
        "whole",
        {},
    )


@BOTH
async def test_mid_stream_error_event(is_async: bool, fake: FakeRuntime) -> None:
    body = frames(
        {"event": "message", "answer": "Par"},
        {"event": "message", "answer": "tial"},
        {"event": "error", "code": "provider_quota_exceeded", "message": "quota exceeded", "status": 400},
    )
    with pytest.raises(e.DifyStreamError) as info:
        await _run(
            is_async,
            fake,
            lambda r: httpx.Response(200, headers=SSE, content=body),
            "chat",
            query="q",
            stream=True,
        )
    err = info.value
    assert (err.code, err.status, err.partial_answer) == ("provider_quota_exceeded", 400, "Partial")
    assert err.message == "quota exceeded (provider_quota_exceeded)"


@BOTH
async def test_truncated_stream(is_async: bool, fake: FakeRuntime) -> None:
    raw = sse_bytes("031")
    cut = raw[: raw.index(b'data: {"event":"message_end"')]
    with pytest.raises(e.StreamTruncatedError) as info:
        await _run(
            is_async,
            fake,
            lambda r: httpx.Response(200, headers=SSE, content=cut),
            "advanced-chat",
            query="q",
            stream=True,
        )
    assert info.value.partial_answer == "ping streaming"


@BOTH
async def test_read_timeout_during_a_stream(is_async: bool, fake: FakeRuntime) -> None:
    # fixture 039: a missing required input streams one ping, then nothing for minutes
    chunks: list[bytes | Exception] = [sse_bytes("039"), httpx.ReadTimeout("timed out")]
    with pytest.raises(e.DifyTimeoutError) as info:
        await _run(is_async, fake, lambda r: stream_response(chunks, is_async), "workflow", stream=True)
    assert "/v1/workflows/run" in info.value.message
    assert info.value.hint is not None and "required input" in info.value.hint
    assert fake.sleeps == []  # a sent run is never retried


@BOTH
async def test_stream_not_an_event_stream(is_async: bool, fake: FakeRuntime) -> None:
    with pytest.raises(e.DifyProtocolError, match="not an event stream"):
        await _run(is_async, fake, lambda r: recorded("030", request=r), "chat", query="q", stream=True)


@BOTH
async def test_stream_error_status_before_the_stream(is_async: bool, fake: FakeRuntime) -> None:
    with pytest.raises(e.BadRequestError, match="query is required"):
        await _run(is_async, fake, lambda r: recorded("038", request=r), "workflow", stream=True)


@BOTH
async def test_stream_error_status_whose_body_breaks(is_async: bool, fake: FakeRuntime) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        def body() -> Iterator[bytes]:
            yield b'{"code": '
            raise httpx.ReadError("reset")

        async def abody() -> AsyncIterator[bytes]:
            for chunk in body():
                yield chunk

        return httpx.Response(
            400, headers={"content-type": "application/json"}, content=abody() if is_async else body()
        )

    with pytest.raises(e.DifyConnectionError, match="connection to http://127.0.0.1:5001 failed"):
        await _run(is_async, fake, answer, "workflow", stream=True)


@BOTH
async def test_stream_yields_events(is_async: bool, fake: FakeRuntime) -> None:
    client = service(lambda r: httpx.Response(200, headers=SSE, content=sse_bytes("029")), is_async, fake)
    events = await collect(client.stream("workflow", inputs={"query": "x"}, user="u"))
    await close(client)
    assert [ev.event for ev in events][-1] == "workflow_finished"
    assert len(events) == 7


@BOTH
async def test_stream_raises_at_the_end_when_truncated(is_async: bool, fake: FakeRuntime) -> None:
    body = frames({"event": "message", "answer": "a"})
    client = service(lambda r: httpx.Response(200, headers=SSE, content=body), is_async, fake)
    seen: list[str] = []
    with pytest.raises(e.StreamTruncatedError):
        if is_async:
            async for ev in client.stream("chat", query="q", user="u"):
                seen.append(ev.event)
        else:
            for ev in client.stream("chat", query="q", user="u"):
                seen.append(ev.event)
    await close(client)
    assert seen == ["message"]


def test_accumulator_ignores_unknown_events_and_keeps_first_ids() -> None:
    clock = iter([0.0, 0.010, 0.020]).__next__
    acc = RunAccumulator("chat", clock)
    acc.feed(StreamEvent("tts_message", {"event": "tts_message", "audio": "xx", "conversation_id": "c1"}))
    acc.feed(StreamEvent("message", {"event": "message", "answer": "", "conversation_id": "c2"}))
    acc.feed(StreamEvent("message_end", {"event": "message_end", "metadata": None}))
    result = acc.result()
    assert result.conversation_id == "c1" and result.answer == "" and result.ttft_ms == pytest.approx(10.0)
    acc2 = RunAccumulator("workflow", lambda: 0.0)
    acc2.feed(StreamEvent("text_chunk", {"event": "text_chunk", "data": None}))
    acc2.feed(StreamEvent("text_replace", {"event": "text_replace", "data": None}))
    acc2.feed(StreamEvent("workflow_finished", {"event": "workflow_finished", "data": None}))
    assert acc2.result().answer is None
    with pytest.raises(e.DifyStreamError) as info:
        RunAccumulator("chat", lambda: 0.0).feed(StreamEvent("error", {"event": "error", "status": "bad"}))
    assert info.value.status is None and info.value.code == ""


_RECORDINGS = Path(__file__).resolve().parents[1] / "contract" / "recordings"


def _recorded_blocking_answers() -> list[tuple[str, str, dict[str, Any]]]:
    """Every 200 a real server gave to a blocking run (both recorded versions): (name, mode, body)."""
    out = []
    for path in sorted(_RECORDINGS.glob("dify-*/*-svc-*.json")):
        ex = json.loads(path.read_text("utf-8"))
        body = ex["request"].get("body")
        answer = ex["response"].get("json")
        if not (isinstance(body, dict) and body.get("response_mode") == "blocking"):
            continue
        if ex["response"]["status"] != 200 or not isinstance(answer, dict):
            continue
        mode = "workflow" if ex["request"]["path"].endswith("/workflows/run") else str(answer["mode"])
        out.append((f"{path.parent.name}/{path.stem}", mode, answer))
    return out


def test_every_recorded_blocking_answer_parses() -> None:
    """The 200s of blocking runs recorded on 1.13.2 and 1.16.0 (workflow, advanced-chat) are answers,
    never 'not Dify's answer' (the check added for a gateway's '{}' must not refuse a real one)."""
    found = _recorded_blocking_answers()
    assert {name.split("/")[0] for name, _, _ in found} == {"dify-1.13.2", "dify-1.16.0"}
    assert {mode for _, mode, _ in found} >= {"workflow", "advanced-chat"}
    for name, mode, body in found:
        run = parse_blocking(mode, body)
        assert run.ok, name
        if mode == "workflow":
            assert run.status == body["data"]["status"] and run.outputs == body["data"]["outputs"], name
        else:
            assert run.answer == body["answer"] and run.conversation_id == body["conversation_id"], name


@pytest.mark.parametrize(
    ("mode", "body", "status", "answer"),
    [
        # a failed / stopped workflow: WorkflowAppBlockingResponse.Data carries the run's status and
        # error (api/core/app/apps/workflow/generate_task_pipeline.py, _to_blocking_response)
        ("workflow", {"data": {"status": "failed", "outputs": None, "error": "boom"}}, "failed", None),
        ("workflow", {"data": {"status": "stopped", "outputs": {}, "error": None}}, "stopped", None),
        # a paused run (a human-input node, newer Dify): WorkflowPausedBlockingResponse, data.status
        # "paused" (api/controllers/common/fields.py's response schemas)
        ("workflow", {"data": {"status": "paused", "paused_nodes": ["approval"]}}, "paused", None),
        # advanced-chat with an empty answer (an Answer node that printed nothing)
        ("advanced-chat", {"event": "message", "answer": "", "metadata": {}}, "succeeded", ""),
        # an annotation reply: the annotation's text is the answer, the hit in metadata.annotation_reply
        (
            "chat",
            {"event": "message", "answer": "canned", "metadata": {"annotation_reply": {"id": "a1"}}},
            "succeeded",
            "canned",
        ),
        # output moderation replaced the answer with its preset text (still `answer`, a string)
        (
            "completion",
            {"event": "message", "answer": "Your content violates our policy.", "metadata": {}},
            "succeeded",
            "Your content violates our policy.",
        ),
    ],
)
def test_every_blocking_shape_dify_sends_parses(
    mode: str, body: dict[str, Any], status: str, answer: str | None
) -> None:
    run = parse_blocking(mode, body)
    assert run.status == status and run.answer == answer


def test_a_paused_chatflow_is_no_success() -> None:
    """A chatflow that stops at a human-input node answers a blocking run with event `workflow_paused`,
    the answer so far, and data.status "paused" (Dify's service API schema ChatPausedBlockingResponse /
    ChatPausedBlockingDataResponse, in releases after the recorded 1.16.0). It carries `answer`, so it
    parsed as a chat answer that succeeded: `run` exited 0 with half an answer."""
    body = {
        "event": "workflow_paused",
        "task_id": "t1",
        "id": "m1",
        "message_id": "m1",
        "conversation_id": "c1",
        "mode": "advanced-chat",
        "answer": "so far",
        "metadata": {},
        "created_at": 1,
        "workflow_run_id": "run-1",
        "data": {"status": "paused", "paused_nodes": ["approval"], "answer": "so far"},
    }
    run = parse_blocking("advanced-chat", body)
    assert not run.ok and run.status == "paused"
    assert run.answer == "so far" and run.workflow_run_id == "run-1" and run.conversation_id == "c1"
    done = parse_blocking("advanced-chat", {**body, "event": "message", "data": None})
    assert done.ok and done.status == "succeeded"  # an ordinary answer is untouched
