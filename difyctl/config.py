"""Profiles (`profiles.yaml` in the config dir) and the environment overrides of DESIGN.md.

A profile is `{base_url, email?, auth: session|token|admin, apps: {alias: app_id}}`. No secret is
ever written here: sessions and keys live in the credential store (difyctl.credentials).
The folder may also hold files of langgenius' unrelated TypeScript `difyctl` (config.yml, hosts.yml,
tokens.yml): we never read or write those.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from difyctl.errors import ConfigError
from difyctl.fsutil import atomic_write, ensure_private_dir

PROFILES_FILE = "profiles.yaml"
DEFAULT_PROFILE = "default"
AUTH_KINDS = ("session", "token", "admin")
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    explicit = env.get("DIFYCTL_CONFIG_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = env.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path(env.get("HOME") or Path.home()) / ".config"
    return base / "difyctl"


def validate_profile_name(name: str) -> str:
    if not _PROFILE_NAME.match(name):
        raise ConfigError(
            f"invalid profile name {name!r}",
            hint="use letters, digits, '-', '_' or '.', at most 64 characters",
        )
    return name


def normalise_base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(
            f"invalid base URL {url!r}", hint="give the server root, e.g. https://dify.example.com"
        )
    for suffix in ("/console/api", "/v1"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


def alias_env_name(alias: str) -> str:
    """`DIFY_API_KEY_<ALIAS>`: upper-cased, `-` (and anything else unsafe) -> `_`."""
    return "DIFY_API_KEY_" + re.sub(r"[^A-Z0-9]", "_", alias.upper())


@dataclass
class Profile:
    name: str
    base_url: str
    email: str | None = None
    auth: str = "session"
    apps: dict[str, str] = field(default_factory=dict)

    def to_yaml_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"base_url": self.base_url, "auth": self.auth}
        if self.email:
            out["email"] = self.email
        if self.apps:
            out["apps"] = dict(sorted(self.apps.items()))
        return out

    @classmethod
    def from_yaml_dict(cls, name: str, d: Any) -> Profile:
        if not isinstance(d, dict) or not isinstance(d.get("base_url"), str):
            raise ConfigError(f"profile {name!r} in {PROFILES_FILE} has no base_url")
        apps = d.get("apps") or {}
        if not isinstance(apps, dict):
            raise ConfigError(f"profile {name!r}: 'apps' must be a mapping of alias to app id")
        auth = str(d.get("auth") or "session")
        return cls(
            name=name,
            base_url=str(d["base_url"]),
            email=str(d["email"]) if d.get("email") else None,
            auth=auth if auth in AUTH_KINDS else "session",
            apps={str(k): str(v) for k, v in apps.items()},
        )


@dataclass
class ProfilesFile:
    path: Path
    current: str | None = None
    profiles: dict[str, Profile] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path) -> ProfilesFile:

        path = directory / PROFILES_FILE
        if not path.exists():
            return cls(path=path)
        from difyctl import yamlio

        try:
            raw = yamlio.load_file(path, fmt="yaml") or {}
        except yamlio.LoadError as exc:
            raise ConfigError(f"cannot read {exc.message}", hint=exc.hint) from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path} is not a mapping")
        profiles = raw.get("profiles") or {}
        if not isinstance(profiles, dict):
            raise ConfigError(f"{path}: 'profiles' must be a mapping")
        current = raw.get("current")
        return cls(
            path=path,
            current=str(current) if current else None,
            profiles={str(n): Profile.from_yaml_dict(str(n), p) for n, p in profiles.items()},
        )

    def save(self) -> None:
        import yaml

        ensure_private_dir(self.path.parent)
        doc = {
            "current": self.current,
            "profiles": {n: p.to_yaml_dict() for n, p in sorted(self.profiles.items())},
        }
        atomic_write(self.path, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), mode=0o600)

    def get(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ConfigError(
                f"no profile named {name!r} (known: {known})", hint="create one with `difyctl login`"
            ) from None


def select_profile_name(explicit: str | None, env: Mapping[str, str], profiles: ProfilesFile) -> str:
    """Flag > DIFYCTL_PROFILE > the file's current profile > `default`; validated, so `a/b` can never
    name a file or share one with `a_b`."""
    return validate_profile_name(
        explicit or env.get("DIFYCTL_PROFILE") or profiles.current or DEFAULT_PROFILE
    )


def resolve_profile(name: str, env: Mapping[str, str], profiles: ProfilesFile) -> Profile:
    """The named profile with environment overrides applied. Env alone (DIFY_BASE_URL) is enough: CI
    and cron need no profiles.yaml."""
    stored = profiles.profiles.get(name)
    base_url = env.get("DIFY_BASE_URL") or (stored.base_url if stored else None)
    if not base_url:
        raise ConfigError(
            f"no Dify server configured for profile {name!r}",
            hint="run `difyctl login --base-url URL` or set DIFY_BASE_URL",
        )
    return Profile(
        name=name,
        base_url=normalise_base_url(base_url),
        email=env.get("DIFY_EMAIL") or (stored.email if stored else None),
        auth=stored.auth if stored else "session",
        apps=dict(stored.apps) if stored else {},
    )
