"""`difyctl.cli.leave`: the process ends without the interpreter's teardown, and loses nothing by it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHILD = """
import atexit, sys, threading
from difyctl.cli import leave
atexit.register(lambda: (sys.stdout or sys.stderr).write("[atexit]"))
go = threading.Event()
if sys.argv[1] == "thread":
    def worker():
        go.wait()
        sys.stdout.write("[thread done]")
    threading.Thread(target=worker).start()
sys.stdout.write("out")  # buffered: a pipe is not a terminal
sys.stderr.write("err")
go.set()  # the thread finishes while (or before) leave() looks: never killed halfway
if sys.argv[1] in ("stdout", "stderr"):  # what Python makes of a closed fd 1 or 2 (`>&-`, `2>&-`)
    getattr(sys, sys.argv[1]).flush()
    setattr(sys, sys.argv[1], None)
leave(int(sys.argv[2]))
"""


def _child(kind: str, code: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_exit_code_buffered_output_and_atexit_handlers_survive() -> None:
    done = _child("plain", 3)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out[atexit]", "err")


def test_a_running_non_daemon_thread_is_waited_for() -> None:
    # os._exit would kill the thread before it writes: the ordinary exit joins it.
    done = _child("thread", 4)
    assert done.returncode == 4
    assert done.stdout == "out[thread done][atexit]"


@pytest.mark.parametrize("closed", ["stdout", "stderr"])
def test_a_closed_stream_keeps_the_exit_code_and_the_other_stream(closed: str) -> None:
    # `difyctl version 2>&-` exited 1 with a traceback: leave() flushed sys.stderr, which is None
    done = _child(closed, 3)
    assert done.returncode == 3
    assert "Traceback" not in done.stderr
    expected = ("out[atexit]", "err") if closed == "stderr" else ("out", "err[atexit]")
    assert (done.stdout, done.stderr) == expected


def test_main_collects_young_cycles_every_20000_allocations_not_700(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    import difyctl.cli as cli

    seen: list[tuple[int, int, int]] = []
    monkeypatch.setattr(cli, "run", lambda: 0)
    monkeypatch.setattr(cli, "leave", lambda code: seen.append(gc.get_threshold()))
    old = gc.get_threshold()
    try:
        cli.main()
    finally:
        gc.set_threshold(*old)
    assert seen == [(20_000, 20, 20)]


def test_a_profiled_run_still_writes_its_profile(tmp_path: Path) -> None:
    # `python -m cProfile -o FILE -m difyctl ...` writes FILE after main() returns: os._exit would lose it
    out = tmp_path / "run.prof"
    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "difyctl", "nosuch-command"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0  # cProfile swallows the SystemExit(2) of the usage error
    assert "No such command" in done.stderr and out.stat().st_size > 0
