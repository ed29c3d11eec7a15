"""One spelling per concept (issue 15, item 4): the whole command tree against difyctl.cli.conventions.

These tests walk every command the root exposes, so a new command that brings its own short flag,
stdin flag or `<str>` placeholder fails here before it reaches a user.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from difyctl.cli import HELP_ORDER, app, conventions
from difyctl.cli.helpdoc import render
from difyctl.cli.lazy import build_root
from tests.commands.conftest import Cli


def _leaves() -> Iterator[tuple[tuple[str, ...], Any, typer.Context]]:
    def walk(cmd: Any, path: tuple[str, ...], parent: Any) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
        ctx = typer.Context(cmd, info_name=path[-1] if path else "difyctl", parent=parent)
        if hasattr(cmd, "list_commands"):
            if path:
                yield path, cmd, ctx
            for name in cmd.list_commands(ctx):
                yield from walk(cmd.get_command(ctx, name), (*path, name), ctx)
        else:
            yield path, cmd, ctx

    yield from walk(build_root(app, HELP_ORDER), (), None)


COMMANDS = [(path, cmd, ctx) for path, cmd, ctx in _leaves() if not hasattr(cmd, "list_commands")]
OPTIONS = [
    (" ".join(path), param, ctx)
    for path, cmd, ctx in _leaves()
    for param in cmd.params
    if param.param_type_name == "option"
]


def test_the_tree_is_walked() -> None:
    names = {" ".join(path) for path, _, _ in COMMANDS}
    assert {"run", "validate", "snapshot list", "webhook verify", "profile alias set"} <= names
    assert len(COMMANDS) >= 40


@pytest.mark.parametrize(
    ("path", "cmd", "ctx"), COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_command_accepts_verbose(path: tuple[str, ...], cmd: Any, ctx: Any) -> None:  # noqa: ARG001
    verbose = [p for p in cmd.params if "--verbose" in getattr(p, "opts", [])]
    assert verbose and "-v" in verbose[0].opts, f"{' '.join(path)}: add `verbose: VerboseOpt = False`"


def test_short_flags_mean_one_thing() -> None:
    wrong = []
    for where, param, _ in OPTIONS:
        for short in (o for o in param.opts + param.secondary_opts if len(o) == 2 and o != "--"):
            if short == "-h":
                continue
            meant = conventions.SHORT_FLAGS.get(short)
            if meant is None or meant not in param.opts:
                wrong.append(f"{where}: {short} is {param.opts} (conventions: {meant})")
    assert wrong == []


def test_stdin_flags_are_spelled_stdin() -> None:
    names = [(where, param.opts) for where, param, _ in OPTIONS if any("stdin" in o for o in param.opts)]
    assert len(names) >= 5  # login, keys set, secrets set/rotate, credentials rotate
    assert [n for n in names if conventions.STDIN_FLAG not in n[1]] == []
    old = {o for _, opts in names for o in opts} - {conventions.STDIN_FLAG}
    assert old == {"--password-stdin", "--key-stdin", "--value-stdin"}  # the old names keep working


def test_placeholders_come_from_one_set() -> None:
    wrong = []
    for path, cmd, ctx in COMMANDS:
        for param in cmd.params:
            if param.param_type_name == "option" and (param.is_flag or param.count):
                continue
            record = param.get_help_record(ctx)
            shown = (
                record[0].split(", ")[-1].split(" ")[-1] if param.param_type_name == "option" else record[0]
            )
            shown = shown.removesuffix("...")
            if shown not in conventions.PLACEHOLDERS:
                wrong.append(f"{' '.join(path)}: {record[0]!r}")
    assert wrong == []


def test_help_shows_no_typer_type_labels() -> None:
    text = render()
    for label in ("<str>", "<int", "<float", "<list", "<file>", "<path>", "{APP}", "[[", "..]..."):
        assert label not in text, label
    assert "Usage: difyctl snapshot create [OPTIONS] [APP...]" in text
    assert "Usage: difyctl apps show [OPTIONS] APP\n" in text


def test_deprecated_shorts_are_not_declared_and_their_long_name_exists() -> None:
    by_path = {path: cmd for path, cmd, _ in COMMANDS}
    for path, table in conventions.DEPRECATED_SHORTS.items():
        declared = {o for p in by_path[path].params for o in getattr(p, "opts", [])}
        for short, meant in table.items():
            assert short not in declared and meant in declared, (path, short)


def test_rewrite_spells_out_the_old_short_once_per_use() -> None:
    notices: list[str] = []
    args = conventions.rewrite_deprecated(
        ["-s", "a.json", "-fanswer", "x.json", "--", "-s"], ("validate",), notices.append
    )
    assert args == ["--schema", "a.json", "--field", "answer", "x.json", "--", "-s"]
    assert len(notices) == 2 and "-s" in notices[0] and "--schema" in notices[0]
    assert conventions.rewrite_deprecated(["-s"], ("run",), notices.append) == ["-s"]  # -s is --stream there
    assert len(notices) == 2


def test_old_validate_shorts_still_work_with_one_notice(cli: Cli, tmp_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"type": "object", "required": ["title"]}), encoding="utf-8")
    answer = tmp_path / "a.jsonl"
    answer.write_text(json.dumps({"answer": json.dumps({"title": "t"})}) + "\n", encoding="utf-8")
    res = cli("validate", "-s", str(schema), str(answer), "--jsonl", "-f", "answer")
    assert res.code == 0 and json.loads(res.stdout) == {"title": "t"}
    notices = [line for line in res.stderr.splitlines() if "deprecated" in line]
    assert len(notices) == 2 and all(line.startswith("warning: ") for line in notices)
    assert "use --schema" in notices[0] and "use --field" in notices[1]
    new = cli("validate", "--schema", str(schema), str(answer), "--jsonl", "--field", "answer")
    assert new.code == 0 and "deprecated" not in new.stderr


def test_verbose_is_accepted_offline(cli: Cli, tmp_path: Path) -> None:
    env = {"DIFYCTL_CONFIG_DIR": str(tmp_path / "cfg"), "DIFYCTL_SNAPSHOT_DIR": str(tmp_path / "snaps")}
    (tmp_path / "snaps").mkdir()  # verify refuses a store that does not exist (exit 2)
    for argv in (("snapshot", "list", "-v"), ("snapshot", "verify", "-v"), ("profile", "list", "-v")):
        res = cli(*argv, env=env)
        assert res.code == 0, (argv, res.stderr)


@pytest.mark.parametrize(
    ("path", "argv", "param", "value"),
    [
        (("apps", "list"), ["-m", "workflow"], "mode", "workflow"),
        (("run",), ["echo-chat", "hi", "-c", "conv-1"], "conversation", "conv-1"),
        (("validate",), ["-s", "s.json", "-f", "answer"], "field", "answer"),
    ],
)
def test_every_deprecated_short_still_parses_to_its_old_meaning(
    path: tuple[str, ...], argv: list[str], param: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    by_path = {p: (cmd, ctx) for p, cmd, ctx in COMMANDS}
    cmd, parent = by_path[path]
    ctx = cmd.make_context(path[-1], list(argv), parent=parent.parent, resilient_parsing=True)
    assert ctx.params[param] == value
    assert capsys.readouterr().err.count("is deprecated") == len(
        [a for a in argv if a in ("-m", "-c", "-s", "-f")]
    )
