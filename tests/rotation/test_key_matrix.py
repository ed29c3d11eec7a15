"""The fault matrix of key rotation: a failure injected at every step, then --resume / the revert.
After each row: a working key is stored (and delivered), the server holds at most start + 1 keys
and, once the run completes, the starting number; the journal says what happened."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from difyctl.rotation.sinks import DotenvSink, ExecSink

from .conftest import Died, Kit, dotenv_value

APP = "echo-chat"


def _done(kit: Kit, start: int, old: str, dotenv: Path | None = None) -> None:
    """The run completed: back to the starting number of keys, the old key dead, the new one stored."""
    tokens = kit.tokens(APP)
    assert len(tokens) == start
    assert old not in tokens and not kit.works(old)
    new = kit.stored(APP)
    assert new in tokens and kit.works(new)
    if dotenv is not None:
        assert dotenv_value(dotenv) == new
    assert kit.journal(APP)["phase"] == "finished"


def test_happy_path_checks_the_invariants_at_every_step(kit: Kit, tmp_path: Path) -> None:
    start, old = len(kit.tokens(APP)), kit.stored(APP)
    env = tmp_path / "app.env"
    env.write_text(f"# keep me\nOTHER=1\nDIFY_API_KEY={old}\n")
    check = kit.invariants(APP, start, env)
    res = kit.rotate(APP, check=check, probes=("hello",), sinks=(DotenvSink(env, "DIFY_API_KEY"),))
    assert res.status == "finished" and res.ok, res
    assert {c["check"] for c in res.checks} >= {
        "new key /v1/info",
        "new key probe 'hello'",
        "old key gets 401",
    }
    assert old
    _done(kit, start, old, env)
    assert env.read_text().startswith("# keep me\nOTHER=1\nDIFY_API_KEY=app-")
    assert stat.S_IMODE(os.stat(env).st_mode) == 0o644  # the file's own mode is kept
    assert stat.S_IMODE(os.stat(kit.journal_path(APP)).st_mode) == 0o600
    phases = [h["phase"] for h in kit.journal(APP)["history"]]
    assert phases == ["creating", "created", "tested", "promoting", "promoted", "finishing", "finished"]


def test_create_fails(kit: Kit) -> None:
    start, old = len(kit.tokens(APP)), kit.stored(APP)
    kit.emu.faults.fail_next("POST", r"/api-keys$", 500)
    res = kit.rotate(APP)
    assert res.status == "failed" and "creating the new key failed" in (res.error or "")
    assert kit.tokens(APP) == [old] and len(kit.tokens(APP)) == start and kit.works(kit.stored(APP))
    assert kit.journal(APP)["phase"] == "failed"


@pytest.mark.parametrize("probe", [False, True])
def test_test_of_the_new_key_fails_and_it_is_deleted(kit: Kit, probe: bool) -> None:
    start, old = len(kit.tokens(APP)), kit.stored(APP)
    if probe:
        kit.emu.faults.fail_next(
            "POST", r"/v1/chat-messages$", 400, {"code": "invalid_param", "message": "x", "status": 400}
        )
    else:
        kit.emu.faults.fail_next(
            "GET", r"/v1/info$", 401, {"code": "unauthorized", "message": "no", "status": 401}
        )
    res = kit.rotate(APP, probes=("hello",))
    assert res.status == "reverted" and res.phase == "reverted" and res.exit_code == 1
    assert kit.tokens(APP) == [old] and len(kit.tokens(APP)) == start and kit.stored(APP) == old
    assert kit.journal(APP)["phase"] == "reverted"


def _flaky_sinks(
    tmp_path: Path, py: str, which: str
) -> tuple[DotenvSink, ExecSink, Path, Callable[[], None]]:
    """A dotenv and an exec sink, one of which fails until `fix()` is called."""
    env, marker, flag = tmp_path / "app.env", tmp_path / "exec-ok", tmp_path / "exec-may-run"
    blocker = tmp_path / "dir"
    script = (
        f"import os,sys,pathlib; p=pathlib.Path({str(flag)!r}); "
        f"sys.exit(print('boom', file=sys.stderr) or 3) if not p.exists() else "
        f"pathlib.Path({str(marker)!r}).write_text(os.environ['DIFY_NEW_API_KEY'][:4])"
    )
    exec_sink = ExecSink(f'{py} -c "{script}"')
    if which == "dotenv":
        blocker.write_text("")  # a file where the sink needs a folder: the write fails
        flag.write_text("")
        dotenv = DotenvSink(blocker / "app.env", "DIFY_API_KEY")

        def fix() -> None:
            blocker.unlink()
            blocker.mkdir()
    else:
        blocker.mkdir()
        dotenv = DotenvSink(blocker / "app.env", "DIFY_API_KEY")

        def fix() -> None:
            flag.write_text("")

    del env
    return dotenv, exec_sink, marker, fix


@pytest.mark.parametrize("which", ["dotenv", "exec"])
def test_a_failing_sink_keeps_both_keys_and_resume_without_sink_redelivers(
    kit: Kit, tmp_path: Path, py: str, which: str
) -> None:
    start, old = len(kit.tokens(APP)), kit.stored(APP)
    assert old
    dotenv, exec_sink, marker, fix = _flaky_sinks(tmp_path, py, which)
    sinks = (dotenv, exec_sink)
    check = kit.invariants(APP, start, dotenv.path)
    res = kit.rotate(APP, check=check, sinks=sinks)
    assert res.status == "failed" and res.phase == "promoting"
    assert ("exited 3: boom" if which == "exec" else "failed: Not a directory") in (res.error or "")
    assert res.new_key and res.new_key.startswith("app-")  # never an empty new_key
    journal = kit.journal(APP)
    assert journal["phase"] == "promoting" and journal["error"]
    assert journal["sinks"] == [dotenv.name, exec_sink.name]
    # both keys work, the new one is stored, the old one is NOT revoked
    assert len(kit.tokens(APP)) == start + 1 and kit.works(old) and kit.works(kit.stored(APP))
    assert kit.stored(APP) != old
    again = kit.rotate(APP, check=check, resume=True)  # not fixed yet: fails again, both keys still work
    assert again.status == "failed" and again.phase == "promoting"
    assert len(kit.tokens(APP)) == start + 1 and kit.works(old) and kit.works(kit.stored(APP))
    fix()
    res = kit.rotate(APP, check=check, resume=True)  # no --sink: the journal names them
    assert res.status == "finished", res
    assert res.delivered == ["keyring", dotenv.name, exec_sink.name]
    _done(kit, start, old, dotenv.path)
    assert marker.read_text() == "app-"


def test_resume_with_a_different_sink_is_refused_unless_replace_sinks(kit: Kit, tmp_path: Path) -> None:
    start, old = len(kit.tokens(APP)), kit.stored(APP)
    assert old
    first, other = DotenvSink(tmp_path / "a.env", "K"), DotenvSink(tmp_path / "b.env", "K")
    with pytest.raises(Died):
        kit.rotate(APP, die_at="after_test", sinks=(first,))
    res = kit.rotate(APP, resume=True, sinks=(other,))
    assert (
        res.exit_code == 2
        and "differs from the sinks" in (res.error or "")
        and first.name in (res.error or "")
    )
    assert len(kit.tokens(APP)) == start + 1 and kit.works(old) and not other.path.exists()
    res = kit.rotate(APP, resume=True, sinks=(other,), replace_sinks=True)
    assert res.status == "finished" and res.delivered == ["keyring", other.name]
    assert dotenv_value(other.path, "K") == kit.stored(APP) and not first.path.exists()
    assert kit.journal(APP)["sinks"] == [other.name]


def _die_between_two_sinks(kit: Kit, tmp_path: Path) -> tuple[int, str, DotenvSink, DotenvSink]:
    start, old = len(kit.tokens(APP)), kit.stored(APP)
    assert old
    a, b = DotenvSink(tmp_path / "a.env", "K"), DotenvSink(tmp_path / "b.env", "K")
    with pytest.raises(Died):
        kit.rotate(APP, die_at=f"before_sink:{b.name}", sinks=(a, b))
    return start, old, a, b


def _as_written_before_sinks_were_journaled(kit: Kit) -> None:
    import json

    path = kit.journal_path(APP)
    legacy = json.loads(path.read_text())
    del legacy["sinks"]
    path.write_text(json.dumps(legacy))


def test_dying_between_two_sinks_resumes_into_the_second(kit: Kit, tmp_path: Path) -> None:
    start, old, a, b = _die_between_two_sinks(kit, tmp_path)
    journal = kit.journal(APP)
    assert journal["phase"] == "promoting" and journal["delivered"] == ["keyring", a.name]
    assert kit.works(old) and not b.path.exists()
    res = kit.rotate(APP, resume=True)
    assert res.status == "finished" and dotenv_value(b.path, "K") == dotenv_value(a.path, "K") == kit.stored(
        APP
    )
    assert not kit.works(old) and len(kit.tokens(APP)) == start


@pytest.mark.parametrize(
    ("point", "phase"),
    [
        ("after_create", "created"),
        ("after_test", "tested"),
        ("after_promote", "promoted"),
        ("before_revoke", "finishing"),
        ("during_finish", "finishing"),
    ],
)
def test_process_dies_then_resume_completes(kit: Kit, tmp_path: Path, point: str, phase: str) -> None:
    start, old = len(kit.tokens(APP)), kit.stored(APP)
    assert old
    env = tmp_path / "app.env"
    sinks = (DotenvSink(env, "DIFY_API_KEY"),)
    check = kit.invariants(APP, start, env)
    with pytest.raises(Died):
        kit.rotate(APP, die_at=point, check=check, sinks=sinks)
    assert kit.journal(APP)["phase"] == phase
    check("after the death")
    assert kit.works(old) == (point != "during_finish")
    blocked = kit.rotate(APP, sinks=sinks)  # without --resume: refuses, changes nothing
    assert blocked.status == "failed" and "--resume" in (blocked.hint or "")
    res = kit.rotate(APP, check=check, sinks=sinks, resume=True)
    assert res.status == "finished", res
    _done(kit, start, old, env)
    again = kit.rotate(APP, resume=True)
    assert again.status == "nothing-to-do" and again.ok


def test_revoke_fails_then_finish_retries(kit: Kit) -> None:
    start, old = len(kit.tokens(APP)), kit.stored(APP)
    assert old
    kit.emu.faults.fail_next("DELETE", r"/api-keys/", 500)
    res = kit.rotate(APP)
    assert res.status == "failed" and "revoking the old key failed" in (res.error or "")
    assert kit.journal(APP)["phase"] == "finishing"
    assert len(kit.tokens(APP)) == start + 1 and kit.works(old) and kit.works(kit.stored(APP))
    res = kit.rotate(APP, finish=True)
    assert res.status == "finished"
    _done(kit, start, old)


def test_old_key_still_works_after_revoke_is_caught(kit: Kit) -> None:
    start, old = len(kit.tokens(APP)), kit.stored(APP)
    assert old
    kit.emu.faults.fail_next("DELETE", r"/api-keys/", 204, b"")  # acknowledged, but nothing deleted
    res = kit.rotate(APP)
    assert res.status == "failed" and "still works" in (res.error or "")
    assert {"check": "old key gets 401", "ok": False} in res.checks
    journal = kit.journal(APP)
    assert journal["phase"] == "finishing" and "still works" in journal["error"]
    assert kit.works(kit.stored(APP)) and len(kit.tokens(APP)) == start + 1
    assert kit.rotate(APP, finish=True).status == "finished"
    _done(kit, start, old)


def test_grace_defers_the_finish_with_an_injected_clock(kit: Kit) -> None:
    start, old = len(kit.tokens(APP)), kit.stored(APP)
    assert old
    res = kit.rotate(APP, grace_s=3600)
    assert res.status == "promoted" and res.ok and res.grace_until
    assert len(kit.tokens(APP)) == start + 1 and kit.works(old)
    kit.clock.append(1800.0)
    waiting = kit.rotate(APP, finish=True)
    assert waiting.status == "waiting" and not waiting.ok and "--force" in (waiting.hint or "")
    assert kit.rotate(APP, resume=True).status == "promoted"  # resume never skips the grace
    kit.clock[0] = 3601.0
    assert kit.rotate(APP, finish=True).status == "finished"
    _done(kit, start, old)


def test_editor_is_stopped_before_anything_is_created(kit: Kit) -> None:
    kit.cli(
        "login",
        "--base-url",
        kit.emu.base_url,
        "--email",
        "editor@example.com",
        "--password-stdin",
        stdin="EditorPass123\n",
    )
    start = len(kit.tokens(APP))
    res = kit.rotate(APP)
    assert res.status == "failed" and res.exit_code == 4 and "'editor'" in (res.error or "")
    assert len(kit.tokens(APP)) == start


def test_the_role_check_is_never_skipped(kit: Kit) -> None:
    """A server that does not answer the role stops the rotation before anything is created."""
    start, old = kit.tokens(APP), kit.stored(APP)
    kit.emu.faults.fail_next(
        "POST", r"/workspaces/current$", 404, {"code": "not_found", "message": "x", "status": 404}
    )
    res = kit.rotate(APP)
    assert res.status == "failed" and "could not read your role" in (res.error or "")
    assert kit.tokens(APP) == start and kit.stored(APP) == old and res.new_key_id is None


def test_a_403_on_revoke_keeps_both_keys_and_names_the_revoke(kit: Kit) -> None:
    start, old = len(kit.tokens(APP)), kit.stored(APP)
    kit.emu.faults.fail_next("DELETE", r"/api-keys/[^/]+$", 403, {"code": "forbidden", "message": "x"})
    res = kit.rotate(APP)
    assert res.exit_code == 4 and "403" in (res.error or "") and "keys revoke" in (res.hint or "")
    assert len(kit.tokens(APP)) == start + 1 and kit.works(old) and kit.works(kit.stored(APP))
    assert kit.journal(APP)["phase"] == "finishing"


def test_ten_key_limit_and_prune_unused(kit: Kit) -> None:
    old = kit.stored(APP)
    actx = kit.actx()
    with actx.console() as console:
        for _ in range(9):
            console.create_api_key(kit.app_id(APP))
    assert len(kit.tokens(APP)) == 10
    res = kit.rotate(APP)
    assert res.status == "failed" and "10 keys" in (res.error or "") and "--prune-unused" in (res.hint or "")
    assert len(kit.tokens(APP)) == 10
    assert kit.rotate(APP, prune_unused_days=30).status == "failed"  # none unused for 30 days yet
    kit.clock.append(31 * 86400.0)
    res = kit.rotate(APP, prune_unused_days=30)
    assert res.status == "finished" and len(res.pruned) == 9
    assert kit.tokens(APP) == [kit.stored(APP)] and old not in kit.tokens(APP)


def test_dry_run_changes_nothing(kit: Kit) -> None:
    before = kit.tokens(APP)
    res = kit.rotate(APP, dry_run=True)
    assert res.status == "planned" and res.delivered == ["keyring"]
    assert kit.tokens(APP) == before and not kit.journal_path(APP).exists()


# Every (method, route) a rotation sends, with the recording or Dify source line that says the real
# server serves it (dify-1.16.0 fixtures; the routes are the same in 1.13.2 except where noted).
SERVED = {
    # 010; api/controllers/console/workspace/workspace.py TenantApi.post (GET only before 1.10.1, #27858)
    ("POST", "/console/api/workspaces/current"),
    ("GET", "/console/api/apps"),  # 011
    ("GET", "/console/api/apps/{id}"),  # 014
    ("GET", "/console/api/apps/{id}/api-keys"),  # 031; api/controllers/console/apikey.py
    ("POST", "/console/api/apps/{id}/api-keys"),  # 032
    ("DELETE", "/console/api/apps/{id}/api-keys/{id}"),  # 034
    ("GET", "/v1/info"),  # 033
    ("POST", "/v1/chat-messages"),  # 043 (a --probe on a chat app)
}


def test_every_request_of_a_rotation_uses_a_method_the_real_server_serves(
    kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    import httpx

    seen: list[tuple[str, str, int]] = []

    class Recording(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            path = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", request.url.path)
            seen.append((request.method, path, response.status_code))
            return response

    real_actx = kit.actx

    def actx() -> object:
        ctx = real_actx()
        ctx.transport = Recording()
        return ctx

    monkeypatch.setattr(kit, "actx", actx)
    env = tmp_path / "app.env"
    kit.rotate(APP, dry_run=True)
    assert kit.rotate(APP, grace_s=60, probes=("hi",), sinks=(DotenvSink(env, "K"),)).status == "promoted"
    kit.clock.append(61.0)
    assert kit.rotate(APP, finish=True).status == "finished"
    assert not [s for s in seen if s[2] == 405], seen
    sent = {(m, p) for m, p, _ in seen}
    assert sent <= SERVED, sent - SERVED
    assert sent >= {
        ("POST", "/console/api/workspaces/current"),
        ("DELETE", "/console/api/apps/{id}/api-keys/{id}"),
    }


@pytest.mark.parametrize("reached_server", [True, False])
def test_dying_during_the_create_then_resume(
    kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reached_server: bool
) -> None:
    """The journal says `creating` before the POST: a resume adopts the key that POST made (no stray
    key is left), or starts over when it never reached the server."""
    from difyctl.client.console import ConsoleClient

    start, old = len(kit.tokens(APP)), kit.stored(APP)
    real = ConsoleClient.create_api_key

    def dies(self: ConsoleClient, app_id: str) -> object:
        if reached_server:
            real(self, app_id)
        raise Died("create")

    env = tmp_path / "a.env"
    with monkeypatch.context() as mp:
        mp.setattr(ConsoleClient, "create_api_key", dies)
        with pytest.raises(Died):
            kit.rotate(APP, sinks=(DotenvSink(env, "K"),))
    assert kit.journal(APP)["phase"] == "creating" and kit.works(old)
    assert len(kit.tokens(APP)) == start + (1 if reached_server else 0)
    made = [t for t in kit.tokens(APP) if t != old]
    res = kit.rotate(APP, resume=True)  # the sink comes from the journal
    assert res.status == "finished", res
    assert kit.tokens(APP) == (made if reached_server else kit.tokens(APP)) and len(kit.tokens(APP)) == start
    assert dotenv_value(env, "K") == kit.stored(APP) and kit.works(kit.stored(APP)) and not kit.works(old)


def test_a_journal_without_sink_specs_is_not_resumed_into_a_revoke_without_them(
    kit: Kit, tmp_path: Path
) -> None:
    """A journal written before the sinks were recorded (an older difyctl, the upgrade right after the
    failure the issue reports) does not know its sinks: `--resume --yes` without --sink (the CronJob
    recipe) must not revoke the old key while a sink may still hold it."""
    start, old, a, b = _die_between_two_sinks(kit, tmp_path)
    _as_written_before_sinks_were_journaled(kit)
    res = kit.rotate(APP, resume=True)
    assert res.exit_code == 2 and "--sink" in (res.error or ""), res
    assert kit.works(old) and len(kit.tokens(APP)) == start + 1 and not b.path.exists()
    res = kit.rotate(APP, resume=True, sinks=(a, b))
    assert res.status == "finished", res
    assert dotenv_value(b.path, "K") == kit.stored(APP) and not kit.works(old)


def test_replace_sinks_alone_resumes_a_journal_without_sink_specs_into_no_sink(kit: Kit) -> None:
    """The way out when the unrecorded rotation had no sinks: an explicit --replace-sinks."""
    old = kit.stored(APP)
    with pytest.raises(Died):
        kit.rotate(APP, die_at="after_test")
    _as_written_before_sinks_were_journaled(kit)
    res = kit.rotate(APP, resume=True, replace_sinks=True)
    assert res.status == "finished" and res.delivered == ["keyring"], res
    assert old and not kit.works(old)


def test_replace_sinks_on_a_promoted_rotation_delivers_before_the_revoke(kit: Kit, tmp_path: Path) -> None:
    """--replace-sinks names where the new key must be now: a rotation already promoted (the grace, or
    a death after the promote) must deliver there before it revokes the old key."""
    old = kit.stored(APP)
    first, moved = DotenvSink(tmp_path / "a.env", "K"), DotenvSink(tmp_path / "b.env", "K")
    with pytest.raises(Died):
        kit.rotate(APP, die_at="after_promote", sinks=(first,))
    assert kit.journal(APP)["phase"] == "promoted"
    res = kit.rotate(APP, resume=True, sinks=(moved,), replace_sinks=True)
    assert res.status == "finished", res
    assert moved.path.exists() and dotenv_value(moved.path, "K") == kit.stored(APP)
    assert res.delivered == ["keyring", moved.name]
    assert old and not kit.works(old)


def test_a_create_cut_by_the_deadline_whose_cleanup_is_cut_too_says_resume(
    kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`keys rotate --timeout 2` against a server that stopped answering after it made the key: the
    cleanup cannot list the keys either. The journal stays `creating` (a resume adopts the key), and
    the failure says so: it said only 'raise --timeout', and a plain re-run refuses the unfinished
    rotation while the stray key is never delivered nor revoked."""
    from difyctl.client.console import ConsoleClient
    from difyctl.client.errors import DifyTimeoutError

    start, old = len(kit.tokens(APP)), kit.stored(APP)
    real_create, real_list = ConsoleClient.create_api_key, ConsoleClient.list_api_keys
    silent: list[bool] = []

    def no_answer() -> DifyTimeoutError:
        return DifyTimeoutError("no answer from the server in 2 s", hint="raise --timeout if it is only slow")

    def create(self: ConsoleClient, app_id: str) -> object:
        real_create(self, app_id)
        silent.append(True)
        raise no_answer()

    def listing(self: ConsoleClient, app_id: str) -> object:
        if silent:
            raise no_answer()
        return real_list(self, app_id)

    env = tmp_path / "a.env"
    with monkeypatch.context() as mp:
        mp.setattr(ConsoleClient, "create_api_key", create)
        mp.setattr(ConsoleClient, "list_api_keys", listing)
        res = kit.rotate(APP, sinks=(DotenvSink(env, "K"),))
    assert res.status == "failed" and res.exit_code == 5
    assert "no answer from the server in 2 s" in (res.error or "")
    assert f"difyctl keys rotate {APP} --resume --yes" in (res.hint or "")
    assert (res.hint or "").startswith("the old key works and is in use") and res.phase == "creating"
    assert kit.journal(APP)["phase"] == "creating" and kit.works(old)
    assert len(kit.tokens(APP)) == start + 1
    again = kit.rotate(APP, resume=True)
    assert again.status == "finished", again
    assert len(kit.tokens(APP)) == start and dotenv_value(env, "K") == kit.stored(APP) != old
