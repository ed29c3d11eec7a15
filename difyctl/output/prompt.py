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
    from difyctl.output import ask_yes_no

    if not ask_yes_no(question):
        raise UsageError("not confirmed")
