"""Issue 15, item 1: every command group ends with the README's exit code for each kind of fault.

One shared emulator for the module (faults injected per row with `fail_next`), the CLI run in-process
through its one error boundary, retries without real sleeps. Each row: (command line, fault) -> code,
and the error is one line (+ a hint), never a traceback. 130 (Ctrl-C), file-system faults and the
proxy cases are in test_env_errors.py; 2 for malformed input files in test_input_limits.py.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from difyctl.cli import run
from tests.cli.conftest import emu_env, invoke

OK, FAILED, USAGE, PARTIAL, AUTH, DOWN, LIMITED = 0, 1, 2, 3, 4, 5, 7
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*[a-z]")


def _err(status: int, code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "status": status}


AUTH_401 = (401, _err(401, "unauthorized", "Invalid token."))
FORBIDDEN = (403, _err(403, "forbidden", "role too low"))
DOWN_502 = (502, _err(502, "internal_server_error", "upstream down"))
BUSY_429 = (429, _err(429, "too_many_requests", "Too many requests"))
REJECTED = (400, _err(400, "invalid_param", "query in input form must be less than 256 characters"))
GONE_404 = (404, _err(404, "not_found", "Workflow not found."))

APPS = r"^/console/api/apps$"
EXPORT = r"/console/api/apps/[^/]+/export$"
CHAT = r"^/v1/chat-messages$"
WORKFLOW_RUN = r"^/v1/workflows/run$"
INFO = r"^/v1/info$"
KEYS = r"/console/api/apps/[^/]+/api-keys$"
VERSIONS = r"/console/api/apps/[^/]+/workflows$"
PROVIDERS = r"/model-providers"

# (id, argv, [(method, path regex, (status, body), times)], expected exit code)
ROWS: list[tuple[str, list[str], list[tuple[str, str, tuple[int, Any], int]], int]] = [
    # apps
    ("apps list ok", ["apps", "list"], [], OK),
    ("apps show unknown", ["apps", "show", "no-such-app"], [], USAGE),
    ("apps list 401", ["apps", "list"], [("GET", APPS, AUTH_401, 5)], AUTH),
    ("apps list 403", ["apps", "list"], [("GET", APPS, FORBIDDEN, 1)], AUTH),
    ("apps list 502", ["apps", "list"], [("GET", APPS, DOWN_502, 20)], DOWN),
    ("apps list 429", ["apps", "list"], [("GET", APPS, BUSY_429, 20)], LIMITED),
    # run
    ("run ok", ["run", "echo-chat", "hi"], [], OK),
    ("run bad flag", ["run", "echo-chat", "-i", "novalue"], [], USAGE),
    (
        "run input rejected",
        ["run", "echo-workflow", "-i", "query:=123"],
        [("POST", WORKFLOW_RUN, REJECTED, 1)],
        USAGE,
    ),
    ("run 401", ["run", "echo-chat", "hi"], [("POST", CHAT, AUTH_401, 5)], AUTH),
    ("run 502", ["run", "echo-chat", "hi"], [("POST", CHAT, DOWN_502, 20)], DOWN),
    ("run 429", ["run", "echo-chat", "hi"], [("POST", CHAT, BUSY_429, 20)], LIMITED),
    # export / versions / rollback
    ("export ok", ["export", "echo-chat"], [], OK),
    ("export 403", ["export", "echo-chat"], [("GET", EXPORT, FORBIDDEN, 1)], AUTH),
    ("export 502", ["export", "echo-chat"], [("GET", EXPORT, DOWN_502, 20)], DOWN),
    ("versions list ok", ["versions", "list", "echo-workflow"], [], OK),
    ("versions list 429", ["versions", "list", "echo-workflow"], [("GET", VERSIONS, BUSY_429, 20)], LIMITED),
    ("rollback unknown version", ["rollback", "echo-workflow", "--version", "nope", "--dry-run"], [], USAGE),
    (
        "rollback server 404",
        ["rollback", "echo-workflow", "--version", "nope", "--dry-run"],
        [("GET", EXPORT, GONE_404, 1)],
        USAGE,
    ),
    # snapshot
    ("snapshot all ok", ["snapshot", "create", "--all"], [], OK),
    (
        "snapshot all partial",
        ["snapshot", "create", "--all", "-c", "1"],
        [("GET", EXPORT, DOWN_502, 3)],
        PARTIAL,
    ),
    ("snapshot all auth lost", ["snapshot", "create", "--all"], [("GET", EXPORT, AUTH_401, 6)], AUTH),
    ("snapshot --all down", ["snapshot", "create", "--all"], [("GET", EXPORT, DOWN_502, 99)], DOWN),
    ("snapshot list bad tag", ["snapshot", "show", "echo-chat", "no-such-tag"], [], USAGE),
    # keys / health / secrets / credentials
    ("keys list ok", ["keys", "list", "echo-chat"], [], OK),
    ("keys list 403", ["keys", "list", "echo-chat"], [("GET", KEYS, FORBIDDEN, 1)], AUTH),
    ("keys list 502", ["keys", "list", "echo-chat"], [("GET", KEYS, DOWN_502, 20)], DOWN),
    ("health ok", ["health", "echo-chat"], [], OK),
    (
        "keys rotate all down",
        ["keys", "rotate", "echo-chat", "json-chat", "--yes"],
        [("POST", KEYS, DOWN_502, 99)],
        DOWN,
    ),
    (
        "health partial",
        ["health", "-c", "1", "echo-chat", "json-chat"],
        [("GET", INFO, DOWN_502, 3)],
        PARTIAL,
    ),
    ("health all down", ["health", "echo-chat"], [("GET", INFO, DOWN_502, 3)], DOWN),
    ("health key dead", ["health", "echo-chat"], [("GET", INFO, AUTH_401, 1)], FAILED),
    ("health --all list down", ["health", "--all"], [("GET", APPS, DOWN_502, 20)], DOWN),
    # times 2: pages 1 and 2 are asked together, and a refused page 2 of a one-page workspace is unread
    ("health --all list 403", ["health", "--all"], [("GET", APPS, FORBIDDEN, 2)], AUTH),
    # every target rate limited -> 7, in each multi-target command (exit_codes.all_failed)
    ("health every check 429", ["health", "--all"], [("GET", INFO, BUSY_429, 99)], LIMITED),
    (
        "snapshot --all every export 429",
        ["snapshot", "create", "--all"],
        [("GET", EXPORT, BUSY_429, 99)],
        LIMITED,
    ),
    (
        "keys rotate every create 429",
        ["keys", "rotate", "echo-chat", "json-chat", "--yes"],
        [("POST", KEYS, BUSY_429, 99)],
        LIMITED,
    ),
    ("secrets list unknown app", ["secrets", "list", "no-such-app"], [], USAGE),
    ("credentials list 403", ["credentials", "list"], [("GET", PROVIDERS, FORBIDDEN, 1)], AUTH),
    # broadcast
    ("broadcast ok", ["broadcast", "hi", "--app", "echo-chat", "--app", "json-chat"], [], OK),
    (
        "broadcast partial",
        ["broadcast", "hi", "--app", "echo-chat", "--app", "echo-completion"],
        [("POST", r"^/v1/completion-messages$", DOWN_502, 20)],
        PARTIAL,
    ),
    (
        "broadcast all down",
        ["broadcast", "hi", "--app", "echo-chat"],
        [("POST", CHAT, DOWN_502, 20)],
        DOWN,
    ),
    ("broadcast all refused", ["broadcast", "hi", "--app", "echo-chat"], [("POST", CHAT, AUTH_401, 1)], AUTH),
    (
        "broadcast all failed",
        ["broadcast", "hi", "--app", "echo-chat", "--app", "json-chat"],
        [("POST", CHAT, REJECTED, 2)],
        FAILED,
    ),
    (
        "broadcast all limited",
        ["broadcast", "hi", "--app", "echo-chat"],
        [("POST", CHAT, BUSY_429, 40)],
        LIMITED,
    ),
    ("broadcast no targets", ["broadcast", "hi"], [], USAGE),
    # session / profile
    ("status ok", ["status"], [], OK),
    ("profile show unknown", ["profile", "show", "nope"], [], USAGE),
]


@pytest.mark.parametrize(("argv", "faults", "expected"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_exit_code_table(
    emu: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    faults: list[tuple[str, str, tuple[int, Any], int]],
    expected: int,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    env = emu_env(emu, tmp_path)
    emu.faults.reset()
    for method, path, (status, body), times in faults:
        emu.faults.fail_next(method, path, status, body, times=times)
    try:
        code, err = invoke(argv, env, capsys)
    finally:
        emu.faults.reset()
    assert code == expected, err
    assert "Traceback" not in err and "unexpected" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    if expected in (USAGE, AUTH, DOWN, LIMITED) and errors:
        assert len(errors) == 1, err
    _hint_options_exist(argv, err, env, capsys)


def _hint_options_exist(argv: list[str], err: str, env: dict[str, str], capsys: Any) -> None:
    """A hint that names an option names one the command has (`run` was told 'lower --concurrency')."""
    named = {o for line in err.splitlines() if line.startswith("hint: ") for o in OPTION.findall(line)}
    if named:
        capsys.readouterr()
        run([*argv, "--help"], env=env)  # the help of the command the row ran
        options = set(OPTION.findall(capsys.readouterr().out))
        assert named <= options, f"{sorted(named - options)} named in: {err}"
