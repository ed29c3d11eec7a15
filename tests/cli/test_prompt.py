"""One prompt path (difyctl.output.prompt): questions on stderr, answers from stdin, never asked
when stdin is not a terminal."""

from __future__ import annotations

import io

import pytest

from difyctl.errors import UsageError
from difyctl.output import prompt


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_terminal_names_what_answers_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("someone@example.com\n"))
    with pytest.raises(UsageError) as err:
        prompt.ask_text("Email", "--email or DIFY_EMAIL")
    assert err.value.hint is not None and "--email or DIFY_EMAIL" in err.value.hint
    with pytest.raises(UsageError) as err:
        prompt.ask_secret("Password", "--password-stdin")
    assert err.value.hint is not None and "--password-stdin" in err.value.hint
    assert prompt.ask_consent("Delete?") is False
    with pytest.raises(UsageError):
        prompt.require_consent(False, "rollback")
    prompt.require_consent(True, "rollback")  # --yes: nothing to ask


def test_question_goes_to_stderr_not_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", Tty(" a@b.c \n"))
    assert prompt.ask_text("Email", "--email") == "a@b.c"
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "Email: "


def test_empty_answer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", Tty("\n"))
    with pytest.raises(UsageError, match="Email is required"):
        prompt.ask_text("Email", "--email")


def test_closed_stdin_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr("sys.stdin", closed)
    assert prompt.stdin_is_tty() is False
