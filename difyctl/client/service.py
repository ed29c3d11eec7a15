"""The service API (`/v1`, one app key): info, parameters, and running an app in any mode.

`run()` picks the endpoint from the app mode; agent-chat apps refuse blocking mode, so they always
stream. Streams are folded into a `RunResult` by ONE `RunAccumulator`, shared by the sync and async
clients. A workflow that finishes `failed`/`stopped` is a result (`result.ok` is False), not an
exception; an `error` event inside the stream raises `DifyStreamError`, and a stream that ends
before its final event raises `StreamTruncatedError`. Runs are never retried once sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import httpx

from difyctl.client.auth import AppKeyAuth
from difyctl.client.base import AsyncAPIClient, Call, RequestSpec, SyncAPIClient
from difyctl.client.errors import DifyError, DifyProtocolError, DifyStreamError, StreamTruncatedError
from difyctl.client.models import CHAT_MODES, AppInfo, AppParameters, RunResult, StreamEvent, Usage
from difyctl.client.sse import aiter_events, iter_events
from difyctl.client.transport import ClientOptions, Runtime, wrap_transport_error

V1 = "/v1"
ENDPOINTS: dict[str, str] = {
    "chat": f"{V1}/chat-messages",
    "advanced-chat": f"{V1}/chat-messages",
    "agent-chat": f"{V1}/chat-messages",
    "completion": f"{V1}/completion-messages",
    "workflow": f"{V1}/workflows/run",
}
ALWAYS_STREAM = frozenset({"agent-chat"})  # "Agent Chat App does not support blocking mode"
_IDS = ("conversation_id", "message_id", "task_id", "workflow_run_id")

EventCallback = Callable[[StreamEvent], None]


def _str(value: Any) -> str | None:
    return str(value) if value else None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tokens(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def run_spec(
    mode: str,
    *,
    query: str | None,
    inputs: Mapping[str, Any] | None,
    user: str,
    conversation_id: str | None,
    streaming: bool,
) -> RequestSpec:
    path = ENDPOINTS.get(mode)
    if path is None:
        raise DifyError(f"cannot run an app of mode {mode!r}", hint=f"runnable modes: {', '.join(ENDPOINTS)}")
    body: dict[str, Any] = {
        "inputs": dict(inputs or {}),
        "user": user,
        "response_mode": "streaming" if streaming else "blocking",
    }
    if mode != "workflow":
        body["query"] = query or ""
    if conversation_id and mode in CHAT_MODES:
        body["conversation_id"] = conversation_id
    return RequestSpec("POST", path, json=body, idempotent=False)


def parse_blocking(mode: str, body: Any, latency_ms: float | None = None) -> RunResult:
    """The blocking answer of any mode (fixtures 028 workflow, 030/032 chat) as a RunResult."""
    if not isinstance(body, dict):
        raise DifyProtocolError(f"a blocking run answered {type(body).__name__}, not a JSON object")
    if mode == "workflow":
        data = _obj(body.get("data"))
        if not isinstance(data.get("status"), str):  # Dify always says (fixture 028): never assume success
            raise DifyProtocolError("a blocking workflow run answered no data.status: not Dify's answer")
        outputs = data.get("outputs")
        return RunResult(
            mode=mode,
            outputs=outputs if isinstance(outputs, dict) else {},
            task_id=_str(body.get("task_id")),
            workflow_run_id=_str(body.get("workflow_run_id") or data.get("id")),
            status=str(data["status"]),
            error=_str(data.get("error")),
            usage=Usage(total_tokens=_tokens(data.get("total_tokens"))),
            latency_ms=latency_ms,
        )
    if not isinstance(body.get("answer"), str):  # Dify always sends it (fixtures 030, 032)
        raise DifyProtocolError("a blocking run answered no `answer`: not Dify's answer")
    metadata = _obj(body.get("metadata"))
    # a chatflow stopped at a human-input node: event `workflow_paused`, the answer so far, data.status
    # "paused" (Dify's ChatPausedBlockingResponse, after 1.16): no success, whatever it answered
    paused = body.get("event") == "workflow_paused"
    return RunResult(
        mode=mode,
        answer=body["answer"],
        conversation_id=_str(body.get("conversation_id")),
        message_id=_str(body.get("message_id") or body.get("id")),
        task_id=_str(body.get("task_id")),
        workflow_run_id=_str(body.get("workflow_run_id")),
        status=str(_obj(body.get("data")).get("status") or "paused") if paused else "succeeded",
        usage=Usage.from_api(metadata.get("usage")),
        latency_ms=latency_ms,
    )


class RunAccumulator:
    """Folds stream events into a RunResult: deltas concatenated, `message_replace` replaces the
    answer, usage from `message_end` (or `workflow_finished` total_tokens), outputs/status from
    `workflow_finished`, ids from whichever event carries them first."""

    def __init__(self, mode: str, clock: Callable[[], float]) -> None:
        self.mode = mode
        self._clock = clock
        self._start = clock()
        self._parts: list[str] = []
        self._ids: dict[str, str] = {}
        self._usage: Usage | None = None
        self._outputs: dict[str, Any] | None = None
        self._status = "succeeded"
        self._error: str | None = None
        self._ttft_ms: float | None = None
        self.finished = False

    @property
    def answer(self) -> str:
        return "".join(self._parts)

    def feed(self, event: StreamEvent) -> None:
        for key in _IDS:
            value = event.data.get(key)
            if value and key not in self._ids:
                self._ids[key] = str(value)
        handler = _HANDLERS.get(event.event)
        if handler is not None:
            handler(self, event.data)

    def elapsed_ms(self) -> float:
        return (self._clock() - self._start) * 1000.0

    def _delta(self, text: Any) -> None:
        if self._ttft_ms is None:
            self._ttft_ms = self.elapsed_ms()
        if text:
            self._parts.append(str(text))

    def _on_message(self, data: dict[str, Any]) -> None:
        self._delta(data.get("answer"))

    def _on_text_chunk(self, data: dict[str, Any]) -> None:
        self._delta(_obj(data.get("data")).get("text"))

    def _on_message_replace(self, data: dict[str, Any]) -> None:
        self._parts = [str(data.get("answer") or "")]

    def _on_text_replace(self, data: dict[str, Any]) -> None:
        self._parts = [str(_obj(data.get("data")).get("text") or "")]

    def _on_message_end(self, data: dict[str, Any]) -> None:
        self._usage = Usage.from_api(_obj(data.get("metadata")).get("usage"))
        self.finished = True

    def _on_workflow_finished(self, data: dict[str, Any]) -> None:
        inner = _obj(data.get("data"))
        self._status = str(inner.get("status") or "succeeded")
        self._error = _str(inner.get("error"))
        outputs = inner.get("outputs")
        self._outputs = outputs if isinstance(outputs, dict) else {}
        if self._usage is None:
            self._usage = Usage(total_tokens=_tokens(inner.get("total_tokens")))
        self.finished = True

    def _on_error(self, data: dict[str, Any]) -> None:
        status = data.get("status")
        raise DifyStreamError(
            str(data.get("code") or ""),
            str(data.get("message") or "the stream reported an error"),
            status if isinstance(status, int) else None,
            partial_answer=self.answer,
        )

    def finish(self) -> None:
        if not self.finished:
            raise StreamTruncatedError(
                "the stream ended before its final event",
                partial_answer=self.answer,
                hint="the server or a proxy cut the connection; try again or use blocking mode",
            )

    def result(self) -> RunResult:
        self.finish()
        workflow = self.mode == "workflow"
        return RunResult(
            mode=self.mode,
            answer=(self.answer or None) if workflow else self.answer,
            outputs=self._outputs if workflow else None,
            conversation_id=self._ids.get("conversation_id"),
            message_id=self._ids.get("message_id"),
            task_id=self._ids.get("task_id"),
            workflow_run_id=self._ids.get("workflow_run_id"),
            status=self._status,
            error=self._error,
            usage=self._usage or Usage(),
            latency_ms=self.elapsed_ms(),
            ttft_ms=self._ttft_ms,
        )


_HANDLERS: dict[str, Callable[[RunAccumulator, dict[str, Any]], None]] = {
    "message": RunAccumulator._on_message,
    "agent_message": RunAccumulator._on_message,
    "text_chunk": RunAccumulator._on_text_chunk,
    "message_replace": RunAccumulator._on_message_replace,
    "text_replace": RunAccumulator._on_text_replace,
    "message_end": RunAccumulator._on_message_end,
    "workflow_finished": RunAccumulator._on_workflow_finished,
    "error": RunAccumulator._on_error,
}


def _check_event_stream(response: httpx.Response) -> None:
    content_type = response.headers.get("content-type", "")
    if "text/event-stream" not in content_type:
        raise DifyProtocolError(
            f"a streaming run answered {content_type or 'no content type'}, not an event stream",
            status_code=response.status_code,
        )


_INFO: Call[AppInfo] = Call(RequestSpec("GET", f"{V1}/info"), lambda b: AppInfo.from_api(b or {}))
_PARAMETERS: Call[AppParameters] = Call(
    RequestSpec("GET", f"{V1}/parameters"), lambda b: AppParameters.from_api(b or {})
)


class ServiceClient(SyncAPIClient):
    api_prefix = V1

    def __init__(
        self,
        base_url: str,
        api_key: str,
        options: ClientOptions | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        super().__init__(base_url, auth=AppKeyAuth(api_key), options=options, runtime=runtime)

    def info(self) -> AppInfo:
        """GET /v1/info: the cheap probe of a key (spends no tokens)."""
        return self.call(_INFO)

    def parameters(self) -> AppParameters:
        return self.call(_PARAMETERS)

    def _events(self, spec: RequestSpec, acc: RunAccumulator) -> Iterator[StreamEvent]:
        with self.open_stream(spec) as response:
            _check_event_stream(response)
            try:
                for event in iter_events(response.iter_bytes()):
                    acc.feed(event)
                    yield event
            except httpx.TransportError as exc:
                raise wrap_transport_error(exc, response.request) from exc
        acc.finish()

    def stream(
        self,
        mode: str,
        *,
        query: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        user: str,
        conversation_id: str | None = None,
    ) -> Iterator[StreamEvent]:
        spec = run_spec(
            mode, query=query, inputs=inputs, user=user, conversation_id=conversation_id, streaming=True
        )
        return self._events(spec, RunAccumulator(mode, self.runtime.clock))

    def run(
        self,
        mode: str,
        *,
        query: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        user: str,
        conversation_id: str | None = None,
        stream: bool = False,
        on_event: EventCallback | None = None,
        acc: RunAccumulator | None = None,
    ) -> RunResult:
        """`acc`: the caller's, to keep what a stream answered when it is cut."""
        streaming = stream or mode in ALWAYS_STREAM
        spec = run_spec(
            mode, query=query, inputs=inputs, user=user, conversation_id=conversation_id, streaming=streaming
        )
        acc = acc or RunAccumulator(mode, self.runtime.clock)
        if not streaming:
            body = self.request(spec)
            return parse_blocking(mode, body, acc.elapsed_ms())
        for event in self._events(spec, acc):
            if on_event is not None:
                on_event(event)
        return acc.result()


class AsyncServiceClient(AsyncAPIClient):
    api_prefix = V1

    def __init__(
        self,
        base_url: str,
        api_key: str,
        options: ClientOptions | None = None,
        runtime: Runtime | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            base_url, auth=AppKeyAuth(api_key), options=options, runtime=runtime, http_client=http_client
        )

    async def info(self) -> AppInfo:
        return await self.call(_INFO)

    async def parameters(self) -> AppParameters:
        return await self.call(_PARAMETERS)

    async def _events(self, spec: RequestSpec, acc: RunAccumulator) -> AsyncIterator[StreamEvent]:
        async with self.open_stream(spec) as response:
            _check_event_stream(response)
            try:
                async for event in aiter_events(response.aiter_bytes()):
                    acc.feed(event)
                    yield event
            except httpx.TransportError as exc:
                raise wrap_transport_error(exc, response.request) from exc
        acc.finish()

    def stream(
        self,
        mode: str,
        *,
        query: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        user: str,
        conversation_id: str | None = None,
    ) -> AsyncIterator[StreamEvent]:
        spec = run_spec(
            mode, query=query, inputs=inputs, user=user, conversation_id=conversation_id, streaming=True
        )
        return self._events(spec, RunAccumulator(mode, self.runtime.clock))

    async def run(
        self,
        mode: str,
        *,
        query: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        user: str,
        conversation_id: str | None = None,
        stream: bool = False,
        on_event: EventCallback | None = None,
        acc: RunAccumulator | None = None,
    ) -> RunResult:
        """`acc`: the caller's, to keep what a stream answered when it is cut (broadcast's --timeout)."""
        streaming = stream or mode in ALWAYS_STREAM
        spec = run_spec(
            mode, query=query, inputs=inputs, user=user, conversation_id=conversation_id, streaming=streaming
        )
        acc = acc or RunAccumulator(mode, self.runtime.clock)
        if not streaming:
            body = await self.request(spec)
            return parse_blocking(mode, body, acc.elapsed_ms())
        async for event in self._events(spec, acc):
            if on_event is not None:
                on_event(event)
        return acc.result()
