"""Result objects of the rollback engine: what will happen (plan) and what happened, step by step."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from difyctl.client.models import App
from difyctl.exit_codes import ExitCode
from difyctl.snapshots.diff import DslDiff
from difyctl.snapshots.dsl import content_hash, parse_dsl
from difyctl.snapshots.store import LoadedSnapshot, SnapshotMeta

# RollbackResult.status
APPLIED = "applied"  # the target is live and verified
UNCHANGED = "unchanged"  # the live content already equals the target: nothing sent
REFUSED = "refused"  # a confirmation was refused: nothing applied
FAILED = "failed"  # the server refused the change before applying anything: state unchanged
RESTORED = "restored"  # something after apply failed; the pre-rollback state is back and verified
RESTORE_FAILED = "restore-failed"  # ... and the restore failed too: restore by hand from the snapshot

_EXIT = {APPLIED: ExitCode.OK, UNCHANGED: ExitCode.OK, REFUSED: ExitCode.USAGE}


@dataclass(frozen=True)
class RollbackTarget:
    """The DSL to make live: a stored snapshot, an exported version, or a file / another instance."""

    label: str  # the tag, `version:<id>`, a file path, `<profile>:<app>`
    raw: bytes = field(repr=False)  # may hold secrets (an include_secret snapshot): never in a repr
    doc: dict[str, Any] = field(repr=False)
    content_hash: str = ""
    snapshot: SnapshotMeta | None = None
    verified: bool = True  # False: a checksum mismatch accepted with force

    @classmethod
    def from_snapshot(cls, loaded: LoadedSnapshot) -> RollbackTarget:
        return cls(
            loaded.meta.tag, loaded.raw, loaded.doc, content_hash(loaded.doc), loaded.meta, loaded.verified
        )

    @classmethod
    def from_text(cls, label: str, content: str | bytes) -> RollbackTarget:
        """Malformed YAML -> UsageError naming `label` and the line."""
        raw = content.encode("utf-8") if isinstance(content, str) else content
        doc = parse_dsl(raw, label)
        return cls(label, raw, doc, content_hash(doc))

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8")

    @property
    def mode(self) -> str:
        return str(self.doc["app"]["mode"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "content_hash": self.content_hash,
            "verified": self.verified,
            "snapshot": self.snapshot.to_dict() if self.snapshot else None,
        }


@dataclass(frozen=True)
class Step:
    name: str  # import, confirm, model-config, publish, verify, probe; restore:<step> during a restore
    status: str  # ok | failed | refused | skipped
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass
class RollbackPlan:
    app: App
    target: RollbackTarget
    pre_rollback: SnapshotMeta
    pre_rollback_path: Path
    live_hash: str
    target_hash: str  # what the re-export must hash to (the whole content, or the model config)
    diff: DslDiff
    method: str  # import | model-config
    draft_snapshot: SnapshotMeta | None = (
        None  # unpublished draft edits, saved because apply replaces the draft
    )
    missing_secrets: tuple[str, ...] = ()  # blank in the target and not live: must be supplied, never blanked
    warnings: tuple[str, ...] = ()
    live_text: str = field(default="", repr=False)  # the pre-rollback export (as on disk)
    # The live export WITH secret values (workflow apps): memory only, never written, never rendered.
    live_secret_text: str = field(default="", repr=False)
    live_secrets: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def unchanged(self) -> bool:
        return self.live_hash == self.target_hash

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": {"id": self.app.id, "name": self.app.name, "mode": self.app.mode},
            "target": self.target.to_dict(),
            "pre_rollback": {"tag": self.pre_rollback.tag, "path": str(self.pre_rollback_path)},
            "draft_snapshot": self.draft_snapshot.tag if self.draft_snapshot else None,
            "live_hash": self.live_hash,
            "target_hash": self.target_hash,
            "unchanged": self.unchanged,
            "method": self.method,
            "missing_secrets": list(self.missing_secrets),
            "kept_secrets": sorted(self.live_secrets),  # names only
            "warnings": list(self.warnings),
            "diff": self.diff.to_dict(),
        }


@dataclass
class RollbackResult:
    plan: RollbackPlan
    status: str
    steps: list[Step] = field(default_factory=list)
    error: str | None = None
    hint: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in (APPLIED, UNCHANGED)

    @property
    def exit_code(self) -> ExitCode:
        return _EXIT.get(self.status, ExitCode.FAILED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "ok": self.ok,
            "app": {"id": self.plan.app.id, "name": self.plan.app.name, "mode": self.plan.app.mode},
            "target": self.plan.target.label,
            "pre_rollback": self.plan.pre_rollback.tag,
            "pre_rollback_path": str(self.plan.pre_rollback_path),
            "draft_snapshot": self.plan.draft_snapshot.tag if self.plan.draft_snapshot else None,
            "warnings": list(self.plan.warnings),
            "steps": [s.to_dict() for s in self.steps],
            "error": self.error,
            "hint": self.hint,
        }
