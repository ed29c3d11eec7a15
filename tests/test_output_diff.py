"""The text renderer of a semantic DSL diff: plain off a TTY, coloured when asked, secrets never shown."""

from __future__ import annotations

import copy
import io
from typing import Any

from difyctl.output import Output
from difyctl.output.diff import render_diff, short, summary_line
from difyctl.snapshots.diff import semantic_diff

SECRET_OLD, SECRET_NEW = "sk-old-CANARY-111", "sk-new-CANARY-222"


def doc() -> dict[str, Any]:
    return {
        "version": "0.6.0",
        "app": {"name": "bot", "mode": "workflow", "description": "before"},
        "workflow": {
            "features": {},
            "environment_variables": [
                {"id": "1", "name": "TOKEN", "value": SECRET_OLD, "value_type": "secret"},
                {"id": "2", "name": "REGION", "value": "eu", "value_type": "string"},
            ],
            "graph": {
                "nodes": [
                    {"id": "start", "data": {"type": "start", "title": "Start"}},
                    {"id": "llm", "data": {"type": "llm", "title": "LLM", "prompt": "hi"}},
                ],
                "edges": [{"source": "start", "target": "llm"}],
            },
        },
    }


def changed() -> dict[str, Any]:
    new = copy.deepcopy(doc())
    new["app"]["description"] = "after"
    wf = new["workflow"]
    wf["environment_variables"][0]["value"] = SECRET_NEW
    wf["environment_variables"][1]["value"] = "us"
    wf["graph"]["nodes"][1]["data"]["prompt"] = "hello"
    wf["graph"]["nodes"].append({"id": "end", "data": {"type": "end", "title": "End"}})
    wf["graph"]["edges"].append({"source": "llm", "target": "end"})
    return new


def render(old: dict[str, Any], new: dict[str, Any], *, color: bool) -> str:
    buf = io.StringIO()
    out = Output(stdout=buf, stderr=io.StringIO(), color=color)
    render_diff(out, semantic_diff(old, new), old_label="v1", new_label="live")
    return buf.getvalue()


def test_plain_text_sections_and_no_secret() -> None:
    text = render(doc(), changed(), color=False)
    assert "\x1b[" not in text
    assert text.splitlines()[:2] == ["--- v1", "+++ live"]
    for expected in (
        '~ app.description: "before" -> "after"',
        '+ end "End" (end)',
        '~ llm "LLM" (llm)',
        '~ data.prompt: "hi" -> "hello"',
        "+ llm -> end",
        "~ TOKEN (environment secret)",
        "~ value: (secret changed)",
        '~ value: "eu" -> "us"',
        "summary: 1 node added, 1 node changed, 1 edge added, 2 variables, 1 app field",
    ):
        assert expected in text, expected
    assert "CANARY" not in text


def test_coloured_when_asked_and_equal_documents() -> None:
    text = render(doc(), changed(), color=True)
    assert "\x1b[" in text and "CANARY" not in text
    assert render(doc(), doc(), color=False) == "no differences between v1 and live\n"
    assert summary_line(semantic_diff(doc(), doc())) == "no differences"


def test_short_values_are_one_bounded_line() -> None:
    assert short("a\nb") == '"a\\nb"'
    assert len(short("x" * 500)) == 80 and short("x" * 500).endswith("…")
    assert short({"k": [1, 2]}) == '{"k": [1, 2]}'
