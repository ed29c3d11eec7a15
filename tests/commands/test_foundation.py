"""login / status / apps / run / profile / logout, end to end against the emulator over loopback."""

from __future__ import annotations

import socket
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from difyctl.emulator.config import DIFY_VERSION
from tests.commands.conftest import Cli

PASSWORD = "DemoPass123"


def login(cli: Cli, url: str, password: str = PASSWORD, *extra: str) -> Any:
    return cli(
        "login",
        "--base-url",
        url,
        "--email",
        "admin@example.com",
        "--password-stdin",
        *extra,
        stdin=password + "\n",
    )


# -- login / status / logout -----------------------------------------------------------------------


def test_login_stores_session_in_keyring_not_in_profiles(
    cli: Cli, emulator: Any, memory_keyring: Any, isolated_env: Path
) -> None:
    result = login(cli, emulator.base_url, PASSWORD, "-o", "json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["profile"] == "default" and doc["server_version"] == DIFY_VERSION and doc["auth"] == "session"
    profiles = (isolated_env / "profiles.yaml").read_text()
    assert "base_url" in profiles and "token" not in profiles.lower().replace("auth: session", "")
    assert stat.S_IMODE((isolated_env / "profiles.yaml").stat().st_mode) == 0o600
    assert any(k == ("difyctl-ops", "default:session") for k in memory_keyring.store)


def test_wrong_password_is_exit_4_one_line(cli: Cli, emulator: Any) -> None:
    result = login(cli, emulator.base_url, "WrongPass999")
    assert result.code == 4
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr and "WrongPass999" not in result.stderr + result.stdout


def test_password_never_from_a_flag_and_non_tty_without_password_is_usage(cli: Cli, emulator: Any) -> None:
    assert cli("login", "--base-url", emulator.base_url, "--password", "x").code == 2
    result = cli("login", "--base-url", emulator.base_url, "--email", "admin@example.com")
    assert result.code == 2 and "--password-stdin" in result.stderr


def test_password_from_env(cli: Cli, emulator: Any) -> None:
    result = cli(
        "login",
        "--base-url",
        emulator.base_url,
        "--email",
        "admin@example.com",
        env={"DIFY_PASSWORD": PASSWORD},
    )
    assert result.code == 0, result.stderr


def test_status_json_shape(cli: Cli, logged_in: Any) -> None:
    result = cli("status", "-o", "json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert {"profile", "base_url", "server_version", "auth", "user"} <= doc.keys()
    assert doc["user"]["email"] == "admin@example.com" and doc["auth"] == "session"


def test_status_not_logged_in_is_exit_4(cli: Cli, emulator: Any) -> None:
    result = cli("status", "-o", "json", env={"DIFY_BASE_URL": emulator.base_url})
    assert result.code == 4
    assert result.json()["auth"] == "none"


def test_logout_forgets_the_session(cli: Cli, logged_in: Any, memory_keyring: Any) -> None:
    assert cli("logout").code == 0
    assert ("difyctl-ops", "default:session") not in memory_keyring.store
    assert cli("apps", "list").code == 4


def test_env_password_login_needs_no_keyring_and_writes_nothing(
    cli: Cli, emulator: Any, isolated_env: Path, memory_keyring: Any
) -> None:
    env = {"DIFY_BASE_URL": emulator.base_url, "DIFY_EMAIL": "admin@example.com", "DIFY_PASSWORD": PASSWORD}
    result = cli("apps", "list", "-o", "json", env=env)
    assert result.code == 0, result.stderr
    assert {a["name"] for a in result.json()} >= {
        "echo-workflow",
        "echo-chat",
        "json-chat",
        "echo-completion",
    }
    assert not memory_keyring.store and not isolated_env.exists()


# -- apps ------------------------------------------------------------------------------------------


def test_apps_list_and_filters(cli: Cli, logged_in: Any) -> None:
    result = cli("apps", "list", "-o", "json")
    assert result.code == 0
    apps = result.json()
    assert all({"id", "name", "mode"} <= a.keys() for a in apps)
    wf = cli("apps", "list", "--mode", "workflow", "-o", "json").json()
    assert [a["name"] for a in wf] == ["echo-workflow"]
    assert cli("apps", "list", "--mode", "bogus").code == 2
    text = cli("apps", "list")
    assert "echo-chat" in text.stdout and "MODE" in text.stdout


def test_apps_list_follows_pages(cli: Cli) -> None:
    from difyctl.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(seed="demo", apps=130)) as emu:
        assert login(cli, emu.base_url).code == 0
        apps = cli("apps", "list", "-o", "json").json()
    assert len(apps) == 134 and len({a["id"] for a in apps}) == 134


def test_apps_show_by_name_id_and_yaml(cli: Cli, logged_in: Any) -> None:
    by_name = cli("apps", "show", "echo-chat", "-o", "json").json()
    assert by_name["mode"] == "advanced-chat"
    by_id = cli("apps", "show", by_name["id"], "-o", "yaml")
    assert by_id.code == 0 and "name: echo-chat" in by_id.stdout


def test_unknown_app_is_exit_2_with_close_matches(cli: Cli, logged_in: Any) -> None:
    result = cli("apps", "show", "echo-chta")
    assert result.code == 2
    assert "echo-chat" in result.stderr and "Traceback" not in result.stderr


# -- run -------------------------------------------------------------------------------------------


def test_run_chat_blocking_json_shape(cli: Cli, logged_in: Any) -> None:
    result = cli("run", "echo-chat", "hello there", "-o", "json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["app"] == "echo-chat" and doc["mode"] == "advanced-chat" and doc["answer"] == "hello there"
    assert doc["conversation_id"] and doc["usage"]["total_tokens"] > 0 and doc["latency_ms"] >= 0


def test_run_chat_stream_prints_answer_and_continues_conversation(cli: Cli, logged_in: Any) -> None:
    first = cli("run", "echo-chat", "first", "-o", "json", "--stream").json()
    assert first["answer"] == "first" and first["ttft_ms"] is not None
    streamed = cli("run", "echo-chat", "second turn", "--stream", "--conversation", first["conversation_id"])
    assert streamed.code == 0 and streamed.stdout.strip() == "second turn"
    assert first["conversation_id"] in streamed.stderr


def test_run_workflow_and_completion(cli: Cli, logged_in: Any) -> None:
    wf = cli("run", "echo-workflow", "-i", "query=hi", "-o", "json")
    assert wf.code == 0, wf.stderr
    assert wf.json()["outputs"] == {"result": "hi"} and "answer" not in wf.json()
    comp = cli("run", "echo-completion", "complete me", "-o", "json")
    assert comp.code == 0, comp.stderr and comp.json()["mode"] == "completion"


def test_run_missing_required_input_is_exit_2_naming_it(cli: Cli, logged_in: Any) -> None:
    result = cli("run", "echo-workflow")
    assert result.code == 2
    assert "query" in result.stderr and "missing required input" in result.stderr


def test_run_inputs_file_and_bad_inputs(cli: Cli, logged_in: Any, tmp_path: Path) -> None:
    f = tmp_path / "inputs.yaml"
    f.write_text("query: from file\n")
    assert cli("run", "echo-workflow", "--inputs-file", str(f), "-o", "json").json()["outputs"] == {
        "result": "from file"
    }
    f.write_text("query: [unclosed\n")
    bad = cli("run", "echo-workflow", "--inputs-file", str(f))
    assert bad.code == 2 and "not valid JSON or YAML" in bad.stderr
    assert cli("run", "echo-workflow", "-i", "novalue").code == 2


def test_run_with_env_key_needs_no_login(cli: Cli, emulator: Any) -> None:
    key = emulator.demo_keys()["echo-chat"]
    result = cli(
        "run",
        "echo-chat",
        "keyed",
        "-o",
        "json",
        env={"DIFY_BASE_URL": emulator.base_url, "DIFY_API_KEY_ECHO_CHAT": key},
    )
    assert result.code == 0, result.stderr
    assert result.json()["answer"] == "keyed"


def test_run_bad_key_is_exit_4(cli: Cli, emulator: Any) -> None:
    result = cli(
        "run",
        "echo-chat",
        "x",
        env={"DIFY_BASE_URL": emulator.base_url, "DIFY_API_KEY": "app-thisIsNotARealKey000000"},
    )
    assert result.code == 4 and "Access token is invalid" in result.stderr


def test_failed_workflow_run_exits_1(cli: Cli, logged_in: Any) -> None:
    logged_in.faults.fail_next(
        "POST",
        r"/v1/workflows/run",
        status=200,
        body={
            "task_id": "t",
            "workflow_run_id": "r",
            "data": {
                "id": "r",
                "workflow_id": "w",
                "status": "failed",
                "outputs": None,
                "error": "node boom",
                "elapsed_time": 0.1,
                "total_tokens": 0,
                "total_steps": 1,
                "created_at": 1,
                "finished_at": 1,
            },
        },
    )
    result = cli("run", "echo-workflow", "-i", "query=x")
    assert result.code == 1 and "node boom" in result.stderr


# -- faults ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_server_down_is_exit_5_after_retries_naming_the_url(cli: Cli, sleeps: list[float]) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = cli("apps", "list", env={"DIFY_BASE_URL": url, "DIFY_CONSOLE_TOKEN": "tok"})
    assert result.code == 5
    assert url in result.stderr and result.stderr.count("\n") <= 2
    assert len(sleeps) >= 1  # retried with backoff, without sleeping for real


class _HtmlProxy(BaseHTTPRequestHandler):
    status = 502  # a proxy's error page; 200: the web UI answering for the API

    def do_GET(self) -> None:
        body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        return


class _WebUi(_HtmlProxy):
    status = 200


@pytest.fixture
def html_server(request: pytest.FixtureRequest) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), getattr(request, "param", _HtmlProxy))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_html_instead_of_json_names_the_status(cli: Cli, html_server: str) -> None:
    result = cli("apps", "list", env={"DIFY_BASE_URL": html_server, "DIFY_CONSOLE_TOKEN": "tok"})
    assert result.code == 5
    assert "502" in result.stderr and "HTML" in result.stderr and "<html" not in result.stderr


def test_keyring_unavailable_falls_back_to_file_with_notice(
    cli: Cli, emulator: Any, monkeypatch: Any, isolated_env: Path
) -> None:
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    result = login(cli, emulator.base_url)
    assert result.code == 0, result.stderr
    assert "secrets.yaml" in result.stderr
    assert stat.S_IMODE((isolated_env / "secrets.yaml").stat().st_mode) == 0o600
    assert cli("apps", "list").code == 0


# -- profiles --------------------------------------------------------------------------------------


def test_profiles_use_show_delete(cli: Cli, emulator: Any, memory_keyring: Any) -> None:
    assert login(cli, emulator.base_url).code == 0
    assert login(cli, emulator.base_url, PASSWORD, "-p", "second").code == 0
    listed = cli("profile", "list", "-o", "json").json()
    assert [(p["name"], p["current"]) for p in listed] == [("default", True), ("second", False)]
    assert cli("profile", "use", "second").code == 0
    assert cli("profile", "show", "-o", "json").json()["name"] == "second"
    assert cli("profile", "delete", "second").code == 2  # not a TTY and no --yes
    assert cli("profile", "delete", "second", "--yes").code == 0
    assert not any(k[1].startswith("second:") for k in memory_keyring.store)
    assert cli("profile", "use", "nope").code == 2


# -- secrets never leak ----------------------------------------------------------------------------


def test_canary_secrets_never_printed_or_written(
    cli: Cli, emulator: Any, isolated_env: Path, memory_keyring: Any
) -> None:
    key = emulator.demo_keys()["echo-chat"]
    outputs = [login(cli, emulator.base_url, PASSWORD, "-v")]
    env = {"DIFY_API_KEY": key}
    outputs += [
        cli(*args, env=env)
        for args in (
            ("status", "-v"),
            ("apps", "list", "-v"),
            ("run", "echo-chat", "hi", "-v"),
            ("run", "echo-chat", "hi", "-o", "json", "--stream"),
            ("profile", "list", "-o", "yaml"),
            ("version", "-o", "json"),
        )
    ]
    session = next(v for (_s, k), v in memory_keyring.store.items() if k == "default:session")
    canaries = [key, PASSWORD] + [
        v for v in __import__("json").loads(session).values() if isinstance(v, str) and len(v) > 12
    ]
    text = "".join(o.stdout + o.stderr for o in outputs)
    assert "http:" in text  # the verbose trace ran
    for canary in canaries:
        assert canary not in text
        for path in isolated_env.rglob("*"):
            if path.is_file():
                assert canary not in path.read_text(errors="replace")


# -- streams, debug, quickstart, version -------------------------------------------------------------


def test_truncated_stream_is_an_error_not_a_hang(cli: Cli, logged_in: Any) -> None:
    logged_in.faults.stream_cut_rate = 1.0
    logged_in.faults.stream_cut_after = 2
    result = cli("run", "echo-chat", "a long answer that will be cut", "--stream")
    assert result.code != 0
    assert "Traceback" not in result.stderr and result.stderr.startswith("error:")


def test_midstream_error_event_is_reported(cli: Cli, logged_in: Any) -> None:
    logged_in.faults.midstream_error_rate = 1.0
    result = cli("run", "echo-chat", "hello", "--stream", "-o", "json")
    assert result.code != 0 and result.stdout == ""
    assert result.stderr.startswith("error:") and "Traceback" not in result.stderr


def test_debug_env_shows_the_traceback(cli: Cli, emulator: Any) -> None:
    env = {"DIFY_BASE_URL": emulator.base_url, "DIFY_API_KEY": "app-thisIsNotARealKey000000"}
    quiet = cli("run", "echo-chat", "x", env=env)
    loud = cli("run", "echo-chat", "x", env={**env, "DIFYCTL_DEBUG": "1"})
    assert "Traceback" not in quiet.stderr and "Traceback" in loud.stderr
    assert quiet.code == loud.code == 4


def test_version_reports_server_version(cli: Cli, logged_in: Any) -> None:
    doc = cli("version", "-o", "json").json()
    assert doc["server_version"] == DIFY_VERSION and doc["difyctl"]
    assert cli("--version").stdout.startswith("difyctl ")


def test_unknown_flag_is_a_usage_error(cli: Cli) -> None:
    result = cli("apps", "list", "--bogus")
    assert result.code == 2 and "No such option" in result.stderr
    assert cli("-o", "xml", "apps", "list").code == 2


def test_quickstart_runs_the_whole_tour(cli: Cli) -> None:
    result = cli("quickstart")
    assert result.code == 0, result.stderr
    assert "$ difyctl apps list" in result.stderr and "echo-workflow" in result.stdout
    assert "Tour finished" in result.stderr


def test_version_says_why_an_unreachable_server_has_no_version(cli: Cli) -> None:
    """A server that cannot be reached is named with the reason, never a bare 'Dify unknown'."""
    import socket

    with socket.socket() as sock:  # a port on loopback that nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {"DIFY_BASE_URL": url}
    text = cli("version", env=env)
    assert text.code == 0 and "unknown" not in text.stdout and "cannot connect" in text.stdout
    doc = cli("version", "-o", "json", env=env).json()
    assert doc["reachable"] is False and "cannot connect" in doc["problem"]


@pytest.mark.parametrize("html_server", [_WebUi], indirect=True)
def test_version_says_what_answered_when_it_is_not_dify(cli: Cli, html_server: str) -> None:
    """The web UI's address given as the API's: /health answers an HTML page. `version` printed a bare
    "Dify unknown"; it now says what answered instead."""
    env = {"DIFY_BASE_URL": html_server}
    text = cli("version", env=env)
    doc = cli("version", "-o", "json", env=env).json()
    assert (
        text.code == 0 and "Dify version unknown (GET /health answered HTTP 200 with text/html" in text.stdout
    )
    assert doc["reachable"] is True and doc["server_version"] is None and "text/html" in doc["problem"]
