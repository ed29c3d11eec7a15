"""`difyctl snapshot create|list|show|diff|verify|prune` and `export`, end to end against the emulator."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from difyctl.emulator.config import DIFY_VERSION
from tests.commands.conftest import Cli
from tests.commands.dsl_helpers import change_app, sidecars


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "snaps"
    monkeypatch.setenv("DIFYCTL_SNAPSHOT_DIR", str(root))
    return root


def snapshot_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "store.json")


# ------------------------------------------------------------------------------------------ export
def test_export_published_to_stdout(cli: Cli, logged_in: Any) -> None:
    res = cli("export", "echo-workflow")
    assert res.code == 0, res.stderr
    doc = yaml.safe_load(res.stdout)
    assert doc["app"]["name"] == "echo-workflow" and doc["workflow"]["graph"]["nodes"]
    unknown = cli("export", "echo-workflw")
    assert unknown.code == 2 and "did you mean: echo-workflow" in unknown.stderr and unknown.stdout == ""


def test_export_to_file_json_summary(cli: Cli, logged_in: Any, tmp_path: Path) -> None:
    path = tmp_path / "out" / "e.yml"
    path.parent.mkdir()
    res = cli("-o", "json", "export", "echo-workflow", "-f", str(path), "--draft")
    assert res.code == 0, res.stderr
    assert res.json()["path"] == str(path) and res.json()["draft"] is True
    assert yaml.safe_load(path.read_text())["app"]["mode"] == "workflow"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["e.yml"]  # no temp file left behind
    res = cli("export", "echo-chat", "-o", "json")
    assert res.code == 0 and yaml.safe_load(res.json()["dsl"])["app"]["mode"] == "advanced-chat"


# ------------------------------------------------------------------------------------------ create
def test_create_writes_dsl_and_sidecar_then_no_duplicate(cli: Cli, logged_in: Any, store: Path) -> None:
    res = cli("snapshot", "create", "echo-workflow", "--tag", "v2.4.0", "-m", "before the change")
    assert res.code == 0, res.stderr
    assert "created" in res.stdout and "v2.4.0" in res.stdout
    files = snapshot_files(store)
    assert len(files) == 2 and files[0].endswith("/v2.4.0.json") and files[1].endswith("/v2.4.0.yml")
    assert re.match(r"^echo-workflow-[0-9a-f]{8}/", files[0])
    (meta,) = sidecars(store)
    assert meta["message"] == "before the change" and meta["app_name"] == "echo-workflow"
    assert meta["workflow_id"] and meta["draft"] is False and meta["server_version"] == DIFY_VERSION
    again = cli("snapshot", "create", "echo-workflow")
    assert again.code == 0 and "unchanged" in again.stdout and "v2.4.0" in again.stdout
    assert "1 unchanged" in again.stderr and snapshot_files(store) == files


def test_create_default_tag_is_utc_time_and_dir_flag(cli: Cli, logged_in: Any, tmp_path: Path) -> None:
    res = cli("-o", "json", "snapshot", "create", "echo-chat", "--dir", str(tmp_path / "d"))
    assert res.code == 0, res.stderr
    (snap,) = res.json()["snapshots"]
    assert re.fullmatch(r"\d{8}T\d{6}Z", snap["tag"]) and snap["status"] == "created"
    assert Path(snap["path"]).is_file() and str(tmp_path / "d") in snap["path"]


def test_create_all(cli: Cli, logged_in: Any, store: Path) -> None:
    res = cli("-o", "json", "snapshot", "create", "--all", "--concurrency", "2")
    assert res.code == 0, res.stderr
    doc = res.json()
    assert doc["created"] == 4 and doc["failed"] == 0
    assert sorted(s["app_name"] for s in doc["snapshots"]) == [
        "echo-chat",
        "echo-completion",
        "echo-workflow",
        "json-chat",
    ]
    assert len({s["tag"] for s in doc["snapshots"]}) == 1  # one run, one default tag
    assert len(snapshot_files(store)) == 8


def test_create_all_lists_on_the_sync_console_without_a_version_probe(
    cli: Cli, logged_in: Any, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app list goes through the synchronous console (its transport is loaded) while the aiohttp
    transport loads for the exports; the listing's answers carry the server version (X-Version): no
    /health round trip before the first export, and the sidecars still record it."""
    from difyctl.client.console import AsyncConsoleClient, ConsoleClient

    pages: list[str] = []
    real = ConsoleClient.list_apps

    def sync_pages(self: ConsoleClient, *args: Any, **kwargs: Any) -> Any:
        pages.append("sync")
        return real(self, *args, **kwargs)

    async def async_pages(self: AsyncConsoleClient, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the list went through the fan-out client")

    monkeypatch.setattr(ConsoleClient, "list_apps", sync_pages)
    monkeypatch.setattr(AsyncConsoleClient, "list_apps", async_pages)
    res = cli("-v", "-o", "json", "snapshot", "create", "--all")
    assert res.code == 0, res.stderr
    assert pages == ["sync", "sync"]  # page 1, and page 2 asked together with it
    requests = [line.split()[3] for line in res.stderr.splitlines() if line.startswith("http: -> ")]
    assert "/health" not in requests and requests.count("/console/api/apps") == 2
    assert len([r for r in requests if r.endswith("/export")]) == 4
    sidecars = [json.loads(p.read_text()) for p in store.rglob("*.json") if p.name != "store.json"]
    assert len(sidecars) == 4 and {s["server_version"] for s in sidecars} == {DIFY_VERSION}


def test_create_all_runs_with_the_fan_out_gc_thresholds(
    cli: Cli, logged_in: Any, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each export's parse allocates hundreds of YAML nodes; during the fan-out the collector runs
    every 50,000 allocations over what the run made (broadcast's quiet_gc), and is restored after."""
    import gc

    import difyctl.snapshots.ops as ops

    seen: list[tuple[int, int]] = []
    real = ops.snapshot_all

    async def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append((gc.get_threshold()[0], gc.get_freeze_count()))
        return await real(*args, **kwargs)

    monkeypatch.setattr(ops, "snapshot_all", spy)
    before = gc.get_threshold()
    res = cli("-o", "json", "snapshot", "create", "--all")
    assert res.code == 0, res.stderr
    assert len(seen) == 1 and seen[0][0] >= 50_000 and seen[0][1] > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


@pytest.mark.parametrize("args", [(), ("echo-chat", "--all")])
def test_create_needs_apps_or_all(cli: Cli, args: tuple[str, ...]) -> None:  # refused before connecting
    res = cli("snapshot", "create", *args)
    assert res.code == 2 and "--all" in res.stderr


def test_create_bad_tag_exit_2(cli: Cli, store: Path) -> None:  # refused before connecting
    res = cli("snapshot", "create", "echo-chat", "--tag", "../escape")
    assert res.code == 2 and "invalid snapshot tag" in res.stderr
    assert not store.exists() or snapshot_files(store) == []


# ------------------------------------------------------------------------------- list / show
def test_list_and_show(cli: Cli, logged_in: Any, store: Path) -> None:
    assert cli("snapshot", "create", "echo-workflow", "--tag", "one").code == 0
    listed = cli("-o", "json", "snapshot", "list")
    assert listed.code == 0 and [m["tag"] for m in listed.json()] == ["one"]
    text = cli("snapshot", "list", "echo-workflow")
    assert "one" in text.stdout and "published" in text.stdout
    shown = cli("snapshot", "show", "echo-workflow", "one", "-o", "json")
    assert shown.code == 0 and shown.json()["verified"] is True and shown.json()["tag"] == "one"
    dsl = cli("snapshot", "show", "echo-workflow", "one", "--dsl")
    assert yaml.safe_load(dsl.stdout)["app"]["name"] == "echo-workflow"
    missing = cli("snapshot", "show", "echo-workflow", "two")
    assert missing.code == 2 and "no snapshot 'two'" in missing.stderr


# --------------------------------------------------------------------------------------- verify
def test_verify_names_corrupt_and_missing_files(cli: Cli, logged_in: Any, store: Path) -> None:
    assert cli("snapshot", "create", "echo-workflow", "echo-chat", "--tag", "t1").code == 0
    ok = cli("snapshot", "verify")
    assert ok.code == 0 and "2 snapshots checked" in ok.stdout and "all intact" in ok.stdout
    (wf,) = store.glob("echo-workflow-*/t1.yml")
    (chat,) = store.glob("echo-chat-*/t1.yml")
    wf.write_text(wf.read_text() + "\n# edited by hand\n")
    chat.unlink()
    bad = cli("snapshot", "verify")
    assert bad.code == 1
    assert f"sha-mismatch: {wf}" in bad.stdout and f"missing: {chat}" in bad.stdout
    doc = cli("snapshot", "verify", "-o", "json")
    assert doc.code == 1 and {p["kind"] for p in doc.json()["problems"]} == {"sha-mismatch", "missing"}


# ---------------------------------------------------------------------------------------- prune
def age(store: Path, days_by_tag_prefix: dict[str, int]) -> None:
    """Backdate sidecars (created_at has one-second resolution: tests must not depend on timing)."""
    import datetime as dt
    import json

    now = dt.datetime.now(dt.timezone.utc)
    for side in store.glob("*/*.json"):
        meta = json.loads(side.read_text())
        for prefix, days in days_by_tag_prefix.items():
            if meta["tag"] == prefix or (prefix.endswith("-") and meta["tag"].startswith(prefix)):
                when = now - dt.timedelta(days=days)
                meta["created_at"] = when.isoformat(timespec="seconds").replace("+00:00", "Z")
        side.write_text(json.dumps(meta))


def test_prune_keeps_newest(cli: Cli, logged_in: Any, store: Path, tmp_path: Path) -> None:
    assert cli("snapshot", "create", "echo-workflow", "--tag", "a").code == 0
    change_app(cli, tmp_path)  # also writes a pre-apply snapshot (protected for a week)
    assert cli("snapshot", "create", "echo-workflow", "--tag", "b").code == 0
    age(store, {"a": 3, "pre-apply-": 2, "b": 1})  # a, then the safety one, then b
    refused = cli("snapshot", "prune", "echo-workflow", "--keep", "1")
    assert refused.code == 2 and "--yes" in refused.stderr
    res = cli("-o", "json", "snapshot", "prune", "echo-workflow", "--keep", "1", "--yes")
    assert res.code == 0, res.stderr
    assert (
        res.json()["removed"] == ["a"] and res.json()["kept"] == ["b"] and len(res.json()["protected"]) == 1
    )
    assert not list(store.glob("*/a.*"))
    forced = cli("-o", "json", "snapshot", "prune", "echo-workflow", "--keep", "1", "--yes", "--force")
    assert forced.code == 0 and len(forced.json()["removed"]) == 1


# ----------------------------------------------------------------------------------------- diff
def test_diff_equal_exit_0_then_different_exit_1(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    assert cli("snapshot", "create", "echo-workflow", "--tag", "before").code == 0
    same = cli("snapshot", "diff", "echo-workflow")
    assert same.code == 0 and "no differences between before and live" in same.stdout
    change_app(cli, tmp_path)
    text = cli("snapshot", "diff", "echo-workflow", "before", "live")
    assert text.code == 1
    assert '~ end "End" (end)' in text.stdout and '"result" -> "reply"' in text.stdout
    assert "\x1b[" not in text.stdout  # not a TTY: plain text
    js = cli("-o", "json", "snapshot", "diff", "echo-workflow", "before")
    assert js.code == 1
    doc = js.json()
    assert doc["from"] == "before" and doc["to"] == "live" and doc["equal"] is False
    assert doc["summary"]["nodes_changed"] == 1
    assert doc["nodes"][0]["fields"] == [
        {"path": "data.outputs[0].variable", "old": "result", "new": "reply"}
    ]


def test_diff_live_vs_draft_and_files(cli: Cli, logged_in: Any, tmp_path: Path) -> None:
    res = cli("snapshot", "diff", "echo-chat", "live", "draft")
    assert res.code == 0, res.stderr
    a, b = tmp_path / "a.yml", tmp_path / "b.yml"
    a.write_text(cli("export", "echo-workflow").stdout)
    b.write_text(a.read_text().replace("variable: result", "variable: other"))
    offline = cli("snapshot", "diff", "echo-workflow", str(a), str(b), "-o", "json")
    assert offline.code == 1 and offline.json()["summary"]["nodes_changed"] == 1


def test_diff_ignores_ui_only_changes(cli: Cli, logged_in: Any, tmp_path: Path) -> None:
    a = tmp_path / "a.yml"
    doc = yaml.safe_load(cli("export", "echo-workflow").stdout)
    for node in doc["workflow"]["graph"]["nodes"]:
        node["position"] = {"x": 999, "y": 1}
    doc["workflow"]["graph"]["viewport"] = {"x": 5, "y": 5, "zoom": 2}
    a.write_text(yaml.safe_dump(doc))
    res = cli("snapshot", "diff", "echo-workflow", str(a), "live")
    assert res.code == 0 and "no differences" in res.stdout


def test_diff_malformed_file_exit_2_one_line(cli: Cli, tmp_path: Path) -> None:  # two files: offline
    bad, good = tmp_path / "bad.yml", tmp_path / "good.yml"
    bad.write_text("app:\n  mode: workflow\n  name: [unclosed\n")
    good.write_text("app: {mode: completion, name: x}\nmodel_config: {}\n")
    res = cli("snapshot", "diff", "any-app", str(bad), str(good))
    assert res.code == 2 and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and "malformed YAML at line 4" in lines[0] and str(bad) in lines[0]
    assert all(line.startswith(("error:", "hint:")) for line in lines) and "Traceback" not in res.stderr
    same = cli("snapshot", "diff", "any-app", str(good), str(good))
    assert same.code == 0 and "no differences" in same.stdout


def test_diff_without_snapshots_exit_2(cli: Cli, logged_in: Any, store: Path) -> None:
    res = cli("snapshot", "diff", "echo-workflow")
    assert res.code == 2 and "no snapshots" in res.stderr


def test_diff_hand_edited_snapshot_warns(cli: Cli, logged_in: Any, store: Path) -> None:
    assert cli("snapshot", "create", "echo-workflow", "--tag", "t").code == 0
    (path,) = store.glob("*/t.yml")
    path.write_text(path.read_text().replace("variable: result", "variable: hacked"))
    res = cli("snapshot", "diff", "echo-workflow", "t", "live")
    assert res.code == 1 and "does not match its recorded sha256" in res.stderr


# -------------------------------------------------------------------------------- hostile names
HOSTILE = ["../../../etc/evil", "..", "a/b\\c", "~root", "café ☕ 名字", "-rf --all", ".hidden"]


def test_hostile_app_names_stay_inside_the_store(
    cli: Cli, logged_in: Any, store: Path, tmp_path: Path
) -> None:
    from tests.commands.dsl_helpers import import_app

    doc = yaml.safe_load(cli("export", "echo-chat").stdout)
    for name in HOSTILE:
        app_id = import_app(doc, name)
        res = cli("-o", "json", "snapshot", "create", app_id, "--tag", "t")
        assert res.code == 0, res.stderr
        (snap,) = res.json()["snapshots"]
        path = Path(snap["path"]).resolve()
        assert path.parent.parent == store.resolve(), path
        assert re.fullmatch(r"[a-z0-9][a-z0-9._-]*-[0-9a-f]{8}", path.parent.name), path.parent.name
        assert cli("snapshot", "diff", app_id, "t", "live").code == 0
    assert not any(p.name.startswith(".") for p in store.rglob("*") if p.name != "store.json")
    listed = cli("-o", "json", "snapshot", "list")
    assert sorted(m["app_name"] for m in listed.json()) == sorted(HOSTILE)
    assert set(os.listdir(tmp_path)) <= {"home", "config", "snaps"}  # nothing escaped the store
