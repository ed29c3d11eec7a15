"""The SSE decoder and the Dify dispatch, fed the real 1.13.2 stream bytes split at every offset."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from difyctl.client.errors import DifyProtocolError
from difyctl.client.models import StreamEvent
from difyctl.client.sse import (
    ServerSentEvent,
    SSEDecoder,
    aiter_events,
    aiter_sse,
    iter_events,
    iter_sse,
    to_dify_event,
)

from .conftest import sse_bytes

RECORDED = ["029", "031", "033"]


def _naive(raw: bytes) -> list[dict[str, object]]:
    """The reference reading of a well-formed Dify stream: blocks split on a blank line."""
    out = []
    for block in raw.decode().split("\n\n"):
        if block.startswith("data: "):
            out.append(json.loads(block[len("data: ") :]))
    return out


def _decode_split(raw: bytes, *cuts: int) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    previous = 0
    for cut in (*cuts, len(raw)):
        events += decoder.feed(raw[previous:cut])
        previous = cut
    return events + decoder.flush()


@pytest.mark.parametrize("prefix", RECORDED)
def test_recorded_stream_whole(prefix: str) -> None:
    raw = sse_bytes(prefix)
    sse = list(iter_sse([raw]))
    assert sse[0] == ServerSentEvent(event="ping", data="")
    events = list(iter_events([raw]))
    assert [e.data for e in events] == _naive(raw)
    assert all(e.event == e.data["event"] for e in events)
    assert "ping" not in [e.event for e in events]


@pytest.mark.parametrize("prefix", RECORDED)
def test_recorded_stream_split_at_every_offset(prefix: str) -> None:
    raw = sse_bytes(prefix)
    expected = _decode_split(raw)
    for cut in range(1, len(raw)):
        assert _decode_split(raw, cut) == expected, f"split at byte {cut}"


@pytest.mark.parametrize("prefix", RECORDED)
def test_recorded_stream_byte_by_byte(prefix: str) -> None:
    raw = sse_bytes(prefix)
    assert list(iter_sse(raw[i : i + 1] for i in range(len(raw)))) == list(iter_sse([raw]))


# A synthetic stream with multibyte characters (2, 3 and 4 bytes), every line ending, a comment,
# id/retry fields, a multi-line data field and a ping.
SYNTHETIC = (
    b"event: ping\r\n\r\n"
    + b": keep-alive comment\n"
    + 'data: {"event":"message","answer":"h\u00e9llo \u4e16\u754c \U0001f916"}\n\n'.encode()
    + b'id: 7\rretry: 1500\rdata: {"event":"message",\r'
    + 'data: "answer":"\u00fc\U0001f600"}\r\r'.encode()
    + b'data:{"event":"message_end","id":"m1"}\r\n\r\n'
)


def test_synthetic_stream() -> None:
    events = list(iter_sse([SYNTHETIC]))
    assert events == [
        ServerSentEvent(event="ping"),
        ServerSentEvent(data='{"event":"message","answer":"h\u00e9llo \u4e16\u754c \U0001f916"}'),
        ServerSentEvent(data='{"event":"message",\n"answer":"\u00fc\U0001f600"}', id="7", retry=1500),
        ServerSentEvent(data='{"event":"message_end","id":"m1"}'),
    ]
    dify = list(iter_events([SYNTHETIC]))
    assert [e.data.get("answer") for e in dify] == [
        "h\u00e9llo \u4e16\u754c \U0001f916",
        "\u00fc\U0001f600",
        None,
    ]


def test_synthetic_stream_split_at_every_offset_including_inside_multibyte_chars() -> None:
    expected = _decode_split(SYNTHETIC)
    emoji = SYNTHETIC.index("\U0001f916".encode())
    assert SYNTHETIC[emoji] >= 0x80  # the cut at emoji+1..+3 lands inside the 4-byte character
    for cut in range(1, len(SYNTHETIC)):
        assert _decode_split(SYNTHETIC, cut) == expected, f"split at byte {cut}"
    for first in range(1, len(SYNTHETIC) - 1, 3):
        assert _decode_split(SYNTHETIC, first, first + 1) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"data: a\n\n", [ServerSentEvent(data="a")]),
        (b"data:a\n\n", [ServerSentEvent(data="a")]),  # the space after the colon is optional
        (b"data:  a\n\n", [ServerSentEvent(data=" a")]),  # only one space is stripped
        (b"data\n\n", [ServerSentEvent(data="")]),  # a field without a colon has an empty value
        (b"data: a\ndata: b\n\n", [ServerSentEvent(data="a\nb")]),
        (b"event: x\ndata: 1\n\n", [ServerSentEvent(event="x", data="1")]),
        (b"unknown: field\n\n", []),  # unknown fields are ignored; nothing to dispatch
        (b": only a comment\n\n", []),
        (b"\n\n\n", []),
        (b"retry: soon\n\n", []),  # a non-numeric retry is ignored
        (b"id: a\0b\n\n", []),  # an id with NUL is ignored
        (b"id: 5\n\n", [ServerSentEvent(id="5")]),
        (b"data: a\n", []),  # no blank line before the end: the event is discarded
        (b"data: a\n\r", [ServerSentEvent(data="a")]),  # a final lone \r still ends the line at flush
        (b"data: \xff\n\n", [ServerSentEvent(data="\ufffd")]),  # invalid UTF-8 is replaced, not fatal
    ],
)
def test_decoder_rules(raw: bytes, expected: list[ServerSentEvent]) -> None:
    assert list(iter_sse([raw])) == expected


def test_last_event_id_is_remembered() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 41\ndata: x\n\ndata: y\n\n")
    assert decoder.last_event_id == "41"


@pytest.mark.parametrize(
    ("sse", "expected"),
    [
        (ServerSentEvent(event="ping"), None),
        (ServerSentEvent(event="ping", data='{"event": "x"}'), None),
        (ServerSentEvent(data=""), None),
        (
            ServerSentEvent(data='{"event": "message", "answer": "a"}'),
            StreamEvent("message", {"event": "message", "answer": "a"}),
        ),
        (ServerSentEvent(data='{"answer": "no name"}'), StreamEvent("message", {"answer": "no name"})),
        (ServerSentEvent(event="custom", data='{"x": 1}'), StreamEvent("custom", {"x": 1})),
    ],
)
def test_dispatch(sse: ServerSentEvent, expected: StreamEvent | None) -> None:
    assert to_dify_event(sse) == expected


@pytest.mark.parametrize("data", ['{"event": "message", "answer": "cut', "[1, 2]", "not json at all " * 10])
def test_undecodable_frames_are_protocol_errors(data: str) -> None:
    with pytest.raises(DifyProtocolError) as info:
        to_dify_event(ServerSentEvent(data=data))
    assert len(info.value.message) < 140


async def _chunks(raw: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(raw), size):
        yield raw[i : i + size]


@pytest.mark.parametrize("prefix", RECORDED)
@pytest.mark.parametrize("size", [1, 7, 4096])
async def test_async_decoding_matches_sync(prefix: str, size: int) -> None:
    raw = sse_bytes(prefix)
    assert [e async for e in aiter_sse(_chunks(raw, size))] == list(iter_sse([raw]))
    assert [e async for e in aiter_events(_chunks(raw, size))] == list(iter_events([raw]))


async def test_async_multibyte_split() -> None:
    assert [e async for e in aiter_events(_chunks(SYNTHETIC, 1))] == list(iter_events([SYNTHETIC]))


async def test_async_flush_completes_a_final_lone_cr() -> None:
    assert [e async for e in aiter_sse(_chunks(b"data: a\n\r", 100))] == [ServerSentEvent(data="a")]
