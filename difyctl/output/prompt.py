"""Every question difyctl asks, in one place: y/N confirmations for destructive commands, the email
and password of `login`. Prompts go to stderr (stdout stays data), answers come from stdin, and
nothing is ever asked when stdin is not a terminal: the command fails with exit 2 and names the
flag or variable that answers instead (DESIGN.md: never block a pipeline).
"""

from __future__ import annotations

import sys

from difyctl.errors import UsageError


def stdin_is_tty() -> bool:
    """Whether a question can be asked (a closed or replaced stdin counts as not a terminal)."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def confirm(question: str, *, yes: bool) -> None:
    if yes:
        return
    if not stdin_is_tty():
        raise UsageError(f"{question} Refused: stdin is not a terminal", hint="pass --yes to confirm")
    from difyctl.output import ask_yes_no

    if not ask_yes_no(question):
        raise UsageError("not confirmed")


def require_consent(yes: bool, what: str) -> None:
    """Fail (exit 2) before anything is sent when a confirmation would be needed but cannot be asked."""
    if not yes and not stdin_is_tty():
        raise UsageError(
            f"{what} needs confirmation and stdin is not a terminal", hint="pass --yes to confirm"
        )


def ask_consent(question: str) -> bool:
    """An engine's confirmation callback: ask on a TTY, refuse otherwise (never blocks a pipeline)."""
    from difyctl.output import ask_yes_no

    if not stdin_is_tty():
        return False
    return ask_yes_no(question)


def ask_text(label: str, source: str) -> str:
    """A required value (`label: ` on stderr); `source` names the flag or variable that answers when
    stdin is not a terminal."""
    if not stdin_is_tty():
        raise UsageError(f"{label} is required", hint=f"pass {source} (stdin is not a terminal to ask on)")
    sys.stderr.write(f"{label}: ")
    sys.stderr.flush()
    value = sys.stdin.readline()
    if not value.endswith("\n"):  # end of input: end the prompt line
        sys.stderr.write("\n")
    value = value.strip()
    if not value:
        raise UsageError(f"{label} is required")
    return value


def ask_secret(label: str, source: str) -> str:
    """A secret typed without echo (getpass: the terminal, or stderr), never from a flag value."""
    import getpass

    if not stdin_is_tty():
        raise UsageError(f"no {label.lower()}", hint=f"use {source} when stdin is not a terminal")
    value = getpass.getpass(f"{label}: ", stream=sys.stderr)
    if not value:
        raise UsageError(f"no {label.lower()} given")
    return value
