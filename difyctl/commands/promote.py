"""`difyctl promote`: one app's DSL from one profile (staging) to another (production)."""

from __future__ import annotations

from dataclasses import dataclass
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
    job = _Promotion(src, dst, store, app, target, to, create, dry_run, yes, probe, allow_blank_secret)
    with dst.console() as console:
        return job.into(console)


def _source(src: AppContext, app_ref: str) -> tuple[App, RollbackTarget]:
    """The app on the source profile and its published DSL, exported."""
    from difyctl.snapshots.ops import export_app
    from difyctl.snapshots.results import RollbackTarget

    with src.console() as console:
        app = src.resolve_app(console, app_ref)
        return app, RollbackTarget.from_text(f"{src.profile_name}:{app.name}", export_app(console, app))


@dataclass
class _Promotion:
    """One app's DSL (`target`, exported from `src`) on its way to the profile `to` (`dst`)."""

    src: AppContext
    dst: AppContext
    store: SnapshotStore
    app: App
    target: RollbackTarget
    to: str
    create: bool
    dry_run: bool
    yes: bool
    probe: bool
    allow_blank: bool

    @property
    def sides(self) -> tuple[str, str]:
        """The labels of the live side and the source side, as the plan shows them."""
        return (f"{self.to}:{self.app.name}", self.target.label)

    def into(self, console: ConsoleClient) -> ExitCode:
        """The app of the same name on the target profile gets the change; absent, `--create` makes it."""
        from difyctl.commands._dsl import resolve_on, run_change
        from difyctl.errors import UsageError

        existing = resolve_on(console, self.app.name)
        if existing is not None:
            return run_change(
                self.dst,
                console,
                self.store,
                existing,
                self.target,
                verb="promote",
                dry_run=self.dry_run,
                yes=self.yes,
                publish=True,
                probe=self.probe,
                sides=self.sides,
                allow_blank=self.allow_blank,
            )
        if not self.create:
            raise UsageError(
                f"no app named {self.app.name!r} on profile {self.to!r}", hint="pass --create to create it"
            )
        return self.create_app(console)

    def create_app(self, console: ConsoleClient) -> ExitCode:
        """`--create`: a new app of that name on the target profile (a dry-run says so and stops)."""
        from difyctl.change.engine import ChangeEngine
        from difyctl.commands._dsl import change_engine, make_probe
        from difyctl.output.rollback import render_created

        app, sides, dst = self.app, self.sides, self.dst
        ChangeEngine.check_create(self.target, app.name, allow_blank=self.allow_blank)
        doc: dict[str, Any] = {"from": sides[1], "to": sides[0], "app_name": app.name, "profile": self.to}
        if self.dry_run:
            self.src.out.emit(
                {"dry_run": True, "status": "would-create", **doc},
                text=f"promote {sides[1]} -> {sides[0]}: would create {app.name!r} ({app.mode})",
            )
            return ExitCode.OK
        engine = change_engine(dst, console, self.store, None, verb="promote", probe=False)
        result = engine.create(
            self.target,
            app.name,
            yes=self.yes,
            comment=f"created from {self.target.label}",
            probe_for=(lambda live: make_probe(dst, live)) if self.probe else None,
        )
        self.src.out.emit(
            {"dry_run": False, **doc, **result.to_dict()}, text=lambda o: render_created(o, result, sides)
        )
        return result.exit_code
