from __future__ import annotations

import stat
from pathlib import Path

import pytest

from difyctl.config import (
    Profile,
    ProfilesFile,
    alias_env_name,
    config_dir,
    normalise_base_url,
    resolve_profile,
    select_profile_name,
)
from difyctl.errors import ConfigError


def test_config_dir_precedence(tmp_path: Path) -> None:
    assert config_dir({"DIFYCTL_CONFIG_DIR": str(tmp_path / "x")}) == tmp_path / "x"
    assert config_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "difyctl"
    assert config_dir({"HOME": str(tmp_path)}) == tmp_path / ".config" / "difyctl"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://localhost/", "http://localhost"),
        ("https://dify.example.com/console/api", "https://dify.example.com"),
        ("https://dify.example.com/v1/", "https://dify.example.com"),
        ("  http://127.0.0.1:5001  ", "http://127.0.0.1:5001"),
    ],
)
def test_normalise_base_url(raw: str, expected: str) -> None:
    assert normalise_base_url(raw) == expected


@pytest.mark.parametrize("raw", ["dify.example.com", "ftp://x", ""])
def test_normalise_base_url_rejects(raw: str) -> None:
    with pytest.raises(ConfigError):
        normalise_base_url(raw)


def test_alias_env_name() -> None:
    assert alias_env_name("support-bot") == "DIFY_API_KEY_SUPPORT_BOT"
    assert alias_env_name("a.b c") == "DIFY_API_KEY_A_B_C"


def test_profiles_roundtrip_is_private(tmp_path: Path) -> None:
    pf = ProfilesFile(path=tmp_path / "cfg" / "profiles.yaml", current="prod")
    pf.profiles["prod"] = Profile("prod", "https://dify.example.com", "ops@example.com", apps={"bot": "id-1"})
    pf.save()
    assert stat.S_IMODE(pf.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(pf.path.parent.stat().st_mode) == 0o700
    loaded = ProfilesFile.load(tmp_path / "cfg")
    assert loaded.current == "prod"
    assert loaded.get("prod") == pf.profiles["prod"]
    with pytest.raises(ConfigError, match="no profile named 'dev'"):
        loaded.get("dev")


def test_malformed_profiles_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "profiles.yaml").write_text("profiles: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot read"):
        ProfilesFile.load(tmp_path)
    (tmp_path / "profiles.yaml").write_text("profiles:\n  x: {auth: session}\n")
    with pytest.raises(ConfigError, match="no base_url"):
        ProfilesFile.load(tmp_path)


def test_env_overrides_beat_the_file(tmp_path: Path) -> None:
    pf = ProfilesFile(path=tmp_path / "profiles.yaml", current="prod")
    pf.profiles["prod"] = Profile("prod", "https://a.example.com", "a@example.com")
    assert select_profile_name(None, {}, pf) == "prod"
    assert select_profile_name(None, {"DIFYCTL_PROFILE": "dev"}, pf) == "dev"
    assert select_profile_name("cli", {"DIFYCTL_PROFILE": "dev"}, pf) == "cli"
    p = resolve_profile(
        "prod", {"DIFY_BASE_URL": "https://b.example.com/", "DIFY_EMAIL": "b@example.com"}, pf
    )
    assert (p.base_url, p.email) == ("https://b.example.com", "b@example.com")
    # env alone is enough (CI, cron)
    assert resolve_profile("ci", {"DIFY_BASE_URL": "http://x"}, pf).base_url == "http://x"
    with pytest.raises(ConfigError, match="no Dify server configured"):
        resolve_profile("ci", {}, pf)


@pytest.mark.parametrize(
    ("explicit", "env"), [("a/b", {}), (None, {"DIFYCTL_PROFILE": "../x"}), ("", {"DIFYCTL_PROFILE": "a b"})]
)
def test_profile_names_are_validated_wherever_they_enter(
    tmp_path: Path, explicit: str | None, env: dict[str, str]
) -> None:
    pf = ProfilesFile(path=tmp_path / "profiles.yaml")
    with pytest.raises(ConfigError, match="invalid profile name"):
        select_profile_name(explicit, env, pf)
    assert select_profile_name("a_b.c-1", {}, pf) == "a_b.c-1"
