"""Shared by the snapshot / export / rollback / apply / promote commands: options, the store location,
confirmation, the service probe, and the one "plan -> show -> confirm -> apply -> report" pipeline.

Only typer and typing at module level (the options are imported by command modules at startup);
everything else is imported inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from difyctl.client.console import ConsoleClient
    from difyctl.client.models import App
    from difyctl.context import AppContext
    from difyctl.snapshots.results import RollbackTarget
    from difyctl.snapshots.store import SnapshotStore

SNAPSHOT_DIR_ENV = "DIFYCTL_SNAPSHOT_DIR"

DirOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--dir",
        "-d",
        help=f"Snapshot store (env {SNAPSHOT_DIR_ENV}; default ./snapshots).",
        show_default=False,
    ),
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show the plan and the diff; change nothing.")]
NoPublishOpt = Annotated[
    bool, typer.Option("--no-publish", help="Import into the draft only; do not publish (workflow apps).")
]
ProbeOpt = Annotated[
    bool, typer.Option("--probe/--no-probe", help="After verifying, probe the app through the service API.")
]


def open_store(actx: AppContext, directory: str | None) -> SnapshotStore:
    from difyctl.snapshots.store import SnapshotStore

    return SnapshotStore(directory or actx.env.get(SNAPSHOT_DIR_ENV) or "snapshots")


def interactive() -> bool:
    import sys

    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def require_consent(yes: bool, what: str) -> None:
    """Fail (exit 2) before anything is sent when a confirmation would be needed but cannot be asked."""
    from difyctl.errors import UsageError

    if not yes and not interactive():
        raise UsageError(
            f"{what} needs confirmation and stdin is not a terminal", hint="pass --yes to confirm"
        )


def ask(question: str) -> bool:
    """The engine's confirmation callback: ask on a TTY, refuse otherwise (never blocks a pipeline)."""
    from difyctl.output import ask_yes_no

    if not interactive():
        return False
    return ask_yes_no(question)


def make_probe(actx: AppContext, app: App) -> Any:
    """A probe through the service API (GET /v1/info: no tokens spent), or None when the app has no
    usable key (then the step is skipped with a note)."""
    from difyctl.errors import DifyctlError

    try:
        target = actx.service_target(app.id)
    except DifyctlError as exc:
        actx.out.info(f"no service probe: {exc.message}")
        return None

    def probe(live: App) -> bool:
        with actx.service(target) as service:
            return service.info().mode == live.mode

    return probe


def run_change(
    actx: AppContext,
    console: ConsoleClient,
    store: SnapshotStore,
    app: App,
    target: RollbackTarget,
    *,
    verb: str,
    dry_run: bool,
    yes: bool,
    publish: bool,
    probe: bool,
) -> int:
    """The safe path (DESIGN.md "Rollback"): pre-change snapshot + diff, confirm, apply, publish, verify,
    probe, restore on failure. Renders the plan and the step report; returns the exit code."""
    from difyctl.commands.confirm import confirm
    from difyctl.output.rollback import render_plan, render_result
    from difyctl.snapshots.rollback import RollbackEngine

    out = actx.out
    engine = RollbackEngine(
        console,
        store,
        probe=make_probe(actx, app) if probe and not dry_run else None,
        confirm=ask,
        base_url=console.base_url,
        server_version=console.last_server_version,
    )
    plan = engine.plan(app, target)
    if out.format == "text":
        render_plan(out, plan, verb=verb)
    if dry_run or plan.unchanged:
        if plan.unchanged and out.format == "text":
            out.info(f"{app.name} already matches {target.label}: nothing to do")
        out.emit(
            {"dry_run": dry_run, "status": "unchanged" if plan.unchanged else "planned", **plan.to_dict()},
            text=lambda _o: None,
        )
        return 0
    confirm(f"Apply {target.label} to {app.name!r} ({verb})?", yes=yes)
    result = engine.apply(plan, publish=publish, yes=yes)
    doc = {"dry_run": False, **result.to_dict(), "diff": plan.diff.to_dict()}
    out.emit(doc, text=lambda o: render_result(o, result, verb=verb))
    return int(result.exit_code)


def resolve_on(console: ConsoleClient, name: str) -> App | None:
    """The app with exactly this name on a (target) server, None if absent, exit 2 if ambiguous."""
    from difyctl.errors import UsageError

    found = [a for a in console.iter_apps(name=name) if a.name == name]
    if len(found) > 1:
        raise UsageError(f"{len(found)} apps are named {name!r} on the target", hint="rename one of them")
    return found[0] if found else None


def create_from_dsl(
    actx: AppContext, console: ConsoleClient, target: RollbackTarget, name: str, *, yes: bool
) -> dict[str, Any]:
    """`promote --create`: import without app_id (a new app), confirm a pending import, publish, verify."""
    from difyctl.errors import DifyctlError, UsageError
    from difyctl.snapshots.dsl import WORKFLOW_MODES, blank_secret_names, content_hash, parse_dsl

    result = console.import_dsl(target.text, name=name)
    if result.status == "pending":
        question = (
            f"The DSL is version {result.imported_dsl_version}, the server's is {result.current_dsl_version}."
        )
        if not (yes or ask(question + " Import it anyway?")):
            raise UsageError(f"{question} Not confirmed; nothing was created", hint="pass --yes to confirm")
        result = console.confirm_import(result.id)
    if result.status not in ("completed", "completed-with-warnings") or not result.app_id:
        raise DifyctlError(f"the server refused the import: {result.error or result.status}")
    app = console.get_app(result.app_id)
    if app.mode in WORKFLOW_MODES:
        console.publish(app.id, "difyctl promote", f"created from {target.label}"[:100])
        app = console.get_app(app.id)
    exported = console.export_dsl(app.id, workflow_id=app.published_workflow_id)
    verified = content_hash(parse_dsl(exported, "the re-export")) == target.content_hash
    blank = blank_secret_names(target.doc)
    if blank:
        actx.out.warn(f"secret variables created blank on the new app: {', '.join(blank)}")
    return {
        "status": "created",
        "ok": verified,
        "app": app.to_dict(),
        "verified": verified,
        "blank_secrets": blank,
    }
