"""The rotation journal: one JSON file per server + app in `<config>/rotation/`, 0600, written
atomically at every phase transition. It holds key ids, phases and the sink specs the rotation was
started with (a dotenv path and variable, an exec command line: not secrets), never a key value: a
resumed run reads the new key's token back from the server by its id.

The file (and its lock) is named after the server URL and the app id, not the profile: two profiles
on one server share it, so they cannot rotate one app at once."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from difyctl.fsutil import atomic_write, ensure_private_dir

# (creating ->) created -> tested -> promoting -> promoted -> finishing -> finished; or reverted / failed
ACTIVE_PHASES = frozenset({"creating", "created", "tested", "promoting", "promoted", "finishing"})


@dataclass
class Journal:
    app_id: str
    app_name: str
    profile: str  # the profile that started it (informative: the key is server + app id)
    server: str = ""
    phase: str = "starting"
    old_key_id: str | None = None
    new_key_id: str | None = None
    started_at: float = 0.0
    updated_at: float = 0.0
    grace_until: float | None = None
    # the specs the rotation was started with; None: a journal from before they were recorded
    sinks: list[str] | None = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)  # "keyring" + the sink specs that hold the new key
    keys_before: list[str] = field(default_factory=list)  # key ids before the create (finds its key)
    pruned: list[str] = field(default_factory=list)
    error: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE_PHASES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Journal:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


def server_key(base_url: str) -> str:
    """One spelling per server: scheme and host lower-cased, default port and trailing slash dropped."""
    parts = urlsplit(base_url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path.rstrip('/')}"


class JournalStore:
    """`rotation/<app id>@<host>-<hash of the server URL>.json` (and its `.lock`) under the config dir."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _stem(self, server: str, app_id: str) -> str:
        key = server_key(server)
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
        host = urlsplit(key).netloc or "server"
        return re.sub(r"[^A-Za-z0-9_.@-]", "_", f"{app_id}@{host}-{digest}")

    def path(self, server: str, app_id: str) -> Path:
        return self.directory / f"{self._stem(server, app_id)}.json"

    def lock_path(self, server: str, app_id: str) -> Path:
        return self.directory / f"{self._stem(server, app_id)}.lock"

    def legacy_path(self, profile: str, app_id: str) -> Path:
        """Where difyctl <= 0.x kept it (per profile): still read, so an unfinished rotation resumes."""
        return self.directory / (re.sub(r"[^A-Za-z0-9_.-]", "_", f"{profile}--{app_id}") + ".json")

    def load(self, server: str, app_id: str, legacy_profile: str | None = None) -> Journal | None:
        path = self.path(server, app_id)
        if (
            legacy_profile is not None
            and not path.exists()
            and self.legacy_path(legacy_profile, app_id).exists()
        ):
            path = self.legacy_path(legacy_profile, app_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            from difyctl.errors import DifyctlError

            raise DifyctlError(f"the rotation journal {path} is unreadable: {exc}") from exc
        if not isinstance(data, dict):
            return None
        journal = Journal.from_dict(data)
        if "sinks" not in data:
            journal.sinks = None
        journal.server = journal.server or server
        return journal

    def save(self, journal: Journal) -> None:
        ensure_private_dir(self.directory)
        text = json.dumps(journal.to_dict(), indent=2, sort_keys=True) + "\n"
        atomic_write(self.path(journal.server, journal.app_id), text, mode=0o600)
        legacy = self.legacy_path(journal.profile, journal.app_id)
        if legacy.exists():  # moved to the server-keyed name
            legacy.unlink(missing_ok=True)

    def transition(self, journal: Journal, phase: str, at: float, note: str = "") -> None:
        """Record a phase (and why) and write the journal before anything else happens."""
        journal.phase = phase
        journal.updated_at = at
        entry: dict[str, Any] = {"phase": phase, "at": at}
        if note:
            entry["note"] = note
        journal.history.append(entry)
        self.save(journal)
