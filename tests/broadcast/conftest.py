"""Broadcast test helpers: a shared emulator (faults reset per test), targets, and a fake sleep."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from difyctl.broadcast.targets import Target
from difyctl.client.transport import Runtime


class Sleeps(list[float]):
    """Every backoff the engine asked for; nothing sleeps for real."""

    async def asleep(self, seconds: float) -> None:
        self.append(seconds)

    def runtime(self) -> Runtime:
        return Runtime(sleep=self.append, asleep=self.asleep, rng=lambda: 0.5)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture(scope="module")
def emu_module() -> Iterator[Any]:
    from difyctl.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(seed="demo", apps=20)) as emu:
        yield emu


@pytest.fixture
def emu(emu_module: Any) -> Iterator[Any]:
    emu_module.faults.reset()
    emu_module.faults.reseed(7)
    yield emu_module
    emu_module.faults.reset()


def echo_targets(emu: Any, n: int, **kw: Any) -> list[Target]:
    keys = emu.demo_keys()
    names = [f"echo-chat-{i:04d}" for i in range(1, n + 1)]
    return [Target(name, name, emu.base_url, keys[name], **kw) for name in names]


def demo_targets(emu: Any) -> list[Target]:
    keys = emu.demo_keys()
    names = ["echo-workflow", "echo-chat", "json-chat", "echo-completion"]
    return [Target(name, name, emu.base_url, keys[name]) for name in names]
