"""export, rollback, promote, and `versions list`: app DSL between the server, files and snapshots."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from difyctl.commands._common import OutputOpt, ProfileOpt, VerboseOpt, YesOpt, app_context
from difyctl.commands._dsl import AllowBlankOpt, DirOpt, DryRunOpt, NoPublishOpt, ProbeOpt

AppArg = Annotated[str, typer.Argument(metavar="APP", help="App id, exact name or profile alias.")]
versions_app = typer.Typer(help="Dify's own published versions of a workflow app.", no_args_is_help=True)

SECRET_WARNING = (
    "--include-secret: the export holds SECRET VALUES in clear text. Do not commit, paste or share it."
)


def export(
    ctx: typer.Context,
    app_ref: AppArg,
    file: Annotated[
        str | None,
        typer.Option("--file", "-f", metavar="FILE", help="Write to FILE (atomic) instead of stdout."),
    ] = None,  # noqa: UP045
    draft: Annotated[
        bool, typer.Option("--draft", help="Export the draft instead of the published version.")
    ] = False,
    include_secret: Annotated[
        bool, typer.Option("--include-secret", help="Include secret values (file 0600).")
    ] = False,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Export an app's DSL YAML (the published version by default), exactly as the server sends it.

    \b
    Examples:
      difyctl export echo-workflow > echo-workflow.yml
      difyctl export echo-workflow --draft -f draft.yml
      difyctl export echo-workflow -o json | jq -r .dsl
    """
    from pathlib import Path

    from difyctl.fsutil import atomic_write
    from difyctl.jsonshape import export_doc
    from difyctl.snapshots.ops import export_app, export_workflow_id

    actx = app_context(ctx, output, profile, verbose)
    if include_secret:
        actx.out.warn(SECRET_WARNING)
    with actx.console() as console:
        app = actx.resolve_app(console, app_ref)
        text = export_app(console, app, draft=draft, include_secret=include_secret)
    is_draft = draft or (app.mode in ("workflow", "advanced-chat") and export_workflow_id(app) is None)
    if is_draft and not draft:
        actx.out.warn(f"{app.name!r} was never published: this is its draft")
    doc = export_doc(app, draft=is_draft, include_secret=include_secret)
    if file:
        atomic_write(Path(file), text, mode=0o600 if include_secret else 0o644)
        actx.out.emit(
            {**doc, "path": file, "bytes": len(text.encode())}, text=lambda o: o.info(f"wrote {file}")
        )
        return
    actx.out.emit({**doc, "dsl": text}, text=lambda o: o.stream(text))


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
) -> None:
    """Make a snapshot (or a published version) live again, safely.

    Steps: semantic diff and secret plan (--dry-run stops here and writes nothing), confirm,
    a pre-rollback-* safety snapshot of the live app, import, publish, verify by re-export, service
    probe; on any failure after the import that state is restored and verified. Secrets blank in the
    snapshot keep their live values; a removed one is named in the plan.

    \b
    Examples:
      difyctl rollback echo-workflow v2.4.0 --dry-run
      difyctl rollback echo-workflow v2.4.0 --yes
      difyctl rollback echo-workflow --version 5f0c...e1 --yes
    """
    from difyctl.commands._dsl import open_store, run_change
    from difyctl.errors import UsageError
    from difyctl.output.prompt import require_consent
    from difyctl.snapshots.results import RollbackTarget

    if (tag is None) == (version is None):
        raise UsageError("give a snapshot TAG or --version VERSION_ID (exactly one)")
    if not dry_run:
        require_consent(yes, "rollback")
    actx = app_context(ctx, output, profile, verbose)
    store = open_store(actx, directory)
    with actx.console() as console:
        app = actx.resolve_app(console, app_ref)
        if tag is not None:
            target = RollbackTarget.from_snapshot(store.load_verified(app.id, tag, force=force))
        else:
            from difyctl.client.errors import NotFoundError

            assert version is not None  # exactly one of TAG / --version, checked above
            try:
                target = RollbackTarget.from_version(console, app.id, version)
            except NotFoundError:
                raise UsageError(
                    f"{app.name} has no published version {version!r}",
                    hint=f"list its versions with `difyctl versions list {app_ref}`",
                ) from None
        code = run_change(
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
    raise typer.Exit(code)


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
) -> None:
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
            raise typer.Exit(code)
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
            raise typer.Exit(0)
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
    raise typer.Exit(0 if result.ok else (2 if result.status == "refused" else 1))


@versions_app.command("list")
def list_versions(
    ctx: typer.Context,
    app_ref: AppArg,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """List the published versions Dify keeps for a workflow/chatflow app, newest first.

    The draft row is excluded. `current` marks the version that is live. An id can be passed
    to `difyctl rollback APP --version ID`.

    \b
    Examples:
      difyctl versions list echo-workflow
      difyctl versions list echo-workflow -o json | jq -r '.[] | select(.current) | .id'
    """
    from datetime import datetime, timezone

    from difyctl.errors import UsageError
    from difyctl.jsonshape import version_doc

    actx = app_context(ctx, output, profile, verbose)
    with actx.console() as console:
        app = actx.resolve_app(console, app_ref)
        if app.mode not in ("workflow", "advanced-chat"):
            raise UsageError(
                f"{app.name!r} is a {app.mode} app: Dify keeps versions of workflow/chatflow apps only"
            )
        rows, page = [], 1
        while True:
            result = console.list_versions(app.id, page=page, limit=100)
            rows += [w for w in result.items if not w.is_draft]
            if not result.has_more or not result.items:
                break
            page += 1
    docs = [version_doc(w, app) for w in rows]

    def when(ts: int | None) -> str:
        return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if ts else ""

    actx.out.emit(
        docs,
        text=lambda o: o.table(
            ["ID", "CREATED", "NAME", "COMMENT", "CURRENT"],
            [
                [
                    d["id"],
                    when(d["created_at"]),
                    d["marked_name"],
                    d["marked_comment"],
                    "*" if d["current"] else "",
                ]
                for d in docs
            ],
        ),
    )
