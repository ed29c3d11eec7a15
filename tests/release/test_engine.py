"""The release engine against the in-memory console: interrupted or killed at every step, an app ends
in its old or its new content, never between, and its secret survives."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from difyctl.client.errors import DifyTimeoutError, ServerError
from difyctl.client.models import App
from difyctl.errors import UsageError
from difyctl.release.engine import ReleaseEngine
from difyctl.release.files import load, pin
from difyctl.snapshots.dsl import content_hash, secret_values
from difyctl.snapshots.store import SnapshotStore
from tests.snapshots.conftest import SECRET
from tests.snapshots.fakes import FakeConsole, Killed

NAMES = ("flow-a", "flow-b", "flow-c")


class Console(FakeConsole):
    base_url = "http://dify.test"

    def iter_apps(self, mode: str | None = None, name: str | None = None, limit: int = 100) -> Iterator[App]:
        del mode, name, limit
        for app in list(self.apps.values()):
            yield App(id=app.id, name=app.name, mode=app.mode, published_workflow_id=app.published_id)


def blank(doc: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    for var in out["workflow"]["environment_variables"]:
        if var["value_type"] == "secret":
            var["value"] = ""
    return out


def build(root: Path, v1: dict[str, Any], v2: dict[str, Any]) -> dict[str, Any]:
    console = Console()
    repo = root / "repo"
    repo.mkdir(parents=True)
    for n, name in enumerate(NAMES):
        console.add_app({**v1, "app": {**v1["app"], "name": name}}, f"id-{n}")
        new = blank(v2)
        new["app"] = {**v2["app"], "name": name}
        (repo / f"{name}.yml").write_text(yaml.safe_dump(new))
    old = {name: content_hash({**v1, "app": {**v1["app"], "name": name}}) for name in NAMES}
    new = {name: content_hash(yaml.safe_load((repo / f"{name}.yml").read_text())) for name in NAMES}
    return {
        "console": console,
        "repo": repo,
        "store": SnapshotStore(root / "snapshots"),
        "old": old,
        "new": new,
    }


@pytest.fixture
def world(tmp_path: Path, v1: dict[str, Any], v2: dict[str, Any]) -> dict[str, Any]:
    return build(tmp_path, v1, v2)


def engine(world: dict[str, Any]) -> ReleaseEngine:
    return ReleaseEngine(world["console"], world["store"], base_url=Console.base_url)


def plan_all(world: dict[str, Any], eng: ReleaseEngine) -> Any:
    files, manifest = load(world["repo"])
    return eng.plan(pin(files, manifest, Console.base_url))


def published_state(world: dict[str, Any], n: int) -> str:
    name, old, new = NAMES[n], world["old"][NAMES[n]], world["new"][NAMES[n]]
    doc = world["console"].doc(f"id-{n}")
    assert SECRET in secret_values(doc).values(), f"{name}: the secret was lost"
    got = content_hash(doc)
    assert got in (old, new), f"{name}: published content is neither the old nor the new one"
    return "old" if got == old else "new"


STEPS = [
    ("import_dsl", False),
    ("import_dsl", True),
    ("publish", False),
    ("publish", True),
    ("get_app", True),
    ("export_dsl", False),
    ("export_dsl", True),
]


@pytest.mark.parametrize(("op", "after"), STEPS)
@pytest.mark.parametrize("exc", [KeyboardInterrupt, Killed], ids=["ctrl-c", "killed"])
def test_interrupted_at_each_step_old_or_new(
    world: dict[str, Any], op: str, after: bool, exc: type[BaseException]
) -> None:
    console: Console = world["console"]
    eng = engine(world)
    plan = plan_all(world, eng)
    console.inject(op, exc(), after=after, call=1)
    if exc is Killed:
        with pytest.raises(Killed):
            eng.apply(plan, yes=True)
    else:
        result = eng.apply(plan, yes=True)
        assert result.interrupted and int(result.exit_code) == 130
        assert result.items[0].status == "interrupted" and {i.status for i in result.items[1:]} == {"skipped"}
    for n in range(len(NAMES)):
        state = published_state(world, n)
        if n and exc is KeyboardInterrupt:
            assert state == "old"  # never attempted


def test_one_fails_others_applied_or_atomic_all_restored(world: dict[str, Any]) -> None:
    console: Console = world["console"]
    eng = engine(world)
    plan = plan_all(world, eng)
    console.inject("publish", ServerError("boom", status_code=500), call=2)  # the second app's publish
    result = eng.apply(plan, yes=True)
    assert [i.status for i in result.items] == ["applied", "restored", "applied"]
    assert int(result.exit_code) == 3
    states = [published_state(world, n) for n in range(3)]
    assert states == ["new", "old", "new"]


def test_atomic_restores_every_applied_app(tmp_path: Path, v1: dict[str, Any], v2: dict[str, Any]) -> None:
    world = build(tmp_path, v1, v2)
    console: Console = world["console"]
    eng = engine(world)
    plan = plan_all(world, eng)
    console.inject("publish", ServerError("boom", status_code=500), call=2)
    result = eng.apply(plan, yes=True, atomic=True)
    assert [i.status for i in result.items] == ["rolled-back", "restored", "skipped"]
    # the only failure is the server's (a 500 after retries): 5, the rolled-back apps share its cause
    assert int(result.exit_code) == 5 and "flow-b.yml failed" in str(result.items[0].error)
    for n in range(3):
        assert published_state(world, n) == "old"


def test_plan_refuses_before_anything_is_sent(world: dict[str, Any]) -> None:
    console: Console = world["console"]
    bad = world["repo"] / "flow-b.yml"
    doc = yaml.safe_load(bad.read_text())
    doc["workflow"]["environment_variables"] = [
        {**v, "name": "OTHER"} if v["value_type"] == "secret" else v
        for v in doc["workflow"]["environment_variables"]
    ]
    bad.write_text(yaml.safe_dump(doc))
    with pytest.raises(UsageError, match="not set on 'flow-b': OTHER"):
        plan_all(world, engine(world))
    assert "import_dsl" not in console.calls and "publish" not in console.calls
    files, manifest = load(world["repo"])
    plan = engine(world).plan(pin(files, manifest, Console.base_url), {"OTHER": "x"})
    assert plan.changes == 3 and "import_dsl" not in console.calls
    assert plan.apps[1].secret_updates == ("OTHER",)  # not live: the supplied value is a change


def _with_new_app(world: dict[str, Any], v2: dict[str, Any]) -> None:
    new = blank(v2)
    new["app"] = {**v2["app"], "name": "flow-new"}
    (world["repo"] / "flow-new.yml").write_text(yaml.safe_dump(new))


def test_atomic_deletes_an_app_it_created(tmp_path: Path, v1: dict[str, Any], v2: dict[str, Any]) -> None:
    world = build(tmp_path, v1, v2)
    _with_new_app(world, v2)
    console: Console = world["console"]
    eng = engine(world)
    files, manifest = load(world["repo"])
    plan = eng.plan(pin(files, manifest, Console.base_url), {"API_TOKEN": SECRET})
    # updates run first, creations last: fail the creation's publish so the updates are undone too
    console.inject("publish", ServerError("boom", status_code=500), call=4)
    result = eng.apply(plan, yes=True, atomic=True, secrets={"API_TOKEN": SECRET})
    by_name = {i.item.file.name: i for i in result.items}
    assert by_name["flow-new"].status == "failed" and "deleted again" in str(by_name["flow-new"].error)
    assert "flow-new" not in {a.name for a in console.apps.values()}  # before the run it did not exist
    assert {by_name[n].status for n in NAMES} == {"rolled-back"}
    for n in range(3):
        assert published_state(world, n) == "old"


def test_a_created_app_that_passes_stays(tmp_path: Path, v1: dict[str, Any], v2: dict[str, Any]) -> None:
    world = build(tmp_path, v1, v2)
    _with_new_app(world, v2)
    console: Console = world["console"]
    eng = engine(world)
    files, manifest = load(world["repo"])
    plan = eng.plan(pin(files, manifest, Console.base_url), {"API_TOKEN": SECRET})
    before = len(console.apps)
    result = eng.apply(plan, yes=True, atomic=True, secrets={"API_TOKEN": SECRET})
    assert int(result.exit_code) == 0
    assert len(console.apps) == before + 1 and "delete_app" not in console.calls


@pytest.mark.parametrize("atomic", [False, True])
def test_every_app_cut_by_the_server_exits_5(world: dict[str, Any], atomic: bool) -> None:
    """`apply --timeout 2` against a server that stops answering after each import: every app is
    restored, and the exit code says the server was the cause (5), as for any command, not 1."""
    console: Console = world["console"]
    eng = engine(world)
    plan = plan_all(world, eng)
    for call in (1, 3, 5):  # each app's import (the even calls are the restores')
        console.inject("import_dsl", DifyTimeoutError("no answer in 2 s"), after=True, call=call)
    result = eng.apply(plan, yes=True, atomic=atomic)
    assert result.items[0].status == "restored"
    assert int(result.exit_code) == 5 and result.to_dict()["exit_code"] == 5
    assert all("cause" not in item for item in result.to_dict()["apps"])
    assert [published_state(world, n) for n in range(3)] == ["old"] * 3


def test_apps_failing_for_different_causes_exit_1(world: dict[str, Any]) -> None:
    console: Console = world["console"]
    eng = engine(world)
    plan = plan_all(world, eng)
    console.inject("import_dsl", DifyTimeoutError("no answer in 2 s"), after=True, call=1)
    console.corrupt_publishes = 3  # the others fail their verification: their own fault
    result = eng.apply(plan, yes=True)
    assert not any(i.ok for i in result.items) and {i.cause for i in result.items} == {5, None}
    assert int(result.exit_code) == 1


def test_atomic_cut_by_the_server_on_a_later_app_exits_5_too(world: dict[str, Any]) -> None:
    """`apply --atomic --timeout 2`, the server silent after the second app's import: the first app is
    rolled back because of it, the second restored. The only failure is the server's: 5, as when the
    first app's import is the one cut (README: 'a rollback / apply it cut is restored, still 5'). The
    rolled-back app counted as a failure of its own (cause None), so the exit was 1, depending only on
    which app the server happened to cut."""
    console: Console = world["console"]
    eng = engine(world)
    plan = plan_all(world, eng)
    console.inject("import_dsl", DifyTimeoutError("no answer in 2 s"), after=True, call=2)
    result = eng.apply(plan, yes=True, atomic=True)
    assert [i.status for i in result.items] == ["rolled-back", "restored", "skipped"]
    assert int(result.exit_code) == 5 and result.to_dict()["exit_code"] == 5
    assert [published_state(world, n) for n in range(3)] == ["old"] * 3
