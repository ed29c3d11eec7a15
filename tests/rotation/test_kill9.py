"""kill -9 of a real `difyctl keys rotate` process between sink deliveries, then `--resume` without
`--sink`: every sink the rotation was started with gets the new key before the old one is revoked.

The process is killed by one of its own sinks (`kill -9 $PPID`, armed once), so the death lands
exactly between two deliveries with no timing involved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from difyctl.emulator import EmulatorConfig, EmulatorServer
from difyctl.rotation.journal import JournalStore

APP = "echo-chat"
ADMIN = "admin-key-for-kill9-tests"


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with EmulatorServer(EmulatorConfig(seed="demo", admin_api_key=ADMIN)) as emu:
        yield emu


def _env(emu: Any, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIFY_", "DIFYCTL_"))}
    env.update(
        DIFY_BASE_URL=emu.base_url,
        DIFY_ADMIN_API_KEY=ADMIN,
        DIFY_WORKSPACE_ID=emu.state.tenant_id,
        DIFYCTL_CONFIG_DIR=str(config),
        DIFYCTL_KEYRING="off",
        DIFYCTL_HTTP="httpx",
        NO_COLOR="1",
    )
    return env


def _difyctl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "difyctl", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _tokens(emu: Any) -> list[str]:
    with emu.state.lock:
        return [k.token for k in emu.state.get_app(emu.app_id(APP)).api_keys]


def _works(emu: Any, token: str | None) -> bool:
    r = httpx.get(f"{emu.base_url}/v1/info", headers={"Authorization": f"Bearer {token}"})
    return bool(token) and r.status_code == 200


def _value(path: Path) -> str | None:
    return path.read_text().split("=", 1)[1].strip() if path.exists() else None


@pytest.mark.parametrize("kill_before", [0, 1, 2])
def test_kill_9_between_sink_deliveries_then_resume_without_sink(
    server: Any, tmp_path: Path, kill_before: int
) -> None:
    config, armed = tmp_path / "config", tmp_path / "armed"
    env = _env(server, config)
    (old,) = _tokens(server)[-1:]
    start = len(_tokens(server))
    files = [tmp_path / "a.env", tmp_path / "b.env"]
    sinks = [f"dotenv:{p}:K" for p in files]
    killer = f"exec:sh -c 'if [ -e {armed} ]; then rm {armed}; kill -9 $PPID; fi'"
    sinks.insert(kill_before, killer)
    armed.write_text("")
    argv = [a for s in sinks for a in ("--sink", s)]
    died = _difyctl(env, "keys", "rotate", APP, *argv, "--yes", "-o", "json")
    assert died.returncode == -9, died.stderr
    store = JournalStore(config / "rotation")
    journal = json.loads(store.path(server.base_url, server.app_id(APP)).read_text())
    assert journal["phase"] == "promoting" and journal["sinks"] == sinks
    assert journal["delivered"] == ["keyring", *sinks[:kill_before]]
    lock = store.lock_path(server.base_url, server.app_id(APP))
    assert lock.exists() and set(json.loads(lock.read_text())) == {"pid", "host"}  # left by the dead run
    # at the moment of death: both keys work, every delivered sink holds a working key
    assert len(_tokens(server)) == start + 1 and _works(server, old)
    for path in files:
        assert _value(path) is None or _works(server, _value(path))
    done = _difyctl(env, "keys", "rotate", APP, "--resume", "--yes", "-o", "json")
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)["results"]
    assert result["status"] == "finished" and result["delivered"] == ["keyring", *sinks]
    new = _tokens(server)
    assert len(new) == start and old not in new and not _works(server, old)
    assert [_value(p) for p in files] == [new[-1], new[-1]] and _works(server, new[-1])
    for text in (died.stdout, died.stderr, done.stdout, done.stderr):
        assert old not in text and new[-1] not in text
    assert old not in store.path(server.base_url, server.app_id(APP)).read_text()
