"""The lazy root group (difyctl.cli.lazy) must expose exactly the commands typer's eager build does."""

from __future__ import annotations

import subprocess
import sys

import typer

from difyctl.cli import app
from difyctl.cli.lazy import LazyGroup, build_root


def _walk(group: object, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], list[str]]:
    """Every command path -> its sorted option names."""
    out: dict[tuple[str, ...], list[str]] = {}
    ctx = typer.Context(group)  # type: ignore[arg-type]
    for name in group.list_commands(ctx):  # type: ignore[attr-defined]
        cmd = group.get_command(ctx, name)  # type: ignore[attr-defined]
        path = (*prefix, name)
        out[path] = sorted(o for p in cmd.params for o in getattr(p, "opts", []))
        if hasattr(cmd, "list_commands"):
            out.update(_walk(cmd, path))
    return out


def test_lazy_tree_matches_eager_tree() -> None:
    lazy = build_root(app)
    assert isinstance(lazy, LazyGroup)
    assert _walk(lazy) == _walk(typer.main.get_command(app))


def test_root_help_builds_no_subcommand() -> None:
    lazy = build_root(app)
    ctx = typer.Context(lazy)
    text = lazy.get_help(ctx)
    assert "run" in text and "snapshot" in text
    assert lazy.commands == {}


def test_help_imports_no_heavy_module() -> None:
    code = (
        "import sys; from difyctl.cli import run; rc = run(['--help']);"
        "heavy = ('httpx', 'rich', 'yaml', 'jsonschema', 'keyring', 'starlette', 'difyctl.client');"
        "print([m for m in heavy if m in sys.modules]); sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_help_order_names_every_command() -> None:
    from difyctl.cli import HELP_ORDER

    lazy = build_root(app, HELP_ORDER)
    assert lazy.list_commands(typer.Context(lazy)) == HELP_ORDER
