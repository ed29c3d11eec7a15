"""The secret store: keyring first (service `difyctl-ops`, never `difyctl`), else a 0600 file.

Entries are named `<profile>:<kind>[:<id>]`, e.g. `prod:session`, `prod:appkey:<app id>`.
Keyring cannot list entries, so an index of entry *names* (never values) is kept beside them.
`DIFYCTL_KEYRING=off` picks the file outright; where no keyring backend works (headless servers,
CI) the file is used with a one-line notice, as gh does. Environment variables are read by the
callers and never written here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from difyctl.errors import ConfigError
from difyctl.fsutil import atomic_write, ensure_private_dir

KEYRING_SERVICE = "difyctl-ops"
SECRETS_FILE = "secrets.yaml"
_INDEX = "__index__"


class SecretBackend(Protocol):
    name: str

    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...
    def delete(self, key: str) -> None: ...


class MemoryBackend:
    name = "memory"

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


class FileBackend:
    """`secrets.yaml` (mode 0600) in a 0700 config dir, rewritten atomically on every change."""

    name = "file"

    def __init__(self, directory: Path) -> None:
        self.path = directory / SECRETS_FILE

    def _load(self) -> dict[str, str]:

        if not self.path.exists():
            return {}
        from difyctl import yamlio

        try:
            raw = yamlio.load_file(self.path, fmt="yaml") or {}
        except yamlio.LoadError as exc:
            raise ConfigError(f"cannot read {exc.message}", hint=exc.hint) from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{self.path} is not a mapping")
        return {str(k): str(v) for k, v in raw.items()}

    def _save(self, data: dict[str, str]) -> None:
        import yaml

        ensure_private_dir(self.path.parent)
        atomic_write(self.path, yaml.safe_dump(data, sort_keys=True), mode=0o600)

    def get(self, key: str) -> str | None:
        return self._load().get(key)

    def set(self, key: str, value: str) -> None:
        data = self._load()
        data[key] = value
        self._save(data)

    def delete(self, key: str) -> None:
        data = self._load()
        if data.pop(key, None) is not None:
            self._save(data)


class KeyringBackend:
    name = "keyring"

    def __init__(self, keyring_module: Any) -> None:
        self._kr = keyring_module

    def get(self, key: str) -> str | None:
        value = self._kr.get_password(KEYRING_SERVICE, key)
        return None if value is None else str(value)

    def set(self, key: str, value: str) -> None:
        self._kr.set_password(KEYRING_SERVICE, key, value)

    def delete(self, key: str) -> None:
        try:
            self._kr.delete_password(KEYRING_SERVICE, key)
        except self._kr.errors.PasswordDeleteError:
            pass


def _usable_keyring() -> Any | None:
    """The keyring module if a real backend is active, else None (no exception escapes)."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            return None
        chained = getattr(backend, "backends", None)
        if chained is not None and not chained:
            return None
        if float(getattr(backend, "priority", 1)) < 1:
            return None
        # a probe read: some backends only fail on first use (locked/absent D-Bus secret service)
        keyring.get_password(KEYRING_SERVICE, _INDEX)
        return keyring
    except Exception:  # any backend failure means: use the file
        return None


NOTICE_MARKER = ".keyring-notice-shown"


def choose_backend(
    env: Mapping[str, str], directory: Path, notice: Callable[[str], None] | None = None
) -> SecretBackend:
    choice = (env.get("DIFYCTL_KEYRING") or "auto").lower()
    if choice in ("off", "file", "0", "false", "no"):
        return FileBackend(directory)
    if choice == "memory":
        return MemoryBackend()
    kr = _usable_keyring()
    if kr is not None:
        return KeyringBackend(kr)
    if notice is not None and not (directory / NOTICE_MARKER).exists():
        notice(f"no system keyring available; storing secrets in {directory / SECRETS_FILE} (mode 0600)")
        try:  # said once per config dir: the marker remembers it (delete it to see the notice again)
            ensure_private_dir(directory)
            (directory / NOTICE_MARKER).write_text("the no-keyring notice was shown\n", encoding="utf-8")
        except OSError:
            pass
    return FileBackend(directory)


class CredentialStore:
    """Typed access to the profile's secrets, over any SecretBackend."""

    def __init__(self, backend: SecretBackend) -> None:
        self.backend = backend

    # index of entry names per profile (names only, so `profile delete` can clean keyring entries)
    def _index(self, profile: str) -> list[str]:
        raw = self.backend.get(f"{profile}:{_INDEX}")
        try:
            names = json.loads(raw) if raw else []
        except ValueError:
            names = []
        return [str(n) for n in names] if isinstance(names, list) else []

    def _put(self, profile: str, key: str, value: str) -> None:
        self.backend.set(key, value)
        names = self._index(profile)
        if key not in names:
            names.append(key)
            self.backend.set(f"{profile}:{_INDEX}", json.dumps(sorted(names)))

    def _drop(self, profile: str, key: str) -> None:
        self.backend.delete(key)
        names = [n for n in self._index(profile) if n != key]
        self.backend.set(f"{profile}:{_INDEX}", json.dumps(names))

    def get_session(self, profile: str) -> str | None:
        return self.backend.get(f"{profile}:session")

    def set_session(self, profile: str, session_json: str) -> None:
        self._put(profile, f"{profile}:session", session_json)

    def delete_session(self, profile: str) -> None:
        self._drop(profile, f"{profile}:session")

    def get_app_key(self, profile: str, app_id: str) -> str | None:
        return self.backend.get(f"{profile}:appkey:{app_id}")

    def set_app_key(self, profile: str, app_id: str, key: str) -> None:
        self._put(profile, f"{profile}:appkey:{app_id}", key)

    def delete_app_key(self, profile: str, app_id: str) -> None:
        self._drop(profile, f"{profile}:appkey:{app_id}")

    def delete_profile(self, profile: str) -> int:
        names = self._index(profile)
        for name in names:
            self.backend.delete(name)
        self.backend.delete(f"{profile}:{_INDEX}")
        return len(names)
