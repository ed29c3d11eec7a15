"""The unattended auth paths of CI and cron, end to end: admin API key, pasted console token."""

from __future__ import annotations

from typing import Any

from tests.commands.conftest import Cli

ADMIN_KEY = "admin-key-CANARY-0123456789abcdef"


def test_admin_api_key_needs_no_login_and_no_csrf(cli: Cli, memory_keyring: Any) -> None:
    from difyctl.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(seed="demo", admin_api_key=ADMIN_KEY)) as emu:
        env = {
            "DIFY_BASE_URL": emu.base_url,
            "DIFY_ADMIN_API_KEY": ADMIN_KEY,
            "DIFY_WORKSPACE_ID": emu.state.tenant_id,
        }
        status = cli("status", "-o", "json", env=env)
        apps = cli("apps", "list", "-o", "json", env=env)
        wrong = cli("apps", "list", env={**env, "DIFY_ADMIN_API_KEY": "not-the-key"})
    assert status.code == 0, status.stderr
    assert status.json()["auth"] == "admin-key" and status.json()["user"]["email"] == "admin@example.com"
    assert {a["name"] for a in apps.json()} >= {"echo-chat", "echo-workflow"}
    assert wrong.code == 4
    assert not memory_keyring.store  # nothing stored: env only
    for result in (status, apps, wrong):
        assert ADMIN_KEY not in result.stdout + result.stderr


def test_console_token_from_a_browser_cookie_header(cli: Cli, emulator: Any) -> None:
    from difyctl.client.auth import login

    session = login(emulator.base_url, "admin@example.com", "DemoPass123").session
    cookie = f"access_token={session.access_token}; csrf_token={session.csrf_token}"
    env = {"DIFY_BASE_URL": emulator.base_url, "DIFY_CONSOLE_TOKEN": cookie}
    result = cli("apps", "list", "-o", "json", env=env)
    assert result.code == 0, result.stderr
    assert cli("status", "-o", "json", env=env).json()["auth"] == "console-token"
    # a bare access token is not enough on >= 1.9: the CSRF pair is required (fixture 012)
    bare = cli("apps", "list", env={**env, "DIFY_CONSOLE_TOKEN": session.access_token})
    assert bare.code == 4
    assert session.access_token not in bare.stdout + bare.stderr


def test_env_password_logs_in_once_per_command(cli: Cli, emulator: Any, monkeypatch: Any) -> None:
    """broadcast --app A --app B --app C resolves each app through the console: one login, not three."""
    from difyctl.client import auth as client_auth

    logins: list[str] = []
    real = client_auth.login

    def counting(*args: Any, **kwargs: Any) -> Any:
        logins.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(client_auth, "login", counting)
    env = {
        "DIFY_BASE_URL": emulator.base_url,
        "DIFY_EMAIL": "admin@example.com",
        "DIFY_PASSWORD": "DemoPass123",
    }
    apps = ("--app", "echo-chat", "--app", "json-chat", "--app", "echo-workflow")
    result = cli("broadcast", "hi", *apps, env=env)
    assert result.code == 0, result.stderr
    assert logins == [emulator.base_url]
