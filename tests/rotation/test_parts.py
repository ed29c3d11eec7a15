"""Unit tests of the parts: journal, lock, sinks."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from difyctl.errors import DifyctlError, UsageError
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
    store.path(S, "deep").write_text("[" * 100_000 + "]" * 100_000)  # deeper than json parses
    with pytest.raises(DifyctlError, match="unreadable"):
        store.load(S, "deep")


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
    assert found.sinks is None  # unknown: a resume takes the --sink it is given
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


def test_a_lock_left_by_a_killed_process_on_another_host_is_taken_over(tmp_path: Path) -> None:
    """The CronJob recipe keeps the config dir on a volume and every Job runs in a new pod (another
    hostname): a lock left by kill -9 (OOM, the SIGKILL after the grace period) must not block every
    later Job. A running holder, wherever it runs, still locks it out."""
    path = tmp_path / "x.lock"
    path.write_text('{"pid": 7, "host": "difyctl-rotate-keys-28912-abcde"}')  # nobody holds it
    with RotationLock(path, "app x") as lock:
        assert lock.held
        theirs = path.read_text().replace(socket.gethostname(), "another-pod")
        path.write_text(theirs)  # a live holder on another host (same file, still held)
        with pytest.raises(LockedError, match="app x is locked"):
            RotationLock(path, "app x").acquire()
    assert not path.exists()


def test_a_lock_file_that_cannot_be_opened_is_never_called_stale(tmp_path: Path) -> None:
    assert RotationLock(tmp_path / "gone.lock", "app x")._unheld()  # nothing left to take over
    assert not RotationLock(tmp_path / ("x" * 300), "app x")._unheld()  # ENAMETOOLONG: unknown, not stale


def test_replace_var_keeps_other_lines() -> None:
    text = "# c\nA=1\nexport KEY=old\r\nB=2"
    assert replace_var(text, "KEY", "new") == "# c\nA=1\nexport KEY=new\r\nB=2"
    assert replace_var("A=1", "KEY", "v") == "A=1\nKEY=v"  # no final newline before: none after
    assert replace_var("A=1\n", "KEY", "v") == "A=1\nKEY=v\n"
    assert replace_var("A=1\r\n", "KEY", "v") == "A=1\r\nKEY=v\r\n"  # the file's own line ends
    assert replace_var("", "KEY", "v") == "KEY=v\n"
    assert replace_var("KEYX=1\n", "KEY", "v") == "KEYX=1\nKEY=v\n"
    assert replace_var("# KEY=old\n#KEY=x\n", "KEY", "v") == "# KEY=old\n#KEY=x\nKEY=v\n"  # comments stay
    quoted = "KEY=\"old\"  # rotated by difyctl\nB='x'\nC=1 # c\n"
    assert replace_var(quoted, "KEY", "v") == "KEY=\"v\"  # rotated by difyctl\nB='x'\nC=1 # c\n"
    assert replace_var("KEY='old'\n", "KEY", "v") == "KEY='v'\n"
    assert replace_var("KEY = old # c\n", "KEY", "v") == "KEY = v # c\n"


def test_replace_var_sees_the_first_line_behind_a_byte_order_mark() -> None:
    """A dotenv saved by a Windows editor starts with a BOM: its first line is still the variable (else
    the old, soon revoked key stays there and a second line is appended)."""
    assert replace_var("\ufeffKEY=old\r\nB=2", "KEY", "v") == "\ufeffKEY=v\r\nB=2"
    assert replace_var("\ufeffexport KEY='old'\n", "KEY", "v") == "\ufeffexport KEY='v'\n"


def test_dotenv_sink_creates_a_new_file_0600(tmp_path: Path) -> None:
    path = tmp_path / "a.env"
    DotenvSink(path, "K").deliver("app-secret", {})
    assert path.read_text() == "K=app-secret\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_dotenv_sink_keeps_every_other_byte(tmp_path: Path) -> None:
    tmp_path = tmp_path / "d"
    tmp_path.mkdir()
    path = tmp_path / "a.env"
    before = b'# the app\'s settings\r\nA=1\r\n# K=not-this-one\r\nK="old"\r\n\xffRAW=\xfe\r\nZ=last'
    path.write_bytes(before)
    DotenvSink(path, "K").deliver("app-new", {})
    assert path.read_bytes() == before.replace(b'K="old"', b'K="app-new"')
    assert [p.name for p in tmp_path.iterdir()] == ["a.env"]  # atomic: no temp file left


def _other_group() -> int | None:
    mine = os.getegid()
    if os.geteuid() == 0:
        return next((g for g in (1, 2, 4, 100) if g != mine), None)
    return next((g for g in os.getgroups() if g != mine), None)


def test_dotenv_sink_keeps_mode_owner_and_group(tmp_path: Path) -> None:
    gid = _other_group()
    if gid is None:
        pytest.skip("this user belongs to a single group")
    path = tmp_path / "a.env"
    path.write_text("K=old\n")
    os.chown(path, -1, gid)
    os.chmod(path, 0o640)
    uid = os.stat(path).st_uid
    DotenvSink(path, "K").deliver("app-new", {})
    st = os.stat(path)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, uid, gid)
    assert path.read_text() == "K=app-new\n"


def test_dotenv_sink_that_cannot_keep_the_owner_fails_and_leaves_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = tmp_path / "d"
    tmp_path.mkdir()
    path = tmp_path / "a.env"
    path.write_text("K=old\n")
    st = os.stat(path)

    def refuse(*_a: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    real_stat = os.stat
    monkeypatch.setattr(
        os, "stat", lambda p, *a, **k: _fake_owner(st) if p == path else real_stat(p, *a, **k)
    )
    monkeypatch.setattr(os, "fchown", refuse)
    with pytest.raises(SinkError, match="keep the file's owner and group"):
        DotenvSink(path, "K").deliver("app-new", {})
    monkeypatch.undo()
    assert path.read_text() == "K=old\n" and [p.name for p in tmp_path.iterdir()] == ["a.env"]


def _fake_owner(st: os.stat_result) -> os.stat_result:
    fields = list(st)
    fields[4] = st.st_uid + 12345  # st_uid: someone else
    return os.stat_result(fields)


def test_dotenv_sink_writes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "shared" / "app.env"
    real.parent.mkdir()
    real.write_text("A=1\nK=old\n")
    os.chmod(real, 0o644)
    link = tmp_path / "app.env"
    link.symlink_to(real)
    DotenvSink(link, "K").deliver("app-new", {})
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "A=1\nK=app-new\n" and stat.S_IMODE(os.stat(real).st_mode) == 0o644
    assert sorted(p.name for p in real.parent.iterdir()) == ["app.env"]


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
    with pytest.raises(SinkError, match="no program '/nonexistent/cmd'"):
        ExecSink("/nonexistent/cmd").deliver("k", {})


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # dead, waiting to be reaped


def test_an_exec_sink_that_times_out_leaves_no_process_behind(tmp_path: Path) -> None:
    """A timed-out (or interrupted) sink is killed with its whole process group: a `sh -c` pipeline's
    children (kubectl, curl) must not run on with the new key in their environment."""
    pid_file = tmp_path / "pid"
    sink = ExecSink(f'sh -c "sleep 30 & echo $! > {pid_file}; wait"', timeout_s=1.0)
    with pytest.raises(SinkError):
        sink.deliver("app-k", {})
    assert _gone(int(pid_file.read_text()))


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("curl -H 'X: $DIFY_NEW_API_KEY' http://x", "names a $DIFY_ variable"),
        ("echo ${DIFY_APP_NAME}", "names a $DIFY_ variable"),
        ("exit 3", "'exit' is a shell builtin"),
        ("source ./x", "'source' is a shell builtin"),
        ("no-such-program-xyz --flag", "no program 'no-such-program-xyz'"),
        ("echo 'unclosed", "No closing quotation"),
    ],
)
def test_exec_sinks_that_could_never_deliver_are_refused_with_the_fix(command: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_sink(f"exec:{command}")
    assert message in info.value.message
    if "$DIFY_" in message or "builtin" in message:
        assert "sh -c" in (info.value.hint or "")


def test_exec_sink_through_a_shell_may_name_the_key() -> None:
    sink = parse_sink("exec:sh -c 'printf %s \"$DIFY_NEW_API_KEY\" > /dev/null'")
    assert isinstance(sink, ExecSink)
    sink.deliver("app-x", {})


def test_a_relative_exec_program_is_journaled_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--resume` (from cron, another shell) runs in another folder: `./notify.sh` of the journal must
    still be the script the rotation was started with, never another `./notify.sh`, and never missing."""
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    for folder in (project, elsewhere):
        folder.mkdir()
        script = folder / "notify.sh"
        script.write_text(f'#!/bin/sh\nprintf %s "$DIFY_NEW_API_KEY" > {folder}/got\n')
        script.chmod(0o755)
    monkeypatch.chdir(project)
    sink = parse_sink("exec:./notify.sh")
    assert sink.name == f"exec:{project}/notify.sh"
    monkeypatch.chdir(elsewhere)  # the resume
    parse_sink(sink.name).deliver("app-k", {})
    assert (project / "got").read_text() == "app-k" and not (elsewhere / "got").exists()


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("dotenv:.env:DIFY_API_KEY", f"dotenv:{os.path.abspath('.env')}:DIFY_API_KEY"),
        ("dotenv:/srv/x/.env:K", "dotenv:/srv/x/.env:K"),
        ("exec:echo hi", "exec:echo hi"),
    ],
)
def test_parse_sink(spec: str, name: str) -> None:
    assert parse_sink(spec).name == name


@pytest.mark.parametrize("spec", ["dotenv:.env", "dotenv::K", "dotenv:.env:1BAD", "exec:", "s3:bucket"])
def test_parse_sink_rejects(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_sink(spec)
