"""Release plans that must stop before anything is sent, and new apps whose import needs a yes.

Each refusal names the file and says what to do; a new app with a newer DSL version is created only
after a confirmation, and refusing it creates nothing (exit 2, like any refused confirmation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from difyctl.client.errors import ServerError
from difyctl.errors import UsageError
from difyctl.exit_codes import ExitCode
from difyctl.release.engine import ReleaseEngine
from difyctl.release.files import MANIFEST, load, pin, read_manifest
from tests.release.test_engine import NAMES, Console, _with_new_app, build, engine
from tests.snapshots.conftest import SECRET


def _plan(world: dict[str, Any], eng: ReleaseEngine, secrets: dict[str, str] | None = None) -> Any:
    files, manifest = load(world["repo"])
    return eng.plan(pin(files, manifest, Console.base_url), secrets)


def _manifest(world: dict[str, Any], apps: dict[str, str]) -> None:
    doc = {"base_url": Console.base_url, "apps": apps}
    (world["repo"] / MANIFEST).write_text(yaml.safe_dump(doc))


def test_a_pinned_app_id_missing_on_the_server(tmp_path: Path, v1: Any, v2: Any) -> None:
    world = build(tmp_path, v1, v2)
    _manifest(world, {"flow-a.yml": "id-gone"})
    with pytest.raises(UsageError, match="app id id-gone .* is not on this server") as info:
        _plan(world, engine(world))
    assert info.value.hint is not None and "difyctl.yaml" in info.value.hint
    assert "import_dsl" not in world["console"].calls


def test_two_live_apps_with_the_file_name(tmp_path: Path, v1: Any, v2: Any) -> None:
    world = build(tmp_path, v1, v2)
    world["console"].add_app({**v1, "app": {**v1["app"], "name": NAMES[0]}}, "id-twin")
    with pytest.raises(UsageError, match="2 live apps are named 'flow-a'") as info:
        _plan(world, engine(world))
    assert info.value.hint is not None and "pin the file" in info.value.hint


def test_two_files_for_one_app(tmp_path: Path, v1: Any, v2: Any) -> None:
    world = build(tmp_path, v1, v2)
    _manifest(world, {"flow-b.yml": "id-0"})  # flow-a.yml matches id-0 by name as well
    with pytest.raises(UsageError, match="both apply to 'flow-a' \\(id-0\\)") as info:
        _plan(world, engine(world))
    assert info.value.hint == "one file per app; remove or rename one"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apps: [1, 2]\n", "expected a mapping with an `apps:` mapping"),
        ("apps:\n  flow-a.yml: {}\n", "`apps.flow-a.yml` needs an app_id"),
        ("apps: {\n", "malformed YAML at line 2, column 1"),
    ],
)
def test_a_malformed_manifest_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / MANIFEST).write_text(text)
    with pytest.raises(UsageError, match=message):
        read_manifest(tmp_path)


def _newer(world: dict[str, Any]) -> None:
    path = world["repo"] / "flow-new.yml"
    doc = yaml.safe_load(path.read_text())
    doc["version"] = "9.9.9"  # newer than the server's: the import answers 202 pending
    path.write_text(yaml.safe_dump(doc))


def test_a_new_app_with_a_newer_dsl_is_refused_without_yes(tmp_path: Path, v1: Any, v2: Any) -> None:
    world = build(tmp_path, v1, v2)
    _with_new_app(world, v2)
    _newer(world)
    asked: list[str] = []

    def refuse(question: str) -> bool:
        asked.append(question)
        return False

    eng = ReleaseEngine(world["console"], world["store"], base_url=Console.base_url, confirm=refuse)
    plan = _plan(world, eng, {"API_TOKEN": SECRET})
    before = set(world["console"].apps)
    result = eng.apply(plan, yes=False, secrets={"API_TOKEN": SECRET})
    new = next(i for i in result.items if i.item.file.name == "flow-new")
    assert new.status == "refused" and "nothing created" in str(new.error)
    assert [s.name for s in new.steps][-1] == "confirm" and new.steps[-1].status == "refused"
    assert asked and "9.9.9" in asked[0]
    assert set(world["console"].apps) == before  # no app was created
    assert "confirm_import" not in world["console"].calls


def test_a_new_app_with_a_newer_dsl_is_created_once_confirmed(tmp_path: Path, v1: Any, v2: Any) -> None:
    world = build(tmp_path, v1, v2)
    _with_new_app(world, v2)
    _newer(world)
    eng = ReleaseEngine(world["console"], world["store"], base_url=Console.base_url, confirm=lambda _q: True)
    plan = _plan(world, eng, {"API_TOKEN": SECRET})
    result = eng.apply(plan, yes=False, secrets={"API_TOKEN": SECRET})
    new = next(i for i in result.items if i.item.file.name == "flow-new")
    assert new.status == "created" and [s.name for s in new.steps][:2] == ["import", "confirm"]
    assert "flow-new" in {a.name for a in world["console"].apps.values()}


def test_only_refusals_exit_2(tmp_path: Path, v1: Any, v2: Any) -> None:
    world = build(tmp_path, v1, v2)
    _with_new_app(world, v2)
    _newer(world)
    for name in NAMES:  # nothing to change on the existing apps: only the refusal is left
        (world["repo"] / f"{name}.yml").unlink()
    eng = ReleaseEngine(world["console"], world["store"], base_url=Console.base_url, confirm=lambda _q: False)
    result = eng.apply(_plan(world, eng, {"API_TOKEN": SECRET}), yes=False, secrets={"API_TOKEN": SECRET})
    assert [i.status for i in result.items] == ["refused"]
    assert result.exit_code == ExitCode.USAGE


def test_a_created_app_that_cannot_be_deleted_again_says_so(tmp_path: Path, v1: Any, v2: Any) -> None:
    world = build(tmp_path, v1, v2)
    _with_new_app(world, v2)
    console: Console = world["console"]
    eng = engine(world)
    plan = _plan(world, eng, {"API_TOKEN": SECRET})
    console.inject("publish", ServerError("boom", status_code=500), call=4)  # the new app's publish
    console.inject("delete_app", ServerError("gone fishing", status_code=503))
    result = eng.apply(plan, yes=True, secrets={"API_TOKEN": SECRET})
    new = next(i for i in result.items if i.item.file.name == "flow-new")
    assert new.status == "failed" and "deleting it again failed" in str(new.error)
    assert new.hint == "delete it in the console" and new.app_id
