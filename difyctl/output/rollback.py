"""Text rendering of a rollback / apply / promote: the plan (what will change) and the step report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from difyctl.output.diff import render_diff

if TYPE_CHECKING:
    from difyctl.change.create import CreateResult
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


def render_plan(
    out: Output, plan: RollbackPlan, *, verb: str = "rollback", sides: tuple[str, str] | None = None
) -> None:
    """The header of a change: app, target (both profiles for promote), warnings, the secret plan,
    then the diff. `sides` = (live side, target side) labels."""
    app = plan.app
    if sides is not None:
        out.line(f"{verb} {sides[1]} -> {sides[0]} ({app.mode}, {app.id})")
    else:
        out.line(f"{verb} {app.name} ({app.mode}, {app.id}) to {plan.target.label}")
    if not plan.unchanged:
        out.line(f"safety snapshot before the change: {plan.safety_prefix}<time> (written when applied)")
    if plan.draft_text:
        out.line("unpublished draft edits will be saved before they are replaced")
    render_secret_plan(out, plan.secrets.to_dict(), indent="")
    for warning in plan.warnings:
        out.line(f"warning: {warning}", style="yellow")
    old_label, new_label = (
        (f"{sides[0]} (live)", sides[1]) if sides else (f"live ({app.name})", plan.target.label)
    )
    render_diff(out, plan.diff, old_label=old_label, new_label=new_label)


_SECRET_LINES = {
    "kept": ("secrets kept from the live app", None),
    "environment": ("secrets set from the environment", None),
    "from_file": ("secrets set from the file", "yellow"),
    "removed": ("secrets REMOVED (the live app has them, the target does not)", "yellow"),
    "missing": ("secrets blank in the target and not set live", "yellow"),
}


def render_secret_plan(out: Output, secrets: dict[str, list[str]], *, indent: str) -> None:
    """One line per kind of secret change (SecretPlan.to_dict()), names only."""
    lines = {**secrets, "environment": [n for n in secrets.get("set", []) if n not in secrets["from_file"]]}
    for kind, (label, style) in _SECRET_LINES.items():
        if lines.get(kind):
            out.line(f"{indent}{label}: {', '.join(lines[kind])}", style=style)


def render_created(out: Output, result: CreateResult, sides: tuple[str, str]) -> None:
    """`promote --create`: the steps, then the outcome naming both sides."""
    for step in result.steps:
        mark, style = _MARK.get(step.status, ("?", "dim"))
        out.line(f"  {mark} {step.name}{'  ' + step.detail if step.detail else ''}", style=style)
    if result.ok:
        out.line(f"promote {sides[1]} -> {sides[0]}: created ({result.app_id}), verified", style="green")
    else:
        out.line(f"promote {sides[1]} -> {sides[0]}: {result.status}: {result.error}", style="bold red")
        if result.hint:
            out.line(f"hint: {result.hint}", style="dim")


def render_result(
    out: Output, result: RollbackResult, *, verb: str = "rollback", sides: tuple[str, str] | None = None
) -> None:
    """One line per step (✓/✗), then the outcome. `sides` = (live side, target side) labels: a
    promote names both profiles, source -> target, as its plan header does."""
    for step in result.steps:
        mark, style = _MARK.get(step.status, ("?", "dim"))
        detail = f"  {step.detail}" if step.detail else ""
        out.line(f"  {mark} {step.name}{detail}", style=style)
    name, label = result.plan.app.name, result.plan.target.label
    what = f"{verb} {sides[1]} -> {sides[0]}" if sides else f"{verb} of {name}"
    messages = {
        "applied": f"{what}: applied and verified" if sides else f"{what} to {label}: applied and verified",
        "unchanged": f"{sides[0] if sides else name} already matches {label}: nothing sent",
        "refused": f"{what} refused: nothing applied",
        "failed": f"{what} failed before any change: {result.error}",
        "restored": f"{what} failed ({result.error}); the state before the {verb} was restored",
        "restore-failed": f"{what} failed and so did the restore: {result.error}",
    }
    out.line(messages.get(result.status, result.status), style=_STATUS.get(result.status))
    if result.hint and result.status not in ("applied", "unchanged"):
        out.line(f"hint: {result.hint}", style="dim")
