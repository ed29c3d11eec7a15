"""The one error boundary (cli.run) and the TTY confirmation: what reaches the user, and the exit code.

Interrupts end with "interrupted" and 130; an unexpected exception is one line + a hint and exit 1, its
traceback only with DIFYCTL_DEBUG=1. A destructive command asks on a terminal and goes on only on y/yes.
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any

import pytest
import typer

from difyctl.cli import lazy, run
from difyctl.errors import UsageError
from difyctl.exit_codes import ExitCode
from difyctl.output.prompt import confirm


class Raising:
    """A root command whose invocation raises ``exc`` (in place of lazy.build_root's group)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def main(self, **_kwargs: Any) -> int:
        raise self.exc


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], exc: BaseException, **env: str
) -> tuple[int, str]:
    monkeypatch.setattr(lazy, "build_root", lambda *_args: Raising(exc))
    capsys.readouterr()
    code = run(["apps", "list"], env={**os.environ, **env})
    out, err = capsys.readouterr()
    assert out == ""  # errors never go to stdout
    return code, err


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), typer.Abort()])
def test_an_interrupt_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], exc: BaseException
) -> None:
    code, err = _run(monkeypatch, capsys, exc)
    assert code == 130 and ExitCode.INTERRUPTED.value == 130
    assert "interrupted" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_an_unexpected_error_is_one_line_with_a_hint_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(monkeypatch, capsys, RuntimeError("the disk fell off"))
    assert code == 1 and ExitCode.FAILED.value == 1
    assert "unexpected RuntimeError: the disk fell off" in err
    assert "DIFYCTL_DEBUG=1" in err and "Traceback" not in err


def test_debug_shows_the_traceback_of_an_unexpected_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(monkeypatch, capsys, RuntimeError("the disk fell off"), DIFYCTL_DEBUG="1")
    assert code == 1
    assert "Traceback (most recent call last)" in err and "RuntimeError: the disk fell off" in err


def test_a_known_error_keeps_its_exit_code_and_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(monkeypatch, capsys, UsageError("no such app 'x'", hint="difyctl apps list"))
    assert code == ExitCode.USAGE
    assert "no such app 'x'" in err and "difyctl apps list" in err and "Traceback" not in err


# ------------------------------------------------------------------------------- confirm (TTY)
class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("answer", ["y\n", "yes\n", "  YES \n", "Y\n"])
def test_confirm_on_a_terminal_goes_on_with_yes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], answer: str
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    confirm("Delete app 'x'?", yes=False)
    assert capsys.readouterr().err == "Delete app 'x'? [y/N] "


@pytest.mark.parametrize("answer", ["\n", "n\n", "no\n", "yess\n", "", "ok\n"])
def test_confirm_on_a_terminal_refuses_anything_else(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], answer: str
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    with pytest.raises(UsageError, match="not confirmed") as info:
        confirm("Delete app 'x'?", yes=False)
    assert info.value.exit_code == ExitCode.USAGE
    assert "[y/N]" in capsys.readouterr().err


def test_confirm_never_prompts_without_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # not a TTY, even with a "y" waiting
    with pytest.raises(UsageError, match="stdin is not a terminal") as info:
        confirm("Delete app 'x'?", yes=False)
    assert info.value.hint == "pass --yes to confirm"
    assert capsys.readouterr().err == ""


def test_confirm_with_a_closed_stdin_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = io.StringIO()
    closed.close()  # isatty() raises ValueError on a closed stream
    monkeypatch.setattr(sys, "stdin", closed)
    with pytest.raises(UsageError, match="not a terminal"):
        confirm("Delete?", yes=False)


def test_yes_skips_the_question(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    confirm("Delete?", yes=True)
    assert capsys.readouterr().err == ""
