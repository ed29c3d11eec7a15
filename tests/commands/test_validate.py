"""`difyctl validate` end to end through the real root command and its error boundary."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from difyctl.cli import run
from tests.commands.conftest import Cli, CliResult

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["title", "sentiment"],
    "properties": {
        "title": {"type": "string"},
        "sentiment": {"enum": ["positive", "neutral", "negative"]},
        "published": {"type": "string", "format": "date"},
    },
}
GOOD = {"title": "Release 1.13", "sentiment": "positive"}


def docs(res: CliResult) -> list[Any]:
    return [json.loads(line) for line in res.stdout.splitlines()]


@pytest.fixture
def schema_file(tmp_path: Path) -> str:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SCHEMA), encoding="utf-8")
    return str(path)


def write(tmp_path: Path, name: str, data: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return str(path)


def test_valid_answer_exit_0(cli: Cli, schema_file: str, tmp_path: Path) -> None:
    res = cli("validate", "--schema", schema_file, write(tmp_path, "a.json", json.dumps(GOOD)))
    assert res.code == 0 and docs(res) == [GOOD]
    assert "1 document: 1 parsed, 0 repaired, 0 fallback, 0 invalid" in res.stderr


def test_repaired_answer_from_stdin(cli: Cli, schema_file: str) -> None:
    answer = "<think>They want JSON.</think>\nHere it is:\n```json\n" + json.dumps(GOOD)[:-1] + ",}\n```"
    res = cli("validate", "--schema", schema_file, "-", stdin=answer)
    assert res.code == 0 and docs(res) == [GOOD]
    assert "repaired (think_block, code_fence, surrounding_text, trailing_comma)" in res.stderr


def test_invalid_answer_exit_1_with_path_keyword_message(cli: Cli, schema_file: str, tmp_path: Path) -> None:
    res = cli(
        "validate", "--schema", schema_file, write(tmp_path, "a.txt", '{"title": 3, "sentiment": "meh"}')
    )
    assert res.code == 1 and res.stdout == ""
    assert "error: document: invalid" in res.stderr
    assert "$.title: 3 is not of type 'string' [type]" in res.stderr
    assert "[enum]" in res.stderr


def test_fallback_turns_failures_into_exit_0(cli: Cli, schema_file: str, tmp_path: Path) -> None:
    fallback = {"title": "", "sentiment": "neutral"}
    res = cli(
        "validate",
        "--schema",
        schema_file,
        write(tmp_path, "a.txt", "I'm sorry, I can't."),
        "--fallback",
        write(tmp_path, "f.json", json.dumps(fallback)),
    )
    assert res.code == 0 and docs(res) == [fallback]
    assert "fallback used" in res.stderr


def test_jsonl_batch_of_broadcast_records(cli: Cli, schema_file: str, tmp_path: Path) -> None:
    records = [
        {"app": "a1", "name": "News", "mode": "chat", "ok": True, "answer": json.dumps(GOOD)},
        {"app": "a2", "name": "Flow", "mode": "workflow", "ok": True, "outputs": {"text": "x"}},
        {
            "app": "a3",
            "name": "Chat",
            "mode": "chat",
            "ok": True,
            "answer": "```json\n" + json.dumps(GOOD) + "\n```",
        },
        {
            "app": "a4",
            "name": "Down",
            "mode": "chat",
            "ok": False,
            "error": {"code": "unavailable", "message": "502"},
        },
    ]
    lines = "\n".join(json.dumps(r) for r in records) + "\n"
    report = tmp_path / "report.json"
    res = cli(
        "validate",
        "--schema",
        schema_file,
        write(tmp_path, "runs.jsonl", lines),
        "--jsonl",
        "--field",
        "answer",
        "--report",
        str(report),
    )
    assert res.code == 1 and docs(res) == [GOOD, GOOD]
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["status"] == "fail"
    assert data["summary"] == {"total": 4, "parsed": 1, "repaired": 1, "fallback": 0, "invalid": 2}
    assert [(d["line"], d["rung"]) for d in data["documents"]] == [
        (2, "invalid"),
        (3, "repaired"),
        (4, "invalid"),
    ]
    assert "the run failed: 502" in data["documents"][2]["errors"][0]["message"]


def test_json_report_is_one_document_on_stdout_with_every_value(
    cli: Cli, schema_file: str, tmp_path: Path
) -> None:
    answers = [json.dumps(GOOD), "```json\n" + json.dumps(GOOD)[:-1] + ",}\n```", "{}"]
    batch = write(tmp_path, "b.jsonl", "".join(json.dumps({"answer": a}) + "\n" for a in answers))
    res = cli("validate", "--schema", schema_file, batch, "--jsonl", "--field", "answer", "-o", "json")
    report = json.loads(res.stdout)  # the whole of stdout is one JSON document (| jq .summary works)
    assert res.code == 1 and report["status"] == "fail" and report["draft"] == "Draft202012Validator"
    assert report["summary"] == {"total": 3, "parsed": 1, "repaired": 1, "fallback": 0, "invalid": 1}
    got = [(d["line"], d["rung"], d["value"]) for d in report["documents"]]
    assert got == [(1, "parsed", GOOD), (2, "repaired", GOOD), (3, "invalid", None)]
    assert report["documents"][2]["errors"][0]["keyword"] == "required"
    assert "documents_omitted" not in report and res.stderr == ""
    single = cli(
        "validate", "--schema", schema_file, write(tmp_path, "a.json", json.dumps(GOOD)), "-o", "json"
    )
    assert json.loads(single.stdout)["documents"] == [
        {
            "line": None,
            "rung": "parsed",
            "ok": True,
            "repairs": [],
            "errors": [],
            "fallback_used": False,
            "value": GOOD,
        }
    ]


def test_no_repair(cli: Cli, schema_file: str, tmp_path: Path) -> None:
    res = cli(
        "validate",
        "--schema",
        schema_file,
        write(tmp_path, "a.txt", "```json\n" + json.dumps(GOOD) + "\n```"),
        "--no-repair",
    )
    assert res.code == 1 and "not JSON" in res.stderr


def test_bad_lines_do_not_stop_the_batch(cli: Cli, schema_file: str, tmp_path: Path) -> None:
    data = (json.dumps(GOOD) + "\n").encode() + b"\xff\xfe\n{broken\n" + (json.dumps(GOOD) + "\n").encode()
    res = cli("validate", "--schema", schema_file, write(tmp_path, "b.jsonl", data), "--jsonl")
    assert res.code == 1 and docs(res) == [GOOD, GOOD]
    assert "line 2: invalid" in res.stderr and "not UTF-8" in res.stderr and "line 3: invalid" in res.stderr


def test_a_50_mb_line(cli: Cli, schema_file: str, tmp_path: Path) -> None:
    big = json.dumps({**GOOD, "title": "x" * 50_000_000}) + "\n"
    res = cli(
        "validate",
        "--schema",
        schema_file,
        write(tmp_path, "big.jsonl", big + json.dumps(GOOD) + "\n"),
        "--jsonl",
    )
    assert res.code == 0 and "2 documents: 2 parsed" in res.stderr
    assert len(res.stdout) > 50_000_000


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ({"type": "objekt"}, "is not a valid schema"),
        ({"properties": {"a": {"$ref": "common.json#/$defs/a"}}}, "unresolvable $ref 'common.json#/$defs/a'"),
        ({"$schema": "https://example.com/dialect"}, "unknown $schema"),
    ],
)
def test_bad_schema_exit_2(cli: Cli, tmp_path: Path, schema: dict[str, Any], fragment: str) -> None:
    res = cli(
        "validate", "--schema", write(tmp_path, "s.json", json.dumps(schema)), write(tmp_path, "a.json", "{}")
    )
    assert res.code == 2 and fragment in res.stderr and "Traceback" not in res.stderr
    assert res.stderr.count("\n") <= 2  # one clear line (and perhaps a hint)


def test_yaml_schema_with_anchors(cli: Cli, tmp_path: Path) -> None:
    schema = "type: object\nproperties:\n  a: &s {type: string}\n  b: *s\nrequired: [a, b]\n"
    res = cli(
        "validate",
        "--schema",
        write(tmp_path, "s.yaml", schema),
        write(tmp_path, "a.json", '{"a": "x", "b": 1}'),
    )
    assert res.code == 1 and "$.b: 1 is not of type 'string'" in res.stderr


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "input is empty"),
        (b"\x00\x01\x02\xff" * 64, "looks binary"),
        (b'{"title": "\xc3\x28"}', "not UTF-8"),
    ],
)
def test_bad_input_exit_2(cli: Cli, schema_file: str, tmp_path: Path, data: bytes, fragment: str) -> None:
    res = cli("validate", "--schema", schema_file, write(tmp_path, "in.txt", data))
    assert res.code == 2 and fragment in res.stderr and "Traceback" not in res.stderr


def test_empty_jsonl_and_missing_file_exit_2(cli: Cli, schema_file: str, tmp_path: Path) -> None:
    assert cli("validate", "--schema", schema_file, write(tmp_path, "e.jsonl", "\n\n"), "--jsonl").code == 2
    res = cli("validate", "--schema", schema_file, str(tmp_path / "missing.txt"))
    assert res.code == 2 and "cannot read" in res.stderr


def test_invalid_fallback_exit_2(cli: Cli, schema_file: str, tmp_path: Path) -> None:
    res = cli(
        "validate",
        "--schema",
        schema_file,
        write(tmp_path, "a.txt", "x"),
        "--fallback",
        write(tmp_path, "f.json", "{}"),
    )
    assert res.code == 2 and "fallback document" in res.stderr


def test_nan_is_not_json(cli: Cli, schema_file: str, tmp_path: Path) -> None:
    res = cli(
        "validate",
        "--schema",
        schema_file,
        write(tmp_path, "a.json", '{"title": NaN, "sentiment": "neutral"}'),
    )
    assert res.code == 1 and "NaN/Infinity are not valid JSON" in res.stderr


def test_deeply_nested_document(cli: Cli, schema_file: str, tmp_path: Path) -> None:
    res = cli(
        "validate", "--schema", schema_file, write(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000)
    )
    assert res.code == 1 and "nested too deeply" in res.stderr and "Traceback" not in res.stderr


def test_help_has_an_example_and_does_not_import_jsonschema() -> None:
    code = (
        "import sys\n"
        "from difyctl.cli import run\n"
        "rc = run(['validate', '--help'])\n"
        "assert 'jsonschema' not in sys.modules and 'json_repair' not in sys.modules, 'heavy import'\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"NO_COLOR": "1", "COLUMNS": "100", "PATH": ""},
    )
    assert proc.returncode == 0, proc.stderr
    assert "difyctl validate --schema answer.schema.json answer.txt" in proc.stdout


def test_single_record_with_field_and_yaml_report(cli: Cli, schema_file: str, tmp_path: Path) -> None:
    record = {
        "app": "w1",
        "mode": "workflow",
        "ok": True,
        "outputs": {"text": "```json\n" + json.dumps(GOOD) + "\n```"},
    }
    res = cli(
        "validate",
        "--schema",
        schema_file,
        write(tmp_path, "r.json", json.dumps(record)),
        "--field",
        "outputs.text",
        "-o",
        "yaml",
    )
    report = yaml.safe_load(res.stdout)  # like -o json: the report is the document on stdout
    assert res.code == 0 and report["status"] == "ok" and report["summary"]["repaired"] == 1
    assert report["documents"][0]["value"] == GOOD


def test_missing_schema_option_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    res = cli("validate", write(tmp_path, "a.json", "{}"))
    assert res.code == 2 and "--schema" in res.stderr


def test_stdin_on_a_terminal_is_refused(cli: Cli, schema_file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty(""))
    res = run(["validate", "--schema", schema_file], env={"NO_COLOR": "1"})
    assert res == 2


def test_stdout_lines_valid_documents_as_written_or_compacted(
    cli: Cli, schema_file: str, tmp_path: Path
) -> None:
    one_line = '  {"title": "A",  "sentiment": "neutral"}  '
    indented = json.dumps(GOOD, indent=2)
    answers = [one_line, indented, json.dumps(GOOD)[:-1] + ",}"]
    batch = write(tmp_path, "b.jsonl", "".join(json.dumps({"answer": a}) + "\n" for a in answers))
    res = cli("validate", "--schema", schema_file, batch, "--jsonl", "--field", "answer")
    compact = json.dumps(GOOD, ensure_ascii=False, separators=(",", ":"))
    # valid as is on one line: the text itself (no re-encoding); otherwise one compact JSON line each
    assert res.code == 0 and res.stdout.splitlines() == [one_line.strip(), compact, compact]
