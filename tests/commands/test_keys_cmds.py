"""keys / health / secrets / credentials through the real CLI against the emulator."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from difyctl.rotation.journal import JournalStore

from .conftest import Cli

NEW_KEYS = {"created_at_iso", "last_used_at_iso", "app_id", "app_name", "app_mode"}  # issue 15


def _tokens(emu: Any, name: str) -> list[str]:
    with emu.state.lock:
        return [k.token for k in emu.state.get_app(emu.app_id(name)).api_keys]


def test_keys_list_json_shape_and_masking(cli: Cli, logged_in: Any) -> None:
    token = _tokens(logged_in, "echo-chat")[0]
    res = cli("keys", "list", "echo-chat", "-o", "json")
    assert res.code == 0, res.stderr
    (doc,) = res.json()
    assert set(doc) == {"id", "token", "created_at", "last_used_at"} | NEW_KEYS  # issue 15: keys only added
    assert doc["token"] != token and doc["token"].endswith(token[-4:])
    assert token not in cli("keys", "list", "echo-chat").stdout
    assert cli("keys", "list", "echo-chat", "--show-secret", "-o", "json").json()[0]["token"] == token


def test_create_store_set_revoke(cli: Cli, logged_in: Any) -> None:
    res = cli("keys", "create", "echo-chat", "--store", "-o", "json")
    assert res.code == 0 and res.json()["stored"] is True
    new_id = res.json()["id"]
    assert len(_tokens(logged_in, "echo-chat")) == 2
    assert cli("keys", "revoke", "echo-chat", new_id).code == 2  # no TTY, no --yes
    res = cli("keys", "revoke", "echo-chat", new_id, "--yes")
    assert res.code == 0 and "removed from the keyring" in res.stderr
    app_id = logged_in.app_id("echo-chat")
    token = _tokens(logged_in, "echo-chat")[0]
    res = cli("keys", "set", app_id, "--key-stdin", "-o", "json", stdin=token + "\n")
    assert res.code == 0 and res.json()["app"] == "echo-chat" and token not in res.stdout
    assert cli("keys", "set", app_id, "--key-stdin", stdin="app-doesnotexist000000000\n").code == 4  # auth
    other = _tokens(logged_in, "json-chat")[0]
    assert (
        "belongs to app 'json-chat'"
        in cli("keys", "set", "echo-chat", "--key-stdin", stdin=other + "\n").stderr
    )


def test_revoke_a_leaked_key_given_on_stdin(cli: Cli, logged_in: Any) -> None:
    """The operator has the leaked key, not its id: `keys revoke APP -` reads it from stdin (never the
    command line, where other users see it), revokes it by its id, and never prints it back."""
    res = cli("keys", "create", "echo-chat", "--show-secret", "-o", "json")
    leaked, leaked_id = res.json()["token"], res.json()["id"]
    res = cli("keys", "revoke", "echo-chat", "-", "--yes", "-o", "json", stdin=leaked + "\n")
    assert res.code == 0, res.stderr
    assert res.json()["revoked"] == leaked_id
    assert leaked not in res.stdout + res.stderr
    assert leaked not in _tokens(logged_in, "echo-chat")
    assert cli("keys", "revoke", "echo-chat", "-", "--yes", stdin="").code == 2  # nothing on stdin


def test_revoke_an_unknown_key_sends_nothing_and_says_where_the_ids_are(cli: Cli, logged_in: Any) -> None:
    """A mistyped id (or a key of another app) is refused before any DELETE: the server's own answer
    would be "API key not found", or for an id that is no UUID, Flask's "requested URL was not found"."""
    before = _tokens(logged_in, "echo-chat")
    other = _tokens(logged_in, "json-chat")[0]
    for wrong, stdin in (("3f2c0a4e-0000-4000-8000-000000000000", None), ("not-an-id", None), ("-", other)):
        res = cli(
            "keys", "revoke", "echo-chat", wrong, "--yes", stdin=None if stdin is None else stdin + "\n"
        )
        assert res.code == 2, res.stderr
        assert "has no key" in res.stderr and "keys list echo-chat" in res.stderr
        assert other not in res.stdout + res.stderr  # a key given as itself is shown masked
    assert _tokens(logged_in, "echo-chat") == before and other in _tokens(logged_in, "json-chat")


def test_revoke_takes_an_id_in_capitals_as_dify_does(cli: Cli, logged_in: Any) -> None:
    """Dify's route is `<uuid:api_key_id>` (api/controllers/console/apikey.py): werkzeug's UUID
    converter takes A-F too, so an id copied in capitals is a known key, not "has no key"."""
    made = cli("keys", "create", "echo-chat", "--show-secret", "-o", "json").json()
    res = cli("keys", "revoke", "echo-chat", made["id"].upper(), "--yes", "-o", "json")
    assert res.code == 0, res.stderr
    assert res.json()["revoked"] == made["id"] and made["token"] not in _tokens(logged_in, "echo-chat")


def test_revoke_dash_never_prints_what_came_on_stdin_even_without_the_app_prefix(
    cli: Cli, logged_in: Any
) -> None:
    """`-` means a secret: a leaked key pasted without its `app-` prefix (or any other secret piped by
    mistake) is refused masked, like a key, not echoed back in the error line."""
    secret = "sk-" + "S3cr3tCanary" * 3
    before = _tokens(logged_in, "echo-chat")
    for stdin in (secret, "app-" + secret[3:]):
        res = cli("keys", "revoke", "echo-chat", "-", "--yes", "-v", stdin=stdin + "\n")
        assert res.code == 2 and "has no key" in res.stderr, res.stderr
        assert "S3cr3tCanary" not in res.stdout + res.stderr
    assert _tokens(logged_in, "echo-chat") == before


def test_revoke_dash_on_a_terminal_asks_for_the_key_without_echo(
    cli: Cli, logged_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a TTY, `keys revoke APP -` asks for the key as `login` asks for a password (getpass, no
    echo): a line read with echo left the leaked key on the screen. The y/N question that follows
    shows it masked."""
    import getpass

    import difyctl.output.prompt as prompt
    from difyctl.redact import mask

    leaked = cli("keys", "create", "echo-chat", "--show-secret", "-o", "json").json()
    asked: list[str] = []

    def no_echo(label: str, stream: Any = None) -> str:
        asked.append(label)
        return str(leaked["token"])

    monkeypatch.setattr(prompt, "stdin_is_tty", lambda: True)
    monkeypatch.setattr(getpass, "getpass", no_echo)
    res = cli("keys", "revoke", "echo-chat", "-", "-o", "json", stdin="y\n")  # the y/N answer
    assert res.code == 0, res.stderr
    assert len(asked) == 1 and res.json()["revoked"] == leaked["id"]
    assert leaked["token"] not in res.stdout + res.stderr
    assert mask(leaked["token"]) in res.stderr  # the confirmation names it masked
    assert leaked["token"] not in _tokens(logged_in, "echo-chat")


@pytest.mark.parametrize(
    "argv",
    [
        ["keys", "rotate", "echo-chat"],
        ["secrets", "set", "echo-workflow", "X", "--from-env", "V"],
        ["secrets", "rotate", "echo-workflow", "X", "--from-env", "V"],
        ["credentials", "rotate", "openai", "--from-env", "V"],
    ],
)
def test_changing_commands_refuse_without_tty_or_yes(cli: Cli, logged_in: Any, argv: list[str]) -> None:
    before = _tokens(logged_in, "echo-chat")
    res = cli(*argv, env={"V": "sk-value-1234"})
    assert res.code == 2 and "--yes" in res.stderr
    assert _tokens(logged_in, "echo-chat") == before


def test_rotate_cli_with_dotenv_json_and_second_concurrent_run_locked(
    cli: Cli, logged_in: Any, tmp_path: Path, isolated_env: Path
) -> None:
    env = tmp_path / "app.env"
    res = cli("keys", "rotate", "echo-chat", "--sink", f"dotenv:{env}:DIFY_API_KEY", "--yes", "-o", "json")
    assert res.code == 0, res.stderr
    doc = res.json()
    assert doc["ok"] and doc["results"][0]["status"] == "finished"
    assert env.read_text().strip() == "DIFY_API_KEY=" + _tokens(logged_in, "echo-chat")[0]
    # a second rotation while one holds the lock (a live pid: this very process)
    app_id = logged_in.app_id("echo-chat")
    lock = JournalStore(isolated_env / "rotation").lock_path(logged_in.base_url, app_id)
    lock.write_text(json.dumps({"pid": os.getpid(), "host": ""}))
    res = cli("keys", "rotate", "echo-chat", "--yes")
    assert res.code == 1 and "locked" in res.stdout + res.stderr
    assert len(_tokens(logged_in, "echo-chat")) == 1


def test_rotate_all_grace_then_finish(cli: Cli, logged_in: Any) -> None:
    res = cli("keys", "rotate", "--all", "--grace", "60", "--yes", "-o", "json")
    assert res.code == 0, res.stderr
    assert {r["status"] for r in res.json()["results"]} == {"promoted"}
    assert len(_tokens(logged_in, "echo-chat")) == 2
    res = cli("keys", "rotate", "--all", "--finish", "--yes")
    assert res.code == 1 and "waiting" in res.stdout
    res = cli("keys", "rotate", "--all", "--finish", "--force", "--yes", "-o", "json")
    assert res.code == 0 and {r["status"] for r in res.json()["results"]} == {"finished"}
    assert all(len(_tokens(logged_in, n)) == 1 for n in ("echo-chat", "echo-workflow", "json-chat"))


def test_rotate_usage_errors(cli: Cli, logged_in: Any) -> None:
    assert cli("keys", "rotate", "--yes").code == 2
    assert cli("keys", "rotate", "echo-chat", "--sink", "s3:x", "--yes").code == 2
    assert cli("keys", "rotate", "echo-chat", "--force", "--yes").code == 2
    res = cli("keys", "rotate", "echo-chat", "--dry-run", "-o", "json")
    assert res.code == 0 and res.json()["results"][0]["status"] == "planned"


def test_editor_rotation_exits_4_before_creating(cli: Cli, logged_in: Any) -> None:
    cli(
        "login",
        "--base-url",
        logged_in.base_url,
        "--email",
        "editor@example.com",
        "--password-stdin",
        stdin="EditorPass123\n",
    )
    res = cli("keys", "rotate", "echo-chat", "--yes")
    assert res.code == 4 and "'editor'" in res.stdout + res.stderr
    assert len(_tokens(logged_in, "echo-chat")) == 1


def test_health_exit_codes(cli: Cli, logged_in: Any) -> None:
    res = cli("health", "-o", "json")
    assert res.code == 0, res.stderr
    doc = res.json()
    assert doc["summary"]["ok"] == 4 and all(r["key"].startswith("app-****") for r in doc["results"])
    res = cli("health", "echo-chat", "--probe", "ping", "-o", "json")
    assert res.code == 0 and res.json()["results"][0]["probes"][0]["ok"]
    logged_in.faults.fail_next(
        "GET", r"/v1/info$", 401, {"code": "unauthorized", "message": "no", "status": 401}
    )
    assert cli("health", "--all", "--concurrency", "1").code == 3
    logged_in.faults.fail_next(
        "GET", r"/v1/info$", 401, {"code": "unauthorized", "message": "no", "status": 401}
    )
    assert cli("health", "echo-chat").code == 1
    assert cli("health", "echo-chat", "--all").code == 2


def test_secrets_and_credentials_cli(cli: Cli, logged_in: Any) -> None:
    env = {"NEW_TOKEN": "secret-canary-value-777", "NEW_KEY": "sk-canary-provider-888"}
    res = cli("secrets", "set", "echo-workflow", "CRM_TOKEN", "--from-env", "NEW_TOKEN", "--yes", env=env)
    assert res.code == 0, res.stdout + res.stderr
    res = cli("secrets", "list", "echo-workflow", "-o", "json")
    assert res.json() == [
        {
            "id": res.json()[0]["id"],
            "name": "CRM_TOKEN",
            "value": "*" * 20,
            "value_type": "secret",
            "description": "",
            "app_id": logged_in.app_id("echo-workflow"),  # issue 15: a result about an app
            "app_name": "echo-workflow",  # carries its identity
            "app_mode": "workflow",
        }
    ]
    res = cli(
        "secrets",
        "rotate",
        "echo-workflow",
        "CRM_TOKEN",
        "--value-stdin",
        "--probe",
        "hi",
        "--yes",
        stdin="v2-secret\n",
    )
    assert res.code == 0 and "status: changed" in res.stdout
    assert cli("secrets", "set", "echo-workflow", "X", "--yes").code == 2  # no value source
    assert cli("secrets", "set", "echo-chat", "X", "--from-env", "NEW_TOKEN", "--yes", env=env).code == 0
    assert (
        cli("secrets", "set", "echo-completion", "X", "--from-env", "NEW_TOKEN", "--yes", env=env).code == 1
    )
    res = cli("credentials", "list", "openai", "-o", "json")
    assert res.code == 0 and res.json()[0]["provider"] == "langgenius/openai/openai"
    res = cli(
        "credentials",
        "rotate",
        "openai",
        "--from-env",
        "NEW_KEY",
        "--probe",
        "echo-completion",
        "--yes",
        env=env,
    )
    assert res.code == 0 and "status: rotated" in res.stdout
    res = cli("credentials", "rotate", "openai", "--stdin", "--yes", "-o", "json", stdin="sk-invalid\n")
    assert res.code == 1 and res.json()["status"] == "failed"


def test_canary_no_secret_value_in_output_logs_or_journal(
    cli: Cli, logged_in: Any, tmp_path: Path, isolated_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every key, secret and credential value involved stays out of stdout, stderr, logs and the journal."""
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    env = {"NEW_TOKEN": "secret-canary-value-777", "NEW_KEY": "sk-canary-provider-888"}
    old = _tokens(logged_in, "echo-chat")
    sink = f'exec:{os.path.realpath(__import__("sys").executable)} -c "import sys; sys.exit(5)"'
    runs = [
        cli("-v", "keys", "rotate", "echo-chat", "--probe", "hi", "--sink", sink, "--yes"),
        cli("-v", "keys", "rotate", "echo-chat", "--resume", "--yes", "-o", "json"),  # the sink fails again
        cli(
            "-v", "keys", "rotate", "echo-chat", "--resume", "--sink", "exec:true", "--replace-sinks", "--yes"
        ),
        cli("-v", "keys", "rotate", "echo-workflow", "--yes", "-o", "yaml"),
        cli("-v", "health", "--all", "-o", "json"),
        cli("-v", "keys", "list", "echo-chat"),
        cli("-v", "secrets", "set", "echo-workflow", "S", "--from-env", "NEW_TOKEN", "--yes", env=env),
        cli(
            "-v",
            "secrets",
            "rotate",
            "echo-workflow",
            "S",
            "--value-stdin",
            "--yes",
            stdin="secret-canary-two-999\n",
        ),
        cli("-v", "credentials", "rotate", "openai", "--from-env", "NEW_KEY", "--yes", "-o", "json", env=env),
    ]
    assert [r.code for r in runs] == [1, 1, 0, 0, 0, 0, 0, 0, 0], [(r.code, r.stderr) for r in runs]
    for r in runs:
        seen += [r.stdout, r.stderr]
    seen.append(caplog.text)
    seen += [p.read_text() for p in (isolated_env / "rotation").glob("*.json")]
    canaries = [
        *old,
        *_tokens(logged_in, "echo-chat"),
        *_tokens(logged_in, "echo-workflow"),
        *env.values(),
        "secret-canary-two-999",
    ]
    for text in seen:
        for canary in canaries:
            assert canary not in text


def test_rotate_all_skips_keyless_apps_and_needs_a_per_app_dotenv_var(cli, logged_in, tmp_path) -> None:
    import json as _json

    app_id = logged_in.app_id("echo-completion")
    # drop echo-completion's only key through the CLI (as an admin would)
    keys = cli("keys", "list", "echo-completion", "-o", "json").json()
    assert cli("keys", "revoke", "echo-completion", keys[0]["id"], "--yes").code == 0
    env_file = tmp_path / "apps.env"
    shared = cli("keys", "rotate", "--all", "--sink", f"dotenv:{env_file}:DIFY_API_KEY", "--yes")
    assert shared.code == 2 and "{ALIAS}" in shared.stderr and not env_file.exists()
    result = cli(
        "keys",
        "rotate",
        "--all",
        "--sink",
        f"dotenv:{env_file}:DIFY_API_KEY_{{ALIAS}}",
        "--yes",
        "-o",
        "json",
    )
    assert result.code == 0, result.stderr
    doc = _json.loads(result.stdout)
    assert doc["ok"] is True
    docs = {d["app"]: d for d in doc["results"]}
    assert docs["echo-completion"]["status"] == "skipped" and docs["echo-completion"]["app_id"] == app_id
    assert docs["echo-chat"]["status"] == "finished"
    text = env_file.read_text()
    assert "DIFY_API_KEY_ECHO_CHAT=app-" in text and "DIFY_API_KEY_ECHO_WORKFLOW=app-" in text
    assert "ECHO_COMPLETION" not in text
    assert cli("keys", "list", "echo-completion", "-o", "json").json() == []


def _login(emu: Any) -> list[str]:
    return ["login", "--base-url", emu.base_url, "--email", "admin@example.com", "--password-stdin"]


def test_login_refuses_a_profile_name_that_is_not_a_file_name(
    cli: Cli, emulator: Any, isolated_env: Path
) -> None:
    for args, env in ((["-p", "a/b"], {}), ([], {"DIFYCTL_PROFILE": "a/b"})):
        res = cli(*_login(emulator), *args, stdin="DemoPass123\n", env=env)
        assert res.code == 2 and "invalid profile name 'a/b'" in res.stderr
    assert not (isolated_env / "profiles.yaml").exists()


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, where: str, how: str) -> None:
    """Ctrl-C (KeyboardInterrupt) or a real SIGTERM to this process at one step of the rotation."""
    import signal

    from difyctl.client.console import ConsoleClient
    from difyctl.rotation import engine
    from difyctl.rotation.sinks import DotenvSink

    def stop(*_a: Any, **_k: Any) -> Any:
        if how == "int":
            raise KeyboardInterrupt
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not stop the run")

    if where == "role":
        monkeypatch.setattr(ConsoleClient, "current_workspace", stop)
    elif where == "test":
        monkeypatch.setattr(engine, "probe_key", stop)
    else:
        real = DotenvSink.deliver

        def deliver(self: DotenvSink, key: str, context: Any) -> None:
            if self.path.name == "b.env":
                stop()
            real(self, key, context)

        monkeypatch.setattr(DotenvSink, "deliver", deliver)


@pytest.mark.parametrize(
    ("where", "how", "says"),
    [
        ("role", "int", "nothing is pending"),
        ("test", "term", "a new key"),
        ("sink", "int", "both keys work"),
        ("sink", "term", "not yet in dotenv:"),
    ],
)
def test_interrupt_prints_what_exists_and_the_command_that_finishes(
    cli: Cli, logged_in: Any, tmp_path: Path, where: str, how: str, says: str
) -> None:
    import re
    import shlex
    import signal

    before = signal.getsignal(signal.SIGTERM)
    old = _tokens(logged_in, "echo-chat")
    a, b = tmp_path / "a.env", tmp_path / "b.env"
    sinks = ["--sink", f"dotenv:{a}:K", "--sink", f"dotenv:{b}:K"]
    with pytest.MonkeyPatch.context() as mp:
        _interrupt_at(mp, where, how)
        res = cli("keys", "rotate", "echo-chat", *sinks, "--yes")
    assert res.code == (130 if how == "int" else 143)
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is put back
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0] and "echo-chat" in lines[0], res.stderr
    for token in _tokens(logged_in, "echo-chat"):
        assert token not in res.stdout + res.stderr
    if where == "role":
        assert "keys rotate" not in lines[0] and _tokens(logged_in, "echo-chat") == old
        return
    command = re.search(r"finish it with `difyctl ([^`]+)`", lines[0])
    assert command, lines[0]
    done = cli(*shlex.split(command.group(1)), "-o", "json")  # exactly as printed: no --sink
    assert done.code == 0 and done.json()["results"][0]["status"] == "finished", done.stderr
    new = _tokens(logged_in, "echo-chat")
    assert len(new) == 1 and new != old
    assert a.read_text() == b.read_text() == f"K={new[0]}\n"


def test_two_profiles_on_one_server_share_the_lock_and_the_journal(
    cli: Cli, logged_in: Any, tmp_path: Path, isolated_env: Path
) -> None:
    assert cli(*_login(logged_in), "-p", "other", stdin="DemoPass123\n").code == 0
    app_id = logged_in.app_id("echo-chat")
    lock = JournalStore(isolated_env / "rotation").lock_path(logged_in.base_url + "/", app_id)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"pid": os.getpid(), "host": ""}))  # "default" is rotating right now
    res = cli("keys", "rotate", "echo-chat", "-p", "other", "--yes")
    assert res.code == 1 and "locked" in res.stdout + res.stderr
    assert len(_tokens(logged_in, "echo-chat")) == 1
    lock.unlink()
    # a rotation that "default" left unfinished blocks "other" too (no second pending key)
    env = tmp_path / "a.env"
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    bad = f"dotenv:{blocked}/x.env:K"
    assert cli("keys", "rotate", "echo-chat", "--sink", bad, "--yes").code == 1
    res = cli("keys", "rotate", "echo-chat", "-p", "other", "--sink", f"dotenv:{env}:K", "--yes")
    assert res.code == 1 and "--resume" in res.stdout + res.stderr
    assert len(_tokens(logged_in, "echo-chat")) == 2 and not env.exists()


def test_health_reports_a_failed_key_lookup_not_a_missing_key(cli: Cli, logged_in: Any) -> None:
    """Issue 10 (7): a 500 from the console's key list is a lookup failure with its status, retried like
    any GET; only an app that really has no key is told to create one."""
    with logged_in.state.lock:
        logged_in.state.get_app(logged_in.app_id("echo-workflow")).api_keys.clear()
    chat = logged_in.app_id("echo-chat")
    logged_in.faults.fail_next("GET", rf"/apps/{chat}/api-keys$", 500, times=20)
    res = cli("health", "--all", "--concurrency", "1", "-o", "json")
    by_app = {r["app"]: r for r in res.json()["results"]}
    chat_error = by_app["echo-chat"]["error"]
    assert "500" in chat_error and "keys create" not in chat_error
    assert "no service API key" in by_app["echo-workflow"]["error"]
    logged_in.faults.reset()
    # retried like any GET: one 500 is absorbed
    logged_in.faults.fail_next("GET", rf"/apps/{chat}/api-keys$", 500, times=1)
    res = cli("health", "--all", "--concurrency", "1", "-o", "json")
    assert next(r for r in res.json()["results"] if r["app"] == "echo-chat")["ok"] is True


def test_printed_commands_quote_an_app_name_with_spaces(cli: Cli, logged_in: Any, tmp_path: Path) -> None:
    """The interrupt line and the hints give "the exact command": an app called `Echo Chat` must not
    turn into `keys rotate Echo Chat` (two apps, neither of which exists)."""
    import re
    import shlex

    with logged_in.state.lock:
        logged_in.state.get_app(logged_in.app_id("echo-chat")).name = "Echo Chat"
    a, b = tmp_path / "a.env", tmp_path / "b.env"
    sinks = ["--sink", f"dotenv:{a}:K", "--sink", f"dotenv:{b}:K"]
    with pytest.MonkeyPatch.context() as mp:
        _interrupt_at(mp, "sink", "int")
        res = cli("keys", "rotate", "Echo Chat", *sinks, "--yes")
    assert res.code == 130
    command = re.search(r"finish it with `difyctl ([^`]+)`", res.stderr)
    assert command, res.stderr
    done = cli(*shlex.split(command.group(1)), "-o", "json")
    assert done.code == 0 and done.json()["results"][0]["status"] == "finished", done.stderr
    # the hint of a failed sink, too
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    res = cli("keys", "rotate", "Echo Chat", "--sink", f"dotenv:{blocked}/x.env:K", "--yes", "-o", "json")
    hint = res.json()["results"][0]["hint"]
    assert "rotate 'Echo Chat' --resume --yes" in hint, hint


def test_all_skips_a_keyless_app_with_a_hint_that_runs_as_printed(cli: Cli, logged_in: Any) -> None:
    import shlex

    with logged_in.state.lock:
        app = logged_in.state.get_app(logged_in.app_id("echo-chat"))
        app.name = "Echo Chat"
        app.api_keys.clear()
    res = cli("keys", "rotate", "--all", "--dry-run", "-o", "json")
    (skipped,) = [r for r in res.json()["results"] if r["status"] == "skipped"]
    command = shlex.split(skipped["hint"].split("`")[1])
    assert command == ["difyctl", "keys", "create", "Echo Chat", "--store"], skipped["hint"]
