"""Hostile schemas through the commands: validate, run --schema and broadcast --schema never hang."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from difyctl.validation import deadline
from tests.commands.conftest import Cli
from tests.validation.test_validation_hostile import EVIL, REDOS, TINY, _pattern_schema


def _write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def test_validate_cli_bounded_by_time_limit(cli: Cli, tmp_path: Path) -> None:
    schema = _write(tmp_path, "s.json", _pattern_schema())
    res = cli("validate", "-s", schema, _write(tmp_path, "a.json", {"a": EVIL}), "--time-limit", str(TINY))
    assert res.code == 1 and "invalid" in res.stderr and f"pattern '{REDOS}' took over" in res.stderr


def test_validate_cli_ref_cycle_is_exit_2_before_reading_input(cli: Cli, tmp_path: Path) -> None:
    schema = _write(tmp_path, "s.json", {"$ref": "#"})
    res = cli("validate", "-s", schema, str(tmp_path / "never-read.json"))
    assert res.code == 2 and "invalid schema" in res.stderr and "$ref cycle" in res.stderr
    assert "cannot read" not in res.stderr and "document: invalid" not in res.stderr


def test_validate_verbose_says_which_validator_decides(cli: Cli, tmp_path: Path) -> None:
    doc = _write(tmp_path, "a.json", {"n": 3})
    fast = cli("validate", "-s", _write(tmp_path, "s.json", {"type": "object"}), doc, "-v")
    assert "jsonschema-rs decides every document" in fast.stderr
    patterned = cli("validate", "-s", _write(tmp_path, "p.json", {"pattern": "^a"}), doc, "-v")
    assert "jsonschema-rs decides valid documents" in patterned.stderr  # Rust's regexes are stricter
    slow = cli("validate", "-s", _write(tmp_path, "m.json", {"multipleOf": 0.5}), doc, "--verbose")
    assert "jsonschema-rs not used for this schema: multipleOf" in slow.stderr
    assert "jsonschema-rs" not in cli("validate", "-s", str(tmp_path / "s.json"), doc).stderr


def test_run_and_broadcast_schema_inherit_the_limit(
    cli: Cli, logged_in: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deadline, "DEFAULT_TIME_LIMIT", TINY)
    schema = _write(tmp_path, "s.json", _pattern_schema())
    answer = json.dumps({"a": EVIL})  # echo-chat answers with the query itself
    ran = cli("run", "echo-chat", answer, "--schema", schema, "-o", "json")
    assert ran.code == 1 and ran.json()["validation"]["errors"][0]["keyword"] == "pattern"
    cast = cli("broadcast", answer, "--app", "echo-chat", "--schema", schema, "--timeout", "5", "-o", "json")
    target = cast.json()["targets"][0]
    assert not target["validation"]["ok"] and target["validation"]["errors"][0]["keyword"] == "pattern"


def test_run_and_broadcast_refuse_a_ref_cycle_before_sending(
    cli: Cli, logged_in: Any, tmp_path: Path
) -> None:
    schema = _write(tmp_path, "cycle.json", {"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"})
    ran = cli("run", "echo-chat", "{}", "--schema", schema)
    cast = cli("broadcast", "{}", "--app", "echo-chat", "--schema", schema)
    for res in (ran, cast):
        assert res.code == 2 and "invalid schema" in res.stderr and "$ref cycle" in res.stderr
        assert res.stdout == ""
