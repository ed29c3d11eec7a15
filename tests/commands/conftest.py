"""End-to-end helpers: run the real CLI in-process (through the one error boundary) against the emulator."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import pytest

from difyctl.cli import run


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Cli(Protocol):
    def __call__(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> CliResult: ...


@pytest.fixture
def sleeps() -> list[float]:
    """Every delay the CLI asked for (retry backoff); nothing sleeps for real."""
    return []


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> Cli:
    from difyctl.client.transport import Runtime

    async def asleep(delay: float) -> None:
        sleeps.append(delay)

    runtime = Runtime(sleep=sleeps.append, asleep=asleep, rng=lambda: 0.5)

    def invoke(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> CliResult:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        capsys.readouterr()
        code = run(list(args), env={**os.environ, **(env or {})}, runtime=runtime)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return invoke


@pytest.fixture
def emulator() -> Iterator[Any]:
    from difyctl.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(seed="demo")) as emu:
        yield emu


@pytest.fixture
def logged_in(cli: Cli, emulator: Any) -> Any:
    result = cli(
        "login",
        "--base-url",
        emulator.base_url,
        "--email",
        "admin@example.com",
        "--password-stdin",
        stdin="DemoPass123\n",
    )
    assert result.code == 0, result.stderr
    return emulator


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Every request the CLI sends (method, path), recorded at the httpx client."""
    log: list[tuple[str, str]] = []
    real = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kw: Any) -> httpx.Response:
        log.append((request.method, request.url.path))
        return real(self, request, **kw)

    monkeypatch.setattr(httpx.Client, "send", send)
    yield log
