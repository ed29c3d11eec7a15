"""`difyctl rollback`, `apply`, `versions list`, `promote` and the secret canary, end to end (emulator)."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.commands.conftest import Cli
from tests.commands.dsl_helpers import (
    CANARY,
    all_text,
    app_named,
    change_app,
    export,
    import_app,
    mutating,
    secret_app_doc,
    sidecars,
    tree_hash,
    versions,
)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "snaps"
    monkeypatch.setenv("DIFYCTL_SNAPSHOT_DIR", str(root))
    return root


def live_output_name(cli: Cli) -> str:
    doc = yaml.safe_load(cli("export", "echo-workflow").stdout)
    end = next(n for n in doc["workflow"]["graph"]["nodes"] if n["id"] == "end")
    return str(end["data"]["outputs"][0]["variable"])


# ------------------------------------------------------------------------------------- rollback
def test_rollback_to_tag_restores_and_keeps_the_present(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    assert cli("snapshot", "create", "echo-workflow", "--tag", "good").code == 0
    change_app(cli, tmp_path)
    assert live_output_name(cli) == "reply"
    res = cli("rollback", "echo-workflow", "good", "--yes")
    assert res.code == 0, res.stderr
    assert "rollback echo-workflow (workflow" in res.stdout and '"reply" -> "result"' in res.stdout
    for step in ("✓ import", "✓ publish", "✓ verify", "✓ probe"):
        assert step in res.stdout
    assert "applied and verified" in res.stdout
    assert live_output_name(cli) == "result"
    pre = [m for m in sidecars(store) if m["tag"].startswith("pre-rollback-")]
    assert len(pre) == 1  # this rollback's; change_app (apply) wrote a pre-apply-* one (issue 12)
    assert len([m for m in sidecars(store) if m["tag"].startswith("pre-apply-")]) == 1
    (mine,) = [m for m in pre if m["message"] == "automatic, before rollback to good"]
    (path,) = store.glob(f"echo-workflow-*/{mine['tag']}.yml")
    assert "variable: reply" in path.read_text()  # the present state was kept before the change
    assert cli("snapshot", "diff", "echo-workflow", "good", "live").code == 0


def test_rollback_json_steps_and_unchanged(cli: Cli, logged_in: Any, store: Path, tmp_path: Path) -> None:
    assert cli("snapshot", "create", "echo-workflow", "--tag", "good").code == 0
    change_app(cli, tmp_path)
    res = cli("-o", "json", "rollback", "echo-workflow", "good", "--yes", "--no-probe")
    assert res.code == 0, res.stderr
    doc = res.json()
    assert doc["status"] == "applied" and doc["ok"] is True and doc["target"] == "good"
    assert [s["name"] for s in doc["steps"]] == ["import", "publish", "verify"]
    assert doc["pre_rollback"].startswith("pre-rollback-") and doc["diff"]["summary"]["nodes_changed"] == 1
    again = cli("-o", "json", "rollback", "echo-workflow", "good", "--yes")
    assert again.code == 0 and again.json()["status"] == "unchanged"


def test_dry_run_changes_nothing(cli: Cli, logged_in: Any, store: Path, tmp_path: Path) -> None:
    assert cli("snapshot", "create", "echo-workflow", "--tag", "good").code == 0
    change_app(cli, tmp_path)
    before = versions("echo-workflow")
    res = cli("rollback", "echo-workflow", "good", "--dry-run")  # no --yes needed, stdin is not a TTY
    assert res.code == 0, res.stderr
    assert '~ data.outputs[0].variable: "reply" -> "result"' in res.stdout and "✓" not in res.stdout
    assert versions("echo-workflow") == before and live_output_name(cli) == "reply"


def test_no_tty_without_yes_exit_2_nothing_sent(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    assert cli("snapshot", "create", "echo-workflow", "--tag", "good").code == 0
    change_app(cli, tmp_path)
    before, files = versions("echo-workflow"), sorted(store.rglob("*"))
    res = cli("rollback", "echo-workflow", "good")
    assert res.code == 2 and "stdin is not a terminal" in res.stderr and "--yes" in res.stderr
    assert res.stdout == "" and versions("echo-workflow") == before and sorted(store.rglob("*")) == files


def test_hand_edited_snapshot_refused_unless_force(cli: Cli, logged_in: Any, store: Path) -> None:
    assert cli("snapshot", "create", "echo-workflow", "--tag", "t").code == 0
    (path,) = store.glob("*/t.yml")
    path.write_text(path.read_text().replace("variable: result", "variable: edited"))
    before = versions("echo-workflow")
    res = cli("rollback", "echo-workflow", "t", "--yes")
    assert res.code == 2 and "does not match its recorded sha256" in res.stderr and "--force" in res.stderr
    assert versions("echo-workflow") == before and not list(store.glob("*/pre-rollback-*"))
    forced = cli("rollback", "echo-workflow", "t", "--yes", "--force", "--no-probe")
    assert forced.code == 0, forced.stderr
    assert "used because of --force" in forced.stdout and live_output_name(cli) == "edited"


def test_malformed_snapshot_exit_2_one_line_nothing_sent(cli: Cli, logged_in: Any, store: Path) -> None:
    assert cli("snapshot", "create", "echo-workflow", "--tag", "t").code == 0
    (path,) = store.glob("*/t.yml")
    path.write_text("app: {mode: workflow\nworkflow: [")
    before = versions("echo-workflow")
    res = cli("rollback", "echo-workflow", "t", "--yes", "--force")
    assert res.code == 2 and res.stdout == ""
    first = res.stderr.splitlines()[0]
    assert first.startswith("error: ") and str(path) in first and "malformed YAML at line" in first
    assert len([ln for ln in res.stderr.splitlines() if ln.startswith("error:")]) == 1
    assert versions("echo-workflow") == before and not list(store.glob("*/pre-rollback-*"))


@pytest.mark.parametrize("args", [("echo-workflow",), ("echo-workflow", "t", "--version", "x")])
def test_tag_xor_version(cli: Cli, args: tuple[str, ...]) -> None:  # refused before connecting
    res = cli("rollback", *args, "--yes")
    assert res.code == 2 and "exactly one" in res.stderr


def test_versions_list_and_rollback_to_version(cli: Cli, logged_in: Any, store: Path, tmp_path: Path) -> None:
    res = cli("-o", "json", "versions", "list", "echo-workflow")
    assert res.code == 0, res.stderr
    (seeded,) = res.json()
    assert set(seeded) == {"id", "created_at", "marked_name", "marked_comment", "current"} | {
        "created_at_iso",
        "app_id",
        "app_name",
        "app_mode",  # issue 15: keys only added
    }
    assert seeded["current"] is True and seeded["marked_name"] == "v1"
    change_app(cli, tmp_path)
    rows = cli("-o", "json", "versions", "list", "echo-workflow").json()
    assert len(rows) == 2 and rows[0]["current"] and not rows[1]["current"]  # newest first, draft excluded
    text = cli("versions", "list", "echo-workflow")
    assert seeded["id"] in text.stdout and "CURRENT" in text.stdout
    back = cli("rollback", "echo-workflow", "--version", seeded["id"], "--yes")
    assert back.code == 0, back.stderr
    assert f"to version:{seeded['id']}" in back.stdout and live_output_name(cli) == "result"
    chat = cli("versions", "list", "echo-completion")
    assert chat.code == 2 and "workflow/chatflow apps only" in chat.stderr


# ---------------------------------------------------------------------------------------- apply
def test_apply_malformed_file_exit_2_nothing_sent(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("app:\n  mode: workflow\n\tname: tab\n")
    before = versions("echo-workflow")
    res = cli("apply", "echo-workflow", "-f", str(bad), "--yes")
    assert res.code == 2 and res.stdout == "" and "malformed YAML" in res.stderr and str(bad) in res.stderr
    assert versions("echo-workflow") == before and not store.exists()
    not_dsl = tmp_path / "list.yml"
    not_dsl.write_text("- just\n- a list\n")
    res = cli("apply", "echo-workflow", "-f", str(not_dsl), "--yes")
    assert res.code == 2 and "not a Dify DSL document" in res.stderr


def test_apply_other_mode_refused(cli: Cli, logged_in: Any, store: Path, tmp_path: Path) -> None:
    chat = tmp_path / "chat.yml"
    export(cli, "echo-chat", chat)
    res = cli("apply", "echo-workflow", "-f", str(chat), "--yes")
    assert res.code == 2 and "advanced-chat app but 'echo-workflow' is workflow" in res.stderr


def test_apply_pending_dsl_version_needs_yes(cli: Cli, logged_in: Any, store: Path, tmp_path: Path) -> None:
    path = tmp_path / "newer.yml"
    text = export(cli, "echo-workflow", path)
    path.write_text(
        text.replace("version: 0.7.0", "version: 0.9.0").replace("variable: result", "variable: v7")
    )
    res = cli("-o", "json", "apply", "echo-workflow", "-f", str(path), "--yes", "--no-probe")
    assert res.code == 0, res.stderr
    (item,) = res.json()["apps"]  # apply reports per app (it takes a folder too)
    assert [s["name"] for s in item["steps"]] == ["import", "confirm", "publish", "verify"]
    assert live_output_name(cli) == "v7"


# -------------------------------------------------------------------------------- secret canary
def test_secrets_never_leak_and_survive_rollback(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    doc = secret_app_doc(cli, tmp_path)
    import_app(doc, "secret-flow")
    outputs: list[str] = []

    def run(*args: str) -> Any:
        res = cli(*args)
        outputs.extend([res.stdout, res.stderr])
        return res

    assert run("snapshot", "create", "secret-flow", "--tag", "s1").code == 0
    assert run("export", "secret-flow").code == 0
    edited = tmp_path / "edited.yml"
    edited.write_text(cli("export", "secret-flow").stdout.replace("variable: result", "variable: changed"))
    assert run("apply", "secret-flow", "-f", str(edited), "--yes").code == 0
    assert run("-o", "json", "snapshot", "diff", "secret-flow", "s1").code == 1
    assert run("rollback", "secret-flow", "s1", "--yes", "-v").code == 0
    assert run("-o", "yaml", "rollback", "secret-flow", "s1", "--yes", "--dry-run").code == 0
    assert all(CANARY not in text for text in outputs)
    assert CANARY not in all_text(store) and CANARY not in edited.read_text()
    # the rollback kept the live secret (Dify's own restore would have blanked it)
    secret_file = tmp_path / "with-secret.yml"
    res = cli("export", "secret-flow", "--include-secret", "-f", str(secret_file))
    assert res.code == 0 and "SECRET VALUES" in res.stderr and CANARY not in res.stderr + res.stdout
    assert CANARY in secret_file.read_text() and stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    loud = cli("snapshot", "create", "secret-flow", "--include-secret", "--tag", "with-secret")
    assert loud.code == 0 and "SECRET VALUES" in loud.stderr
    (snap,) = store.glob("*/with-secret.yml")
    assert CANARY in snap.read_text() and stat.S_IMODE(snap.stat().st_mode) == 0o600


# -------------------------------------------------------------------------------------- promote
@pytest.fixture
def prod(cli: Cli, logged_in: Any) -> Iterator[Any]:
    from difyctl.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(seed="demo")) as emu:
        res = cli(
            "-p",
            "prod",
            "login",
            "--base-url",
            emu.base_url,
            "--email",
            "admin@example.com",
            "--password-stdin",
            stdin="DemoPass123\n",
        )
        assert res.code == 0, res.stderr
        assert cli("profile", "use", "default").code == 0
        yield emu


def test_promote_updates_the_same_name_on_the_target(
    cli: Cli, prod: Any, store: Path, tmp_path: Path, sent: list[tuple[str, str]]
) -> None:
    change_app(cli, tmp_path)  # the source (default profile) now answers `reply`
    before, count = tree_hash(store), len(sent)
    dry = cli("promote", "echo-workflow", "--to", "prod", "--dry-run")
    assert dry.code == 0, dry.stderr
    assert tree_hash(store) == before and mutating(sent[count:]) == []  # issue 12: writes and sends nothing
    assert '"result" -> "reply"' in dry.stdout and versions("echo-workflow", "prod") == 1
    refused = cli("promote", "echo-workflow", "--to", "prod")
    assert refused.code == 2 and "--yes" in refused.stderr
    res = cli("-o", "json", "promote", "echo-workflow", "--to", "prod", "--yes")
    assert res.code == 0, res.stderr
    assert res.json()["status"] == "applied" and res.json()["target"] == "default:echo-workflow"
    assert (res.json()["from"], res.json()["to"]) == ("default:echo-workflow", "prod:echo-workflow")
    assert "promote default:echo-workflow -> prod:echo-workflow" in dry.stdout
    assert "--- prod:echo-workflow (live)" in dry.stdout and "+++ default:echo-workflow" in dry.stdout
    target = app_named("echo-workflow", "prod")
    assert target.id != app_named("echo-workflow").id and versions("echo-workflow", "prod") == 2
    assert list(
        store.glob(f"echo-workflow-{target.id[:8]}/pre-promote-*.yml")
    )  # the safety snapshot of the target, named after what made it (issue 12)
    same = cli("promote", "echo-workflow", "--to", "prod", "--yes", "-o", "json")
    assert same.code == 0 and same.json()["status"] == "unchanged"


def test_promote_create(cli: Cli, prod: Any, store: Path) -> None:
    doc = yaml.safe_load(cli("export", "echo-chat").stdout)
    import_app(doc, "brand-new")
    absent = cli("promote", "brand-new", "--to", "prod", "--yes")
    assert absent.code == 2 and "no app named 'brand-new' on profile 'prod'" in absent.stderr
    assert "--create" in absent.stderr
    res = cli("-o", "json", "promote", "brand-new", "--to", "prod", "--yes", "--create")
    assert res.code == 0, res.stderr
    assert res.json()["status"] == "created" and res.json()["verified"] is True
    created = app_named("brand-new", "prod")
    assert created.published_workflow_id and created.mode == "advanced-chat"
    assert cli("promote", "brand-new", "--to", "default").code == 2  # the current profile itself


def test_dry_run_refuses_a_missing_secret_like_the_real_run(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    """Issue 12 item 4: a secret blank in the target and not live is refused unless
    --allow-blank-secret. A dry run must say so with the same exit 2 as the run it previews
    (`apply --dry-run` already does): exit 0 would tell a CI check that the rollback will work."""
    doc = secret_app_doc(cli, tmp_path)
    import_app(doc, "secret-flow")
    assert cli("snapshot", "create", "secret-flow", "--tag", "s1").code == 0
    doc["workflow"]["environment_variables"] = []
    doc["app"]["name"] = "secret-flow"
    bare = tmp_path / "bare.yml"
    bare.write_text(yaml.safe_dump(doc))
    assert cli("apply", "secret-flow", "-f", str(bare), "--yes").code == 0  # API_TOKEN removed
    real = cli("rollback", "secret-flow", "s1", "--yes")
    dry = cli("rollback", "secret-flow", "s1", "--dry-run")
    assert real.code == 2 and "API_TOKEN" in real.stderr
    assert dry.code == 2, dry.stdout + dry.stderr
    assert "API_TOKEN" in dry.stderr and "--allow-blank-secret" in dry.stderr
    assert cli("rollback", "secret-flow", "s1", "--dry-run", "--allow-blank-secret").code == 0


def test_promote_create_refuses_blank_secrets_like_apply(
    cli: Cli, prod: Any, store: Path, tmp_path: Path
) -> None:
    """Issue 12 item 4: a secret with no value anywhere is refused unless --allow-blank-secret.
    An export carries no secret values, so `promote --create` of an app with a secret creates it
    blank; `apply` of a new file already refuses this (release/engine.py), promote did not."""
    doc = secret_app_doc(cli, tmp_path)
    doc["app"]["name"] = "secret-new"
    import_app(doc, "secret-new")
    for args in (("--dry-run",), ("--yes",)):
        res = cli("promote", "secret-new", "--to", "prod", "--create", *args)
        assert res.code == 2, res.stdout + res.stderr
        assert "API_TOKEN" in res.stderr and "--allow-blank-secret" in res.stderr
    assert cli("-p", "prod", "apps", "show", "secret-new").code == 2  # nothing created
    ok = cli("promote", "secret-new", "--to", "prod", "--create", "--yes", "--allow-blank-secret")
    assert ok.code == 0, ok.stderr
    assert CANARY not in ok.stdout + ok.stderr
