"""`difyctl promote`: one app's DSL from one profile (staging) to another (production)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from difyctl.commands._common import AppArg, OutputOpt, ProfileOpt, VerboseOpt, YesOpt, app_context
from difyctl.commands._dsl import AllowBlankOpt, DirOpt, DryRunOpt, ProbeOpt
from difyctl.exit_codes import ExitCode


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
    from difyctl.commands._dsl import change_engine, open_store, resolve_on, run_change
    from difyctl.errors import UsageError
    from difyctl.output.prompt import require_consent
    from difyctl.output.rollback import render_created
    from difyctl.snapshots.ops import export_app
    from difyctl.snapshots.results import RollbackTarget

    if not dry_run:
        require_consent(yes, "promote")
    src = app_context(ctx, output, profile, verbose)
    dst = src.with_options(output=None, profile=to, verbose=False)
    if dst.profile_name == src.profile_name:
        raise UsageError(f"--to {to!r} is the current profile", hint="pick another profile, or -p SOURCE")
    with src.console() as console:
        app = src.resolve_app(console, app_ref)
        target = RollbackTarget.from_text(f"{src.profile_name}:{app.name}", export_app(console, app))
    store = open_store(src, directory)
    sides = (f"{to}:{app.name}", target.label)
    with dst.console() as console:
        existing = resolve_on(console, app.name)
        if existing is not None:
            code = run_change(
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
                allow_blank=allow_blank_secret,
            )
            return code
        if not create:
            raise UsageError(
                f"no app named {app.name!r} on profile {to!r}", hint="pass --create to create it"
            )
        doc: dict[str, Any] = {"from": sides[1], "to": sides[0], "app_name": app.name, "profile": to}
        if dry_run:
            src.out.emit(
                {"dry_run": True, "status": "would-create", **doc},
                text=f"promote {sides[1]} -> {sides[0]}: would create {app.name!r} ({app.mode})",
            )
            return ExitCode.OK
        engine = change_engine(dst, console, store, None, verb="promote", probe=False)
        from difyctl.commands._dsl import make_probe

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
