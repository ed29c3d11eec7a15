"""Rendering: the live table (TTY only), the text report, the JSONL sink."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from difyctl.broadcast.jsonl import JsonlSink
from difyctl.broadcast.results import BroadcastResult, TargetResult
from difyctl.errors import UsageError
from difyctl.output import Output
from difyctl.output import broadcast as render


def results() -> BroadcastResult:
    ok = TargetResult(0, "a", "alpha", mode="chat", status="ok", answer="x" * 100, latency_ms=210.0)
    ok.tokens = {"prompt": 3, "completion": 4, "total": 7}
    ok.price, ok.currency = "0.0010", "USD"
    wf = TargetResult(1, "w", "flow", mode="workflow", status="ok", outputs={"result": 1}, latency_ms=190.0)
    bad = TargetResult(2, "b", "broken", mode="chat", status="error", answer="half an ans", partial=True)
    bad.error = {"code": "stream_truncated", "message": "the stream ended before its final event"}
    return BroadcastResult([ok, wf, bad], wall_ms=230.0)


def test_text_report_truncates_answers_unless_full() -> None:
    stdout = io.StringIO()
    out = Output(stdout=stdout, stderr=io.StringIO(), color=False)
    render.render_text(out, results())
    text = stdout.getvalue()
    assert "x" * 59 + "…" in text and "x" * 61 not in text
    assert '{"result": 1}' in text and "[partial] half an ans" in text
    assert "stream_truncated: the stream ended" in text
    assert "2 ok, 1 failed of 3 in 0.23 s" in text and "p50 190" in text
    assert "tokens: 7 (3 prompt + 4 completion) · 0.0010 USD" in text
    stdout.truncate(0)
    render.render_text(out, results(), full=True)
    assert "x" * 100 in stdout.getvalue() and "== broken [partial] ==" in stdout.getvalue()


def test_json_is_written_target_by_target_as_the_one_document_it_replaces() -> None:
    """Byte for byte what `Output.emit` writes (indent 2, non-ASCII kept), target by target."""
    tricky = results()
    odd = TargetResult(3, "u", 'ünï\ncode \u2028 "q"', mode="workflow", status="ok", profile="prod")
    odd.outputs = {"nested": {"list": [1, {"deep": None}], "empty": {}, "text": "line\nline"}}
    odd.validation = {"ok": True, "rung": "parsed", "errors": []}
    tricky.targets.append(odd)
    for result in (tricky, BroadcastResult([results().targets[0]], wall_ms=1.0), BroadcastResult([], 0.0)):
        streamed, whole = io.StringIO(), io.StringIO()
        render.write_json(Output(format="json", stdout=streamed), result)
        Output(format="json", stdout=whole).emit(result.to_dict())
        assert streamed.getvalue() == whole.getvalue()
        assert json.loads(streamed.getvalue()) == json.loads(json.dumps(result.to_dict()))


@pytest.mark.parametrize("fmt", ["json", "yaml", "text"])
def test_the_result_is_rendered_as_output_emit_would(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    streamed = []
    monkeypatch.setattr(render, "write_json", lambda out, result: streamed.append(result))
    got, want = io.StringIO(), io.StringIO()
    render.emit(Output(format=fmt, stdout=got, color=False), results())  # type: ignore[arg-type]
    if fmt == "json":  # target by target
        assert len(streamed) == 1 and got.getvalue() == ""
        return
    out = Output(format=fmt, stdout=want, color=False)  # type: ignore[arg-type]
    out.emit(results().to_dict(), text=lambda o: render.render_text(o, results()))
    assert streamed == [] and got.getvalue() == want.getvalue() != ""


def test_live_table_only_on_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = io.StringIO()
    out = Output(stdout=io.StringIO(), stderr=stderr, color=False)
    with render.LiveTable(out, ["alpha"]) as live:
        assert not live.enabled
        live.start(0)
    assert stderr.getvalue() == ""

    monkeypatch.setattr(render, "_is_tty", lambda stream: True)
    names = [f"t{i}" for i in range(render.MAX_LIVE_ROWS + 5)]
    with render.LiveTable(Output(stderr=stderr, color=False), names) as live:
        assert live.enabled
        for i in range(len(names)):
            live.start(i)
        for res in results().targets:
            live.done(res)
        table = live._render()
        assert table.row_count <= render.MAX_LIVE_ROWS
        assert "running" in str(table.caption) and "error 1" in str(table.caption)
    assert not render.LiveTable(Output(format="json", stderr=stderr), ["a"]).enabled  # JSON: no live table


def test_jsonl_sink_appends_full_lines(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text('{"earlier": true}\n')
    with JsonlSink(path) as sink:
        for res in results().targets:
            sink.write(res)
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"earlier": True}
    assert [json.loads(line)["name"] for line in lines[1:]] == ["alpha", "flow", "broken"]
    with pytest.raises(UsageError, match="cannot open"):
        JsonlSink(tmp_path / "missing-dir" / "x.jsonl")
