"""Item 6 of issue 15: aliases, status's workspace id, the keyring notice once, and the slips."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import invoke


@pytest.fixture
def stored(
    emu: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A logged-in profile (session in the file store) and the env that uses it."""
    env = {"DIFYCTL_CONFIG_DIR": str(tmp_path / "cfg"), "DIFYCTL_KEYRING": "off", "HOME": str(tmp_path)}
    monkeypatch.setattr(sys, "stdin", io.StringIO("DemoPass123\n"))
    argv = ["login", "--base-url", emu.base_url, "--email", "admin@example.com", "--password-stdin"]
    code, err = invoke(argv, env, capsys)
    assert code == 0, err
    return env


def _json(argv: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> Any:
    from difyctl.cli import run

    capsys.readouterr()
    code = run([*argv, "-o", "json"], env=env)
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_profile_alias_set_list_use_remove(
    emu: Any, stored: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _json(["profile", "alias", "set", "bot", "echo-chat"], stored, capsys)
    assert (
        doc["alias"] == "bot" and doc["app_id"] == emu.app_id("echo-chat") and doc["app_name"] == "echo-chat"
    )
    assert doc["key_env"] == "DIFY_API_KEY_BOT"
    assert _json(["profile", "alias", "list"], stored, capsys) == [
        {"alias": "bot", "app_id": emu.app_id("echo-chat"), "key_env": "DIFY_API_KEY_BOT"}
    ]
    assert _json(["apps", "show", "bot"], stored, capsys)["name"] == "echo-chat"  # usable as APP
    (listed,) = _json(["profile", "list"], stored, capsys)
    assert listed["apps"] == {"bot": emu.app_id("echo-chat")}
    code, err = invoke(["profile", "alias", "set", "bad alias", "echo-chat"], stored, capsys)
    assert code == 2 and "invalid alias 'bad alias'" in err
    code, err = invoke(["profile", "alias", "set", "x", "no-such-app"], stored, capsys)
    assert code == 2 and "no app named" in err
    assert _json(["profile", "alias", "remove", "bot"], stored, capsys)["app_id"] == emu.app_id("echo-chat")
    code, err = invoke(["profile", "alias", "remove", "bot"], stored, capsys)
    assert code == 2 and "no alias 'bot'" in err and "hint: aliases: none" in err
    assert _json(["profile", "alias", "list"], stored, capsys) == []


def test_status_shows_the_workspace_id(
    emu: Any, stored: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _json(["status"], stored, capsys)
    assert doc["workspace"]["id"] == emu.state.tenant_id and doc["workspace"]["role"] == "owner"
    code, _ = invoke(["status"], stored, capsys)
    from difyctl.cli import run

    capsys.readouterr()
    assert run(["status"], env=stored) == 0
    out = capsys.readouterr().out
    assert f"workspace: {emu.state.tenant_id} (" in out


def test_the_no_keyring_notice_is_shown_once_per_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import difyctl.credentials as creds

    monkeypatch.setattr(creds, "_usable_keyring", lambda: None)
    seen: list[str] = []
    for _ in range(3):
        creds.choose_backend({}, tmp_path / "a", notice=seen.append)
    assert len(seen) == 1 and "no system keyring available" in seen[0]
    assert (tmp_path / "a" / creds.NOTICE_MARKER).exists()
    creds.choose_backend({}, tmp_path / "b", notice=seen.append)  # another config dir: told again
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("tokens", "line"),
    [
        (
            {"prompt": 36, "completion": 17, "total": 69},
            "tokens: 69 (36 prompt + 17 completion + 16 unsplit (workflow runs report a total only))",
        ),
        ({"prompt": 3, "completion": 4, "total": 7}, "tokens: 7 (3 prompt + 4 completion)"),
        ({"prompt": 0, "completion": 0, "total": 0}, "tokens: 0"),
    ],
)
def test_the_tokens_line_adds_up(tokens: dict[str, int], line: str) -> None:
    from difyctl.output.broadcast import tokens_line

    assert tokens_line(tokens) == line


def test_keys_list_does_not_claim_never_used(
    emu: Any, stored: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from difyctl.cli import run

    capsys.readouterr()
    assert run(["keys", "list", "echo-chat"], env=stored) == 0
    out = capsys.readouterr().out
    assert "not reported" in out and "never" not in out


def test_the_emulator_banner_tells_how_to_see_full_keys(emu: Any) -> None:
    from difyctl.emulator.server import banner

    lines = banner(emu.emulator, "http://127.0.0.1:1")
    assert any("difyctl keys list APP --show-secret" in line for line in lines)


def test_readme_links_only_files_in_the_repo() -> None:
    import re

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        if not target.startswith("http"):
            assert (root / target).exists(), target
    for name in ("DESIGN.md", "STYLE.md"):
        assert name not in readme
    assert "[docs/ci.md](docs/ci-release.md)" not in readme
