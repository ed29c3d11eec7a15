"""apps list | show."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

import typer

from difyctl.commands._common import OutputOpt, ProfileOpt, VerboseOpt, app_context

app = typer.Typer(help="List and inspect the apps of the workspace.", no_args_is_help=True)

MODES = ("chat", "advanced-chat", "agent-chat", "completion", "workflow")


def _when(ts: int | None) -> str:
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


@app.command("list")
def list_apps(
    ctx: typer.Context,
    mode: Annotated[
        str | None, typer.Option("--mode", metavar="NAME", help=f"Only this mode: {', '.join(MODES)}.")
    ] = None,  # noqa: UP045
    name: Annotated[
        str | None, typer.Option("--name", "-n", metavar="TEXT", help="Only names containing this text.")
    ] = None,  # noqa: UP045
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """List the apps of the workspace (all pages).

    \b
    Examples:
      difyctl apps list
      difyctl apps list --mode workflow -o json | jq -r '.[].name'
    """
    from difyctl.errors import UsageError

    if mode is not None and mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}", hint=f"use one of: {', '.join(MODES)}")
    actx = app_context(ctx, output, profile, verbose)
    with actx.console() as console:
        apps = list(console.iter_apps(mode=mode, name=name))
    docs = [a.to_dict() for a in apps]

    def text(o: Any) -> None:
        if not apps:
            o.info("no apps match")
            return
        o.table(
            ["ID", "NAME", "MODE", "PUBLISHED", "UPDATED"],
            [[a.id, a.name, a.mode, "yes" if a.is_published else "no", _when(a.updated_at)] for a in apps],
        )

    actx.out.emit(docs, text=text)


@app.command("show")
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="APP", help="App id, exact name or profile alias.")],
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Show one app: id, mode, published workflow, API status.

    \b
    Example:
      difyctl apps show echo-chat -o json
    """
    actx = app_context(ctx, output, profile, verbose)
    with actx.console() as console:
        found = actx.resolve_app(console, ref)
        detail = console.get_app(found.id)
    doc = detail.to_dict()

    def text(o: Any) -> None:
        for key in ("id", "name", "mode", "description", "published_workflow_id", "enable_api"):
            o.line(f"{key + ':':<23}{'' if doc.get(key) is None else doc.get(key)}")
        o.line(f"{'updated:':<23}{_when(detail.updated_at)}")

    actx.out.emit(doc, text=text)
