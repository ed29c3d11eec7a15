"""Result objects of the rollback engine: what will happen (plan) and what happened, step by step."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from difyctl.change.secrets import SecretPlan
from difyctl.client.models import App
from difyctl.exit_codes import ExitCode, all_failed
from difyctl.jsonshape import app_fields_of
from difyctl.snapshots.diff import DslDiff
from difyctl.snapshots.dsl import content_hash, parse_dsl
from difyctl.snapshots.store import LoadedSnapshot, SnapshotMeta

if TYPE_CHECKING:
    from difyctl.snapshots.ops import Exporter

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

    @classmethod
    def from_version(cls, console: Exporter, app_id: str, version_id: str) -> RollbackTarget:
        """A published version of the app (`rollback APP --version ID`), exported by its workflow id."""
        return cls.from_text(f"version:{version_id}", console.export_dsl(app_id, workflow_id=version_id))

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
    """What a change will do. Building it sends only reads and writes nothing: the safety snapshot
    (`pre_rollback`, named after the verb: pre-rollback-*, pre-apply-*, pre-promote-*) is taken by
    `apply`, first, and only when there is something to change."""

    app: App
    target: RollbackTarget
    live_hash: str
    target_hash: str  # what the re-export must hash to (the whole content, or the model config)
    diff: DslDiff
    method: str  # import | model-config
    verb: str = "rollback"  # rollback | apply | promote: names the safety snapshot
    secrets: SecretPlan = field(default_factory=SecretPlan)
    warnings: tuple[str, ...] = ()
    live_text: str = field(default="", repr=False)  # the live export (becomes the safety snapshot)
    draft_text: str = field(default="", repr=False)  # unpublished draft edits that the change replaces
    live_workflow_id: str | None = None
    # The live export WITH secret values (workflow apps): memory only, never written, never rendered.
    live_secret_text: str = field(default="", repr=False)
    live_secrets: dict[str, str] = field(default_factory=dict, repr=False)
    pre_rollback: SnapshotMeta | None = None  # set by apply once the safety snapshot is on disk
    pre_rollback_path: Path | None = None
    draft_snapshot: SnapshotMeta | None = None

    @property
    def unchanged(self) -> bool:
        return self.live_hash == self.target_hash

    @property
    def missing_secrets(self) -> tuple[str, ...]:
        """Blank in the target and not live: must be supplied, never blanked."""
        return self.secrets.missing

    @property
    def safety_prefix(self) -> str:
        return f"pre-{self.verb}-"

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": {"id": self.app.id, "name": self.app.name, "mode": self.app.mode},
            **app_fields_of(self.app),
            "target": self.target.to_dict(),
            "pre_rollback": (
                {"tag": self.pre_rollback.tag, "path": str(self.pre_rollback_path)}
                if self.pre_rollback
                else None
            ),
            "draft_snapshot": self.draft_snapshot.tag if self.draft_snapshot else None,
            "live_hash": self.live_hash,
            "target_hash": self.target_hash,
            "unchanged": self.unchanged,
            "method": self.method,
            "missing_secrets": list(self.secrets.missing),
            "kept_secrets": list(self.secrets.kept),  # names only
            "secrets": self.secrets.to_dict(),
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
    # the exit code of what made it fail (5: no server, or no answer within --timeout): a failure the
    # server caused says so (4 / 5 / 7), restored or not, as for every other command. Not in the JSON.
    cause: int | None = None

    @property
    def ok(self) -> bool:
        return self.status in (APPLIED, UNCHANGED)

    @property
    def exit_code(self) -> ExitCode:
        return _EXIT[self.status] if self.status in _EXIT else all_failed((self.cause,))

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "ok": self.ok,
            "app": {"id": self.plan.app.id, "name": self.plan.app.name, "mode": self.plan.app.mode},
            **app_fields_of(self.plan.app),
            "target": self.plan.target.label,
            "pre_rollback": self.plan.pre_rollback.tag if self.plan.pre_rollback else None,
            "pre_rollback_path": str(self.plan.pre_rollback_path) if self.plan.pre_rollback_path else None,
            "secrets": self.plan.secrets.to_dict(),
            "draft_snapshot": self.plan.draft_snapshot.tag if self.plan.draft_snapshot else None,
            "warnings": list(self.plan.warnings),
            "steps": [s.to_dict() for s in self.steps],
            "error": self.error,
            "hint": self.hint,
        }
