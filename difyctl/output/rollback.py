"""Text rendering of a rollback / apply / promote: the plan (what will change) and the step report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from difyctl.output.diff import render_diff

if TYPE_CHECKING:
    from difyctl.output import Output
    from difyctl.snapshots.results import RollbackPlan, RollbackResult

_MARK = {
    "ok": ("✓", "green"),
    "failed": ("✗", "bold red"),
    "refused": ("✗", "yellow"),
    "skipped": ("-", "dim"),
}
_STATUS = {
    "applied": "green",
    "unchanged": "green",
    "refused": "yellow",
    "failed": "bold red",
    "restored": "yellow",
    "restore-failed": "bold red",
}


def render_plan(out: Output, plan: RollbackPlan, *, verb: str = "rollback") -> None:
    """The header of a rollback: app, target, the automatic snapshot, warnings, then the diff."""
    app = plan.app
    out.line(f"{verb} {app.name} ({app.mode}, {app.id}) to {plan.target.label}")
    out.line(f"pre-rollback snapshot: {plan.pre_rollback.tag} ({plan.pre_rollback_path})")
    if plan.draft_snapshot is not None:
        out.line(f"unpublished draft saved as: {plan.draft_snapshot.tag}")
    if plan.live_secrets:
        out.line(f"secrets kept from the live app: {', '.join(sorted(plan.live_secrets))}")
    for warning in plan.warnings:
        out.line(f"warning: {warning}", style="yellow")
    if plan.missing_secrets:
        out.line(
            f"secrets blank in the target and not set live: {', '.join(plan.missing_secrets)}", style="yellow"
        )
    render_diff(out, plan.diff, old_label=f"live ({app.name})", new_label=plan.target.label)


def render_result(out: Output, result: RollbackResult, *, verb: str = "rollback") -> None:
    """One line per step (✓/✗), then the outcome."""
    for step in result.steps:
        mark, style = _MARK.get(step.status, ("?", "dim"))
        detail = f"  {step.detail}" if step.detail else ""
        out.line(f"  {mark} {step.name}{detail}", style=style)
    name = result.plan.app.name
    messages = {
        "applied": f"{verb} of {name} to {result.plan.target.label}: applied and verified",
        "unchanged": f"{name} already matches {result.plan.target.label}: nothing sent",
        "refused": f"{verb} of {name} refused: nothing applied",
        "failed": f"{verb} of {name} failed before any change: {result.error}",
        "restored": f"{verb} of {name} failed ({result.error}); the pre-rollback state was restored",
        "restore-failed": f"{verb} of {name} failed and so did the restore: {result.error}",
    }
    out.line(messages.get(result.status, result.status), style=_STATUS.get(result.status))
    if result.hint and result.status not in ("applied", "unchanged"):
        out.line(f"hint: {result.hint}", style="dim")
