"""SSE streams: ping first, Dify's event order, usage in message_end, pings while idle."""

from __future__ import annotations

from typing import Any

import httpx

from difyctl.emulator import EmulatorServer
from difyctl.emulator.engine import GraphRunner

from .helpers import sse_events, sse_payloads, svc

NODES = ["node_started", "node_finished", "node_started", "node_finished"]
# 1.13.2: text between the events of the node that produced it (fixtures 1.13.2/029, 031)
CHATFLOW = {
    "1.13.2": [
        "ping",
        "workflow_started",
        "node_started",
        "message",
        "node_finished",
        "node_started",
        "node_finished",
        "message_end",
        "workflow_finished",
    ],
    # 1.16.0: all text right after workflow_started (1.16.0/044)
    "1.16.0": ["ping", "workflow_started", "message", *NODES, "message_end", "workflow_finished"],
}
WORKFLOW = {
    "1.13.2": [
        "ping",
        "workflow_started",
        "node_started",
        "text_chunk",
        "node_finished",
        "node_started",
        "node_finished",
        "workflow_finished",
    ],
    "1.16.0": ["ping", "workflow_started", "text_chunk", *NODES, "workflow_finished"],
}  # 1.16.0/040
# fmt: skip


def stream(server: EmulatorServer, app: str, path: str, body: dict[str, Any]) -> httpx.Response:
    body = {"response_mode": "streaming", "user": "s", **body}
    return svc(server.base_url, server.demo_keys()[app], "POST", path, json=body)


def test_chatflow_stream_matches_recording(each_version: EmulatorServer) -> None:
    shared = each_version
    response = stream(shared, "echo-chat", "/chat-messages", {"inputs": {}, "query": "ping streaming"})
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.text.startswith("event: ping\n\ndata: {")
    assert sse_events(response.text) == CHATFLOW[shared.emulator.version]
    payloads = sse_payloads(response.text)
    message = next(p for p in payloads if p["event"] == "message")
    assert message["answer"] == "ping streaming" and message["from_variable_selector"] == ["sys", "query"]
    end = next(p for p in payloads if p["event"] == "message_end")
    assert end["metadata"]["usage"]["total_tokens"] > 0
    finished = payloads[-1]
    assert finished["data"]["outputs"] == {"answer": "ping streaming", "files": []}
    assert {p["conversation_id"] for p in payloads} == {message["conversation_id"]}


def test_workflow_stream_matches_recording(each_version: EmulatorServer) -> None:
    shared = each_version
    response = stream(
        shared, "echo-workflow", "/workflows/run", {"inputs": {"query": "hello from streaming"}}
    )
    assert sse_events(response.text) == WORKFLOW[shared.emulator.version]
    payloads = sse_payloads(response.text)
    chunk = next(p for p in payloads if p["event"] == "text_chunk")
    assert chunk["data"] == {"text": "hello from streaming", "from_variable_selector": ["start", "query"]}
    assert payloads[-1]["data"]["outputs"] == {"result": "hello from streaming"}


def test_json_chat_streams_deltas_that_concatenate(shared: EmulatorServer) -> None:
    response = stream(shared, "json-chat", "/chat-messages", {"inputs": {}, "query": "abc"})
    payloads = sse_payloads(response.text)
    answer = "".join(p["answer"] for p in payloads if p["event"] == "message")
    assert answer == '{"status": "success", "data": {"echo": "abc"}}'
    assert sse_events(response.text)[-2:] == ["message_end", "workflow_finished"]


def test_completion_stream_has_word_deltas(shared: EmulatorServer) -> None:
    response = stream(
        shared, "echo-completion", "/completion-messages", {"inputs": {"query": "one two three"}}
    )
    events = sse_events(response.text)
    assert events[0] == "ping" and events.count("message") == 3 and events[-1] == "message_end"


def test_pings_while_idle(server: EmulatorServer) -> None:
    server.faults.latency_ms = 300
    response = stream(server, "echo-chat", "/chat-messages", {"inputs": {}, "query": "slow"})
    events = sse_events(response.text)
    assert events[:3] == ["ping", "ping", "ping"]
    assert events.count("ping") >= 4 and events[-1] == "workflow_finished"


def test_missing_required_input_stream_fails_at_once_on_1_16(shared: EmulatorServer) -> None:
    """1.16.0/042: started, then finished with status failed and the input error."""
    response = stream(shared, "echo-workflow", "/workflows/run", {"inputs": {}})
    assert sse_events(response.text) == ["ping", "workflow_started", "workflow_finished"]
    finished = sse_payloads(response.text)[-1]["data"]
    assert (finished["status"], finished["error"]) == ("failed", "query is required in input form")
    assert finished["outputs"] is None and finished["exceptions_count"] == 1


def test_end_node_outputs_stream_joined_by_newlines_on_1_16() -> None:
    """1.16.0/040: an End node with two outputs streams value, "\\n", value."""
    graph = {
        "nodes": [
            {"id": "start", "data": {"type": "start", "variables": []}},
            {"id": "end", "data": {"type": "end", "outputs": [
                {"variable": "a", "value_selector": ["sys", "query"]},
                {"variable": "b", "value_selector": ["env", "TOKEN"]}]}},
        ],
        "edges": [{"source": "start", "target": "end"}],
    }  # fmt: skip
    run = GraphRunner("workflow", {}, {"query": "q"}, {"TOKEN": "t"}, end_separator="\n").run(graph)
    assert [(c.text, c.selector) for c in run.chunks] == [
        ("q", ["sys", "query"]),
        ("\n", ["end", "answer"]),
        ("t", ["env", "TOKEN"]),
    ]
    legacy = GraphRunner("workflow", {}, {"query": "q"}, {"TOKEN": "t"}).run(graph)
    assert [c.text for c in legacy.chunks] == ["q", "t"]


def test_missing_required_input_stream_stays_silent(shared_1_13: EmulatorServer) -> None:
    """1.13.2/039: 200 + one ping, then nothing (a client must use a read timeout)."""
    shared = shared_1_13
    key = shared.demo_keys()["echo-workflow"]
    body = {"inputs": {}, "response_mode": "streaming", "user": "s"}
    headers = {"Authorization": f"Bearer {key}"}
    received = b""
    timeout = httpx.Timeout(5.0, read=0.5)
    with httpx.stream(
        "POST", shared.base_url + "/v1/workflows/run", json=body, headers=headers, timeout=timeout
    ) as r:
        assert r.status_code == 200
        try:
            for part in r.iter_bytes():
                received += part
        except httpx.ReadTimeout:
            pass
    assert received == b"event: ping\n\n"
