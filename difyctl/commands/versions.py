"""`difyctl versions list`: Dify's own published versions of a workflow app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from difyctl.commands._common import AppArg, OutputOpt, ProfileOpt, VerboseOpt, app_context

if TYPE_CHECKING:
    from difyctl.client.console import ConsoleClient
    from difyctl.client.models import App, Workflow
    from difyctl.output import Output

app = typer.Typer(help="Dify's own published versions of a workflow app.", no_args_is_help=True)


@app.command("list")
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
    from difyctl.jsonshape import version_doc

    actx = app_context(ctx, output, profile, verbose)
    with actx.console() as console:
        app = actx.resolve_app(console, app_ref)
        rows = published_versions(console, app)
    docs = [version_doc(w, app) for w in rows]
    actx.out.emit(docs, text=lambda o: _table(o, docs))


def published_versions(console: ConsoleClient, app: App) -> list[Workflow]:
    """Every published version of a workflow/chatflow app, all pages, the draft left out."""
    from difyctl.errors import UsageError

    if app.mode not in ("workflow", "advanced-chat"):
        raise UsageError(
            f"{app.name!r} is a {app.mode} app: Dify keeps versions of workflow/chatflow apps only"
        )
    rows: list[Workflow] = []
    page = 1
    while True:
        result = console.list_versions(app.id, page=page, limit=100)
        rows += [w for w in result.items if not w.is_draft]
        if not result.has_more or not result.items:
            return rows
        page += 1


def _table(out: Output, docs: list[dict[str, Any]]) -> None:
    from datetime import datetime, timezone

    def when(ts: int | None) -> str:
        return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if ts else ""

    out.table(
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
    )
