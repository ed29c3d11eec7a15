"""The rotation kit: the real engines against the emulator (logged in through the real CLI), with
hooks that "kill" the process at a chosen step and checks of the invariants at every step."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from difyctl.client.transport import Runtime
from difyctl.rotation.engine import KeyRotation, RotateOptions, rotate_key
from tests.commands.conftest import Cli, cli, emulator, logged_in, sleeps  # noqa: F401 - fixtures


class Died(Exception):
    """The simulated death of the process at a hook point."""


async def _asleep(_s: float) -> None:
    return None


RUNTIME = Runtime(sleep=lambda _s: None, asleep=_asleep, rng=lambda: 0.5)


@dataclass
class Kit:
    emu: Any
    cli: Cli
    config: Path
    clock: list[float] = field(default_factory=list)  # [offset seconds] added to time.time()
    sinks_seen: list[str] = field(default_factory=list)

    def actx(self) -> Any:
        from difyctl.context import AppContext

        ctx = AppContext.from_environment()
        ctx.runtime = RUNTIME
        return ctx

    def now(self) -> float:
        import time

        return time.time() + (self.clock[0] if self.clock else 0.0)

    def rotate(
        self,
        name: str,
        *,
        die_at: str | None = None,
        check: Callable[[str], None] | None = None,
        **opts: Any,
    ) -> KeyRotation:
        from difyctl.commands._rotation_wiring import key_deps

        def hook(point: str) -> None:
            if check is not None:
                check(point)
            if point == die_at:
                raise Died(point)

        actx = self.actx()
        with actx.console() as console:
            app = actx.resolve_app(console, name)
            deps = key_deps(actx, console, hook=hook)
            deps.now = self.now
            return rotate_key(deps, app, RotateOptions(**opts))

    # -- the server and the store, seen from outside ---------------------------------------------
    def app_id(self, name: str) -> str:
        return str(self.emu.app_id(name))

    def tokens(self, name: str) -> list[str]:
        with self.emu.state.lock:
            return [k.token for k in self.emu.state.get_app(self.app_id(name)).api_keys]

    def stored(self, name: str) -> str | None:
        value: str | None = self.actx().credentials.get_app_key("default", self.app_id(name))
        return value

    def store(self, name: str, token: str) -> None:
        self.actx().credentials.set_app_key("default", self.app_id(name), token)

    def works(self, token: str | None) -> bool:
        if not token:
            return False
        r = httpx.get(f"{self.emu.base_url}/v1/info", headers={"Authorization": f"Bearer {token}"})
        return r.status_code == 200

    def journal(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.journal_path(name).read_text())
        return data

    def journal_path(self, name: str) -> Path:
        from difyctl.rotation.journal import JournalStore

        return JournalStore(self.config / "rotation").path(self.emu.base_url, self.app_id(name))

    def invariants(self, name: str, start: int, dotenv: Path | None = None) -> Callable[[str], None]:
        """At every hook point: a working key is stored (and delivered), never more than start + 1 keys."""

        def check(point: str) -> None:
            assert self.works(self.stored(name)), f"no working stored key at {point}"
            assert len(self.tokens(name)) <= start + 1, f"too many keys at {point}"
            if dotenv is not None and dotenv.exists():
                assert self.works(dotenv_value(dotenv)), f"the dotenv key does not work at {point}"

        return check


def dotenv_value(path: Path, var: str = "DIFY_API_KEY") -> str | None:
    for line in path.read_text().splitlines():
        if line.startswith(f"{var}="):
            return line.split("=", 1)[1]
    return None


@pytest.fixture
def kit(cli: Cli, logged_in: Any, isolated_env: Path) -> Iterator[Kit]:  # noqa: F811
    k = Kit(logged_in, cli, isolated_env)
    k.store("echo-chat", k.tokens("echo-chat")[0])
    yield k
    logged_in.faults.reset()


@pytest.fixture
def py() -> str:
    import sys

    return os.path.realpath(sys.executable)
