"""run --schema / --reask / --field: answers validated live against a JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.commands.conftest import Cli

ECHO_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["status", "data"],
    "properties": {"status": {"enum": ["success"]}, "data": {"type": "object", "required": ["echo"]}},
}


def _schema(tmp_path: Path, schema: dict[str, Any]) -> str:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    return str(path)


def test_valid_answer_prints_the_document(cli: Cli, logged_in: Any, tmp_path: Path) -> None:
    result = cli("run", "json-chat", "ping", "--schema", _schema(tmp_path, ECHO_SCHEMA))
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == {"status": "success", "data": {"echo": "ping"}}
    assert "schema: valid, parsed" in result.stderr


def test_repaired_answer_records_the_repairs(cli: Cli, logged_in: Any, tmp_path: Path) -> None:
    answer = 'Sure! ```json\n{"status": "success", "data": {"echo": "x",},}\n```'
    schema = _schema(tmp_path, ECHO_SCHEMA)
    doc = cli("run", "echo-chat", answer, "--schema", schema, "-o", "json").json()
    check = doc["validation"]
    assert check["ok"] and check["rung"] == "repaired"
    assert "code_fence" in check["repairs"] and "trailing_comma" in check["repairs"]
    assert check["document"] == {"status": "success", "data": {"echo": "x"}}


def test_invalid_answer_is_reasked_in_the_same_conversation_then_exit_1(
    cli: Cli, logged_in: Any, tmp_path: Path
) -> None:
    strict = {**ECHO_SCHEMA, "properties": {"data": {"type": "object", "required": ["count"]}}}
    result = cli(
        "run", "json-chat", "ping", "--schema", _schema(tmp_path, strict), "--reask", "2", "-o", "json"
    )
    assert result.code == 1
    check = result.json()["validation"]
    assert not check["ok"] and len(check["attempts"]) == 3
    assert check["errors"][0]["keyword"] == "required" and check["errors"][0]["path"].startswith("$")
    # the re-asks went to the same conversation, carrying the validation errors
    assert len({a["conversation_id"] for a in check["attempts"]}) == 1
    assert "does not match the required JSON Schema" in check["attempts"][1]["answer"]


def test_workflow_outputs_and_field(cli: Cli, logged_in: Any, tmp_path: Path) -> None:
    schema = _schema(tmp_path, {"type": "object", "required": ["result"]})
    ok = cli("run", "echo-workflow", "-i", "query=hi", "--schema", schema, "-o", "json")
    assert ok.code == 0 and ok.json()["validation"]["rung"] == "parsed"
    field_schema = _schema(tmp_path, {"type": "object", "required": ["a"]})
    picked = cli(
        "run", "echo-workflow", "-i", 'query={"a": 1}', "--schema", field_schema, "--field", "result"
    )
    assert picked.code == 0, picked.stderr
    assert json.loads(picked.stdout) == {"a": 1}


def test_bad_schema_is_exit_2_before_anything_is_sent(cli: Cli, logged_in: Any, tmp_path: Path) -> None:
    bad = _schema(tmp_path, {"type": "no-such-type"})
    result = cli("run", "json-chat", "ping", "--schema", bad)
    assert result.code == 2 and result.stdout == ""
    assert cli("run", "json-chat", "ping", "--reask", "1").code == 2


def test_broadcast_schema_adds_validity_and_counts_invalid_as_failed(
    cli: Cli, logged_in: Any, tmp_path: Path
) -> None:
    schema = _schema(tmp_path, ECHO_SCHEMA)
    ok = cli("broadcast", "ping", "--app", "json-chat", "--schema", schema, "-o", "json")
    assert ok.code == 0, ok.stderr
    doc = ok.json()
    assert doc["targets"][0]["validation"]["ok"] and doc["summary"]["valid"] == 1
    mixed = cli("broadcast", "ping", "--app", "json-chat", "--app", "echo-chat", "--schema", schema)
    assert mixed.code == 3  # echo-chat answers plain text: invalid counts as failed
    assert "schema: 1 valid, 1 invalid" in mixed.stdout and "invalid (" in mixed.stdout
    jsonl = tmp_path / "runs.jsonl"
    cli("broadcast", "ping", "--app", "json-chat", "--schema", schema, "--jsonl", str(jsonl))
    assert json.loads(jsonl.read_text().splitlines()[0])["validation"]["rung"] == "parsed"
    assert cli("broadcast", "ping", "--app", "json-chat", "--field", "x").code == 2
