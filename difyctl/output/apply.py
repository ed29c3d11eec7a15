"""Rendering of `difyctl apply`: the plan and the per-app report as text, and as Markdown for a CI job
summary (`--summary FILE`, e.g. $GITHUB_STEP_SUMMARY). Diffs come from DslDiff.to_dict(), which masks
secret values; secrets appear by name only."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from difyctl.output.diff import render_diff, summary_line
from difyctl.output.rollback import render_result as render_steps
from difyctl.output.rollback import render_secret_plan

if TYPE_CHECKING:
    from difyctl.output import Output
    from difyctl.release.results import AppPlan, ReleasePlan, ReleaseResult

_ACTION = {"update": ("~", "yellow"), "create": ("+", "green"), "unchanged": ("=", "dim")}
_STATUS_MARK = {
    "applied": "✅",
    "created": "✅",
    "unchanged": "➖",
    "skipped": "⏭️",
    "rolled-back": "↩️",
    "restored": "↩️",
}


def _changes(item: AppPlan) -> str:
    if item.action == "create":
        return f"new {item.file.mode} app"
    parts = [summary_line(item.diff)] if item.diff is not None and not item.diff.is_empty else []
    if item.secret_updates:
        parts.append(
            f"secret value{'s' if len(item.secret_updates) > 1 else ''} set: "
            + ", ".join(item.secret_updates)
        )
    return "; ".join(parts) or "no differences"


def render_plan(out: Output, plan: ReleasePlan) -> None:
    for item in plan.apps:
        mark, style = _ACTION.get(item.action, ("?", None))
        where = f" ({item.app.id})" if item.app is not None else ""
        out.line(f"{mark} {item.app_name}{where} <- {item.file.label}: {item.action}", style=style)
        if item.plan is not None and item.changed and not plan.dry_run:
            out.line(f"  safety snapshot before the change: {item.plan.safety_prefix}<time>")
        for warning in (*(item.plan.warnings if item.plan else ()), *item.warnings):
            out.line(f"  warning: {warning}", style="yellow")
        if item.plan is not None:
            render_secret_plan(out, item.plan.secrets.to_dict(), indent="  ")
        if item.changed and item.diff is not None and item.action == "update":
            render_diff(out, item.diff, old_label=f"live ({item.app_name})", new_label=item.file.label)
    counts = plan.to_dict()["summary"]
    out.line(
        f"plan: {counts['update']} to update, {counts['create']} to create, {counts['unchanged']} unchanged"
    )


def render_result(out: Output, result: ReleaseResult) -> None:
    from difyctl.snapshots.results import RollbackResult

    for item in result.items:
        out.line(f"{item.item.app_name} <- {item.item.file.label}")
        if item.item.plan is not None and item.status not in ("created", "skipped", "interrupted"):
            shim = RollbackResult(item.item.plan, item.status, item.steps, item.error, item.hint)
            render_steps(out, shim, verb="apply")
        else:
            for step in item.steps:
                out.line(f"  {'✓' if step.status == 'ok' else '✗'} {step.name}  {step.detail}".rstrip())
            out.line(f"{item.status}" + (f": {item.error}" if item.error else ""))
            if item.hint:
                out.line(f"hint: {item.hint}", style="dim")
    summary = ", ".join(f"{n} {s}" for s, n in result.to_dict()["summary"].items())
    out.line(f"apply: {summary}" + (" (--atomic)" if result.atomic else ""))


# ---------------------------------------------------------------------------------------- Markdown
def _diff_block(item: AppPlan) -> str:
    from difyctl.output import Output

    if item.diff is None or item.diff.is_empty or item.action != "update":
        return ""
    buf = io.StringIO()
    render_diff(Output(stdout=buf, color=False), item.diff, old_label="live", new_label=item.file.label)
    return (
        f"\n<details><summary>{item.app_name}: diff</summary>\n\n```diff\n{buf.getvalue()}```\n</details>\n"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def plan_markdown(plan: ReleasePlan, *, title: str = "difyctl apply: plan") -> str:
    lines = [f"## {title}", "", f"**{plan.changes}** of {len(plan.apps)} app(s) would change.", ""]
    lines += ["| App | File | Action | Changes |", "|---|---|---|---|"]
    for item in plan.apps:
        lines.append(
            f"| {_cell(item.app_name)} | `{_cell(item.file.label)}` | {item.action} "
            f"| {_cell(_changes(item))} |"
        )
    return "\n".join(lines) + "\n" + "".join(_diff_block(i) for i in plan.apps)


def result_markdown(result: ReleaseResult, *, title: str = "difyctl apply") -> str:
    ok = int(result.exit_code) == 0
    lines = [f"## {title}: {'applied' if ok else 'FAILED'}", ""]
    lines += ["| | App | File | Status | Detail |", "|---|---|---|---|---|"]
    for item in result.items:
        mark = _STATUS_MARK.get(item.status, "❌")
        detail = item.error or (
            item.item.plan.pre_rollback.tag
            if item.item.plan and item.item.plan.pre_rollback and item.item.changed
            else ""
        )
        lines.append(
            f"| {mark} | {_cell(item.item.app_name)} | `{_cell(item.item.file.label)}` | {item.status} "
            f"| {_cell(detail or '')} |"
        )
    if result.atomic:
        lines += ["", "_--atomic: on any failure every applied app is restored._"]
    return "\n".join(lines) + "\n"
