"""Item 2 of issue 15: nothing is sent before an input file passed the limits."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import FakeCli
from tests.test_yamlio import BOMB

SERVICE = {"DIFY_BASE_URL": "http://dify.test", "DIFY_API_KEY": "app-canary-0000"}


def test_alias_bomb_as_run_inputs_file_exits_2_and_sends_nothing(fake: FakeCli, tmp_path: Path) -> None:
    path = tmp_path / "inputs.yaml"
    path.write_text(BOMB + "\n")
    code, out, err = fake("run", "echo-workflow", "--inputs-file", str(path), env=SERVICE)
    assert code == 2 and out == ""
    assert fake.sent == []
    assert err.startswith(f"error: {path}: too large once YAML aliases are expanded")
    assert "Traceback" not in err and len(err.splitlines()) == 2  # one line + its hint


def test_alias_bomb_as_broadcast_apps_file_exits_2_and_sends_nothing(fake: FakeCli, tmp_path: Path) -> None:
    path = tmp_path / "apps.yaml"
    path.write_text(BOMB + "\ntargets:\n  - app: echo-chat\n    inputs: {x: *i}\n")
    code, out, err = fake("broadcast", "ping", "--apps-file", str(path), env=SERVICE)
    assert code == 2 and out == "" and fake.sent == []
    assert f"error: {path}: too large once YAML aliases are expanded" in err


def test_repeated_key_in_an_inputs_file_exits_2_with_its_position(fake: FakeCli, tmp_path: Path) -> None:
    path = tmp_path / "inputs.yml"
    path.write_text("query: one\nquery: two\n")
    code, _, err = fake("run", "echo-workflow", "--inputs-file", str(path), env=SERVICE)
    assert code == 2 and fake.sent == []
    assert f"{path}: line 2, column 1: duplicate key 'query'" in err


def test_a_json_inputs_file_is_parsed_as_json(fake: FakeCli, tmp_path: Path) -> None:
    path = tmp_path / "inputs.json"
    path.write_text("query: not json\n")
    code, _, err = fake("run", "echo-workflow", "--inputs-file", str(path), env=SERVICE)
    assert code == 2 and fake.sent == []
    assert "not valid JSON at line 1, column 1" in err
