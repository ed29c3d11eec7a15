"""One way for a command to end: return an ExitCode (or None: 0), or raise a difyctl error that
carries one. No `raise typer.Exit(n)`, no bare ints, no `sys.exit` in a command or an engine."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

import difyctl
from difyctl.cli import app
from difyctl.exit_codes import ExitCode

PACKAGE = Path(difyctl.__file__).parent


def _callbacks(source: typer.Typer) -> list[Callable[..., Any]]:
    found = [info.callback for info in source.registered_commands if info.callback is not None]
    for group in source.registered_groups:
        if group.typer_instance is not None:
            found += _callbacks(group.typer_instance)
    return found


def _exits(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in ("typer.Exit", "sys.exit", "exit", "SystemExit", "raise_exit"):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {name}")
    return found


def test_no_command_or_engine_exits_by_itself() -> None:
    shell = PACKAGE / "cli"  # the one boundary: --version's eager callback and main()
    emulator = PACKAGE / "emulator"  # a server, with its own process
    offenders = [
        hit
        for path in PACKAGE.rglob("*.py")
        if shell not in path.parents and emulator not in path.parents
        for hit in _exits(path)
    ]
    assert offenders == []


def test_commands_that_return_a_code_declare_exit_code() -> None:
    returning = []
    for callback in _callbacks(app):
        hints = inspect.get_annotations(callback, eval_str=True)
        assert hints.get("return") in (None, type(None), ExitCode), callback
        if hints.get("return") is ExitCode:
            returning.append(callback.__name__)
    assert {"health", "broadcast", "validate", "rollback", "diff", "verify"} <= set(returning)
