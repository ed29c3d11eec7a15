from __future__ import annotations

import stat
from pathlib import Path

import pytest

from difyctl.credentials import (
    KEYRING_SERVICE,
    CredentialStore,
    FileBackend,
    KeyringBackend,
    MemoryBackend,
    choose_backend,
)
from difyctl.errors import ConfigError

CANARY = "app-CANARYcanary0123456789"


def test_keyring_is_used_with_the_ops_service_name(tmp_path: Path, memory_keyring) -> None:
    backend = choose_backend({}, tmp_path)
    assert isinstance(backend, KeyringBackend)
    CredentialStore(backend).set_app_key("prod", "app-id", CANARY)
    assert memory_keyring.store[(KEYRING_SERVICE, "prod:appkey:app-id")] == CANARY
    assert KEYRING_SERVICE == "difyctl-ops"
    assert not (tmp_path / "secrets.yaml").exists()


def test_keyring_off_uses_a_private_file(tmp_path: Path) -> None:
    backend = choose_backend({"DIFYCTL_KEYRING": "off"}, tmp_path / "cfg")
    assert isinstance(backend, FileBackend)
    store = CredentialStore(backend)
    store.set_session("prod", '{"access_token": "x"}')
    path = tmp_path / "cfg" / "secrets.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.get_session("prod") == '{"access_token": "x"}'


def test_no_usable_keyring_falls_back_to_file_with_a_notice(tmp_path: Path, monkeypatch) -> None:
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    notices: list[str] = []
    backend = choose_backend({}, tmp_path, notice=notices.append)
    assert isinstance(backend, FileBackend)
    assert len(notices) == 1 and "secrets.yaml" in notices[0] and "0600" in notices[0]


def test_broken_keyring_backend_falls_back(tmp_path: Path, monkeypatch) -> None:
    import keyring

    def boom(*_a: object) -> None:
        raise RuntimeError("dbus not running")

    monkeypatch.setattr(keyring, "get_password", boom)
    assert isinstance(choose_backend({}, tmp_path, notice=lambda _m: None), FileBackend)


def test_delete_profile_removes_every_entry() -> None:
    backend = MemoryBackend()
    store = CredentialStore(backend)
    store.set_session("prod", "s")
    store.set_app_key("prod", "a1", "k1")
    store.set_app_key("prod", "a2", "k2")
    store.set_app_key("dev", "a1", "other")
    store.delete_app_key("prod", "a2")
    assert store.get_app_key("prod", "a2") is None
    assert store.delete_profile("prod") == 2
    assert store.get_session("prod") is None and store.get_app_key("prod", "a1") is None
    assert store.get_app_key("dev", "a1") == "other"


def test_corrupt_secrets_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "secrets.yaml").write_text("- not a mapping\n")
    with pytest.raises(ConfigError):
        CredentialStore(FileBackend(tmp_path)).get_session("x")
