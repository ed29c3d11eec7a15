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


@pytest.fixture(scope="session")
def shared_1_13() -> Iterator[EmulatorServer]:
    """A read-only demo server speaking Dify 1.13.2 (the older recorded version)."""
    with EmulatorServer(seed="demo", ping_interval=0.05, version="1.13.2") as server:
        yield server


@pytest.fixture(params=["1.13.2", "1.16.0"])
def each_version(
    request: pytest.FixtureRequest, shared: EmulatorServer, shared_1_13: EmulatorServer
) -> EmulatorServer:
    """The read-only demo server of each recorded version (1.16.0 is the default ``shared``)."""
    return shared_1_13 if request.param == "1.13.2" else shared
