"""The create path of the change engine: a new app from a DSL (apply of a file no app matches,
`promote --create`). import (no app_id) -> confirm a pending import only with yes -> publish -> verify
by re-export -> probe. A new app that fails a check after the import is deleted again: before, it did
not exist. Nothing here prints or exits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from difyctl.change.steps import (
    CreatingConsole,
    Probe,
    Refused,
    Rejected,
    describe,
    import_confirmed,
    run_step,
)
from difyctl.client.models import App
from difyctl.exit_codes import ExitCode
from difyctl.snapshots.dsl import WORKFLOW_MODES, dump_dsl, fill_secrets
from difyctl.snapshots.results import FAILED, REFUSED, RollbackTarget, Step

if TYPE_CHECKING:
    from difyctl.change.engine import ChangeEngine

CREATED, DELETED = "created", "rolled-back"  # CreateResult.status besides refused / failed


@dataclass
class CreateResult:
    """What create() did: `created` (verified), or refused / failed (and the new app deleted again)."""

    status: str
    steps: list[Step]
    error: str | None = None
    hint: str | None = None
    app_id: str | None = None
    app: App | None = None

    @property
    def ok(self) -> bool:
        return self.status == CREATED

    @property
    def exit_code(self) -> ExitCode:
        """0 created; 2 a confirmation refused (nothing left behind); 1 failed."""
        if self.ok:
            return ExitCode.OK
        return ExitCode.USAGE if self.status == REFUSED else ExitCode.FAILED

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "ok": self.ok,
            "verified": self.ok,
            "app": self.app.to_dict() if self.app is not None else None,
            "app_id": self.app_id,
            "app_name": self.app.name if self.app is not None else None,
            "app_mode": self.app.mode if self.app is not None else None,
            "steps": [s.to_dict() for s in self.steps],
            "error": self.error,
            "hint": self.hint,
        }


def create_app(
    engine: ChangeEngine,
    target: RollbackTarget,
    name: str | None,
    *,
    publish: bool,
    yes: bool,
    secret_values: Mapping[str, str],
    comment: str | None,
    marked: str,
    probe_for: Callable[[App], Probe | None] | None,
) -> CreateResult:
    console: CreatingConsole = engine.console  # type: ignore[assignment]
    doc, _missing = fill_secrets(target.doc, secret_values)
    text = target.text if doc == target.doc else dump_dsl(doc)
    steps: list[Step] = []
    try:
        res: Any = import_confirmed(
            console, text, steps, name=name, yes=yes, confirm=engine.confirm, nothing="nothing created"
        )
    except Refused as exc:
        return CreateResult(REFUSED, steps, str(exc))
    except Rejected as exc:
        return CreateResult(FAILED, steps, str(exc))
    app_id = getattr(res, "app_id", None)
    if not app_id:
        steps[-1] = Step(steps[-1].name, "failed", "the import answered no app id")
        return CreateResult(FAILED, steps, "the server refused the import: no app id")
    try:
        if target.mode in WORKFLOW_MODES and publish:
            label = (comment or f"created from {target.label}")[:100]
            run_step(steps, "publish", lambda: console.publish(app_id, marked, label))
        expect = target.content_hash  # a new app is created whole from the document, any mode
        live = run_step(steps, "verify", lambda: engine.verify(app_id, "import", publish, expect))
        probe = probe_for(live) if probe_for else engine.probe
        if probe is not None:
            run_step(steps, "probe", lambda: engine.run_probe(probe, live))
    except Exception as exc:
        return _delete(console, steps, app_id, f"{describe(exc)}; the new app was deleted again")
    return CreateResult(CREATED, steps, app_id=app_id, app=live)


def uncreate_app(engine: ChangeEngine, created: CreateResult, why: str) -> CreateResult:
    assert created.app_id is not None
    console: CreatingConsole = engine.console  # type: ignore[assignment]
    result = _delete(console, list(created.steps), created.app_id, f"created, then deleted because {why}")
    if result.hint:  # the delete failed: the app is still there, as created
        return CreateResult(created.status, result.steps, result.error, result.hint, created.app_id)
    result.status = DELETED
    return result


def _delete(console: CreatingConsole, steps: list[Step], app_id: str, error: str) -> CreateResult:
    try:
        run_step(steps, "delete created app", lambda: console.delete_app(app_id))
    except Exception as exc:
        return CreateResult(
            FAILED,
            steps,
            f"created as {app_id}, and deleting it again failed: {describe(exc)}",
            "delete it in the console",
            app_id,
        )
    return CreateResult(FAILED, steps, error, None, app_id)
