"""Shared by the snapshot / export / rollback / apply / promote commands: options, the store location,
confirmation, the service probe, and the glue "plan -> show -> confirm -> apply -> report" around the
one change engine (difyctl.change), which holds every step that touches the app.

Only typer and typing at module level (the options are imported by command modules at startup);
everything else is imported inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from difyctl.exit_codes import ExitCode

if TYPE_CHECKING:
    from difyctl.change.engine import ChangeEngine
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
        metavar="DIR",
        help=f"Snapshot store (env {SNAPSHOT_DIR_ENV}; default ./snapshots).",
        show_default=False,
    ),
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show the plan and the diff; change nothing.")]
NoPublishOpt = Annotated[
    bool, typer.Option("--no-publish", help="Import into the draft only; do not publish (workflow apps).")
]
AllowBlankOpt = Annotated[
    bool,
    typer.Option(
        "--allow-blank-secret",
        help="Create secret variables that have no value anywhere blank instead of refusing.",
    ),
]
ProbeOpt = Annotated[
    bool, typer.Option("--probe/--no-probe", help="After verifying, probe the app through the service API.")
]


def open_store(actx: AppContext, directory: str | None) -> SnapshotStore:
    from difyctl.snapshots.store import SnapshotStore

    return SnapshotStore(directory or actx.env.get(SNAPSHOT_DIR_ENV) or "snapshots")


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


def change_engine(
    actx: AppContext, console: ConsoleClient, store: SnapshotStore, app: App | None, *, verb: str, probe: bool
) -> ChangeEngine:
    """The one change engine (difyctl.change) wired to this command: probe, confirmation, labels."""
    from difyctl.change.engine import ChangeEngine
    from difyctl.output.prompt import ask_consent

    return ChangeEngine(
        console,
        store,
        probe=make_probe(actx, app) if probe and app is not None else None,
        confirm=ask_consent,
        base_url=console.base_url,
        server_version=console.last_server_version,
        verb=verb,
    )


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
    sides: tuple[str, str] | None = None,
    allow_blank: bool = False,
) -> ExitCode:
    """Plan (read-only) -> render -> stop on --dry-run or an empty plan -> confirm -> apply -> report.
    `sides`: the labels of the live and the target side (promote names both profiles)."""
    from difyctl.output.prompt import confirm
    from difyctl.output.rollback import render_plan, render_result

    out = actx.out
    engine = change_engine(actx, console, store, app, verb=verb, probe=probe and not dry_run)
    plan = engine.plan(app, target)
    extra = {"from": sides[1], "to": sides[0]} if sides else {}
    if out.format == "text":
        render_plan(out, plan, verb=verb, sides=sides)
    engine.check(plan, allow_blank=allow_blank)
    if dry_run or plan.unchanged:
        if plan.unchanged and out.format == "text":
            out.info(f"{app.name} already matches {target.label}: nothing to do")
        out.emit(
            {
                "dry_run": dry_run,
                "status": "unchanged" if plan.unchanged else "planned",
                **extra,
                **plan.to_dict(),
            },
            text=lambda _o: None,
        )
        return ExitCode.OK
    confirm(f"Apply {target.label} to {app.name!r} ({verb})?", yes=yes)
    result = engine.apply(plan, publish=publish, yes=yes, allow_blank=allow_blank)
    doc = {"dry_run": False, **extra, **result.to_dict(), "diff": plan.diff.to_dict()}
    out.emit(doc, text=lambda o: render_result(o, result, verb=verb, sides=sides))
    return result.exit_code


def resolve_on(console: ConsoleClient, name: str) -> App | None:
    """The app with exactly this name on a (target) server, None if absent, exit 2 if ambiguous."""
    from difyctl.errors import UsageError

    found = [a for a in console.iter_apps(name=name) if a.name == name]
    if len(found) > 1:
        raise UsageError(f"{len(found)} apps are named {name!r} on the target", hint="rename one of them")
    return found[0] if found else None
