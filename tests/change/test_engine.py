"""The one change engine: the create path (apply of a new file, promote --create), its pending /
refused / rejected branches, the kill-at-every-step matrix for creating and for apply / promote
changes, and "an empty plan writes nothing"."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from difyctl.change.create import CREATED
from difyctl.change.engine import ChangeEngine
from difyctl.client.errors import ServerError
from difyctl.errors import UsageError
from difyctl.snapshots.dsl import content_hash, dump_dsl, secret_values
from difyctl.snapshots.results import APPLIED, FAILED, REFUSED, UNCHANGED, RollbackTarget
from difyctl.snapshots.store import SnapshotStore
from tests.snapshots.conftest import APP_ID, SECRET, Clock
from tests.snapshots.fakes import FakeConsole, Killed


def _target(doc: dict[str, Any], version: str = "0.6.0", label: str = "new.yml") -> RollbackTarget:
    return RollbackTarget.from_text(label, dump_dsl({**doc, "version": version}))


def _engine(fake: FakeConsole, store: SnapshotStore, clock: Clock, **kw: Any) -> ChangeEngine:
    return ChangeEngine(fake, store, clock=clock, **kw)


# ------------------------------------------------------------------------------------------ create
def test_create_imports_publishes_verifies_and_probes(
    store: SnapshotStore, clock: Clock, v1: dict[str, Any]
) -> None:
    fake, probed = FakeConsole(), []
    target = _target(v1)
    engine = _engine(fake, store, clock, verb="promote")
    res = engine.create(target, "brand-new", probe_for=lambda app: lambda live: probed.append(live.id))
    assert res.status == CREATED and res.ok and res.app_id in fake.apps
    assert [s.name for s in res.steps] == ["import", "publish", "verify", "probe"]
    assert probed == [res.app_id] and content_hash(fake.doc(str(res.app_id))) == target.content_hash
    assert store.list() == []  # nothing existed before: no safety snapshot to take
    assert res.to_dict()["verified"] is True


@pytest.mark.parametrize("answer", [None, False])
def test_create_pending_is_refused_without_yes_and_nothing_is_created(
    store: SnapshotStore, clock: Clock, v1: dict[str, Any], answer: bool | None
) -> None:
    fake, asked = FakeConsole(), []

    def confirm(question: str) -> bool:
        asked.append(question)
        return bool(answer)

    engine = _engine(fake, store, clock, confirm=confirm if answer is not None else None)
    res = engine.create(_target(v1, "0.7.0"), "newer")
    assert res.status == REFUSED and fake.apps == {} and "nothing created" in (res.error or "")
    assert res.steps[-1].name == "confirm" and res.steps[-1].status == "refused"
    assert "confirm_import" not in fake.calls
    assert asked == ([] if answer is None else [asked[0]]) and (answer is None or "0.7.0" in asked[0])
    ok = engine.create(_target(v1, "0.7.0"), "newer", yes=True)
    assert ok.status == CREATED and [s.name for s in ok.steps][:2] == ["import", "confirm"]


def test_create_rejected_by_the_server_is_a_failure_with_nothing_created(
    store: SnapshotStore, clock: Clock, v1: dict[str, Any]
) -> None:
    fake = FakeConsole()
    fake.reject_imports = 1
    res = _engine(fake, store, clock).create(_target(v1), "x")
    assert res.status == FAILED and fake.apps == {} and "Invalid YAML" in (res.error or "")


@pytest.mark.parametrize("why", ["verify", "probe"])
def test_a_created_app_that_fails_its_checks_is_deleted_again(
    store: SnapshotStore, clock: Clock, v1: dict[str, Any], why: str
) -> None:
    fake = FakeConsole()
    if why == "verify":
        fake.corrupt_publishes = 1
    probe = (lambda app: lambda live: False) if why == "probe" else None
    res = _engine(fake, store, clock).create(_target(v1), "x", probe_for=probe)
    assert res.status == FAILED and fake.apps == {} and "deleted again" in (res.error or "")
    assert ("delete created app", "ok") in [(s.name, s.status) for s in res.steps]


CREATE_STEPS = [(op, after) for op in ("import_dsl", "publish", "get_app", "export_dsl") for after in (0, 1)]


@pytest.mark.parametrize(("op", "after"), CREATE_STEPS)
def test_create_killed_at_every_step_leaves_nothing_or_the_target(
    store: SnapshotStore, clock: Clock, v1: dict[str, Any], op: str, after: int
) -> None:
    fake = FakeConsole()
    target = _target(v1)
    fake.inject(op, Killed(), after=bool(after))
    with pytest.raises(Killed):
        _engine(fake, store, clock).create(target, "x")
    for app_id in fake.apps:  # nothing, or an app holding exactly the target (never a third state)
        assert content_hash(fake.doc(app_id, published=False)) == target.content_hash


# --------------------------------------------------------------- apply / promote: kill at every step
KILL = [(op, after) for op in ("import_dsl", "publish", "get_app", "export_dsl") for after in (0, 1)]


@pytest.mark.parametrize("verb", ["apply", "promote"])
@pytest.mark.parametrize(("op", "after"), KILL)
def test_apply_and_promote_killed_at_every_step_leave_old_or_new(
    store: SnapshotStore, clock: Clock, v1: dict[str, Any], v2: dict[str, Any], verb: str, op: str, after: int
) -> None:
    fake = FakeConsole()
    fake.add_app(v2, APP_ID)
    target = RollbackTarget.from_text(f"staging:{v1['app']['name']}", dump_dsl(_blank(v1)))
    engine = _engine(fake, store, clock, verb=verb)
    plan = engine.plan(APP_ID, target)
    calls = len(fake.calls)
    fake.inject(op, Killed(), after=bool(after))  # the next call of op: the change's own
    with pytest.raises(Killed):
        engine.apply(plan, yes=True)
    assert len(fake.calls) > calls
    for doc in (fake.doc(APP_ID), fake.doc(APP_ID, published=False)):
        assert content_hash(doc) in (content_hash(v1), content_hash(v2))
        assert secret_values(doc) == {"API_TOKEN": SECRET}  # kept through every step
    safety = [m for m in store.list(APP_ID) if m.tag.startswith(f"pre-{verb}-")]
    assert len(safety) == 1 and content_hash(store.load_verified(APP_ID, safety[0].tag).doc) == content_hash(
        v2
    )


def _blank(doc: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    for var in out["workflow"]["environment_variables"]:
        if var["value_type"] == "secret":
            var["value"] = ""
    return out


def test_an_empty_plan_is_nothing_to_do_and_writes_no_snapshot(
    store: SnapshotStore, clock: Clock, v1: dict[str, Any]
) -> None:
    fake = FakeConsole()
    fake.add_app(v1, APP_ID)
    engine = _engine(fake, store, clock, verb="apply")
    plan = engine.plan(APP_ID, RollbackTarget.from_text("same.yml", dump_dsl(_blank(v1))))
    assert plan.unchanged and plan.secrets.kept == ("API_TOKEN",)
    fake.calls.clear()
    result = engine.apply(plan)
    assert result.status == UNCHANGED and fake.calls == [] and not store.root.exists()


def test_the_apply_result_reports_a_removed_secret(
    store: SnapshotStore, clock: Clock, v1: dict[str, Any], v2: dict[str, Any]
) -> None:
    fake = FakeConsole()
    fake.add_app(v2, APP_ID)
    without = _blank(v1)
    without["workflow"]["environment_variables"] = [
        v for v in without["workflow"]["environment_variables"] if v["value_type"] != "secret"
    ]
    engine = _engine(fake, store, clock, verb="apply")
    plan = engine.plan(APP_ID, RollbackTarget.from_text("ew.yml", dump_dsl(without)))
    assert plan.secrets.removed == ("API_TOKEN",) and plan.secrets.kept == ()
    assert plan.to_dict()["kept_secrets"] == []
    result = engine.apply(plan)
    assert result.status == APPLIED and result.to_dict()["secrets"]["removed"] == ["API_TOKEN"]
    assert secret_values(fake.doc(APP_ID)) == {}


def test_uncreate_deletes_a_created_app_or_says_how_to(
    store: SnapshotStore, clock: Clock, v1: dict[str, Any]
) -> None:
    fake = FakeConsole()
    engine = _engine(fake, store, clock)
    created = engine.create(_target(v1), "x")
    undone = engine.uncreate(created, "another app failed (--atomic)")
    assert undone.status == "rolled-back" and fake.apps == {} and "another app failed" in str(undone.error)
    again = engine.create(_target(v1), "y")
    fake.inject("delete_app", ServerError("boom", status_code=500))
    kept = engine.uncreate(again, "why")
    assert kept.status == CREATED and kept.hint == "delete it in the console" and again.app_id in fake.apps


def test_a_secret_with_no_value_anywhere_is_refused_unless_blank_is_allowed(
    store: SnapshotStore, clock: Clock, v1: dict[str, Any], v2: dict[str, Any]
) -> None:
    fake = FakeConsole()
    fake.add_app(v2, APP_ID)
    new = _blank(v1)
    new["workflow"]["environment_variables"].append(
        {"id": "n1", "name": "NEW_KEY", "value": "", "value_type": "secret", "description": ""}
    )
    engine = _engine(fake, store, clock, verb="apply")
    plan = engine.plan(APP_ID, RollbackTarget.from_text("new.yml", dump_dsl(new)))
    assert plan.secrets.missing == ("NEW_KEY",) and plan.secrets.kept == ("API_TOKEN",)
    fake.calls.clear()
    with pytest.raises(UsageError, match="NEW_KEY") as info:
        engine.apply(plan)
    assert "--allow-blank-secret" in str(info.value.hint)
    assert fake.calls == [] and not store.root.exists()  # refused before anything was sent or written
    assert engine.apply(plan, allow_blank=True).status == APPLIED
    assert secret_values(fake.doc(APP_ID)) == {"API_TOKEN": SECRET}  # NEW_KEY exists, blank


def test_model_config_apps_warn_about_name_and_description_only_when_they_differ() -> None:
    """A minimal hand-written chat file has no `description:`; the server exports `description: ''`.
    That is not a description the apply would drop, so the plan must not warn (issue 12 item 5:
    a minimal file plans clean). A real difference still warns."""
    minimal: dict[str, Any] = {"app": {"name": "hand-chat", "mode": "chat"}, "model_config": {}}
    live = {"app": {"name": "hand-chat", "mode": "chat", "description": ""}, "model_config": {}}
    assert ChangeEngine._warnings(_target(minimal), "model-config", live) == []
    other = copy.deepcopy(minimal)
    other["app"]["description"] = "new words"
    (warning,) = ChangeEngine._warnings(_target(other), "model-config", live)
    assert "not applied" in warning
    assert ChangeEngine._warnings(_target(other), "import", live) == []
