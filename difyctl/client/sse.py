"""Server-sent events: decode bytes into events first, then dispatch them as Dify events.

`SSEDecoder` is a small state machine after the WHATWG "event stream interpretation": bytes are
decoded incrementally as UTF-8 (a character split across chunks is fine), lines end in \\n, \\r\\n
or \\r (also split across chunks), `data:` lines join with \\n, comments (`:`) are ignored and an
event is dispatched on a blank line. Unlike the spec it also dispatches events without data, so
that Dify's `event: ping` keep-alives are visible to the layer above, which drops them.

Dify puts the event name inside the JSON (`data: {"event": "message", ...}`); the SSE `event:`
field is only used for `ping`.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass

from difyctl.client.errors import DifyProtocolError
from difyctl.client.models import StreamEvent

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class ServerSentEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None
        self._dirty = False  # a field was seen since the last dispatch
        self.last_event_id: str | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Events completed by this chunk (possibly none)."""
        self._buffer += self._utf8.decode(chunk)
        return self._drain(final=False)

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: complete the last line; an event without its blank line is discarded."""
        self._buffer += self._utf8.decode(b"", final=True)
        events = self._drain(final=True)
        self._buffer = ""
        self._reset()
        return events

    def _drain(self, *, final: bool) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        pos = 0
        buffer = self._buffer
        while True:
            match = _LINE_END.search(buffer, pos)
            if match is None:
                break
            # a lone \r at the very end may be the first half of \r\n: wait for the next chunk
            if match.group() == "\r" and match.end() == len(buffer) and not final:
                break
            self._process_line(buffer[pos : match.start()], events)
            pos = match.end()
        self._buffer = buffer[pos:]
        return events

    def _process_line(self, line: str, events: list[ServerSentEvent]) -> None:
        if not line:
            self._dispatch(events)
            return
        if line.startswith(":"):
            return
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        handler = _FIELDS.get(name)
        if handler is not None:
            handler(self, value)

    def _set_event(self, value: str) -> None:
        self._event = value
        self._dirty = True

    def _add_data(self, value: str) -> None:
        self._data.append(value)
        self._dirty = True

    def _set_id(self, value: str) -> None:
        if "\0" not in value:
            self._id = value
            self.last_event_id = value
            self._dirty = True

    def _set_retry(self, value: str) -> None:
        if value.isdigit():
            self._retry = int(value)
            self._dirty = True

    def _dispatch(self, events: list[ServerSentEvent]) -> None:
        if self._dirty:
            events.append(
                ServerSentEvent(
                    event=self._event or "message", data="\n".join(self._data), id=self._id, retry=self._retry
                )
            )
        self._reset()

    def _reset(self) -> None:
        self._event = ""
        self._data = []
        self._id = None
        self._retry = None
        self._dirty = False


_FIELDS: dict[str, Callable[[SSEDecoder, str], None]] = {
    "event": SSEDecoder._set_event,
    "data": SSEDecoder._add_data,
    "id": SSEDecoder._set_id,
    "retry": SSEDecoder._set_retry,
}


def iter_sse(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.flush()


async def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[ServerSentEvent]:
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.flush():
        yield event


# ---- Dify dispatch ----------------------------------------------------------------------------


def _drop(_sse: ServerSentEvent) -> StreamEvent | None:
    return None


def _json_frame(sse: ServerSentEvent) -> StreamEvent | None:
    if not sse.data.strip():
        return None
    try:
        data = json.loads(sse.data)
    except ValueError:
        snippet = sse.data if len(sse.data) <= 80 else sse.data[:79] + "…"
        raise DifyProtocolError(f"undecodable event in the stream: {snippet!r}") from None
    if not isinstance(data, dict):
        raise DifyProtocolError(f"stream event is not a JSON object: {type(data).__name__}")
    return StreamEvent(event=str(data.get("event") or sse.event), data=data)


# The SSE `event:` name decides how a frame is read; anything unnamed is a Dify JSON frame.
_DISPATCH: dict[str, Callable[[ServerSentEvent], StreamEvent | None]] = {
    "ping": _drop,
    "message": _json_frame,
}


def to_dify_event(sse: ServerSentEvent) -> StreamEvent | None:
    """A Dify event, or None for keep-alives and empty frames. Bad JSON -> DifyProtocolError."""
    return _DISPATCH.get(sse.event, _json_frame)(sse)


def iter_events(chunks: Iterable[bytes]) -> Iterator[StreamEvent]:
    for sse in iter_sse(chunks):
        event = to_dify_event(sse)
        if event is not None:
            yield event


async def aiter_events(chunks: AsyncIterable[bytes]) -> AsyncIterator[StreamEvent]:
    async for sse in aiter_sse(chunks):
        event = to_dify_event(sse)
        if event is not None:
            yield event
