"""Helpers for the snapshot / rollback / promote end-to-end tests (the real CLI against the emulator)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from tests.commands.conftest import Cli

CANARY = "sk-CANARY-7f3e9b1d-never-print-me"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_PATHS = ("/console/api/login", "/console/api/refresh-token")


def console(profile: str | None = None) -> Any:
    """A console client for test setup, logged in like the CLI (the stored session of `profile`)."""
    from difyctl.context import AppContext

    ctx = AppContext.from_environment()
    if profile:
        ctx = ctx.with_options(output=None, profile=profile, verbose=False)
    return ctx.console()


def app_named(name: str, profile: str | None = None) -> Any:
    with console(profile) as c:
        return next(a for a in c.iter_apps() if a.name == name)


def versions(name: str, profile: str | None = None) -> int:
    """How many published versions the app has (a change publishes one)."""
    app = app_named(name, profile)
    with console(profile) as c:
        return sum(1 for w in c.list_versions(app.id, limit=100).items if not w.is_draft)


def export(cli: Cli, name: str, path: Path) -> str:
    res = cli("export", name, "-f", str(path))
    assert res.code == 0, res.stderr
    return path.read_text("utf-8")


def change_app(cli: Cli, tmp_path: Path, name: str = "echo-workflow", new: str = "reply") -> None:
    """Change the live app through the CLI: its End output `result` is renamed."""
    path = tmp_path / f"{name}-edit.yml"
    text = export(cli, name, path)
    assert "variable: result" in text
    path.write_text(text.replace("variable: result", f"variable: {new}"), "utf-8")
    res = cli("apply", name, "-f", str(path), "--yes", "--no-probe")
    assert res.code == 0, res.stderr


def import_app(doc: dict[str, Any], name: str, profile: str | None = None) -> str:
    """Create an app on the server from a DSL document (import without app_id) and publish it."""
    with console(profile) as c:
        result = c.import_dsl(yaml.safe_dump(doc), name=name)
        assert result.status.startswith("completed"), result
        app_id = str(result.app_id)
        if doc["app"]["mode"] in ("workflow", "advanced-chat"):
            c.publish(app_id)
        return app_id


def secret_app_doc(cli: Cli, tmp_path: Path) -> dict[str, Any]:
    """echo-workflow's DSL plus a secret environment variable holding the canary."""
    doc = yaml.safe_load(export(cli, "echo-workflow", tmp_path / "base.yml"))
    doc["workflow"]["environment_variables"] = [
        {
            "id": "6d1b3c1e-0000-4000-8000-000000000001",
            "name": "API_TOKEN",
            "value": CANARY,
            "value_type": "secret",
            "description": "",
        },
    ]
    return dict(doc)


def all_text(root: Path) -> str:
    return "\n".join(p.read_text("utf-8", "replace") for p in root.rglob("*") if p.is_file())


def sidecars(root: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text("utf-8")) for p in sorted(root.rglob("*.json")) if p.name != "store.json"]


def mutating(log: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(m, p) for m, p in log if m in MUTATING and not p.startswith(LOGIN_PATHS)]


def tree_hash(root: Path) -> str:
    """Names, bytes and modes of everything under root ("" for a store that does not exist)."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")) if root.exists() else []:
        h.update(str(path.relative_to(root)).encode() + b"\0" + oct(path.stat().st_mode).encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()
