"""Run the real CLI in-process against a fake server (httpx.MockTransport): no sockets, no sleeps."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from difyctl.cli import run

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeCli:
    """`fake(*argv)` runs difyctl; every request lands in `sent` and is answered by `handler`."""

    tmp: Path
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch
    handler: Handler = field(default=lambda r: httpx.Response(200, json={}))
    sent: list[httpx.Request] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def __call__(
        self, *argv: str, stdin: str = "", env: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        from difyctl.client.transport import Runtime

        def record(request: httpx.Request) -> httpx.Response:
            self.sent.append(request)
            return self.handler(request)

        async def asleep(_: float) -> None:
            return None

        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        self.capsys.readouterr()
        base = {
            "DIFYCTL_CONFIG_DIR": str(self.tmp / "cfg"),
            "DIFYCTL_KEYRING": "off",
            "DIFYCTL_SNAPSHOT_DIR": str(self.tmp / "snaps"),
            "HOME": str(self.tmp),
        }
        runtime = Runtime(sleep=lambda _: None, asleep=asleep, rng=lambda: 0.5, clock=lambda: 0.0)
        code = run(
            list(argv),
            env={**base, **self.env, **(env or {})},
            runtime=runtime,
            transport=httpx.MockTransport(record),
        )
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def fake(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    return FakeCli(tmp_path, capsys, monkeypatch)


def dify_error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "status": status})


def body(request: httpx.Request) -> Any:
    return json.loads(request.content or b"null")


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    """One emulator for a test module; rows inject their faults with `emu.faults.fail_next`."""
    from difyctl.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(seed="demo")) as server:
        yield server


def emu_env(emu: Any, tmp: Path) -> dict[str, str]:
    """A console login from the environment (no stored session) and a private config dir."""
    return {
        "DIFY_BASE_URL": emu.base_url,
        "DIFY_EMAIL": "admin@example.com",
        "DIFY_PASSWORD": "DemoPass123",
        "DIFYCTL_CONFIG_DIR": str(tmp / "cfg"),
        "DIFYCTL_SNAPSHOT_DIR": str(tmp / "snaps"),
        "DIFYCTL_KEYRING": "off",
        "DIFYCTL_HTTP": "httpx",
        "HOME": str(tmp),
    }


def invoke(argv: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run difyctl in-process against a real (loopback) server: (exit code, stderr); no real sleeps."""
    from difyctl.client.transport import Runtime

    async def asleep(_: float) -> None:
        return None

    capsys.readouterr()
    code = run(argv, env=env, runtime=Runtime(sleep=lambda _: None, asleep=asleep, rng=lambda: 0.5))
    return code, capsys.readouterr().err
