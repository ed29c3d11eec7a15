"""--timeout end to end, against fake servers on loopback: one that sends headers and then nothing,
one that drips its body a byte at a time (its clock injected: no real waiting for the drip)."""

from __future__ import annotations

import dataclasses
import io
import itertools
import socket
import socketserver
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from difyctl.cli import run
from difyctl.client.transport import Runtime
from tests.commands.conftest import CliResult

_DRIP: dict[str, bool] = {}
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(10)  # never outlive a broken test for long
        try:
            conn.recv(65536)
            conn.sendall(HEAD)
            if self.server.drip:  # type: ignore[attr-defined]
                for _ in range(2000):
                    conn.sendall(b" ")
                    threading.Event().wait(0.002)  # the server's pace, not the test's
            else:
                while conn.recv(65536):  # headers, then nothing until the client hangs up
                    pass
        except OSError:
            pass


@pytest.fixture(params=["hang", "drip"])
def server(request: pytest.FixtureRequest) -> Iterator[Any]:
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.drip = request.param == "drip"  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    _DRIP[_url(srv)] = srv.drip  # type: ignore[attr-defined]
    yield srv
    srv.shutdown()
    srv.server_close()


def _url(srv: Any) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str], *args: str
) -> CliResult:
    """Against the drip, a clock that moves 1 s per reading: any deadline passes after a few bytes.
    Against the silent server the socket's own read timeout cuts (a real clock, a short --timeout)."""
    ticks = itertools.count()
    drip = _DRIP.get(env.get("DIFY_BASE_URL", ""), False)
    monkeypatch.setattr(sys, "stdin", io.StringIO("secret-password\n"))

    async def asleep(seconds: float) -> None:
        return None

    runtime = Runtime(sleep=lambda s: None, asleep=asleep, rng=lambda: 0.5)  # backoffs: nothing slept
    if drip:
        runtime = dataclasses.replace(runtime, clock=lambda: float(next(ticks)))
    capsys.readouterr()
    code = run(list(args), env=env, runtime=runtime)
    out, err = capsys.readouterr()
    return CliResult(code, out, err)


def _env(srv: Any, **extra: str) -> dict[str, str]:
    import os

    return {**os.environ, "DIFY_BASE_URL": _url(srv), "DIFY_CONSOLE_TOKEN": "tok", **extra}


@pytest.mark.parametrize(
    "argv",
    [
        ["apps", "list", "--timeout", "3"],
        ["--timeout", "3", "apps", "list"],
        ["run", "some-app", "hi", "--timeout", "3"],
        ["export", "some-app", "--timeout", "3"],
        ["health", "--all", "--timeout", "3"],
        ["snapshot", "create", "--all", "--timeout", "3"],
    ],
)
def test_commands_stop_at_the_timeout_with_exit_5(
    server: Any, argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if server.drip is False:
        argv = [a if a != "3" else "0.3" for a in argv]  # a real read timeout: keep it short
    res = cli(monkeypatch, capsys, _env(server, DIFY_API_KEY="app-k"), *argv)
    assert res.code == 5, res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, res.stderr
    expected = "still answering after 3 s" if server.drip else "no answer from http://127.0.0.1"
    assert expected in errors[0]
    assert "hint: raise --timeout" in res.stderr
    assert "Traceback" not in res.stderr


def test_the_environment_sets_the_timeout(
    server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seconds = "4" if server.drip else "0.3"
    res = cli(monkeypatch, capsys, _env(server, DIFYCTL_TIMEOUT=seconds), "apps", "list")
    assert res.code == 5
    assert (f"after {seconds} s" if server.drip else f"in {seconds} s") in res.stderr


def test_a_bad_timeout_in_the_environment_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for raw in ("soon", "0.0001", "nan", "-1"):  # --timeout's own bound is 0.001
        env = {"DIFY_BASE_URL": "http://127.0.0.1:9", "DIFY_CONSOLE_TOKEN": "t", "DIFYCTL_TIMEOUT": raw}
        res = cli(monkeypatch, capsys, env, "apps", "list")
        assert res.code == 2 and f"DIFYCTL_TIMEOUT={raw!r}" in res.stderr


def test_version_answers_even_when_the_server_does_not(
    server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    res = cli(monkeypatch, capsys, _env(server), "version", "--timeout", "3" if server.drip else "0.3")
    assert res.code == 0 and res.stdout.startswith("difyctl ")
    # the server's version is unknown, and the line says why (it used to print a bare "Dify unknown")
    said = "still answering after 3 s" if server.drip else "no answer from"
    assert said in res.stdout and "Dify unknown" not in res.stdout


def test_status_tells_no_answer_from_cannot_connect(
    server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    res = cli(
        monkeypatch, capsys, _env(server), "status", "--timeout", "3" if server.drip else "0.3", "-o", "json"
    )
    assert res.code == 5
    doc = res.json()
    assert not doc["reachable"] and "cannot connect" not in doc["error"]
    assert ("still answering" if server.drip else "no answer from") in doc["error"]
    assert "raise --timeout" in doc["hint"]
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**_env(server), "DIFY_BASE_URL": f"http://127.0.0.1:{port}"}
    refused = cli(monkeypatch, capsys, env, "status", "-o", "json")
    assert refused.code == 5 and refused.json()["error"].startswith("cannot connect to")


def test_login_stops_at_the_timeout(
    server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["login", "--base-url", _url(server), "--email", "a@b.c", "--password-stdin"]
    res = cli(
        monkeypatch,
        capsys,
        {"DIFY_BASE_URL": _url(server)},
        *argv,
        "--timeout",
        "3" if server.drip else "0.3",
    )
    assert res.code == 5, res.stderr
    assert "raise --timeout" in res.stderr


def test_health_of_one_app_stops_at_the_timeout_with_exit_5(
    server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check of one app whose server never answers (or drips) is 'no server' (5), as for `run`
    and `broadcast`, not 1 (an app that answered wrongly), and its result names what it waited for."""
    seconds = "3" if server.drip else "0.3"
    env = _env(server, DIFY_API_KEY="app-k")
    res = cli(monkeypatch, capsys, env, "health", "some-app", "--timeout", seconds, "-o", "json")
    assert res.code == 5, res.stderr
    (check,) = res.json()["results"]
    said = f"still answering after {seconds} s" if server.drip else f"no answer from {_url(server)}/v1/info"
    assert not check["ok"] and said in check["error"]
