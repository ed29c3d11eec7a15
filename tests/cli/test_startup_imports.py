"""Item 8 of issue 15: a real subcommand starts without the heavy imports (no timing: module lists).

typer 0.29 builds a pydantic TypeAdapter for every parameter it coerces, and click coerces every root
option (even unset) before a subcommand's eager --help: `run --help` used to import pydantic (~90 ms).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pydantic", "httpx", "rich", "yaml", "jsonschema", "keyring", "difyctl.client", "difyctl.context")

PROBE = """
import json, sys, io, contextlib
from difyctl.cli import run
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    code = run(sys.argv[1:])
heavy = sorted({m.split(".")[0] if not m.startswith("difyctl") else ".".join(m.split(".")[:2])
                for m in sys.modules})
print(json.dumps({"code": code, "modules": heavy, "out": out.getvalue(), "err": err.getvalue()}))
"""


@pytest.mark.parametrize(
    ("argv", "code", "loaded_ok"),
    [
        (["run", "--help"], 0, ()),
        (["snapshot", "create", "--help"], 0, ()),
        (["apps", "list", "-o", "json"], 2, ("difyctl.context",)),  # no server: fails before the client
        # int, float and Path options given: typer would build pydantic adapters for them (~180 ms)
        (
            ["broadcast", "q", "--all", "-c", "5", "--timeout", "2.5", "--apps-file", "x.yaml"],
            2,
            ("difyctl.context", "difyctl.client", "httpx", "yaml"),
        ),
    ],
)
def test_a_subcommand_starts_without_heavy_imports(
    argv: list[str], code: int, loaded_ok: tuple[str, ...], tmp_path: Path
) -> None:
    env = {"DIFYCTL_CONFIG_DIR": str(tmp_path / "cfg"), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    result = json.loads(done.stdout)
    assert result["code"] == code, result["err"]
    loaded = set(result["modules"])
    assert not {m for m in HEAVY if m in loaded} - set(loaded_ok), sorted(loaded)
    if code == 2:
        assert "no Dify server configured" in result["err"] or "x.yaml" in result["err"]
    else:
        assert result["out"].startswith("Usage: difyctl")
