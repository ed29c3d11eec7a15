"""The Kubernetes CronJob of docs/rotation.md runs as written (its container args, in `sh -c`, with the
installed difyctl and a stand-in `kubectl`) against the emulator: a job whose sink fails leaves both
keys working, and the next job's `--all --resume` (no --sink) delivers to that sink before it revokes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

DOC = Path(__file__).resolve().parents[2] / "docs" / "rotation.md"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(not (BIN / "difyctl").exists(), reason="needs the installed difyctl")

KUBECTL = """#!/bin/sh
# kubectl stand-in: `create ... --from-file=DIFY_API_KEY=/dev/stdin` keeps the key, `apply` stores it
# (or fails while $STATE/broken exists), `rollout` succeeds.
case "$1" in
  create) cat > "$STATE/pending"; echo "kind: Secret" ;;
  apply) cat > /dev/null; [ -e "$STATE/broken" ] && { echo "apply refused" >&2; exit 1; }
         mv "$STATE/pending" "$STATE/secret" ;;
  rollout) exit 0 ;;
  *) exit 64 ;;
esac
"""


def _cronjob() -> tuple[str, dict[str, str]]:
    block = re.search(r"### Kubernetes CronJob\n\n```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert block, "the CronJob recipe is gone from docs/rotation.md"
    job = yaml.safe_load(block.group(1))
    (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["sh", "-c"]
    env = {e["name"]: e.get("value", "") for e in container["env"]}
    return str(container["args"][0]), env


@pytest.fixture
def emulator() -> Iterator[Any]:
    from difyctl.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(seed="demo")) as emu:
        yield emu


def test_the_cronjob_recipe_resumes_a_failed_sink_before_revoking(emulator: Any, tmp_path: Path) -> None:
    script, doc_env = _cronjob()
    assert "--resume" in script and "--sink" in script.split(";")[1]
    # the one change: the recipe's app is called support-bot, the demo server's chat app echo-chat
    script = script.replace("support-bot --probe", "echo-chat --probe")
    state, tools = tmp_path / "state", tmp_path / "bin"
    state.mkdir()
    tools.mkdir()
    (tools / "kubectl").write_text(KUBECTL)
    (tools / "kubectl").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIFY_", "DIFYCTL_"))}
    env.update(doc_env)
    env.update(
        PATH=f"{tools}{os.pathsep}{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        HOME=str(tmp_path),
        STATE=str(state),
        DIFY_BASE_URL=emulator.base_url,
        DIFYCTL_CONFIG_DIR=str(state / "config"),  # the recipe's /state volume
        DIFY_EMAIL="admin@example.com",
        DIFY_PASSWORD="DemoPass123",
        DIFYCTL_HTTP="httpx",
    )
    assert env["DIFYCTL_KEYRING"] == "off"

    def keys() -> list[str]:
        with emulator.state.lock:
            return [k.token for k in emulator.state.get_app(emulator.app_id("echo-chat")).api_keys]

    def works(token: str) -> bool:
        r = httpx.get(f"{emulator.base_url}/v1/info", headers={"Authorization": f"Bearer {token}"})
        return r.status_code == 200

    def job() -> subprocess.CompletedProcess[str]:
        sh = shutil.which("sh") or "/bin/sh"
        return subprocess.run([sh, "-c", script], env=env, capture_output=True, text=True, timeout=300)  # noqa: S603

    (old,) = keys()
    (state / "broken").write_text("")
    first = job()
    assert first.returncode == 1, first.stderr
    assert len(keys()) == 2 and works(old) and not (state / "secret").exists()  # nothing revoked
    (state / "broken").unlink()
    second = job()  # next week's run, exactly the same command
    assert second.returncode == 0, second.stderr
    resumed, _end = json.JSONDecoder().raw_decode(second.stdout)  # the first command's JSON
    (result,) = [r for r in resumed["results"] if r["app"] == "echo-chat"]
    assert result["status"] == "finished" and any(d.startswith("exec:sh -c") for d in result["delivered"])
    (final,) = keys()
    assert (state / "secret").read_text() == final and works(final) and not works(old)
    for run in (first, second):
        assert old not in run.stdout + run.stderr and final not in run.stdout + run.stderr
