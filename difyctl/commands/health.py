"""health [APP...|--all]: are the apps' service keys working? (GET /v1/info, then optional probes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from difyctl.commands._common import OutputOpt, ProfileOpt, VerboseOpt, app_context, sigterm_as_interrupt
from difyctl.exit_codes import ExitCode

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from difyctl.context import AppContext
    from difyctl.health import HealthReport, HealthTarget
    from difyctl.targets import Resolver


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

    Exit 0 all healthy, 3 some failed, 1 all failed (4 when every key lookup was refused: your
    role; 5 when no check found a server; 7 when every one was rate limited); Ctrl-C 130 and
    SIGTERM 143, what finished still printed.
    Suitable for cron with -o json.

    \b
    Examples:
      difyctl health --all
      difyctl health echo-chat echo-workflow --probe "ping" -o json
    """
    from difyctl.errors import UsageError

    if refs and all_apps:
        raise UsageError("name the apps to check, or pass --all (not both)")
    actx = app_context(ctx, output, profile, verbose)
    report, terminated = _checks(actx, refs or [], probe or [], concurrency)
    from difyctl.output.rotation import health as render

    doc = report.to_dict()
    actx.out.emit(doc, text=lambda o: render(o, doc))
    return ExitCode.TERMINATED if terminated and report.interrupted else report.exit_code


def _checks(
    actx: AppContext, refs: list[str], probes: list[str], concurrency: int
) -> tuple[HealthReport, bool]:
    """The checks on ONE event loop. Named apps: their keys resolved first. `--all`: the apps listed,
    then each app checked as soon as its own key lookup answers (not after the slowest one), so
    `resolve_ms` (the start to the last key known) overlaps the checks. Ctrl-C or SIGTERM keep what
    finished (the report says so)."""
    import asyncio

    from difyctl.commands._targets import resolve, with_resolver
    from difyctl.errors import UsageError
    from difyctl.health import check_all, health_targets, pending_target
    from difyctl.run.inputs import default_user

    runtime = actx.get_runtime()
    t0 = last = runtime.clock()
    started: list[HealthReport] = []

    def keyed(_: object) -> None:
        nonlocal last
        last = max(last, runtime.clock())

    def check(targets: list[HealthTarget]) -> Coroutine[Any, Any, HealthReport]:
        options, user = actx.client_options(), default_user()
        return check_all(
            targets,
            probes=probes,
            concurrency=concurrency,
            options=options,
            runtime=runtime,
            user=user,
            started=started,
        )

    async def all_apps(resolver: Resolver) -> HealthReport:
        apps = await resolver.listed()
        if not apps:
            raise UsageError("no apps to check")
        keys = resolver.key_tasks(apps, [a.name for a in apps], single=False)
        for key in keys:
            key.add_done_callback(keyed)  # tasks: one never awaited (Ctrl-C) is cancelled, not leaked
        base_url = resolver.policy.base_url
        return await check([pending_target(app, base_url, key) for app, key in zip(apps, keys, strict=True)])

    named = health_targets(resolve(actx, refs=refs, concurrency=concurrency)) if refs else []
    keyed(None)
    with sigterm_as_interrupt() as terminated:
        try:
            report = asyncio.run(check(named)) if refs else with_resolver(actx, concurrency, all_apps)
        except KeyboardInterrupt:  # Python 3.10: the interrupt escapes the loop; what finished is kept
            if not started:
                raise
            report = started[0]
            report.interrupt()
    report.resolve_ms = (last - t0) * 1000
    return report, bool(terminated)
