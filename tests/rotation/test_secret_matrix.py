"""The fault matrix of `secrets set|rotate` against the emulator: the previous value always comes
back (verified in the emulator's state), and other secrets are never touched."""

from __future__ import annotations

from typing import Any

import pytest

from difyctl.client.models import EnvVar
from difyctl.rotation.secrets import SecretChange, SecretDeps, change_secret

from .conftest import Died, Kit

APP = "echo-workflow"
OLD, NEW, OTHER = "old-secret-value-111", "new-secret-value-222", "other-secret-333"


def _values(kit: Kit, which: str) -> dict[str, Any]:
    with kit.emu.state.lock:
        app = kit.emu.state.get_app(kit.app_id(APP))
        wf = app.draft if which == "draft" else app.published
        return {v["name"]: v["value"] for v in wf.environment_variables}


@pytest.fixture
def secret_app(kit: Kit) -> Kit:
    """echo-workflow with two published secrets: API_TOKEN (rotated) and OTHER (never touched)."""
    actx = kit.actx()
    app_id = kit.app_id(APP)
    with actx.console() as console:
        d = console.get_draft(app_id)
        env = [
            EnvVar("11111111-0000-0000-0000-000000000001", "API_TOKEN", OLD, "secret"),
            EnvVar("11111111-0000-0000-0000-000000000002", "OTHER", OTHER, "secret"),
            EnvVar("11111111-0000-0000-0000-000000000003", "REGION", "eu", "string"),
        ]
        console.sync_draft(app_id, d.graph, d.features, d.hash, env)
        console.publish(app_id)
    assert _values(kit, "published") == {"API_TOKEN": OLD, "OTHER": OTHER, "REGION": "eu"}
    return kit


def _change(
    kit: Kit,
    value: str = NEW,
    *,
    probe_error: str | None = None,
    die_at: str | None = None,
    probe: bool = False,
    publish: bool = True,
    create: bool = False,
    name: str = "API_TOKEN",
) -> SecretChange:
    def hook(point: str) -> None:
        if point == die_at:
            raise Died(point)

    actx = kit.actx()
    with actx.console() as console:
        app = actx.resolve_app(console, APP)
        deps = SecretDeps(console, (lambda: probe_error) if probe or probe_error else None, hook)
        return change_secret(deps, app, name, value, publish=publish, create=create)


def test_rotate_changes_only_that_secret(secret_app: Kit) -> None:
    res = _change(secret_app, probe=True)
    assert res.status == "changed" and res.ok and res.published
    for which in ("draft", "published"):
        assert _values(secret_app, which) == {"API_TOKEN": NEW, "OTHER": OTHER, "REGION": "eu"}


def test_probe_fails_previous_value_restored_and_republished(secret_app: Kit) -> None:
    res = _change(secret_app, probe_error="app answered 400")
    assert res.status == "restored" and not res.ok and "probe failed" in (res.error or "")
    for which in ("draft", "published"):
        assert _values(secret_app, which) == {"API_TOKEN": OLD, "OTHER": OTHER, "REGION": "eu"}


def test_publish_fails_previous_value_restored(secret_app: Kit) -> None:
    secret_app.emu.faults.fail_next(
        "POST", r"/workflows/publish$", 400, {"code": "invalid_param", "message": "bad graph", "status": 400}
    )
    res = _change(secret_app)
    assert res.status == "restored" and "publishing failed" in (res.error or "")
    assert _values(secret_app, "draft")["API_TOKEN"] == OLD
    assert _values(secret_app, "published")["API_TOKEN"] == OLD


def test_sync_fails_nothing_changes(secret_app: Kit) -> None:
    secret_app.emu.faults.fail_next("POST", r"/workflows/draft$", 500)
    res = _change(secret_app)
    assert res.status == "restored" and "sync failed" in (res.error or "")
    assert (
        _values(secret_app, "draft")["API_TOKEN"] == OLD
        and _values(secret_app, "published")["API_TOKEN"] == OLD
    )


def test_conflict_is_retried_once(secret_app: Kit) -> None:
    secret_app.emu.faults.fail_next(
        "POST", r"/workflows/draft$", 409, {"code": "draft_workflow_not_sync", "message": "x", "status": 409}
    )
    res = _change(secret_app)
    assert res.status == "changed" and any("409" in s["step"] for s in res.steps)
    assert _values(secret_app, "published")["API_TOKEN"] == NEW


def test_two_conflicts_give_up_and_keep_the_old_value(secret_app: Kit) -> None:
    body = {"code": "draft_workflow_not_sync", "message": "x", "status": 409}
    secret_app.emu.faults.fail_next("POST", r"/workflows/draft$", 409, body, times=2)
    res = _change(secret_app)
    assert not res.ok and _values(secret_app, "published")["API_TOKEN"] == OLD
    assert _values(secret_app, "draft")["API_TOKEN"] == OLD


def test_restore_that_fails_is_reported_loudly(secret_app: Kit) -> None:
    secret_app.emu.faults.fail_next("POST", r"/workflows/publish$", 500, times=5)
    res = _change(secret_app)
    assert res.status == "restore-failed" and "RESTORING THE PREVIOUS VALUE FAILED" in (res.error or "")
    assert "secrets set" in (res.hint or "")
    assert _values(secret_app, "published")["API_TOKEN"] == OLD  # production never saw the new value


def test_dies_after_sync_leaves_production_on_the_old_value(secret_app: Kit) -> None:
    with pytest.raises(Died):
        _change(secret_app, die_at="after_sync")
    assert _values(secret_app, "published")["API_TOKEN"] == OLD
    assert _values(secret_app, "draft")["API_TOKEN"] == NEW  # rerun the same command to finish


def test_unpublished_draft_changes_are_refused(secret_app: Kit) -> None:
    actx = secret_app.actx()
    with actx.console() as console:
        d = console.get_draft(secret_app.app_id(APP))
        graph = {**d.graph, "viewport": {"x": 1, "y": 2, "zoom": 1}}
        console.sync_draft(
            secret_app.app_id(APP),
            graph,
            {**d.features, "x": 1},
            d.hash,
            [
                EnvVar(v.id, v.name, "[__HIDDEN__]" if v.is_secret else v.value, v.value_type)
                for v in d.environment_variables
            ],
        )
    res = _change(secret_app)
    assert res.status == "failed" and "unpublished changes" in (res.error or "")
    assert _values(secret_app, "published")["API_TOKEN"] == OLD
    assert _change(secret_app, publish=False).status == "synced"


def test_set_creates_and_rotate_refuses_unknown_or_plain(secret_app: Kit) -> None:
    assert _change(secret_app, name="NEW_ONE", create=True).status == "changed"
    assert _values(secret_app, "published")["NEW_ONE"] == NEW
    assert "no variable" in (_change(secret_app, name="MISSING").error or "")
    assert "not a secret" in (_change(secret_app, name="REGION").error or "")
