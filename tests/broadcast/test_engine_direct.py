"""Every engine test again on the default transport: blocking runs straight on the aiohttp session
(Fanout._run_direct), so both paths give the same answers, errors, retries and timeouts."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from difyctl.broadcast.aio_transport import AiohttpTransport
from difyctl.broadcast.engine import broadcast
from tests.broadcast.conftest import Sleeps, demo_targets
from tests.broadcast.test_engine import *  # noqa: F403 - re-collected here, on the direct path
from tests.broadcast.test_engine import opts


@pytest.fixture(autouse=True)
def direct_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The default install's transport (aiohttp), with every direct exchange counted."""
    monkeypatch.delenv("DIFYCTL_HTTP", raising=False)
    sent: list[str] = []
    original = AiohttpTransport.send_direct

    async def spy(self: AiohttpTransport, method: str, url: Any, *args: Any) -> Any:
        sent.append(str(url.path))
        return await original(self, method, url, *args)

    monkeypatch.setattr(AiohttpTransport, "send_direct", spy)
    yield sent


async def test_blocking_runs_take_the_direct_path(emu: Any, sleeps: Sleeps, direct_path: list[str]) -> None:
    result = await broadcast(demo_targets(emu), opts(), runtime=sleeps.runtime())
    assert result.exit_code == 0 and result.ok_count == 4
    assert sorted(direct_path) == sorted(
        ["/v1/workflows/run", "/v1/chat-messages", "/v1/chat-messages", "/v1/completion-messages"]
    )


async def test_streams_and_verbose_stay_on_the_client(
    emu: Any, sleeps: Sleeps, direct_path: list[str]
) -> None:
    result = await broadcast(demo_targets(emu), opts(stream=True), runtime=sleeps.runtime())
    assert result.exit_code == 0 and direct_path == []
    import logging

    logger = logging.getLogger("difyctl.http")
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        result = await broadcast(demo_targets(emu), opts(), runtime=sleeps.runtime())
    finally:
        logger.setLevel(previous)
    assert result.exit_code == 0 and direct_path == []  # --verbose: the redacting trace sees every request


@pytest.mark.parametrize("suffix", ["/", "/v1", "/v1/"])
async def test_a_base_url_with_the_api_prefix_reaches_the_same_endpoints(
    emu: Any, sleeps: Sleeps, direct_path: list[str], suffix: str
) -> None:
    """`https://api.dify.ai/v1` (as Dify's docs write the base URL) is the server, not a folder on it:
    the probe and parameters (the shared pool) and the runs (the direct path) reach the same endpoints."""
    targets = [dataclasses.replace(t, base_url=emu.base_url + suffix) for t in demo_targets(emu)]
    result = await broadcast(targets, opts(), runtime=sleeps.runtime())
    assert result.exit_code == 0 and result.ok_count == 4
    assert sorted(direct_path) == sorted(
        ["/v1/workflows/run", "/v1/chat-messages", "/v1/chat-messages", "/v1/completion-messages"]
    )


@pytest.mark.parametrize("http", ["", "httpx"])
async def test_anyio_is_loaded_only_for_httpxs_own_pools(
    emu: Any, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch, http: str
) -> None:
    """The aiohttp path never needs anyio's backend (~2.5 MB of imports); the striped httpx pool does."""
    from difyctl.broadcast import engine

    loaded: list[bool] = []
    monkeypatch.setattr(engine, "preload_async_backend", lambda: loaded.append(True))
    monkeypatch.setenv("DIFYCTL_HTTP", http)
    result = await broadcast(demo_targets(emu), opts(), runtime=sleeps.runtime())
    assert result.exit_code == 0
    assert loaded == ([True] if http else [])
