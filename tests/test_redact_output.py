from __future__ import annotations

import io
import json

from difyctl.output import Output
from difyctl.redact import mask, redact_headers, redact_text

CANARY = "app-CANARYcanary0123456789"


def test_mask_keeps_only_prefix_and_last_four() -> None:
    assert mask(CANARY) == "app-********6789"
    assert "CANARY" not in mask(CANARY)
    assert mask("") == ""
    assert mask("app-short") == "app-*****"


def test_redact_text_hides_tokens_and_known_secrets() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop"
    text = f"Bearer {CANARY} cookie={jwt} pw=hunter2hunter2"
    red = redact_text(text, extra_secrets=("hunter2hunter2",))
    assert CANARY not in red and jwt not in red and "hunter2hunter2" not in red


def test_redact_headers() -> None:
    h = redact_headers({"Authorization": "Bearer x", "X-CSRF-Token": "y", "Accept": "json"})
    assert h == {"Authorization": "[REDACTED]", "X-CSRF-Token": "[REDACTED]", "Accept": "json"}


def test_output_formats_and_streams() -> None:
    out, err = io.StringIO(), io.StringIO()
    o = Output(format="json", stdout=out, stderr=err, color=False)
    o.emit({"a": 1}, text="ignored")
    o.info("progress goes to stderr")
    assert json.loads(out.getvalue()) == {"a": 1}
    assert "progress" in err.getvalue()
    out2 = io.StringIO()
    Output(format="yaml", stdout=out2, stderr=err, color=False).emit([{"x": "é"}])
    assert out2.getvalue() == "- x: é\n"
    out3 = io.StringIO()
    Output(format="text", stdout=out3, stderr=err, color=False).table(
        ["A", "BB"], [["1", None], ["333", "x"]]
    )
    assert out3.getvalue().splitlines() == ["A    BB", "1", "333  x"]


def test_error_has_hint_line() -> None:
    err = io.StringIO()
    Output(stdout=io.StringIO(), stderr=err, color=False).error("boom", "try again")
    assert err.getvalue() == "error: boom\nhint: try again\n"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_and_is_silent_otherwise() -> None:
    err = _Tty()
    out = Output(stdout=io.StringIO(), stderr=err, color=True)
    with out.progress(3, "exporting") as bar:
        for n in range(3):
            bar.advance(label=f"app {n}")
    assert "exporting" in err.getvalue() or "app" in err.getvalue()
    quiet = io.StringIO()
    with Output(stdout=io.StringIO(), stderr=quiet).progress(3, "exporting") as bar:
        bar.advance()
    assert quiet.getvalue() == ""


def test_colored_table_and_messages_on_a_terminal() -> None:
    tty_out, tty_err = _Tty(), _Tty()
    o = Output(stdout=tty_out, stderr=tty_err, color=True)
    o.table(["A", "B"], [["1", "2"]], title="T")
    o.line("styled", style="bold")
    o.warn("careful")
    assert "A" in tty_out.getvalue() and "styled" in tty_out.getvalue()
    assert "careful" in tty_err.getvalue() and "\x1b[" in tty_err.getvalue()
