"""Confirmation for destructive commands: ask on a TTY, never prompt otherwise (exit 2 unless --yes)."""

from __future__ import annotations

import sys

from difyctl.errors import UsageError


def confirm(question: str, *, yes: bool) -> None:
    if yes:
        return
    try:
        interactive = sys.stdin.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if not interactive:
        raise UsageError(f"{question} Refused: stdin is not a terminal", hint="pass --yes to confirm")
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise UsageError("not confirmed")
