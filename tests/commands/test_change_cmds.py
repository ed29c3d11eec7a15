"""Issue 12 end to end (the real CLI against the emulator): tags that are kept, dry runs that write
and send nothing, secret reports that tell the truth, hand-written chat / agent-chat / completion files
that apply and then plan clean, reserved tags, a missing store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.commands.conftest import Cli
from tests.commands.dsl_helpers import (
    CANARY,
    all_text,
    change_app,
    export,
    import_app,
    mutating,
    secret_app_doc,
    sidecars,
    tree_hash,
)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "snaps"
    monkeypatch.setenv("DIFYCTL_SNAPSHOT_DIR", str(root))
    return root


# -------------------------------------------------------------------------------------- 3. tags
def test_a_second_tag_on_unchanged_content_is_an_alias_that_rollback_finds(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    assert cli("snapshot", "create", "echo-workflow", "--tag", "v2.3.0").code == 0
    res = cli("snapshot", "create", "echo-workflow", "--tag", "v2.4.0", "-m", "before the release")
    assert res.code == 0, res.stderr
    assert "tagged" in res.stdout and "v2.4.0" in res.stdout
    assert len(list(store.glob("*/*.yml"))) == 1  # no duplicate DSL file
    listed = cli("-o", "json", "snapshot", "list", "echo-workflow").json()
    assert [(m["tag"], m.get("alias_of"), m["message"]) for m in listed] == [
        ("v2.3.0", None, ""),
        ("v2.4.0", "v2.3.0", "before the release"),
    ]
    assert "v2.4.0 (= v2.3.0)" in cli("snapshot", "list", "echo-workflow").stdout
    assert cli("snapshot", "verify").code == 0
    change_app(cli, tmp_path)
    back = cli("rollback", "echo-workflow", "v2.4.0", "--yes", "--no-probe")
    assert back.code == 0, back.stderr
    assert cli("snapshot", "diff", "echo-workflow", "v2.4.0").code == 0  # live is v2.4.0 again


def test_pruning_the_content_keeps_it_while_an_alias_points_to_it(
    cli: Cli, logged_in: Any, store: Path
) -> None:
    assert cli("snapshot", "create", "echo-workflow", "--tag", "v1").code == 0
    assert cli("snapshot", "create", "echo-workflow", "--tag", "v1-alias").code == 0
    res = cli("-o", "json", "snapshot", "prune", "echo-workflow", "--keep", "1", "--yes")
    assert res.code == 0 and res.json()["removed"] == ["v1"] and res.json()["kept"] == ["v1-alias"]
    assert [p.name for p in store.glob("*/*.yml")] == ["v1.yml"]  # the content stays
    assert cli("snapshot", "verify").code == 0  # not an orphan: the alias names it
    assert cli("snapshot", "show", "echo-workflow", "v1-alias", "--dsl").stdout.startswith("app:")
    gone = cli("-o", "json", "snapshot", "prune", "echo-workflow", "--keep", "0", "--yes")
    assert gone.code == 0 and list(store.glob("*/*.yml")) == []


@pytest.mark.parametrize("tag", ["live", "draft", "pre-rollback-x", "pre-apply-1", "pre-promote-1"])
def test_reserved_tags_are_refused_before_anything_is_sent(
    cli: Cli, logged_in: Any, store: Path, sent: list[tuple[str, str]], tag: str
) -> None:
    res = cli("snapshot", "create", "echo-workflow", "--tag", tag)
    assert res.code == 2 and "reserved" in res.stderr and sent == []


def test_verify_of_a_missing_store_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    res = cli("snapshot", "verify", "--dir", str(tmp_path / "no" / "such" / "dir"))
    assert res.code == 2 and "no snapshot store" in res.stderr and "all intact" not in res.stdout


# ------------------------------------------------------------------------------ 2. dry runs
def test_dry_runs_write_nothing_and_send_nothing_mutating(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path, sent: list[tuple[str, str]]
) -> None:
    assert cli("snapshot", "create", "echo-workflow", "--tag", "before").code == 0
    change_app(cli, tmp_path)
    path = tmp_path / "echo-workflow-edit.yml"
    path.write_text(path.read_text("utf-8").replace("variable: reply", "variable: other"), "utf-8")
    drift = cli("snapshot", "diff", "echo-workflow")
    assert drift.code == 1 and "--- before" in drift.stdout  # the safety snapshot is not "newest"
    before, sent_before = tree_hash(store), len(sent)
    for args in (
        ("rollback", "echo-workflow", "before", "--dry-run"),
        ("apply", "echo-workflow", "-f", str(path), "--dry-run"),
        ("-o", "json", "rollback", "echo-workflow", "before", "--dry-run"),
    ):
        res = cli(*args)
        assert res.code == 0, (args, res.stderr)
    assert tree_hash(store) == before  # byte-identical store
    assert mutating(sent[sent_before:]) == []  # and the server saw only reads
    again = cli("snapshot", "diff", "echo-workflow")
    assert again.code == 1 and "no differences" not in again.stdout  # the drift is still shown
    with_safety = cli("snapshot", "diff", "echo-workflow", "--include-safety")
    assert "--- pre-apply-" in with_safety.stdout  # asked for: the newest snapshot of any kind


# --------------------------------------------------------------------------------- 4. secrets
def test_a_secret_the_file_drops_is_reported_removed_never_kept(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    doc = secret_app_doc(cli, tmp_path)  # live: API_TOKEN holds the canary
    import_app({**doc, "app": {**doc["app"], "name": "secret-flow"}}, "secret-flow")
    doc["app"]["name"] = "secret-flow"
    doc["workflow"]["environment_variables"] = []
    ew = tmp_path / "ew.yml"
    ew.write_text(yaml.safe_dump(doc), "utf-8")
    plan = cli("apply", "secret-flow", "-f", str(ew), "--dry-run")
    assert plan.code == 0 and "secrets REMOVED" in plan.stdout and "API_TOKEN" in plan.stdout
    assert "kept" not in plan.stdout
    res = cli("-o", "json", "apply", "secret-flow", "-f", str(ew), "--yes", "--no-probe")
    assert res.code == 0, res.stderr
    item = res.json()["apps"][0]
    assert item["secrets"]["removed"] == ["API_TOKEN"] and item["kept_secrets"] == []
    assert CANARY not in res.stdout + res.stderr + plan.stdout + all_text(store)
    assert [m["tag"][:10] for m in sidecars(store)] == ["pre-apply-"]


# ------------------------------------------------------------ 5. hand-written chat-like files
HAND_WRITTEN: dict[str, dict[str, Any]] = {
    "chat": {
        "pre_prompt": "Answer {{query}}",
        "model": {"provider": "openai", "name": "gpt-4o", "mode": "chat"},
    },
    "agent-chat": {
        "pre_prompt": "Use tools for {{query}}",
        "model": {"provider": "openai", "name": "gpt-4o", "mode": "chat"},
        "agent_mode": {"enabled": True, "strategy": "function_call", "tools": []},
    },
    "completion": {
        "pre_prompt": "Complete {{query}}",
        "model": {"provider": "openai", "name": "gpt-4o", "mode": "completion"},
        "user_input_form": [{"text-input": {"label": "query", "variable": "query", "required": True}}],
    },
}


@pytest.mark.parametrize("mode", list(HAND_WRITTEN))
def test_a_minimal_hand_written_file_applies_then_plans_clean_then_shows_one_change(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path, mode: str
) -> None:
    name = f"hand-{mode}"
    doc: dict[str, Any] = {
        "app": {"mode": mode, "name": name},
        "kind": "app",
        "version": "0.6.0",
        "model_config": HAND_WRITTEN[mode],
    }
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(doc), "utf-8")
    created = cli("-o", "json", "apply", "-f", str(path), "--yes", "--no-probe")
    assert created.code == 0, created.stdout + created.stderr
    assert created.json()["apps"][0]["status"] == "created"
    clean = cli("apply", "-f", str(path), "--dry-run", "--exit-code")
    assert clean.code == 0, clean.stdout  # the server's defaults are not changes
    # the server's DSL format version, so that the one content change is all the plan shows
    doc["version"] = yaml.safe_load(export(cli, name, tmp_path / "live.yml"))["version"]
    doc["model_config"] = {**HAND_WRITTEN[mode], "pre_prompt": "Changed {{query}}"}
    path.write_text(yaml.safe_dump(doc), "utf-8")
    plan = cli("-o", "json", "apply", "-f", str(path), "--dry-run", "--exit-code")
    assert plan.code == 1
    diff = plan.json()["apps"][0]["diff"]
    assert [c["path"] for c in diff["model_config"]] == ["model_config.pre_prompt"]
    assert diff["summary"]["model_config"] == 1 and sum(diff["summary"].values()) == 1
    assert cli("apply", "-f", str(path), "--yes", "--no-probe").code == 0
    assert cli("apply", "-f", str(path), "--dry-run", "--exit-code").code == 0
