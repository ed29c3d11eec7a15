from __future__ import annotations

from collections.abc import Iterator

import pytest

from difyctl.emulator import EmulatorServer


@pytest.fixture(scope="session")
def shared() -> Iterator[EmulatorServer]:
    """A demo server for read-only tests (do not mutate it)."""
    with EmulatorServer(seed="demo", ping_interval=0.05) as server:
        yield server


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """A fresh demo server per test (for tests that change state or faults)."""
    with EmulatorServer(seed="demo", ping_interval=0.05) as emu:
        yield emu
