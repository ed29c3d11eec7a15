"""`broadcast --all` on one event loop: the key lookups and the runs share the console's aiohttp
transport (the runs reuse its connections: no second TCP/TLS handshake per app on a real server)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.commands.conftest import Cli

aiohttp = pytest.importorskip("aiohttp")

from difyctl.broadcast.aio_transport import AiohttpTransport  # noqa: E402


def test_lookups_and_runs_share_one_transport(
    cli: Cli, logged_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[tuple[str, int]] = []
    real_checked, real_direct = AiohttpTransport.send_checked, AiohttpTransport.send_direct

    async def checked(self: AiohttpTransport, method: str, url: str, *args: Any) -> Any:
        used.append((f"{method} {url.split('/', 3)[3].split('?')[0]}", id(self)))
        return await real_checked(self, method, url, *args)

    async def direct(self: AiohttpTransport, method: str, url: Any, *args: Any) -> Any:
        used.append((f"{method} {url.path.lstrip('/')}", id(self)))
        return await real_direct(self, method, url, *args)

    monkeypatch.setenv("DIFYCTL_HTTP", "aiohttp")  # the default install's transport
    monkeypatch.setattr(AiohttpTransport, "send_checked", checked)
    monkeypatch.setattr(AiohttpTransport, "send_direct", direct)
    result = cli("broadcast", "What is Dify?", "--all", "-o", "json")
    assert result.code == 0, result.stderr
    lookups = [u for u in used if u[0].endswith("/api-keys")]
    runs = [u for u in used if u[0].startswith("POST v1/")]
    assert len(lookups) == 4 and len(runs) == 4
    assert len({transport for _, transport in used}) == 1  # one transport: one connection pool
