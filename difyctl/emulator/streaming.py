"""Server-sent events exactly as Dify writes them: ``event: ping`` first, then ``data: {json}`` frames."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from difyctl.emulator.runtime import Emulator

PING = b"event: ping\n\n"
_POLL = 0.05


class AbortStream(Exception):
    """Raised inside a stream to drop the connection without finishing the chunked body."""


ABORT_LOG = "ASGI callable returned without completing response."


def quiet_intended_aborts(record: logging.LogRecord) -> bool:
    """uvicorn logs an error when a response is left incomplete; for AbortStream that is the point."""
    return record.getMessage() != ABORT_LOG


def frame(payload: dict[str, Any]) -> bytes:
    return (
        b"data: " + json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n\n"
    )


@dataclass
class StreamPlan:
    """What the fault dice decided for one stream, before it starts (deterministic under the seed)."""

    latency: float = 0.0
    cut_after: int | None = None
    abort: bool = False
    error_at: int | None = None
    chunk_delay: float = 0.0


def plan_stream(emu: Emulator, latency: float, n_events: int) -> StreamPlan:
    faults = emu.faults
    plan = StreamPlan(latency=latency, chunk_delay=max(faults.stream_chunk_delay_ms, 0.0) / 1000.0)
    if faults.roll(faults.stream_cut_rate):
        plan.cut_after = max(0, min(faults.stream_cut_after, n_events - 1))
        plan.abort = faults.stream_cut_mode == "abort"
    elif faults.roll(faults.midstream_error_rate):
        plan.error_at = max(0, min(faults.stream_cut_after, n_events - 1))
    return plan


async def idle(emu: Emulator, seconds: float) -> AsyncIterator[bytes]:
    """Wait ``seconds``, sending a ping every ``ping_interval`` while nothing else is sent."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    interval = max(emu.config.ping_interval, 0.01)
    while not emu.closing:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        if remaining <= interval:
            await asyncio.sleep(remaining)
            return
        await asyncio.sleep(interval)
        yield PING


async def event_stream(
    emu: Emulator, events: list[dict[str, Any]], plan: StreamPlan, error_head: dict[str, Any]
) -> AsyncIterator[bytes]:
    yield PING
    async for ping in idle(emu, plan.latency):
        yield ping
    for index, event in enumerate(events):
        if plan.cut_after is not None and index >= plan.cut_after:
            if plan.abort:
                raise AbortStream
            return
        if plan.error_at is not None and index >= plan.error_at:
            error = {
                "event": "error",
                **error_head,
                "status": 500,
                "code": "internal_server_error",
                "message": "Injected mid-stream failure (emulator fault).",
            }
            yield frame(error)
            return
        if plan.chunk_delay and event.get("event") in ("message", "agent_message", "text_chunk"):
            async for ping in idle(emu, plan.chunk_delay):
                yield ping
        yield frame(event)


async def silent_stream(emu: Emulator, request: Request) -> AsyncIterator[bytes]:
    """Dify's answer to a streaming run with a missing required input (fixture 039): ping, then nothing."""
    yield PING
    loop = asyncio.get_running_loop()
    deadline = loop.time() + emu.config.silent_stream_timeout
    while not emu.closing and loop.time() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(_POLL)


class SSEResponse(StreamingResponse):
    """A streaming response that always runs ``on_close`` (releases the app's concurrency slot)."""

    def __init__(self, content: AsyncIterator[bytes], on_close: Callable[[], None] | None = None) -> None:
        super().__init__(content, media_type="text/event-stream")
        self._content = content
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except AbortStream:
            pass  # return mid-body: uvicorn closes the transport, the client sees a broken stream
        finally:
            aclose = getattr(self._content, "aclose", None)
            if aclose is not None:
                await aclose()
            if self._on_close is not None:
                self._on_close()
