"""Run the real CLI in-process against a fake server (httpx.MockTransport): no sockets, no sleeps."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
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
