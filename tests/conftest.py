"""Isolation for every test: a tmp config dir and HOME, no DIFY_*/DIFYCTL_* from the developer's shell,
an in-memory keyring, and no network (tests talk to MockTransport or the emulator on 127.0.0.1)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.store:
            raise keyring.errors.PasswordDeleteError(username)
        del self.store[(service, username)]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith(("DIFY_", "DIFYCTL_")) or name in ("XDG_CONFIG_HOME", "NO_COLOR"):
            monkeypatch.delenv(name, raising=False)
    # the fan-out transport of the default install: aiohttp (DIFYCTL_HTTP=httpx: httpx's own pools,
    # covered by the tests that set it)
    monkeypatch.setenv("DIFYCTL_HTTP", "aiohttp")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    config = tmp_path / "config"
    monkeypatch.setenv("DIFYCTL_CONFIG_DIR", str(config))
    yield config


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
