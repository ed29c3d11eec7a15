"""`difyctl promote`: one app's DSL from one profile (staging) to another (production)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from difyctl.commands._common import AppArg, OutputOpt, ProfileOpt, VerboseOpt, YesOpt, app_context
from difyctl.commands._dsl import AllowBlankOpt, DirOpt, DryRunOpt, ProbeOpt
from difyctl.exit_codes import ExitCode

if TYPE_CHECKING:
    from difyctl.client.console import ConsoleClient
    from difyctl.client.models import App
    from difyctl.context import AppContext
    from difyctl.snapshots.results import RollbackTarget
    from difyctl.snapshots.store import SnapshotStore


def promote(
    ctx: typer.Context,
    app_ref: AppArg,
    to: Annotated[str, typer.Option("--to", metavar="NAME", help="The profile (instance) to promote to.")],
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    create: Annotated[
        bool, typer.Option("--create", help="Create the app on the target if it is absent.")
    ] = False,
    allow_blank_secret: AllowBlankOpt = False,
    probe: ProbeOpt = True,
    directory: DirOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> ExitCode:
    """Copy an app's published DSL to the app of the same name on another profile (e.g. staging -> prod).

    The target gets the rollback treatment: diff (both profiles named), confirm, a pre-promote-*
    safety snapshot, import, publish, verify, probe, restore on failure. Target secrets blank in the
    source keep their values.

    \b
    Examples:
      difyctl -p staging promote support-bot --to prod --dry-run
      difyctl -p staging promote support-bot --to prod --yes
      difyctl promote new-bot --to prod --create --yes
    """
    from difyctl.commands._dsl import open_store
    from difyctl.errors import UsageError
    from difyctl.output.prompt import require_consent

    if not dry_run:
        require_consent(yes, "promote")
    src = app_context(ctx, output, profile, verbose)
    dst = src.with_options(output=None, profile=to, verbose=False)
    if dst.profile_name == src.profile_name:
        raise UsageError(f"--to {to!r} is the current profile", hint="pick another profile, or -p SOURCE")
    app, target = _source(src, app_ref)
    store = open_store(src, directory)
    sides = (f"{to}:{app.name}", target.label)
    with dst.console() as console:
        return _into(
            src,
            dst,
            console,
            store,
            app,
            target,
            sides,
            to=to,
            create=create,
            dry_run=dry_run,
            yes=yes,
            probe=probe,
            allow_blank=allow_blank_secret,
        )


def _into(
    src: AppContext,
    dst: AppContext,
    console: ConsoleClient,
    store: SnapshotStore,
    app: App,
    target: RollbackTarget,
    sides: tuple[str, str],
    *,
    to: str,
    create: bool,
    dry_run: bool,
    yes: bool,
    probe: bool,
    allow_blank: bool,
) -> ExitCode:
    """The app of the same name on the target profile gets the change; absent, `--create` makes it."""
    from difyctl.commands._dsl import resolve_on, run_change
    from difyctl.errors import UsageError

    existing = resolve_on(console, app.name)
    if existing is not None:
        return run_change(
            dst,
            console,
            store,
            existing,
            target,
            verb="promote",
            dry_run=dry_run,
            yes=yes,
            publish=True,
            probe=probe,
            sides=sides,
            allow_blank=allow_blank,
        )
    if not create:
        raise UsageError(f"no app named {app.name!r} on profile {to!r}", hint="pass --create to create it")
    return _create(src, dst, console, store, app, target, sides, to=to, dry_run=dry_run, yes=yes, probe=probe)


def _source(src: AppContext, app_ref: str) -> tuple[App, RollbackTarget]:
    """The app on the source profile and its published DSL, exported."""
    from difyctl.snapshots.ops import export_app
    from difyctl.snapshots.results import RollbackTarget

    with src.console() as console:
        app = src.resolve_app(console, app_ref)
        return app, RollbackTarget.from_text(f"{src.profile_name}:{app.name}", export_app(console, app))


def _create(
    src: AppContext,
    dst: AppContext,
    console: ConsoleClient,
    store: SnapshotStore,
    app: App,
    target: RollbackTarget,
    sides: tuple[str, str],
    *,
    to: str,
    dry_run: bool,
    yes: bool,
    probe: bool,
) -> ExitCode:
    """`--create`: a new app of that name on the target profile (a dry-run says so and stops)."""
    from difyctl.commands._dsl import change_engine, make_probe
    from difyctl.output.rollback import render_created

    doc: dict[str, Any] = {"from": sides[1], "to": sides[0], "app_name": app.name, "profile": to}
    if dry_run:
        src.out.emit(
            {"dry_run": True, "status": "would-create", **doc},
            text=f"promote {sides[1]} -> {sides[0]}: would create {app.name!r} ({app.mode})",
        )
        return ExitCode.OK
    engine = change_engine(dst, console, store, None, verb="promote", probe=False)
    result = engine.create(
        target,
        app.name,
        yes=yes,
        comment=f"created from {target.label}",
        probe_for=(lambda live: make_probe(dst, live)) if probe else None,
    )
    src.out.emit(
        {"dry_run": False, **doc, **result.to_dict()}, text=lambda o: render_created(o, result, sides)
    )
    return result.exit_code
