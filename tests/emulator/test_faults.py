"""Fault injection: per-app concurrency cap, 5xx, 429, stream cut, mid-stream error, hang, one-shot rules."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from difyctl.emulator import EmulatorServer
from difyctl.emulator.faults import Faults

from .helpers import sse_events, svc

TOO_MANY = {
    "code": "too_many_requests",
    "message": "Too many requests. Please try again later.",
    "status": 429,
}


async def test_max_active_requests_answers_429(server: EmulatorServer) -> None:
    server.faults.latency_ms = 300
    app = server.state.app_by_name("echo-chat")
    assert app is not None
    app.max_active_requests = 2
    key = server.demo_keys()["echo-chat"]
    body = {"inputs": {}, "query": "q", "user": "u"}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        responses = await asyncio.gather(
            *(
                client.post("/v1/chat-messages", json=body, headers={"Authorization": f"Bearer {key}"})
                for _ in range(6)
            )
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 429, 429, 429, 429]
    assert next(r for r in responses if r.status_code == 429).json() == TOO_MANY
    assert server.emulator.active_requests(app.id) == 0


def test_streams_hold_their_slot_until_done(server: EmulatorServer) -> None:
    app = server.state.app_by_name("echo-workflow")
    assert app is not None
    server.emulator.config.max_active_requests = 1
    key = server.demo_keys()["echo-workflow"]
    body = {"inputs": {"query": "x"}, "user": "u", "response_mode": "streaming"}
    server.faults.latency_ms = 200
    with httpx.stream(
        "POST", server.base_url + "/v1/workflows/run", json=body, headers={"Authorization": f"Bearer {key}"}
    ) as first:
        chunks = first.iter_bytes()
        assert next(chunks) == b"event: ping\n\n"
        assert server.emulator.active_requests(app.id) == 1
        second = svc(server.base_url, key, "POST", "/workflows/run", json=body)
        assert second.status_code == 429
    server.faults.latency_ms = 0
    deadline = time.monotonic() + 5
    while server.emulator.active_requests(app.id) and time.monotonic() < deadline:
        time.sleep(0.01)  # the server notices the closed stream at its next ping
    assert svc(server.base_url, key, "POST", "/workflows/run", json=body).status_code == 200


def test_error_rate_and_rate_limit(server: EmulatorServer) -> None:
    key = server.demo_keys()["echo-chat"]
    server.faults.error_rate_5xx = 1.0
    failed = svc(server.base_url, key, "GET", "/info")
    assert failed.status_code == 500 and failed.json() == {"message": "Internal Server Error"}
    server.faults.error_status = 502
    gateway = svc(server.base_url, key, "GET", "/info")
    assert gateway.status_code == 502 and "Bad Gateway" in gateway.text
    server.faults.reset()
    server.faults.rate_limit_rate = 1.0
    limited = svc(server.base_url, key, "GET", "/info")
    assert (limited.status_code, limited.json()) == (429, TOO_MANY)
    assert httpx.get(server.base_url + "/health").status_code == 200
    server.faults.reset()
    assert svc(server.base_url, key, "GET", "/info").status_code == 200


def test_error_rate_is_deterministic_under_a_seed(server: EmulatorServer) -> None:
    key = server.demo_keys()["echo-chat"]

    def pattern() -> list[int]:
        server.faults.reset()
        server.faults.error_rate_5xx = 0.5
        return [svc(server.base_url, key, "GET", "/meta").status_code for _ in range(16)]

    first = pattern()
    assert first == pattern()
    assert 200 in first and 500 in first


def test_latency_distributions_are_seeded() -> None:
    for dist in ("fixed", "uniform", "lognormal"):
        a = Faults(latency_ms=100, jitter_ms=20, latency_dist=dist, rng_seed=7)
        b = Faults(latency_ms=100, jitter_ms=20, latency_dist=dist, rng_seed=7)
        samples = [a.latency_seconds() for _ in range(50)]
        assert samples == [b.latency_seconds() for _ in range(50)]
        assert all(0 <= s < 1 for s in samples)
    assert Faults(latency_ms=100, jitter_ms=20).latency_seconds() == 0.1


def test_stream_cut_and_midstream_error(server: EmulatorServer) -> None:
    key = server.demo_keys()["echo-chat"]
    body = {"inputs": {}, "query": "q", "user": "u", "response_mode": "streaming"}
    server.faults.stream_cut_rate = 1.0
    server.faults.stream_cut_after = 3
    cut = svc(server.base_url, key, "POST", "/chat-messages", json=body)
    assert cut.status_code == 200
    assert sse_events(cut.text) == ["ping", "workflow_started", "message", "node_started"]
    server.faults.stream_cut_mode = "abort"
    with pytest.raises(httpx.RemoteProtocolError):
        svc(server.base_url, key, "POST", "/chat-messages", json=body)
    server.faults.reset()
    server.faults.midstream_error_rate = 1.0
    server.faults.stream_cut_after = 1
    broken = svc(server.base_url, key, "POST", "/chat-messages", json=body)
    assert sse_events(broken.text) == ["ping", "workflow_started", "error"]
    assert '"code":"internal_server_error"' in broken.text


def test_hang_until_client_timeout(server: EmulatorServer) -> None:
    server.faults.hang = True
    key = server.demo_keys()["echo-chat"]
    with pytest.raises(httpx.ReadTimeout):
        svc(server.base_url, key, "GET", "/info", timeout=httpx.Timeout(2.0, read=0.3))
    server.faults.hang = False
    assert svc(server.base_url, key, "GET", "/info").status_code == 200


def test_fail_next_is_one_shot(server: EmulatorServer) -> None:
    key = server.demo_keys()["echo-chat"]
    server.faults.fail_next(
        "GET", r"^/v1/info$", 503, {"code": "unavailable", "message": "down", "status": 503}
    )
    first = svc(server.base_url, key, "GET", "/info")
    assert (first.status_code, first.json()["code"]) == (503, "unavailable")
    assert svc(server.base_url, key, "GET", "/info").status_code == 200
    server.faults.fail_next("POST", "chat-messages", 500, times=2)
    body = {"inputs": {}, "query": "q", "user": "u"}
    codes = [svc(server.base_url, key, "POST", "/chat-messages", json=body).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    assert server.faults.pending_rules == 0
