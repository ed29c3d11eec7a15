"""`difyctl emulator serve` flags reach the running server (a real process, as users run it)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest


@pytest.fixture
def served() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    argv = [sys.executable, "-m", "difyctl", "emulator", "serve", "--port", "0", "--rate-limit-rate", "1"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    yield url, proc
    proc.terminate()
    proc.communicate(timeout=10)


def test_first_line_is_the_url_and_fault_flags_apply(served: tuple[str, subprocess.Popen[str]]) -> None:
    url, _proc = served
    assert url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/health").status_code == 200  # outside the fault scope
        limited = client.get("/console/api/setup")
    assert limited.status_code == 429
    assert limited.json()["code"] == "too_many_requests"


def test_non_loopback_host_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "difyctl", "emulator", "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "loopback" in done.stderr
