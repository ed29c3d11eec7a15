"""`difyctl apply -f FILE|DIR` and `snapshot create --layout flat`, end to end against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.commands.conftest import Cli
from tests.commands.dsl_helpers import (
    CANARY,
    all_text,
    app_named,
    console,
    import_app,
    secret_app_doc,
    versions,
)

DEMO = ("echo-workflow", "echo-chat", "json-chat", "echo-completion")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "snaps"
    monkeypatch.setenv("DIFYCTL_SNAPSHOT_DIR", str(root))
    return root


def seed(cli: Cli, folder: Path) -> dict[str, str]:
    res = cli("-o", "json", "snapshot", "create", "--all", "--dir", str(folder), "--layout", "flat")
    assert res.code == 0, res.stderr
    return {d["app_name"]: d["path"] for d in res.json()["files"]}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), "utf-8")


def published(name: str) -> str:
    app = app_named(name)
    with console() as c:
        return str(c.export_dsl(app.id, workflow_id=app.published_workflow_id))


def all_versions() -> dict[str, int]:
    return {name: versions(name) for name in ("echo-workflow", "echo-chat", "json-chat")}


# ------------------------------------------------------------------------- seed and round trip
def test_flat_seed_round_trip_is_byte_identical(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "apps"
    files = seed(cli, repo)
    assert set(DEMO) <= set(files) and (repo / "difyctl.yaml").is_file()
    manifest = yaml.safe_load((repo / "difyctl.yaml").read_text())
    assert manifest["apps"]["echo-workflow.yml"]["app_id"] == app_named("echo-workflow").id
    for name, path in files.items():  # exactly as exported: the files are Dify's own YAML
        assert Path(path).read_text("utf-8") == published(name)
    before = {p.name: p.read_bytes() for p in repo.iterdir()}
    plan = cli("apply", "-f", str(repo), "--dry-run", "--exit-code")
    assert plan.code == 0, plan.stdout + plan.stderr
    assert f"0 to update, 0 to create, {len(files)} unchanged" in plan.stdout
    vers = all_versions()
    res = cli("apply", "-f", str(repo), "--yes")
    assert res.code == 0 and all_versions() == vers  # nothing sent
    again = tmp_path / "again"
    seed(cli, again)
    assert {p.name: p.read_bytes() for p in again.iterdir()} == before  # export -> apply -> export

    # an edited file: applied, and the next export is byte-identical to the file in git
    edit(repo / "echo-workflow.yml", "variable: result", "variable: reply")
    assert cli("apply", "-f", str(repo), "--yes", "--no-probe").code == 0
    seed(cli, again)
    assert (again / "echo-workflow.yml").read_bytes() == (repo / "echo-workflow.yml").read_bytes()


def test_flat_layout_needs_dir_and_no_secrets(cli: Cli, logged_in: Any) -> None:
    res = cli("snapshot", "create", "--all", "--layout", "flat")
    assert res.code == 2 and "--dir" in res.stderr
    res = cli("snapshot", "create", "--all", "--layout", "flat", "--dir", "x", "--include-secret")
    assert res.code == 2


# ------------------------------------------------------------------------------- plan (PR check)
def test_dry_run_exit_code_and_markdown_summary(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "apps"
    seed(cli, repo)
    edit(repo / "echo-workflow.yml", "variable: result", "variable: reply")
    new = yaml.safe_load((repo / "echo-chat.yml").read_text())
    new["app"]["name"] = "brand-new-chat"
    (repo / "brand-new-chat.yml").write_text(yaml.safe_dump(new))
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    vers = all_versions()
    res = cli("apply", "-f", str(repo), "--dry-run", "--exit-code", "--summary", str(summary))
    assert res.code == 1, res.stderr
    assert '~ data.outputs[0].variable: "result" -> "reply"' in res.stdout
    assert "1 to update, 1 to create" in res.stdout and "pre-change snapshot" not in res.stdout
    md = summary.read_text()
    assert md.startswith("earlier step\n## difyctl apply: plan")  # appended, as $GITHUB_STEP_SUMMARY wants
    assert "| echo-workflow | `" in md and "| update | 1 node changed |" in md
    assert "| brand-new-chat |" in md and "| create | new advanced-chat app |" in md and "```diff" in md
    assert all_versions() == vers and not store.exists()  # a plan writes nothing, sends nothing
    assert cli("apply", "-f", str(repo), "--dry-run").code == 0  # without --exit-code
    doc = cli("-o", "json", "apply", "-f", str(repo), "--dry-run").json()
    assert doc["dry_run"] is True and doc["changes"] == 2 and doc["summary"]["create"] == 1
    with console() as c:
        assert "brand-new-chat" not in {a.name for a in c.iter_apps()}


# ------------------------------------------------------------------------------------ apply
def test_apply_folder_with_message_and_create(cli: Cli, logged_in: Any, store: Path, tmp_path: Path) -> None:
    repo = tmp_path / "apps"
    seed(cli, repo)
    edit(repo / "echo-workflow.yml", "variable: result", "variable: reply")
    new = yaml.safe_load((repo / "echo-chat.yml").read_text())
    new["app"]["name"] = "brand-new-chat"
    (repo / "brand-new-chat.yml").write_text(yaml.safe_dump(new))
    res = cli("-o", "json", "apply", "-f", str(repo), "--yes", "--message", "release v1.2.3", "--no-probe")
    assert res.code == 0, res.stderr
    by_name = {a["app"]["name"]: a for a in res.json()["apps"]}
    assert (
        by_name["echo-workflow"]["status"] == "applied" and by_name["brand-new-chat"]["status"] == "created"
    )
    assert by_name["echo-chat"]["status"] == "unchanged"
    rows = cli("-o", "json", "versions", "list", "echo-workflow").json()
    assert rows[0]["marked_comment"] == "release v1.2.3" and rows[0]["marked_name"] == "difyctl apply"
    created = app_named("brand-new-chat")
    assert created.published_workflow_id and created.mode == "advanced-chat"
    assert cli("apply", "-f", str(repo), "--dry-run", "--exit-code").code == 0  # converged


def test_single_file_without_app_matches_by_name(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    path = tmp_path / "wf.yml"
    path.write_text(published("echo-workflow").replace("variable: result", "variable: single"))
    res = cli("apply", "-f", str(path), "--yes", "--no-probe")
    assert res.code == 0, res.stderr
    assert "variable: single" in published("echo-workflow")


# ------------------------------------------------------------------------ refusals (nothing sent)
def test_malformed_file_in_folder_stops_before_anything(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "apps"
    seed(cli, repo)
    edit(repo / "echo-workflow.yml", "variable: result", "variable: reply")
    (repo / "zz-broken.yml").write_text("app: {mode: workflow\nworkflow: [")
    vers = all_versions()
    res = cli("apply", "-f", str(repo), "--yes")
    assert res.code == 2 and res.stdout == "" and "zz-broken.yml: malformed YAML" in res.stderr
    assert all_versions() == vers and not store.exists()


def test_two_files_for_one_app_exit_2(cli: Cli, logged_in: Any, store: Path, tmp_path: Path) -> None:
    repo = tmp_path / "apps"
    repo.mkdir()
    text = published("echo-workflow")
    (repo / "a.yml").write_text(text.replace("variable: result", "variable: a"))
    (repo / "b.yml").write_text(text.replace("variable: result", "variable: b"))
    vers = all_versions()
    res = cli("apply", "-f", str(repo), "--yes")
    assert res.code == 2 and "both name app 'echo-workflow'" in res.stderr
    assert all_versions() == vers and not store.exists()
    # pinned by the manifest to the same id (names differ): refused as well
    (repo / "b.yml").write_text(text.replace("name: echo-workflow", "name: renamed"))
    app_id = app_named("echo-workflow").id
    base_url = logged_in.base_url
    (repo / "difyctl.yaml").write_text(
        yaml.safe_dump({"base_url": base_url, "apps": {"a.yml": app_id, "b.yml": {"app_id": app_id}}})
    )
    res = cli("apply", "-f", str(repo), "--yes")
    assert res.code == 2 and f"both name app id {app_id}" in res.stderr


def test_mode_mismatch_in_folder_refused(cli: Cli, logged_in: Any, store: Path, tmp_path: Path) -> None:
    repo = tmp_path / "apps"
    repo.mkdir()
    chat = yaml.safe_load(published("echo-chat"))
    chat["app"]["name"] = "echo-workflow"  # a chatflow file named like the workflow app
    (repo / "echo-workflow.yml").write_text(yaml.safe_dump(chat))
    res = cli("apply", "-f", str(repo), "--yes")
    assert res.code == 2 and "advanced-chat app but 'echo-workflow' is workflow" in res.stderr
    assert versions("echo-workflow") == 1


def test_app_argument_only_with_a_file(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("app: {mode: chat, name: a}\nmodel_config: {}\n")
    res = cli("apply", "-f", str(tmp_path), "echo-workflow", "--yes")
    assert res.code == 2 and "APP goes with -f FILE" in res.stderr


# --------------------------------------------------------------------------------- reliability
@pytest.fixture
def five(cli: Cli, logged_in: Any, tmp_path: Path) -> Path:
    """A repo of five workflow apps, each with one edit waiting to be applied."""
    base = yaml.safe_load(published("echo-workflow"))
    for n in range(1, 5):
        doc = {**base, "app": {**base["app"], "name": f"flow-{n}"}}
        import_app(doc, f"flow-{n}")
    repo = tmp_path / "apps"
    seed(cli, repo)
    for p in list(repo.glob("*.yml")):
        if p.name not in ("echo-workflow.yml",) and not p.name.startswith("flow-"):
            p.unlink()
    for p in repo.glob("*.yml"):
        edit(p, "variable: result", "variable: released")
    return repo


def fail_publish(emulator: Any, app_id: str) -> None:
    """Dify checks graph and credentials on publish: 400 invalid_param (not retried), once."""
    body = {"code": "invalid_param", "message": "injected: model credentials invalid", "status": 400}
    emulator.faults.fail_next("POST", f"/apps/{app_id}/workflows/publish", 400, body)


FIVE = ("echo-workflow", "flow-1", "flow-2", "flow-3", "flow-4")


def test_one_of_five_fails_the_others_are_applied(cli: Cli, five: Path, store: Path, logged_in: Any) -> None:
    bad = app_named("flow-3")
    fail_publish(logged_in, bad.id)
    res = cli("-o", "json", "apply", "-f", str(five), "--yes", "--no-probe")
    assert res.code == 3, res.stderr  # partial
    status = {a["app"]["name"]: a["status"] for a in res.json()["apps"]}
    assert status == {**dict.fromkeys(FIVE, "applied"), "flow-3": "restored"}
    for name in FIVE:
        assert ("variable: released" in published(name)) == (name != "flow-3")


def test_one_of_five_fails_atomic_restores_all(cli: Cli, five: Path, store: Path, logged_in: Any) -> None:
    bad = app_named("flow-3")
    fail_publish(logged_in, bad.id)
    summary = five.parent / "summary.md"
    res = cli("apply", "-f", str(five), "--yes", "--no-probe", "--atomic", "--summary", str(summary))
    assert res.code == 1, res.stderr
    assert "rolled-back" in res.stdout and "skipped" in res.stdout
    for name in FIVE:
        assert "variable: released" not in published(name), name
    md = summary.read_text()
    assert "## difyctl apply: FAILED" in md and "rolled-back" in md and "--atomic" in md


# ---------------------------------------------------------------------------------- secrets
def test_secret_from_ci_environment_never_printed(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    doc = secret_app_doc(cli, tmp_path)
    import_app(doc, "secret-flow")
    repo = tmp_path / "apps"
    seed(cli, repo)
    assert CANARY not in all_text(repo)  # the seeded files hold the secret blank
    edit(repo / "secret-flow.yml", "variable: result", "variable: changed")
    summary = tmp_path / "summary.md"
    outputs = []
    for args in (
        ("apply", "-f", str(repo / "secret-flow.yml"), "--dry-run", "--summary", str(summary)),
        ("apply", "-f", str(repo / "secret-flow.yml"), "--yes", "--summary", str(summary), "-v"),
    ):
        res = cli(*args)
        assert res.code == 0, res.stderr
        outputs += [res.stdout, res.stderr]
    assert "secrets kept from the live app: API_TOKEN" in outputs[0]
    app = app_named("secret-flow")
    with console() as c:
        assert CANARY in c.export_dsl(app.id, include_secret=True, workflow_id=app.published_workflow_id)
    # rotate it from the CI environment: a change even though the file did not change
    new_value = "sk-ROTATED-0b4e-never-print-me"
    env = {"PROD_API_TOKEN": new_value}
    plan = cli(
        "apply", "-f", str(repo), "--dry-run", "--exit-code", "--secret", "API_TOKEN=PROD_API_TOKEN", env=env
    )
    assert plan.code == 1 and "secrets set from the environment: API_TOKEN" in plan.stdout
    res = cli(
        "apply",
        "-f",
        str(repo),
        "--yes",
        "--secret",
        "API_TOKEN=PROD_API_TOKEN",
        "--summary",
        str(summary),
        env=env,
    )
    assert res.code == 0, res.stderr
    outputs += [plan.stdout, plan.stderr, res.stdout, res.stderr]
    with console() as c:
        live = c.export_dsl(
            app.id, include_secret=True, workflow_id=app_named("secret-flow").published_workflow_id
        )
    assert new_value in live
    for text in [*outputs, summary.read_text(), all_text(store), all_text(repo)]:
        assert CANARY not in text and new_value not in text
    missing = cli("apply", "-f", str(repo), "--yes", "--secret", "API_TOKEN=NOT_SET")
    assert missing.code == 2 and "NOT_SET is not set" in missing.stderr


def test_new_app_with_blank_secret_refused(cli: Cli, logged_in: Any, store: Path, tmp_path: Path) -> None:
    doc = secret_app_doc(cli, tmp_path)
    doc["app"]["name"] = "new-secret-flow"
    doc["workflow"]["environment_variables"][0].update(value="", selector=["env", "API_TOKEN"])
    repo = tmp_path / "apps"
    repo.mkdir()
    (repo / "new.yml").write_text(yaml.safe_dump(doc))
    res = cli("apply", "-f", str(repo), "--yes")
    assert res.code == 2 and "would get blank secrets: API_TOKEN" in res.stderr
    ok = cli("apply", "-f", str(repo), "--yes", "--secret", "API_TOKEN=T", env={"T": CANARY})
    assert ok.code == 0, ok.stderr
    assert CANARY not in ok.stdout + ok.stderr


def test_message_limit_and_unused_secret(cli: Cli, logged_in: Any, store: Path, tmp_path: Path) -> None:
    res = cli("apply", "-f", str(tmp_path), "--yes", "-m", "x" * 101)
    assert res.code == 2 and "at most 100" in res.stderr
    path = tmp_path / "wf.yml"
    path.write_text(published("echo-workflow"))
    res = cli("apply", "-f", str(path), "--dry-run", "--secret", "NOPE=HOME")
    assert res.code == 0 and "--secret NOPE: no file has a secret variable of that name" in res.stderr


def test_a_created_app_that_fails_is_deleted_again(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    """An app that did not exist before the run and fails its publish is deleted: the workspace ends
    as it was (the other files are unchanged, so nothing else is touched)."""
    repo = tmp_path / "apps"
    seed(cli, repo)
    new = repo / "brand-new.yml"
    new.write_text(published("echo-workflow").replace("name: echo-workflow", "name: brand-new"))
    logged_in.faults.fail_next(
        "POST", r"/workflows/publish$", 400, {"code": "invalid_param", "message": "injected", "status": 400}
    )
    res = cli("-o", "json", "apply", "-f", str(repo), "--yes", "--no-probe")
    assert res.code != 0, res.stdout
    created = next(a for a in res.json()["apps"] if a["app"]["name"] == "brand-new")
    assert created["status"] == "failed" and "deleted again" in created["error"]
    names = {a["name"] for a in cli("apps", "list", "-o", "json").json()}
    assert "brand-new" not in names and "echo-workflow" in names
