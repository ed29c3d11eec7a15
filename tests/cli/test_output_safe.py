"""Item 3 of issue 15: control characters from server data never reach the terminal raw."""

from __future__ import annotations

import io

import httpx
import pytest

from difyctl.output import Output, ask_yes_no
from difyctl.output.safe import cell, text
from tests.cli.conftest import FakeCli

NASTY = ["\x1b[31mRED\x1b[0m", "nul\0byte", "two\nlines", "tab\there", "\u202eevil", "csi\x9b2J", "del\x7f"]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mRED\x1b[0m", "\\x1b[31mRED\\x1b[0m"),
        ("nul\0byte", "nul\\0byte"),
        ("two\nlines", "two\\nlines"),
        ("cr\rhere", "cr\\rhere"),
        ("tab\there", "tab\\there"),
        ("\u202eevil", "\\u202eevil"),
        ("csi\x9b2J", "csi\\x9b2J"),
        ("del\x7f", "del\\x7f"),
        ("plain ünïcode ✓", "plain ünïcode ✓"),
    ],
)
def test_cell_escapes_every_control_character(raw: str, shown: str) -> None:
    assert cell(raw) == shown


def test_text_keeps_newlines_and_tabs_but_nothing_else() -> None:
    assert text("line 1\n\tline 2") == "line 1\n\tline 2"
    assert text("a\x1b[2Jb\0c\rd") == "a\\x1b[2Jb\\0c\\rd"


def _out(color: bool) -> tuple[Output, io.StringIO, io.StringIO]:
    stdout, stderr = io.StringIO(), io.StringIO()
    return Output(stdout=stdout, stderr=stderr, color=color), stdout, stderr


def _assert_clean(written: str) -> None:
    assert "\x1b[31m" not in written and "\0" not in written and "\u202e" not in written
    assert "\x9b" not in written and "\x7f" not in written


def test_plain_table_shows_names_escaped_one_row_each() -> None:
    out, stdout, _ = _out(color=False)
    out.table(["NAME"], [[n] for n in NASTY])
    lines = stdout.getvalue().splitlines()
    assert len(lines) == 1 + len(NASTY)  # a newline in a name does not forge a row
    _assert_clean(stdout.getvalue())
    assert lines[1] == "\\x1b[31mRED\\x1b[0m" and lines[3] == "two\\nlines"


def test_rich_table_escapes_and_does_not_read_names_as_markup() -> None:
    out, stdout, _ = _out(color=True)
    out.table(["NAME"], [*([n] for n in NASTY), ["[bold]x[/bold]"]])
    written = stdout.getvalue()
    assert "\\x1b[31mRED\\x1b[0m" in written and "nul\\0byte" in written
    assert "[bold]x[/bold]" in written  # shown as typed, not styled
    assert "\x1b[31mRED" not in written and "\0" not in written


@pytest.mark.parametrize("color", [False, True])
def test_lines_messages_and_streams_escape(color: bool) -> None:
    out, stdout, stderr = _out(color)
    for name in NASTY:
        out.line(f"saved {name}")
        out.stream(name)
        out.info(name)
        out.warn(name)
        out.error(name, hint=name)
    _assert_clean(stdout.getvalue())
    _assert_clean(stderr.getvalue())
    assert "saved \\x1b[31mRED\\x1b[0m" in stdout.getvalue()
    assert "error: nul\\0byte" in stderr.getvalue()


def test_a_prompt_escapes_the_question_and_ends_its_line_on_ctrl_c() -> None:
    class Interrupting(io.StringIO):
        def readline(self, size: int | None = -1, /) -> str:  # type: ignore[override]  # noqa: ARG002
            raise KeyboardInterrupt

    stderr = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        ask_yes_no("Delete \x1b[2Jbot?", stdin=Interrupting(), stderr=stderr)
    assert stderr.getvalue() == "Delete \\x1b[2Jbot? [y/N] \n"
    stderr = io.StringIO()
    assert ask_yes_no("ok?", stdin=io.StringIO(""), stderr=stderr) is False  # Ctrl-D
    assert stderr.getvalue() == "ok? [y/N] \n"
    stderr = io.StringIO()
    assert ask_yes_no("ok?", stdin=io.StringIO("yes\n"), stderr=stderr) is True
    assert stderr.getvalue() == "ok? [y/N] "


def test_apps_list_end_to_end_escapes_server_names(fake: FakeCli) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/console/api/apps"
        data = [
            {"id": f"00000000-0000-0000-0000-00000000000{i}", "name": n, "mode": "chat"}
            for i, n in enumerate(NASTY)
        ]
        return httpx.Response(
            200, json={"page": 1, "limit": 100, "total": 7, "has_more": False, "data": data}
        )

    fake.handler = handler
    env = {"DIFY_BASE_URL": "http://dify.test", "DIFY_CONSOLE_TOKEN": "console-canary"}
    code, out, err = fake("apps", "list", env=env)
    assert code == 0, err
    _assert_clean(out)
    assert "\\x1b[31mRED\\x1b[0m" in out and "nul\\0byte" in out and "two\\nlines" in out
    assert len(out.splitlines()) == 1 + len(NASTY)
    code, out, _ = fake("apps", "list", "-o", "json", env=env)
    assert [a["name"] for a in __import__("json").loads(out)] == NASTY  # JSON keeps the exact data
