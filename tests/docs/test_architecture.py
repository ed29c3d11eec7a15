"""docs/architecture.md matches the tree: every package of difyctl is listed, every path it names exists."""

from __future__ import annotations

import re
from pathlib import Path

import difyctl

ROOT = Path(difyctl.__file__).parent.parent
DOC = ROOT / "docs" / "architecture.md"


def named_paths(text: str) -> set[str]:
    """`difyctl/...` paths in backticks, and `pkg/module.py` ones inside a package's own line."""
    found = set(re.findall(r"`(difyctl/[\w/]*(?:\.py)?)`", text))
    for line_start in re.finditer(r"^- `(difyctl/\w+/)`", text, re.M):
        package = line_start.group(1)
        block = text[line_start.start() :].split("\n- ", 1)[0]
        short = package.split("/")[1]
        found |= {f"difyctl/{m}" for m in re.findall(rf"`({short}/[\w/]+\.py)`", block)}
        if short == "commands":
            found |= {f"{package}{m}" for m in re.findall(r"`(_?\w+\.py)`", block)}
    return found


def test_every_named_path_exists() -> None:
    paths = named_paths(DOC.read_text(encoding="utf-8"))
    assert len(paths) > 60  # the parser found the lines, not nothing
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert missing == [], f"docs/architecture.md names what is not there: {missing}"


def test_every_package_and_command_is_listed() -> None:
    paths = named_paths(DOC.read_text(encoding="utf-8"))
    packages = {f"{p.parent.relative_to(ROOT).as_posix()}/" for p in (ROOT / "difyctl").glob("*/__init__.py")}
    assert sorted(packages - paths) == [], "add the package to docs/architecture.md"
    commands = {f"difyctl/commands/{p.name}" for p in (ROOT / "difyctl" / "commands").glob("*.py")} - {
        "difyctl/commands/__init__.py"
    }
    assert sorted(commands - paths) == [], "add the command module to docs/architecture.md"
    modules = {f"difyctl/{p.name}" for p in (ROOT / "difyctl").glob("*.py")} - {"difyctl/__init__.py"}
    assert sorted(modules - paths) == [], "add the top-level module to docs/architecture.md"
