"""health [APP...|--all]: are the apps' service keys working? (GET /v1/info, then optional probes)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from difyctl.commands._common import OutputOpt, ProfileOpt, VerboseOpt, app_context
from difyctl.exit_codes import ExitCode


def health(
    ctx: typer.Context,
    refs: Annotated[Optional[list[str]], typer.Argument(metavar="APP", help="Apps to check.")] = None,  # noqa: UP045
    all_apps: Annotated[
        bool, typer.Option("--all", help="Every app of the workspace (the default with no APP).")
    ] = False,
    probe: Annotated[
        list[str] | None,
        typer.Option("--probe", metavar="TEXT", help="Also ask this query (spends tokens). Repeatable."),
    ] = None,  # noqa: UP045
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", metavar="N", help="Checks in flight.", min=1)
    ] = 20,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> ExitCode:
    """Check every app's service key: GET /v1/info (costs no tokens), then optional probe queries.

    Exit 0 all healthy, 3 some failed, 1 all failed. Suitable for cron with -o json.

    \b
    Examples:
      difyctl health --all
      difyctl health echo-chat echo-workflow --probe "ping" -o json
    """
    import asyncio

    from difyctl.commands._targets import resolve
    from difyctl.errors import UsageError
    from difyctl.health import check_all, health_targets
    from difyctl.run.inputs import default_user

    if refs and all_apps:
        raise UsageError("name the apps to check, or pass --all (not both)")
    actx = app_context(ctx, output, profile, verbose)
    runtime = actx.get_runtime()
    t0 = runtime.clock()
    targets = health_targets(resolve(actx, refs=refs or [], all_apps=not refs, concurrency=concurrency))
    if not targets:
        raise UsageError("no apps to check")
    resolve_ms = (runtime.clock() - t0) * 1000
    report = asyncio.run(
        check_all(
            targets,
            probes=probe or [],
            concurrency=concurrency,
            options=actx.client_options(),
            runtime=runtime,
            user=default_user(),
        )
    )
    report.resolve_ms = resolve_ms
    from difyctl.output.rotation import health as render

    doc = report.to_dict()
    actx.out.emit(doc, text=lambda o: render(o, doc))
    return report.exit_code
