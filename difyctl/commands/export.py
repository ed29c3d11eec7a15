"""`difyctl export`: an app's DSL from the server to a file or stdout."""

from __future__ import annotations

from typing import Annotated

import typer

from difyctl.commands._common import AppArg, OutputOpt, ProfileOpt, VerboseOpt, app_context

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
