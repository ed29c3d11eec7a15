"""`difyctl emulator serve`: first stdout line is the base URL; loopback only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from difyctl.cli import run as run_cli


def test_serve_prints_base_url_first_and_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from difyctl.cli import main; sys.exit(main())",
            "emulator",
            "serve",
            "--apps",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("http://127.0.0.1:")
        assert httpx.get(first + "/health", timeout=5).json()["status"] == "ok"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0
        assert "admin@example.com" in err and "echo-chat-0001" in err
        assert "app-" in err and "…" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_refuses_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["emulator", "serve", "--host", "0.0.0.0"])
    assert code == 2
    assert "loopback" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "version"),
    [([], "1.16.0"), (["--dify-version", "1.13.2"], "1.13.2"), (["--legacy-auth"], "1.8.1")],
)
def test_serve_speaks_the_chosen_version(
    monkeypatch: pytest.MonkeyPatch, args: list[str], version: str
) -> None:
    import difyctl.emulator as emulator_pkg
    from difyctl.emulator import EmulatorConfig

    served: list[EmulatorConfig] = []
    monkeypatch.setattr(emulator_pkg, "serve_forever", lambda config, *_: served.append(config))
    assert run_cli(["emulator", "serve", *args]) == 0
    (config,) = served
    assert config.server_version == version  # the default is the newest recorded server


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dify-version", "1.15.0"], "choose one of 1.13.2, 1.16.0"),
        (["--dify-version", "1.13.2", "--legacy-auth"], "--legacy-auth already means Dify 1.8.1"),
    ],
)
def test_serve_refuses_an_unrecorded_version(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert run_cli(["emulator", "serve", *args]) == 2
    assert message in capsys.readouterr().err
