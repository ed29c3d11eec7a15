"""`difyctl rollback`: make a snapshot, or a published version, live again (difyctl.change)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from difyctl.commands._common import AppArg, OutputOpt, ProfileOpt, VerboseOpt, YesOpt, app_context
from difyctl.commands._dsl import AllowBlankOpt, DirOpt, DryRunOpt, NoPublishOpt, ProbeOpt
from difyctl.exit_codes import ExitCode

if TYPE_CHECKING:
    from difyctl.client.console import ConsoleClient
    from difyctl.client.models import App
    from difyctl.snapshots.results import RollbackTarget
    from difyctl.snapshots.store import SnapshotStore


def rollback(
    ctx: typer.Context,
    app_ref: AppArg,
    tag: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(metavar="NAME", help="The snapshot tag to make live."),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version", metavar="ID", help="A published version id instead of a tag (see `versions list`)."
        ),
    ] = None,  # noqa: UP045
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    no_publish: NoPublishOpt = False,
    force: Annotated[
        bool, typer.Option("--force", help="Use a snapshot that fails its checksum (hand-edited).")
    ] = False,
    allow_blank_secret: AllowBlankOpt = False,
    probe: ProbeOpt = True,
    directory: DirOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> ExitCode:
    """Make a snapshot (or a published version) live again, safely.

    Steps: semantic diff and secret plan (--dry-run stops here and writes nothing), confirm,
    a pre-rollback-* safety snapshot of the live app, import, publish, verify by re-export, service
    probe; on any failure after the import that state is restored and verified (exit 1; 5 when the
    server failed or gave no answer in --timeout). Secrets blank in the snapshot keep their live
    values; a removed one is named in the plan.

    \b
    Examples:
      difyctl rollback echo-workflow v2.4.0 --dry-run
      difyctl rollback echo-workflow v2.4.0 --yes
      difyctl rollback echo-workflow --version 5f0c...e1 --yes
    """
    from difyctl.commands._dsl import open_store, run_change
    from difyctl.errors import UsageError
    from difyctl.output.prompt import require_consent

    if (tag is None) == (version is None):
        raise UsageError("give a snapshot TAG or --version VERSION_ID (exactly one)")
    if not dry_run:
        require_consent(yes, "rollback")
    actx = app_context(ctx, output, profile, verbose)
    store = open_store(actx, directory)
    with actx.console() as console:
        app = actx.resolve_app(console, app_ref)
        target = _target(console, store, app, app_ref, tag, version, force=force)
        return run_change(
            actx,
            console,
            store,
            app,
            target,
            verb="rollback",
            dry_run=dry_run,
            yes=yes,
            publish=not no_publish,
            probe=probe,
            allow_blank=allow_blank_secret,
        )


def _target(
    console: ConsoleClient,
    store: SnapshotStore,
    app: App,
    app_ref: str,
    tag: str | None,
    version: str | None,
    *,
    force: bool,
) -> RollbackTarget:
    """The DSL to make live: the snapshot TAG (verified), else the published version (exit 2 if none)."""
    from difyctl.client.errors import NotFoundError
    from difyctl.errors import UsageError
    from difyctl.snapshots.results import RollbackTarget

    if tag is not None:
        return RollbackTarget.from_snapshot(store.load_verified(app.id, tag, force=force))
    assert version is not None  # exactly one of TAG / --version, checked by the command
    try:
        return RollbackTarget.from_version(console, app.id, version)
    except NotFoundError:
        raise UsageError(
            f"{app.name} has no published version {version!r}",
            hint=f"list its versions with `difyctl versions list {app_ref}`",
        ) from None
