"""Unit tests of the parts: journal, lock, sinks."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from difyctl.errors import UsageError
from difyctl.rotation.journal import Journal, JournalStore
from difyctl.rotation.lock import LockedError, RotationLock
from difyctl.rotation.sinks import DotenvSink, ExecSink, SinkError, parse_sink, replace_var

S = "https://dify.example.com"


def test_journal_round_trip_is_private_and_atomic(tmp_path: Path) -> None:
    store = JournalStore(tmp_path / "rotation")
    j = Journal("app-1", "echo", "default", server=S)
    j.sinks = ["dotenv:/srv/.env:K", "exec:sh -c 'x'"]
    store.transition(j, "created", 1.0, "made")
    loaded = store.load(S, "app-1")
    assert loaded is not None and loaded.phase == "created" and loaded.active
    assert loaded.sinks == j.sinks
    assert loaded.history == [{"phase": "created", "at": 1.0, "note": "made"}]
    assert stat.S_IMODE(os.stat(store.path(S, "app-1")).st_mode) == 0o600
    assert [p.name for p in (tmp_path / "rotation").iterdir()] == [store.path(S, "app-1").name]  # no temp
    assert store.load(S, "other") is None
    store.path(S, "bad").write_text("{not json")
    with pytest.raises(Exception, match="unreadable"):
        store.load(S, "bad")


def test_journal_and_lock_are_keyed_by_server_and_app_not_profile(tmp_path: Path) -> None:
    store = JournalStore(tmp_path)
    same = ["https://Dify.example.com/", "https://dify.example.com:443", S]
    assert {store.path(u, "app-1") for u in same} == {store.path(S, "app-1")}
    assert store.lock_path(S, "app-1") == store.path(S, "app-1").with_suffix(".lock")
    assert store.path("http://dify.example.com", "app-1") != store.path(S, "app-1")
    assert store.path("https://dify.example.com:8443", "app-1") != store.path(S, "app-1")
    assert store.path(S, "app-2") != store.path(S, "app-1")
    # a journal of the per-profile layout is still found (an unfinished rotation resumes), then moved
    legacy = store.legacy_path("prod", "app-1")
    legacy.write_text('{"app_id": "app-1", "app_name": "echo", "profile": "prod", "phase": "promoted"}')
    found = store.load(S, "app-1", legacy_profile="prod")
    assert found is not None and found.phase == "promoted" and found.server == S
    store.save(found)
    assert not legacy.exists() and store.load(S, "app-1") is not None


def test_lock_is_exclusive_and_stale_locks_are_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with RotationLock(path, "app x"):
        assert path.exists()
        with pytest.raises(LockedError, match="app x is locked"):
            RotationLock(path, "app x").acquire()
    assert not path.exists()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    path.write_text(f'{{"pid": {int(dead.stdout)}, "host": ""}}')
    with RotationLock(path, "app x") as lock:
        assert lock.held
    assert not path.exists()


def test_replace_var_keeps_other_lines() -> None:
    text = "# c\nA=1\nexport KEY=old\r\nB=2"
    assert replace_var(text, "KEY", "new") == "# c\nA=1\nexport KEY=new\r\nB=2"
    assert replace_var("A=1", "KEY", "v") == "A=1\nKEY=v\n"
    assert replace_var("", "KEY", "v") == "KEY=v\n"
    assert replace_var("KEYX=1\n", "KEY", "v") == "KEYX=1\nKEY=v\n"


def test_dotenv_sink_is_0600(tmp_path: Path) -> None:
    path = tmp_path / "a.env"
    path.write_text("A=1\n")
    os.chmod(path, 0o644)
    DotenvSink(path, "K").deliver("app-secret", {})
    assert path.read_text() == "A=1\nK=app-secret\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_exec_sink_gets_the_key_in_its_environment_only(tmp_path: Path) -> None:
    out = tmp_path / "seen"
    code = (
        f"import os,sys; open({str(out)!r},'w').write(os.environ['DIFY_NEW_API_KEY']+' '+' '.join(sys.argv))"
    )
    ExecSink(f'{sys.executable} -c "{code}"').deliver("app-canary123456", {"DIFY_APP_ID": "x"})
    assert out.read_text().startswith("app-canary123456 -c")
    leak = ExecSink(
        f"{sys.executable} -c "
        "\"import os,sys; print(os.environ['DIFY_NEW_API_KEY'], file=sys.stderr); sys.exit(2)\""
    )
    with pytest.raises(SinkError) as info:
        leak.deliver("app-canary123456", {})
    assert "app-canary123456" not in info.value.message and "exited 2" in info.value.message
    with pytest.raises(SinkError, match="failed"):
        ExecSink("/nonexistent/cmd").deliver("k", {})


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("dotenv:.env:DIFY_API_KEY", "dotenv:.env:DIFY_API_KEY"),
        ("dotenv:C:/x/.env:K", "dotenv:C:/x/.env:K"),
        ("exec:echo hi", "exec:echo hi"),
    ],
)
def test_parse_sink(spec: str, name: str) -> None:
    assert parse_sink(spec).name == name


@pytest.mark.parametrize("spec", ["dotenv:.env", "dotenv::K", "dotenv:.env:1BAD", "exec:", "s3:bucket"])
def test_parse_sink_rejects(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_sink(spec)
