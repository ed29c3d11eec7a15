"""`difyctl broadcast`, `run --notify` and `webhook verify`, end to end against the emulator."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.broadcast.test_aio_transport import free_port
from tests.commands.conftest import Cli

Q = "What is Dify?"
SECRET = "notify-secret-canary-0123456789"


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A real HTTP endpoint that records every POST (headers, raw body)."""
    got: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/secret-path", got
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_all_apps_as_json(cli: Cli, logged_in: Any) -> None:
    result = cli("broadcast", Q, "--all", "-o", "json")
    assert result.code == 0, result.stderr
    doc = result.json()
    names = [t["name"] for t in doc["targets"]]
    assert names == ["echo-workflow", "echo-chat", "json-chat", "echo-completion"]
    assert doc["targets"][0]["outputs"] == {"result": Q}
    assert all(t["ok"] and t["attempts"] == 1 for t in doc["targets"])
    summary = doc["summary"]
    assert summary["ok"] == 4 and summary["failed"] == 0 and summary["wall_ms"] > 0
    assert set(summary["latency_ms"]) == {"min", "p50", "p95", "p99", "max"}
    assert summary["tokens"]["total"] > 0 and "USD" in summary["price"]


def test_all_with_mode_filter_and_text_output(cli: Cli, logged_in: Any) -> None:
    result = cli("broadcast", Q, "--all", "--mode", "advanced-chat")
    assert result.code == 0, result.stderr
    assert "echo-chat" in result.stdout and "json-chat" in result.stdout
    assert "echo-workflow" not in result.stdout
    assert "2 ok, 0 failed of 2" in result.stdout and "latency ms: min" in result.stdout


def test_apps_by_name_streaming_full(cli: Cli, logged_in: Any) -> None:
    result = cli("broadcast", Q, "--app", "echo-chat", "--app", "json-chat", "--stream", "--full")
    assert result.code == 0, result.stderr
    assert "== echo-chat ==" in result.stdout and '{"status": "success"' in result.stdout


def test_wrong_key_fails_alone_and_no_secret_leaks(cli: Cli, logged_in: Any, tmp_path: Path) -> None:
    keys = logged_in.demo_keys()
    apps_file = tmp_path / "targets.yaml"
    apps_file.write_text(
        f"- app: echo-chat\n  key_env: GOOD_KEY\n  base_url: {logged_in.base_url}/console/api/\n"  # as pasted
        f"- app: echo-chat-bad\n  name: broken\n  key_env: BAD_KEY\n  base_url: {logged_in.base_url}\n"
        "- app: echo-workflow\n  inputs: {query: from the file}\n"
    )
    jsonl = tmp_path / "runs.jsonl"
    bad = "app-wrongWrongWrongWrong0000"
    env = {"GOOD_KEY": keys["echo-chat"], "BAD_KEY": bad, "HOOK_SECRET": SECRET}
    result = cli("broadcast", Q, "--apps-file", str(apps_file), "--jsonl", str(jsonl), "-o", "json", env=env)
    assert result.code == 3, result.stderr
    doc = result.json()
    assert [t["status"] for t in doc["targets"]] == ["ok", "error", "ok"]
    assert doc["targets"][1]["name"] == "broken" and doc["targets"][1]["error"]["http_status"] == 401
    assert doc["targets"][2]["outputs"] == {"result": "from the file"}  # per-target inputs win
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert sorted(line["name"] for line in lines) == ["broken", "echo-chat", "echo-workflow"]
    everything = result.stdout + result.stderr + jsonl.read_text()
    for secret in (bad, keys["echo-chat"], keys["echo-workflow"]):
        assert secret not in everything
    again = cli("broadcast", Q, "--apps-file", str(apps_file), "--jsonl", str(jsonl), env=env)
    assert again.code == 3 and len(jsonl.read_text().splitlines()) == 6  # appended, never truncated


def test_a_malformed_apps_file_is_refused_before_anything_is_sent(
    cli: Cli, logged_in: Any, tmp_path: Path
) -> None:
    apps_file = tmp_path / "t.yaml"
    apps_file.write_text("- app: echo-chat\n- nme: typo\n- app: echo-workflow\n  inputs: nope\n")
    runs_before = len(logged_in.state.runs) if hasattr(logged_in.state, "runs") else None
    result = cli("broadcast", Q, "--apps-file", str(apps_file))
    assert result.code == 2
    assert "line 2: entry 2" in result.stderr and "line 3: entry 3" in result.stderr
    assert "nothing was sent" in result.stderr and result.stdout == ""
    if runs_before is not None:
        assert len(logged_in.state.runs) == runs_before


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "choose the targets"),
        (("--app", "echo-chat", "--all"), "choose the targets"),
        (("--app", "echo-chat", "--mode", "chat"), "--mode filters --all only"),
        (("--all", "--mode", "bogus"), "--mode must be one of"),
        (("--all", "--notify", "ftp://x"), "http:// or https://"),
        (("--all", "--notify-secret-env", "NOPE"), "needs --notify"),
    ],
)
def test_usage_errors(cli: Cli, logged_in: Any, args: tuple[str, ...], needle: str) -> None:
    result = cli("broadcast", Q, *args)
    assert result.code == 2 and needle in result.stderr


def test_all_rate_limited_exits_7_after_backing_off(cli: Cli, logged_in: Any, sleeps: list[float]) -> None:
    logged_in.faults.scope = r"^/v1/(chat-messages|completion-messages|workflows/run)$"
    logged_in.faults.rate_limit_rate = 1.0
    result = cli("broadcast", Q, "--all", "--retries", "2", "-o", "json")
    assert result.code == 7, result.stderr
    assert all(t["status"] == "rate_limited" and t["attempts"] == 3 for t in result.json()["targets"])
    assert len(sleeps) == 4 * 2


def test_all_refused_exits_4(cli: Cli, emulator: Any, tmp_path: Path) -> None:
    apps_file = tmp_path / "t.yaml"
    apps_file.write_text(
        "".join(f"- app: a{i}\n  key_env: BAD\n  base_url: {emulator.base_url}\n" for i in range(2))
    )
    result = cli("broadcast", Q, "--apps-file", str(apps_file), env={"BAD": "app-badbadbadbadbadbad0000"})
    assert result.code == 4 and "0 ok, 2 failed of 2" in result.stdout  # every key refused: 401


def test_all_failed_in_different_ways_exits_1(cli: Cli, emulator: Any, tmp_path: Path) -> None:
    """One key refused (401 -> 4 alone) and one server that is not there (-> 5 alone): 1."""
    gone = f"http://127.0.0.1:{free_port()}"
    apps_file = tmp_path / "t.yaml"
    apps_file.write_text(
        f"- app: a0\n  key_env: BAD\n  base_url: {emulator.base_url}\n"
        f"- app: a1\n  key_env: BAD\n  base_url: {gone}\n  mode: chat\n"
    )
    env = {"BAD": "app-badbadbadbadbadbad0000"}
    result = cli("broadcast", Q, "--apps-file", str(apps_file), "--retries", "0", "-o", "json", env=env)
    assert result.code == 1, result.stderr
    errors = {t["app"]: t["error"] for t in result.json()["targets"]}
    assert errors["a0"]["http_status"] == 401 and "cannot connect" in errors["a1"]["message"]


def test_broadcast_notify_is_signed_and_verifiable(
    cli: Cli, logged_in: Any, receiver: tuple[str, list[Any]], tmp_path: Path
) -> None:
    url, got = receiver
    env = {"HOOK_SECRET": SECRET}
    result = cli("broadcast", Q, "--all", "--notify", url, "--notify-secret-env", "HOOK_SECRET", env=env)
    assert result.code == 0, result.stderr
    assert (
        "completion notice sent to http://127.0.0.1" in result.stderr and "secret-path" not in result.stderr
    )
    ((headers, body),) = got
    notice = json.loads(body)
    assert notice["event"] == "broadcast.completed" and notice["summary"]["ok"] == 4
    assert SECRET not in body.decode() + result.stdout + result.stderr
    headers_file = tmp_path / "headers.txt"
    headers_file.write_text("".join(f"{k}: {v}\n" for k, v in headers.items()))
    ok = cli(
        "webhook",
        "verify",
        "--secret-env",
        "HOOK_SECRET",
        "--headers-file",
        str(headers_file),
        stdin=body.decode(),
        env=env,
    )
    assert ok.code == 0, ok.stderr
    tampered = cli(
        "webhook",
        "verify",
        "--secret-env",
        "HOOK_SECRET",
        "--signature",
        headers["x-difyctl-signature"],
        "--timestamp",
        headers["x-difyctl-timestamp"],
        stdin=body.decode().replace("true", "false"),
        env=env,
    )
    assert tampered.code == 1 and "signature mismatch" in tampered.stderr
    missing = cli(
        "webhook", "verify", "--secret-env", "NOT_SET", "--signature", "x", "--timestamp", "1", stdin="{}"
    )
    assert missing.code == 2


def test_webhook_verify_refuses_a_replay(cli: Cli) -> None:
    from difyctl.notify import sign

    body = '{"event":"run.completed"}'
    old = 1_000_000_000
    result = cli(
        "webhook",
        "verify",
        "--secret-env",
        "S",
        "--signature",
        sign(SECRET, body.encode(), old),
        "--timestamp",
        str(old),
        "-o",
        "json",
        stdin=body,
        env={"S": SECRET},
    )
    assert result.code == 1 and result.json() == {"valid": False, "reason": result.json()["reason"]}
    assert "tolerance 300 s" in result.json()["reason"]


def test_run_notify(cli: Cli, logged_in: Any, receiver: tuple[str, list[Any]]) -> None:
    url, got = receiver
    result = cli("run", "echo-chat", "hello", "--notify", url, "--notify-secret-env", "S", env={"S": SECRET})
    assert result.code == 0, result.stderr
    ((headers, body),) = got
    notice = json.loads(body)
    assert notice["event"] == "run.completed" and notice["ok"] is True and notice["app"] == "echo-chat"
    from difyctl.notify import verify

    assert verify(
        SECRET,
        body,
        headers["x-difyctl-signature"],
        headers["x-difyctl-timestamp"],
        now=int(headers["x-difyctl-timestamp"]),
    ).ok


def test_notify_failure_is_a_warning_not_a_new_exit_code(cli: Cli, logged_in: Any) -> None:
    result = cli("broadcast", Q, "--app", "echo-chat", "--notify", "http://127.0.0.1:9/x")
    assert result.code == 0 and "warning: completion notice to http://127.0.0.1:9 failed" in result.stderr


def test_verbose_http_log_never_shows_a_key(cli: Cli, emulator: Any, tmp_path: Path) -> None:
    key = emulator.demo_keys()["echo-chat"]
    apps_file = tmp_path / "t.yaml"
    apps_file.write_text(f"- app: echo-chat\n  key_env: K\n  base_url: {emulator.base_url}\n")
    result = cli("broadcast", Q, "--apps-file", str(apps_file), "-v", "--jsonl", str(tmp_path / "o.jsonl"),
                 env={"K": key})  # fmt: skip
    assert result.code == 0 and "POST /v1/chat-messages" in result.stderr
    assert key not in result.stdout + result.stderr + (tmp_path / "o.jsonl").read_text()


@contextlib.contextmanager
def _sigterm_must_be_handled() -> Iterator[None]:
    """Unhandled, a real SIGTERM would end pytest itself: fail the test instead."""
    import signal

    def unhandled(*_a: Any) -> None:
        raise AssertionError("broadcast left SIGTERM to the default action: nothing printed")

    previous = signal.signal(signal.SIGTERM, unhandled)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize(("signame", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_interrupted_broadcast_prints_what_finished(
    cli: Cli, logged_in: Any, monkeypatch: pytest.MonkeyPatch, signame: str, code: int
) -> None:
    # Ctrl-C, or SIGTERM (a Kubernetes Job or systemd stopping the run): what finished is printed
    import signal

    from difyctl.output import broadcast as live_mod

    real_done = live_mod.LiveTable.done

    def done_then_signal(self: Any, res: Any) -> None:
        real_done(self, res)
        logged_in.faults.hang = True
        signal.raise_signal(getattr(signal, signame))

    monkeypatch.setattr(live_mod.LiveTable, "done", done_then_signal)
    with _sigterm_must_be_handled():
        result = cli("broadcast", Q, "--all", "--concurrency", "1", "-o", "json")
    assert result.code == code
    statuses = [t["status"] for t in result.json()["targets"]]
    assert statuses[0] == "ok" and set(statuses[1:]) == {"cancelled"}
    assert result.json()["summary"]["interrupted"] is True


def test_sigterm_before_the_runs_exits_143_with_one_line(
    cli: Cli, logged_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import signal

    from difyctl.targets import Resolver

    async def listed(self: Any, mode: Any = None) -> Any:
        signal.raise_signal(signal.SIGTERM)  # while the apps are being listed
        await asyncio.Event().wait()  # cancelled by the signal, never set

    monkeypatch.setattr(Resolver, "listed", listed)
    with _sigterm_must_be_handled():
        result = cli("broadcast", Q, "--all")
    assert result.code == 143
    assert result.stderr.strip().splitlines()[-1] == "error: terminated" and "Traceback" not in result.stderr
