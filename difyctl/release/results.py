"""What a release will do (ReleasePlan) and what it did (ReleaseResult), per app, as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from difyctl.client.models import App
from difyctl.exit_codes import ExitCode, all_failed
from difyctl.release.files import ReleaseFile
from difyctl.snapshots.diff import DslDiff
from difyctl.snapshots.results import RollbackPlan, Step

UPDATE, CREATE, UNCHANGED = "update", "create", "unchanged"  # AppPlan.action
# ItemResult.status: the rollback engine's (applied, unchanged, refused, failed, restored,
# restore-failed) plus these
CREATED = "created"
ROLLED_BACK = "rolled-back"  # applied, then restored because another app failed (--atomic)
SKIPPED = "skipped"  # not attempted: an earlier app failed (--atomic) or the run was interrupted
INTERRUPTED = "interrupted"
OK_STATUSES = frozenset({"applied", "unchanged", CREATED})


@dataclass
class AppPlan:
    file: ReleaseFile
    action: str
    app: App | None = None  # the live app (None: to be created)
    plan: RollbackPlan | None = None  # update / unchanged
    diff: DslDiff | None = None
    secret_updates: tuple[str, ...] = ()  # secrets whose value --secret changes (names only)
    warnings: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.action != UNCHANGED

    @property
    def app_name(self) -> str:
        return self.app.name if self.app is not None else self.file.name

    def to_dict(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "file": self.file.label,
            "action": self.action,
            "app": {
                "id": self.app.id if self.app else None,
                "name": self.app_name,
                "mode": self.file.mode,
            },
            "app_id": self.app.id if self.app else None,
            "app_name": self.app_name,
            "app_mode": self.file.mode,
            "matched_by": self.file.pinned_by or ("name" if self.app else None),
            "pre_rollback": plan.pre_rollback.tag if plan is not None and plan.pre_rollback else None,
            "kept_secrets": list(plan.secrets.kept) if plan is not None else [],
            "secrets": plan.secrets.to_dict() if plan is not None else None,
            "secret_updates": list(self.secret_updates),
            "warnings": [*(plan.warnings if plan is not None else ()), *self.warnings],
            "diff": self.diff.to_dict() if self.diff is not None else None,
        }


@dataclass
class ReleasePlan:
    apps: list[AppPlan]
    dry_run: bool = False

    @property
    def changes(self) -> int:
        return sum(1 for a in self.apps if a.changed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": self.changes,
            "summary": {k: sum(1 for a in self.apps if a.action == k) for k in (UPDATE, CREATE, UNCHANGED)},
            "apps": [a.to_dict() for a in self.apps],
        }


@dataclass
class ItemResult:
    item: AppPlan
    status: str
    steps: list[Step] = field(default_factory=list)
    error: str | None = None
    hint: str | None = None
    app_id: str | None = None
    cause: int | None = None  # the exit code of what made it fail (RollbackResult.cause); not in the JSON

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    def to_dict(self) -> dict[str, Any]:
        plan = self.item.plan
        return {
            **self.item.to_dict(),
            "app_id": self.app_id or (self.item.app.id if self.item.app else None),
            "status": self.status,
            "ok": self.ok,
            "pre_rollback_path": str(plan.pre_rollback_path) if plan and plan.pre_rollback_path else None,
            "steps": [s.to_dict() for s in self.steps],
            "error": self.error,
            "hint": self.hint,
        }


@dataclass
class ReleaseResult:
    items: list[ItemResult]
    atomic: bool = False
    interrupted: bool = False

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        failed = [i for i in self.items if not i.ok and i.status != SKIPPED]
        if not failed:
            return ExitCode.OK
        if all(i.status == "refused" for i in failed):
            return ExitCode.USAGE
        if self.atomic or not any(i.ok and i.status != "unchanged" for i in self.items):
            return all_failed(i.cause for i in failed)  # 5 when every failure was the server's absence
        return ExitCode.PARTIAL

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for i in self.items:
            counts[i.status] = counts.get(i.status, 0) + 1
        return {
            "dry_run": False,
            "atomic": self.atomic,
            "interrupted": self.interrupted,
            "ok": self.exit_code == ExitCode.OK,
            "exit_code": int(self.exit_code),
            "summary": counts,
            "apps": [i.to_dict() for i in self.items],
        }
