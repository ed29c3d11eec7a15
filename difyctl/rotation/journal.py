"""The rotation journal: one JSON file per app in `<config>/rotation/`, 0600, written atomically at
every phase transition. It holds key ids and phases, never a key value: a resumed run reads the new
key's token back from the server by its id."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from difyctl.fsutil import atomic_write, ensure_private_dir

# created -> tested -> promoting -> promoted -> finishing -> finished; or reverted / failed
ACTIVE_PHASES = frozenset({"created", "tested", "promoting", "promoted", "finishing"})


@dataclass
class Journal:
    app_id: str
    app_name: str
    profile: str
    phase: str = "starting"
    old_key_id: str | None = None
    new_key_id: str | None = None
    started_at: float = 0.0
    updated_at: float = 0.0
    grace_until: float | None = None
    delivered: list[str] = field(default_factory=list)  # sink names that hold the new key
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


class JournalStore:
    """`rotation/<profile>--<app id>.json` (and its `.lock`) under the config dir."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _stem(self, profile: str, app_id: str) -> str:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{profile}--{app_id}")
        return safe

    def path(self, profile: str, app_id: str) -> Path:
        return self.directory / f"{self._stem(profile, app_id)}.json"

    def lock_path(self, profile: str, app_id: str) -> Path:
        return self.directory / f"{self._stem(profile, app_id)}.lock"

    def load(self, profile: str, app_id: str) -> Journal | None:
        path = self.path(profile, app_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            from difyctl.errors import DifyctlError

            raise DifyctlError(f"the rotation journal {path} is unreadable: {exc}") from exc
        return Journal.from_dict(data) if isinstance(data, dict) else None

    def save(self, journal: Journal) -> None:
        ensure_private_dir(self.directory)
        text = json.dumps(journal.to_dict(), indent=2, sort_keys=True) + "\n"
        atomic_write(self.path(journal.profile, journal.app_id), text, mode=0o600)

    def transition(self, journal: Journal, phase: str, at: float, note: str = "") -> None:
        """Record a phase (and why) and write the journal before anything else happens."""
        journal.phase = phase
        journal.updated_at = at
        entry: dict[str, Any] = {"phase": phase, "at": at}
        if note:
            entry["note"] = note
        journal.history.append(entry)
        self.save(journal)
