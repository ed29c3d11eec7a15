"""The rollback engine against an in-memory Dify: the happy paths and the reliability matrix.

Invariant after every scenario, whatever failed and wherever the process died: the published app (and
its draft) hold the pre-rollback content or the target content, never anything else; the secret kept
its value; the pre-rollback snapshot is on disk and verifies; no secret value was written to disk.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from difyctl.change.engine import ChangeEngine
from difyctl.change.steps import DslConsole, Probe
from difyctl.client.console import ConsoleClient
from difyctl.client.errors import DifyConnectionError, DifyTimeoutError, PermissionDeniedError, ServerError
from difyctl.errors import DifyctlError, Interrupted, UsageError
from difyctl.snapshots.defaults import server_filled
from difyctl.snapshots.dsl import content_hash, dump_dsl, secret_values
from difyctl.snapshots.results import (
    APPLIED,
    FAILED,
    REFUSED,
    RESTORE_FAILED,
    RESTORED,
    UNCHANGED,
    RollbackTarget,
)
from difyctl.snapshots.store import ChecksumError, SnapshotStore
from tests.snapshots.conftest import APP_ID, SECRET, Clock
from tests.snapshots.fakes import FakeConsole, Killed


def _conforms(console: ConsoleClient) -> DslConsole:  # checked by mypy: the real client fits the protocol
    return console


@dataclass
class World:
    fake: FakeConsole
    store: SnapshotStore
    clock: Clock
    v1_hash: str
    v2_hash: str
    v1_workflow_id: str

    def engine(self, probe: Probe | None = None, confirm: Any = None) -> ChangeEngine:
        return ChangeEngine(
            self.fake,
            self.store,
            clock=self.clock,
            probe=probe,
            confirm=confirm,
            base_url="http://dify.test",
            server_version="1.13.2",
        )

    def snapshot(self, tag: str, content: str | None = None) -> None:
        app = self.fake.get_app(APP_ID)
        text = content or self.fake.export_dsl(APP_ID, workflow_id=app.published_workflow_id)
        self.store.save(
            text,
            app_id=APP_ID,
            app_name=app.name,
            app_mode=app.mode,
            tag=tag,
            dedupe=False,
            workflow_id=app.published_workflow_id,
        )

    def published(self) -> dict[str, Any]:
        return self.fake.doc(APP_ID)

    def draft(self) -> dict[str, Any]:
        return self.fake.doc(APP_ID, published=False)

    def assert_safe(self, *allowed: str) -> None:
        allowed = allowed or (self.v1_hash, self.v2_hash)
        for doc in (self.published(), self.draft()):
            assert content_hash(doc) in allowed
            assert secret_values(doc) == {"API_TOKEN": SECRET}
        pres = [m for m in self.store.list(APP_ID) if m.tag.startswith("pre-rollback-")]
        assert pres, "no pre-rollback snapshot"
        assert self.store.verify() == []
        assert content_hash(self.store.load_verified(APP_ID, pres[0].tag).doc) == self.v2_hash
        for path in self.store.root.rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), f"secret written to {path}"


@pytest.fixture
def world(store: SnapshotStore, clock: Clock, v1: dict[str, Any], v2: dict[str, Any]) -> World:
    fake = FakeConsole()
    fake.add_app(v1, APP_ID)
    w = World(fake, store, clock, content_hash(v1), content_hash(v2), fake.apps[APP_ID].published_id or "")
    w.snapshot("v1")
    clock.tick(minutes=1)
    fake.set_live(APP_ID, v2)  # someone shipped v2; the secret kept its value
    clock.tick(minutes=1)
    fake.calls.clear()
    return w


# ------------------------------------------------------------------------------------- happy paths
def test_plan_writes_nothing_and_apply_takes_the_pre_rollback_snapshot_first(world: World) -> None:
    engine = world.engine()
    plan = engine.plan(APP_ID, "v1")
    assert world.fake.calls == ["get_app", "export_dsl", "export_dsl", "export_dsl"]
    assert "import_dsl" not in world.fake.calls  # --dry-run stops here: nothing changed
    assert plan.pre_rollback is None and [m.tag for m in world.store.list(APP_ID)] == ["v1"]
    world.fake.inject("import_dsl", Killed())  # killed at the first mutating request
    with pytest.raises(Killed):
        engine.apply(plan)
    assert plan.pre_rollback is not None and plan.pre_rollback_path is not None
    assert plan.pre_rollback.tag == "pre-rollback-20261121T104712Z"
    assert plan.pre_rollback.workflow_id == world.fake.apps[APP_ID].published_id
    assert plan.pre_rollback_path.read_text() == world.fake.export_dsl(
        APP_ID, workflow_id=plan.pre_rollback.workflow_id
    )
    assert plan.draft_snapshot is None  # the draft equals the published workflow
    assert {n.id: n.change for n in plan.diff.nodes} == {"end": "changed", "llm": "removed"}
    assert plan.missing_secrets == () and not plan.unchanged
    rendered = str(plan.to_dict()) + repr(plan)
    assert SECRET not in rendered and "API_TOKEN" in rendered  # names, never values
    world.assert_safe(world.v2_hash)


def test_rollback_applies_publishes_verifies_probes_and_keeps_secrets(world: World) -> None:
    probed: list[str] = []
    engine = world.engine(probe=lambda app: probed.append(app.id))
    result = engine.apply(engine.plan(APP_ID, "v1"))
    assert result.status == APPLIED and result.ok and result.exit_code == 0
    assert [(s.name, s.status) for s in result.steps] == [
        ("import", "ok"),
        ("publish", "ok"),
        ("verify", "ok"),
        ("probe", "ok"),
    ]
    assert probed == [APP_ID]
    assert content_hash(world.published()) == world.v1_hash
    world.assert_safe(world.v1_hash)
    assert result.to_dict()["pre_rollback"].startswith("pre-rollback-")


def test_no_publish_changes_only_the_draft(world: World) -> None:
    engine = world.engine()
    result = engine.apply(engine.plan(APP_ID, "v1"), publish=False)
    assert result.status == APPLIED and "publish" not in world.fake.calls
    assert content_hash(world.draft()) == world.v1_hash and content_hash(world.published()) == world.v2_hash
    world.assert_safe()


def test_rollback_to_the_live_content_is_unchanged(world: World) -> None:
    world.snapshot("v2")
    engine = world.engine()
    plan = engine.plan(APP_ID, "v2")
    assert plan.unchanged and plan.diff.is_empty
    result = engine.apply(plan)
    assert result.status == UNCHANGED and "import_dsl" not in world.fake.calls


def test_rollback_to_a_version_id(world: World) -> None:
    engine = world.engine()
    target = RollbackTarget.from_version(world.fake, APP_ID, world.v1_workflow_id)
    assert target.label == f"version:{world.v1_workflow_id}"
    result = engine.apply(engine.plan(APP_ID, target))
    assert result.status == APPLIED
    world.assert_safe(world.v1_hash)


def test_unpublished_draft_edits_are_saved_before_they_are_replaced(world: World, v2: dict[str, Any]) -> None:
    wip = copy.deepcopy(v2)
    wip["workflow"]["features"]["opening_statement"] = "work in progress"
    world.fake._store(world.fake.apps[APP_ID], wip)  # edited in the console, not published
    engine = world.engine()
    plan = engine.plan(APP_ID, "v1")
    assert plan.draft_text and plan.draft_snapshot is None  # the plan writes nothing
    assert engine.apply(plan).status == APPLIED
    assert plan.draft_snapshot is not None and plan.draft_snapshot.draft
    assert plan.draft_snapshot.tag == "pre-rollback-draft-20261121T104712Z"
    assert content_hash(world.store.load_verified(APP_ID, plan.draft_snapshot.tag).doc) == content_hash(wip)


def test_never_published_app(
    store: SnapshotStore, clock: Clock, v1: dict[str, Any], v2: dict[str, Any]
) -> None:
    fake = FakeConsole()
    fake.add_app(v2, APP_ID, publish=False)
    store.save(
        dump_dsl({**v1, "workflow": {**v1["workflow"], "environment_variables": []}}),
        app_id=APP_ID,
        app_name="echo-workflow",
        app_mode="workflow",
        tag="v1",
    )
    engine = ChangeEngine(fake, store, clock=clock)
    plan = engine.plan(APP_ID, "v1")
    assert engine.apply(plan).status == APPLIED
    assert plan.pre_rollback and plan.pre_rollback.draft and plan.pre_rollback.workflow_id is None
    assert fake.apps[APP_ID].published_id is not None


# ---------------------------------------------------------------------------- refusals, no traffic
def test_hand_edited_snapshot_is_refused_before_anything_is_sent(world: World) -> None:
    path = world.store.path_of(world.store.get(APP_ID, "v1"))
    path.write_text(path.read_text().replace("hello-env", "hand-edited"))
    with pytest.raises(ChecksumError):
        world.engine().plan(APP_ID, "v1")
    assert world.fake.calls == []
    plan = world.engine().plan(APP_ID, "v1", force=True)
    assert any("checksum" in w for w in plan.warnings)
    assert world.engine().apply(plan).status == APPLIED


def test_malformed_yaml_is_a_usage_error_and_nothing_is_sent(world: World) -> None:
    with pytest.raises(UsageError, match="bad.yml: malformed YAML at line 1"):
        RollbackTarget.from_text("bad.yml", "app: [unclosed")
    path = world.store.path_of(world.store.get(APP_ID, "v1"))
    path.write_text("app:\n  mode: workflow\n  name: [\n")
    with pytest.raises(UsageError, match="malformed YAML"):
        world.engine().plan(APP_ID, "v1", force=True)
    assert world.fake.calls == []


def test_a_target_of_another_mode_is_refused(world: World) -> None:
    chatflow = world.fake.export_dsl(APP_ID).replace("mode: workflow", "mode: advanced-chat")
    world.fake.calls.clear()
    with pytest.raises(UsageError, match="advanced-chat app") as info:
        world.engine().plan(APP_ID, RollbackTarget.from_text("chatflow.yml", chatflow))
    assert info.value.hint and "corrupt" in info.value.hint
    assert world.fake.calls == ["get_app"]
    assert [m.tag for m in world.store.list(APP_ID)] == ["v1"]


def test_a_secret_only_in_the_target_is_asked_for_never_blanked(world: World, v1: dict[str, Any]) -> None:
    new = copy.deepcopy(v1)
    new["workflow"]["environment_variables"].append(
        {
            "id": "n1",
            "name": "NEW_KEY",
            "value": "",
            "value_type": "secret",
            "description": "",
            "selector": ["env", "NEW_KEY"],
        }
    )
    world.store.save(dump_dsl(new), app_id=APP_ID, app_name="echo-workflow", app_mode="workflow", tag="v3")
    engine = world.engine()
    plan = engine.plan(APP_ID, "v3")
    assert plan.missing_secrets == ("NEW_KEY",)
    world.fake.calls.clear()
    with pytest.raises(UsageError, match="NEW_KEY"):
        engine.apply(plan)
    assert world.fake.calls == []
    result = engine.apply(plan, secret_values={"NEW_KEY": "given"})
    assert result.status == APPLIED
    assert secret_values(world.published()) == {"API_TOKEN": SECRET, "NEW_KEY": "given"}


def test_pending_dsl_version_needs_yes_or_confirmation(world: World) -> None:
    newer = (
        world.store.path_of(world.store.get(APP_ID, "v1"))
        .read_text()
        .replace("version: 0.6.0", "version: 0.7.0")
    )
    world.store.save(
        newer, app_id=APP_ID, app_name="echo-workflow", app_mode="workflow", tag="v1-newer", dedupe=False
    )
    asked: list[str] = []

    def refuse(question: str) -> bool:
        asked.append(question)
        return False

    engine = world.engine(confirm=refuse)
    result = engine.apply(engine.plan(APP_ID, "v1-newer"))
    assert result.status == REFUSED and result.exit_code == 2
    assert result.steps[-1].name == "confirm" and result.steps[-1].status == "refused"
    assert asked and "0.7.0" in asked[0] and "0.6.0" in asked[0]
    assert content_hash(world.published()) == world.v2_hash
    result = engine.apply(engine.plan(APP_ID, "v1-newer"), yes=True)
    assert result.status == APPLIED and [s.name for s in result.steps][:2] == ["import", "confirm"]
    world.assert_safe(world.v1_hash)
    engine = world.engine(confirm=lambda q: True)
    assert engine.apply(engine.plan(APP_ID, "v1-newer")).status == UNCHANGED


# --------------------------------------------------------------------------- the reliability matrix
def _raise(exc: Exception) -> Any:
    raise exc


# each failure, and the exit code of a rollback it cut (then restored): the server's absence (connection
# refused or reset, no answer within --timeout, 5xx) is 5, as for every command; a wrong result is 1
FAILURES = {
    "import fails (connection refused)": (
        lambda f: f.inject("import_dsl", DifyConnectionError("refused")),
        5,
    ),
    "import gets no answer in --timeout": (
        lambda f: f.inject("import_dsl", DifyTimeoutError("no answer in 2 s"), after=True),
        5,
    ),
    "connection drops after import": (
        lambda f: f.inject("import_dsl", DifyConnectionError("reset"), after=True),
        5,
    ),
    "publish fails": (lambda f: f.inject("publish", ServerError("boom", status_code=500)), 5),
    "connection drops after publish": (
        lambda f: f.inject("publish", DifyConnectionError("reset"), after=True),
        5,
    ),
    "verify cannot read the app": (lambda f: f.inject("get_app", ServerError("boom", status_code=502)), 5),
    "verify is refused": (lambda f: f.inject("get_app", PermissionDeniedError("no", status_code=403)), 4),
    "verify cannot export": (lambda f: f.inject("export_dsl", DifyConnectionError("reset")), 5),
    "verification finds a different hash": (lambda f: setattr(f, "corrupt_publishes", 1), 1),
}


@pytest.mark.parametrize(("inject", "code"), FAILURES.values(), ids=FAILURES.keys())
def test_failure_after_apply_restores_the_pre_rollback_state(world: World, inject: Any, code: int) -> None:
    engine = world.engine()
    plan = engine.plan(APP_ID, "v1")
    inject(world.fake)
    result = engine.apply(plan)
    assert result.status == RESTORED and not result.ok and result.exit_code == code
    assert "cause" not in result.to_dict()
    assert result.error and result.hint and plan.pre_rollback and plan.pre_rollback.tag in result.hint
    failed = [s for s in result.steps if s.status == "failed"]
    assert len(failed) == 1 and not failed[0].name.startswith("restore:")
    assert [s.status for s in result.steps if s.name.startswith("restore:")] == ["ok"] * len(
        [s for s in result.steps if s.name.startswith("restore:")]
    )
    assert "restore:verify" in [s.name for s in result.steps]
    world.assert_safe(world.v2_hash)  # exactly the pre-rollback content, secrets included


@pytest.mark.parametrize("verdict", ["raise", "false"])
def test_failed_probe_restores(world: World, verdict: str) -> None:
    probe: Probe = (
        (lambda app: _raise(RuntimeError("probe said no"))) if verdict == "raise" else (lambda app: False)
    )
    engine = world.engine(probe=probe)
    result = engine.apply(engine.plan(APP_ID, "v1"))
    assert result.status == RESTORED and ("probe", "failed") in [(s.name, s.status) for s in result.steps]
    world.assert_safe(world.v2_hash)


def test_import_rejected_by_the_server_changes_nothing(world: World) -> None:
    engine = world.engine()
    plan = engine.plan(APP_ID, "v1")
    world.fake.reject_imports = 1
    result = engine.apply(plan)
    assert (
        result.status == FAILED and result.steps == [result.steps[0]] and result.steps[0].status == "failed"
    )
    assert "Invalid YAML" in (result.error or "")
    world.assert_safe(world.v2_hash)


def test_restore_that_fails_too_is_reported_with_the_way_back(world: World) -> None:
    engine = world.engine()
    plan = engine.plan(APP_ID, "v1")
    world.fake.inject("publish", DifyConnectionError("reset"), after=True)
    world.fake.inject("import_dsl", DifyConnectionError("down"), call=2)
    result = engine.apply(plan)
    assert result.status == RESTORE_FAILED and "restore failed too" in (result.error or "")
    assert result.hint and plan.pre_rollback and plan.pre_rollback.tag in result.hint
    assert str(plan.pre_rollback_path) in result.hint
    assert result.exit_code == 5  # the server went away
    world.assert_safe()  # published = the target (the publish went through), never a third state


STEPS = ("import_dsl", "publish", "get_app", "export_dsl")
KILL_POINTS = (
    [("straight", op, 1) for op in STEPS]
    + [("pending", op, 1) for op in ("import_dsl", "confirm_import")]
    + [("restoring", op, 2) for op in STEPS]  # the second call of each step is the restore's
)


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize(("scenario", "op", "call"), KILL_POINTS)
def test_killed_between_any_two_steps_leaves_old_or_new(
    world: World, scenario: str, op: str, call: int, after: bool
) -> None:
    tag = "v1"
    if scenario == "pending":
        newer = world.store.path_of(world.store.get(APP_ID, "v1")).read_text().replace("0.6.0", "0.7.0")
        world.store.save(
            newer, app_id=APP_ID, app_name="echo-workflow", app_mode="workflow", tag="v1-newer", dedupe=False
        )
        tag = "v1-newer"
    engine = world.engine(probe=(lambda app: False) if scenario == "restoring" else None)  # restore runs
    plan = engine.plan(APP_ID, tag)
    world.fake.inject(op, Killed(), after=after, call=call)
    with pytest.raises(Killed):
        engine.apply(plan, yes=True)
    world.assert_safe()


@pytest.mark.parametrize(("op", "after"), [("import_dsl", False), ("import_dsl", True), ("publish", False)])
def test_killed_during_the_restore_leaves_old_or_new(world: World, op: str, after: bool) -> None:
    engine = world.engine()
    plan = engine.plan(APP_ID, "v1")
    world.fake.inject("publish", DifyConnectionError("reset"), after=True)
    world.fake.inject(op, Killed(), after=after, call=2 if op == "import_dsl" else 1)
    with pytest.raises(Killed):
        engine.apply(plan)
    world.assert_safe()


# --------------------------------------------------------------------------- chat / completion apps
CHAT_V1: dict[str, Any] = {
    "app": {"mode": "chat", "name": "support-bot", "description": ""},
    "kind": "app",
    "version": "0.6.0",
    "model_config": {
        "pre_prompt": "Be nice.",
        "model": {"provider": "openai", "name": "gpt-4o", "completion_params": {"temperature": 1}},
    },
}


def _chat_world(store: SnapshotStore, clock: Clock) -> tuple[FakeConsole, ChangeEngine]:
    fake = FakeConsole()
    fake.add_app(CHAT_V1, "chat-0001")
    store.save(
        fake.export_dsl("chat-0001"), app_id="chat-0001", app_name="support-bot", app_mode="chat", tag="v1"
    )
    v2 = copy.deepcopy(CHAT_V1)
    v2["model_config"]["pre_prompt"] = "Be brief."
    fake.set_live("chat-0001", v2)
    return fake, ChangeEngine(fake, store, clock=clock)


def test_chat_app_rolls_back_through_model_config(store: SnapshotStore, clock: Clock) -> None:
    fake, engine = _chat_world(store, clock)
    plan = engine.plan("chat-0001", "v1")
    assert plan.method == "model-config" and [f.path for f in plan.diff.model_config] == [
        "model_config.pre_prompt"
    ]
    result = engine.apply(plan)
    assert result.status == APPLIED and [s.name for s in result.steps] == ["model-config", "verify"]
    assert "import_dsl" not in fake.calls and "publish" not in fake.calls
    # sent complete, as an import of the file would store it (snapshots/defaults.py)
    assert fake.apps["chat-0001"].draft["model_config"] == server_filled(CHAT_V1["model_config"])


def test_chat_app_failure_restores_the_model_config(store: SnapshotStore, clock: Clock) -> None:
    fake, engine = _chat_world(store, clock)
    plan = engine.plan("chat-0001", "v1")
    fake.inject("update_model_config", DifyConnectionError("reset"), after=True)
    result = engine.apply(plan)
    assert result.status == RESTORED
    assert fake.apps["chat-0001"].draft["model_config"]["pre_prompt"] == "Be brief."


# ----------------------------------------------------------------------------------------- promote
def test_promote_applies_another_instances_dsl_and_keeps_the_targets_secrets(
    store: SnapshotStore, clock: Clock, v1: dict[str, Any], v2: dict[str, Any]
) -> None:
    staging, prod = FakeConsole(), FakeConsole()
    staging.add_app(v1, "staging-app")
    prod_doc = copy.deepcopy(v2)
    prod_doc["workflow"]["environment_variables"][2]["value"] = "prod-secret"
    prod.add_app(prod_doc, "prod-app")
    source = staging.export_dsl("staging-app", workflow_id=staging.apps["staging-app"].published_id)
    engine = ChangeEngine(prod, store, clock=clock)
    plan = engine.plan("prod-app", RollbackTarget.from_text("staging:echo-workflow", source))
    assert engine.apply(plan).status == APPLIED
    live = prod.doc("prod-app")
    assert content_hash(live) == content_hash(v1) and secret_values(live) == {"API_TOKEN": "prod-secret"}


@pytest.mark.parametrize(("op", "after"), [("import_dsl", True), ("publish", False), ("publish", True)])
def test_ctrl_c_restores_then_stops(world: World, op: str, after: bool) -> None:
    engine = world.engine()
    plan = engine.plan(APP_ID, "v1")
    world.fake.inject(op, KeyboardInterrupt(), after=after)
    with pytest.raises(Interrupted, match="rollback interrupted; restored") as info:
        engine.apply(plan)
    assert info.value.exit_code == 130 and info.value.hint
    assert plan.pre_rollback and plan.pre_rollback.tag in info.value.hint
    world.assert_safe(world.v2_hash)


def test_reprs_never_hold_secret_values(world: World, v1: dict[str, Any]) -> None:
    world.store.save(
        dump_dsl(v1),
        app_id=APP_ID,
        app_name="echo-workflow",
        app_mode="workflow",
        tag="with-secret",
        include_secret=True,
        dedupe=False,
    )
    engine = world.engine()
    plan = engine.plan(APP_ID, "with-secret")
    result = engine.apply(plan)
    assert result.status == UNCHANGED or result.status == APPLIED
    for text in (repr(plan), repr(result), str(plan.to_dict()), str(result.to_dict())):
        assert SECRET not in text


def test_an_app_that_changes_while_exported_is_not_planned(world: World) -> None:
    exports = iter([world.fake.export_dsl(APP_ID, workflow_id=world.v1_workflow_id)])  # a stale first read
    real = world.fake.export_dsl

    def racing(app_id: str, include_secret: bool = False, workflow_id: str | None = None) -> str:
        return next(exports, None) or real(app_id, include_secret=include_secret, workflow_id=workflow_id)

    world.fake.export_dsl = racing  # type: ignore[method-assign]
    with pytest.raises(DifyctlError, match="changed while it was being exported"):
        world.engine().plan(APP_ID, "v1")


def test_chat_target_without_model_config_and_meta_warning(store: SnapshotStore, clock: Clock) -> None:
    fake, engine = _chat_world(store, clock)
    bare = dump_dsl({"app": {"mode": "chat", "name": "support-bot"}, "kind": "app", "version": "0.6.0"})
    with pytest.raises(UsageError, match="no `model_config:`"):
        engine.plan("chat-0001", RollbackTarget.from_text("bare.yml", bare))
    renamed = copy.deepcopy(CHAT_V1)
    renamed["app"]["name"] = "support-bot-old"
    plan = engine.plan("chat-0001", RollbackTarget.from_text("old.yml", dump_dsl(renamed)))
    assert any("not applied" in w for w in plan.warnings)
