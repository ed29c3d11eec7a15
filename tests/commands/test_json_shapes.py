"""One shape per concept in `-o json` (issue 15, item 5), and docs/json.md generated from the classes.

Regenerate the document with: python -m difyctl.cli.jsondoc > docs/json.md
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from difyctl.cli import jsondoc
from difyctl.jsonshape import iso, ms, with_iso
from tests.commands.conftest import Cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "json.md"
APP_KEYS = {"app_id", "app_name", "app_mode"}


def test_json_doc_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == jsondoc.render(), (
        "run: python -m difyctl.cli.jsondoc > docs/json.md"
    )


def _commands_with_output_option() -> list[str]:
    """Every command path in the CLI tree that takes `-o` (so `-o json`)."""
    import typer

    from difyctl.cli import app

    found: list[str] = []

    def walk(group: Any, prefix: tuple[str, ...]) -> None:
        ctx = typer.Context(group)
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            if hasattr(cmd, "list_commands"):
                walk(cmd, (*prefix, name))
            elif any("-o" in getattr(p, "opts", []) for p in cmd.params):
                found.append(" ".join((*prefix, name)))

    walk(typer.main.get_command(app), ())
    return found


def test_every_command_with_json_output_is_documented() -> None:
    """A new command with `-o` fails here until docs/json.md has its section (from jsondoc.SECTIONS)."""
    commands = _commands_with_output_option()
    assert len(commands) > 30 and "rollback" in commands and "profile alias list" in commands
    documented = {c for c, _, _ in jsondoc.SECTIONS}
    missing = [c for c in commands if c not in documented]
    assert not missing, f"add a section to difyctl/cli/jsondoc.py for: {missing}"
    text = DOC.read_text(encoding="utf-8")
    assert all(f"## `difyctl {c} -o json`" in text for c in commands)


def test_iso_ms_and_with_iso() -> None:
    assert iso(0) == "1970-01-01T00:00:00Z" and iso(1763630000) == "2025-11-20T09:13:20Z"
    assert iso(None) is None and iso(True) is None and iso("1763630000") is None
    assert ms(8.74922000002698) == 8.7 and ms(None) is None and ms(3) == 3.0
    assert list(with_iso({"a": 1, "created_at": 0, "z": 2}, ["created_at"])) == [
        "a",
        "created_at",
        "created_at_iso",
        "z",
    ]


def _objects(doc: Any) -> list[dict[str, Any]]:
    """Every JSON object in `doc`, nested ones included."""
    found: list[dict[str, Any]] = []
    if isinstance(doc, dict):
        found.append(doc)
        for value in doc.values():
            found += _objects(value)
    elif isinstance(doc, list):
        for item in doc:
            found += _objects(item)
    return found


# About an alias, not an app: an alias stores only the app id (no name or mode to give without a
# server), and tests/cli/test_polish.py pins the exact shape of `profile alias list`.
ABOUT_AN_ALIAS = {"profile alias list", "profile alias remove"}


def check_rules(command: str, doc: Any) -> None:
    """The item-5 rules, on one command's document."""
    for obj in _objects(doc):
        about_app = isinstance(obj.get("app"), str) or "app_id" in obj
        if about_app and command not in ABOUT_AN_ALIAS:  # a result about an app
            assert APP_KEYS <= set(obj), f"{command}: {sorted(obj)} lacks {APP_KEYS - set(obj)}"
        for key, value in obj.items():
            if key.endswith("_at") and isinstance(value, int) and not isinstance(value, bool):
                assert obj.get(f"{key}_iso") == iso(value), f"{command}: {key} has no {key}_iso"
            if key.endswith("_ms") and isinstance(value, float):
                assert value == round(value, 1), f"{command}: {key}={value} is not rounded to 0.1 ms"


@pytest.mark.parametrize(("command", "example"), [(c, e) for c, _, e in jsondoc.SECTIONS])
def test_documented_shapes_follow_the_rules(command: str, example: Any) -> None:
    check_rules(command, example())


def test_the_examples_exercise_the_rules() -> None:
    """The samples carry unrounded latencies and epoch times, so a broken rule shows above."""
    health = jsondoc.health()
    assert (
        health["results"][0]["latency_ms"] == 16.2
        and health["results"][0]["probes"][0]["latency_ms"] == 120.0
    )
    assert jsondoc.run()["latency_ms"] == 36.7
    assert jsondoc.keys_rotate()["results"][0]["grace_until_iso"] == "2025-11-20T10:13:20Z"
    assert jsondoc.apps_show()["updated_at_iso"] == "2025-11-20T09:14:20Z"


# keys a command prints only when there is something to say (documented in the section's text)
OPTIONAL_KEYS = {"profile list": {"apps", "email"}, "profile show": {"apps", "email"}}


def _keyset(doc: Any) -> set[str]:
    return set(doc[0] if isinstance(doc, list) else doc)


def test_real_outputs_match_the_document_and_keep_their_keys(cli: Cli, logged_in: Any) -> None:
    """Against the emulator: the documented keys are the keys the commands print (the old keys among
    them: scripts keep working), and the rules hold on real data."""
    runs = {
        "apps list": ("apps", "list"),
        "apps show": ("apps", "show", "echo-chat"),
        "run": ("run", "echo-chat", "hi"),
        "keys list": ("keys", "list", "echo-chat"),
        "versions list": ("versions", "list", "echo-chat"),
        "health": ("health", "echo-chat"),
        "broadcast": ("broadcast", "hi", "-a", "echo-chat"),
        "profile alias set": ("profile", "alias", "set", "bot", "echo-chat"),
        "status": ("status",),
        "profile list": ("profile", "list"),
        "profile show": ("profile", "show"),
        "snapshot verify": ("snapshot", "verify"),
    }
    examples = {c: e() for c, _, e in jsondoc.SECTIONS}
    for command, argv in runs.items():
        res = cli(*argv, "-o", "json")
        assert res.code == 0, (command, res.stderr)
        doc = res.json()
        check_rules(command, doc)
        optional = OPTIONAL_KEYS.get(command, set())
        assert _keyset(doc) - optional == _keyset(examples[command]) - optional, command
    old = {
        "apps show": {"id", "name", "mode", "created_at", "enable_api"},
        "run": {"app", "mode", "latency_ms"},
    }
    assert old["apps show"] <= _keyset(examples["apps show"]) and old["run"] <= _keyset(examples["run"])
    target = examples["broadcast"]["targets"][0]
    assert {"app", "name", "mode"} <= set(target) and isinstance(target["latency_ms"], float)
