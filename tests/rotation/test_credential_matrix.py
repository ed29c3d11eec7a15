"""The fault matrix of `credentials rotate` (Dify's multi-credential flow) against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from difyctl.commands._secretops import app_probe
from difyctl.rotation.provider_creds import CredentialDeps, CredentialRotation, rotate_credential

from .conftest import Kit

PROVIDER = "langgenius/openai/openai"
NEW = "sk-rotated-value-4242"


def _creds(kit: Kit) -> tuple[str | None, dict[str, dict[str, Any]]]:
    state = kit.emu.state
    with state.lock:
        active = state.active_credential(PROVIDER)
        return (active.id if active else None), {
            c.id: dict(c.credentials) for c in state.credentials_of(PROVIDER)
        }


def _rotate(kit: Kit, value: str = NEW, *, hook: Any = None, probe: bool = True) -> CredentialRotation:
    actx = kit.actx()
    fn = app_probe(actx, actx.service_target("echo-completion"), ["ping"]) if probe else None
    with actx.console() as console:
        deps = CredentialDeps(console, kit.now, fn)
        if hook is not None:
            deps.hook = hook
        return rotate_credential(deps, "openai", value, None)


def _unchanged(kit: Kit, before: tuple[str | None, dict[str, dict[str, Any]]]) -> None:
    assert _creds(kit) == before


def test_rotation_switches_and_deletes_the_old(kit: Kit) -> None:
    old_active, _ = _creds(kit)
    res = _rotate(kit)
    assert res.status == "rotated" and res.ok and res.secret_field == "openai_api_key"
    active, creds = _creds(kit)
    assert active is not None and active == res.new_credential_id and old_active not in creds
    assert creds[active] == {"openai_api_key": NEW}


def test_add_refused_by_dify_changes_nothing(kit: Kit) -> None:
    before = _creds(kit)
    res = _rotate(kit, "sk-invalid-key")
    assert res.status == "failed" and "refused" in (res.error or "")
    _unchanged(kit, before)


def test_switch_fails_new_deleted_old_active(kit: Kit) -> None:
    before = _creds(kit)
    kit.emu.faults.fail_next("POST", r"/credentials/switch$", 500)
    res = _rotate(kit)
    assert res.status == "reverted" and "switch" in (res.error or "")
    _unchanged(kit, before)


def test_probe_fails_switch_back_and_delete_new(kit: Kit) -> None:
    before = _creds(kit)
    kit.emu.faults.fail_next(
        "POST",
        r"/v1/completion-messages$",
        400,
        {"code": "provider_not_initialize", "message": "x", "status": 400},
    )
    res = _rotate(kit)
    assert res.status == "reverted" and not res.ok
    _unchanged(kit, before)


def test_delete_old_fails_new_stays_active(kit: Kit) -> None:
    old_active, _ = _creds(kit)
    kit.emu.faults.fail_next("DELETE", r"/credentials$", 500)
    res = _rotate(kit)
    assert res.status == "failed" and "deleting the old one failed" in (res.error or "")
    active, creds = _creds(kit)
    assert active == res.new_credential_id and old_active in creds


def test_revert_that_fails_is_reported_loudly(kit: Kit) -> None:
    before = _creds(kit)

    def hook(point: str) -> None:
        if point == "after_switch":
            kit.emu.faults.fail_next("POST", r"/v1/completion-messages$", 500, times=5)
            kit.emu.faults.fail_next("POST", r"/credentials/switch$", 500)

    res = _rotate(kit, hook=hook)
    assert res.status == "revert-failed" and "REVERTING FAILED" in (res.error or "")
    assert before[0] is not None and before[0] in (res.hint or "")


def test_unknown_provider(kit: Kit) -> None:
    actx = kit.actx()
    with actx.console() as console:
        out = rotate_credential(CredentialDeps(console, kit.now), "nope", NEW, None)
    assert out.exit_code == 2 and "no model provider" in (out.error or "")


@pytest.fixture(autouse=True)
def _reset(kit: Kit) -> Any:
    yield
    kit.emu.faults.reset()
