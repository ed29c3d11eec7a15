"""broadcast QUERY: one query to many apps at once, with latency, tokens and failures aggregated."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from difyctl.commands._common import OutputOpt, ProfileOpt, VerboseOpt, app_context, sigterm_as_interrupt
from difyctl.commands._notify import NotifyOpt, NotifySecretOpt
from difyctl.errors import UsageError
from difyctl.exit_codes import ExitCode

if TYPE_CHECKING:
    from difyctl.broadcast.engine import BroadcastOptions, Fanout
    from difyctl.broadcast.results import BroadcastResult
    from difyctl.broadcast.targets import Target
    from difyctl.context import AppContext
    from difyctl.targets import Resolver


def broadcast(
    ctx: typer.Context,
    query: Annotated[
        str, typer.Argument(metavar="TEXT", help="The question (fills a workflow's `query` input too).")
    ],
    app_refs: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--app", "-a", metavar="APP", help="A target app (id, exact name or alias). Repeatable."
        ),
    ] = None,
    apps_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--apps-file",
            metavar="FILE",
            help="YAML list of {app, profile?, name?, key_env?, inputs?, mode?}.",
        ),
    ] = None,
    all_apps: Annotated[bool, typer.Option("--all", help="Every app of the workspace.")] = False,
    mode: Annotated[
        Optional[str], typer.Option("--mode", metavar="NAME", help="With --all: only apps of this mode.")  # noqa: UP045
    ] = None,
    input_pairs: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--input",
            "-i",
            metavar="KEY=VALUE",
            help="An input for every target: KEY=VALUE or KEY:=JSON. Repeatable.",
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", "-c", metavar="N", help="Requests in flight at once, all apps.", min=1),
    ] = 16,
    per_app: Annotated[
        int,
        typer.Option(
            "--per-app", metavar="N", help="Requests in flight per app (under Dify's per-app limit).", min=1
        ),
    ] = 4,
    timeout: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            metavar="SECONDS",
            min=0.001,
            show_default=False,
            help="Seconds per attempt of one target, and per console request while resolving "
            "(env DIFYCTL_TIMEOUT; default 120).",
        ),
    ] = None,
    retries: Annotated[
        int, typer.Option(metavar="N", help="Re-sends after 429/5xx (jittered backoff).", min=0)
    ] = 3,
    stream: Annotated[
        bool, typer.Option("--stream", "-s", help="Stream (measures time to first token).")
    ] = False,
    user: Annotated[Optional[str], typer.Option("--user", metavar="NAME", help="End-user id.")] = None,  # noqa: UP045
    full: Annotated[bool, typer.Option("--full", help="Show whole answers, not the first 60 chars.")] = False,
    jsonl: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--jsonl", metavar="FILE", help="Append one JSON line per target as it completes.", dir_okay=False
        ),
    ] = None,
    schema: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--schema",
            metavar="FILE",
            help="Validate every answer against this JSON Schema; invalid counts as failed.",
            dir_okay=False,
        ),
    ] = None,
    field: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--field", metavar="NAME", help="With --schema: validate this field of workflow outputs."
        ),
    ] = None,
    notify: NotifyOpt = None,
    notify_secret_env: NotifySecretOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> ExitCode:
    """Send one question (TEXT) to many apps concurrently; wall time is the slowest app's, not the sum.

    429 (Dify's per-app active-request limit) and 5xx are retried with backoff; a workflow that ends
    `failed` counts as a failure. Exit 0 all ok, 3 some failed, 130 interrupted (what finished is
    still printed); all failed: 4 all refused (401/403), 5 all unreachable or timed out, 7 all rate
    limited, else 1. JSON: {"targets": [...], "summary": {...}}.
    With --schema each answer goes through the validation ladder (parsed, repaired, fallback,
    invalid) and an invalid one counts as a failure.

    \b
    Examples:
      difyctl broadcast "What is Dify?" --all
      difyctl broadcast "Summarise" --app support-bot --app support-bot-v2 -o json
      difyctl broadcast "ping" --apps-file targets.yaml --concurrency 50 --jsonl runs.jsonl
      difyctl broadcast "Reply as JSON" --all --schema answer.schema.json
    """
    from difyctl.broadcast.pool import prefetch

    prefetch("difyctl.broadcast.engine", "difyctl.output.broadcast")  # loads while keys resolve
    from difyctl.broadcast.targets import check_sources, read_apps_file
    from difyctl.commands import _notify
    from difyctl.commands._targets import broadcast_targets
    from difyctl.run.inputs import default_user, parse_inputs

    actx = app_context(ctx, output, profile, verbose).with_options(
        output=None, profile=None, verbose=False, timeout=timeout
    )
    timeout = actx.request_timeout() or 120.0
    secret = _notify.prepare(actx, notify, notify_secret_env)
    check = _checker(schema, field)
    entries = read_apps_file(apps_file) if apps_file is not None else []
    inputs = parse_inputs(input_pairs or [])
    check_sources(app_refs or [], entries, all_apps, mode)

    def options() -> BroadcastOptions:  # the engine is imported once the login is under way
        from difyctl.broadcast.engine import BroadcastOptions

        return BroadcastOptions(query, user or default_user(), stream, concurrency, per_app, timeout, retries)

    with sigterm_as_interrupt() as terminated:
        if all_apps:
            result = _fan_out_all(actx, concurrency, mode, inputs, options, jsonl, check)
        else:
            targets = broadcast_targets(
                actx, apps=app_refs or [], entries=entries, inputs=inputs, concurrency=concurrency
            )
            result = _fan_out(actx, targets, options(), jsonl, check)
    from difyctl.output.broadcast import emit

    emit(actx.out, result, full=full)
    _notify.send(actx, notify, secret, _notice(result))
    return ExitCode.TERMINATED if terminated and result.interrupted else result.exit_code


def _checker(schema: Path | None, field: str | None) -> Any:
    """The validator is compiled before anything is sent (a bad schema is exit 2, nothing spent)."""
    if schema is None and field is None:
        return None  # and jsonschema is never imported (~0.1 s of start-up)
    from difyctl.validation.engine import check_answer, validator_option

    validator = validator_option(schema, field=field)
    if validator is None:
        return None

    def check(res: Any) -> None:
        if res.ok:
            answer = res.outputs if res.outputs is not None else (res.answer or "")
            res.validation = check_answer(validator, answer, field).to_dict(with_value=True)

    return check


def _fan_out_all(
    actx: AppContext,
    concurrency: int,
    mode: str | None,
    inputs: dict[str, Any],
    options: Callable[[], BroadcastOptions],
    jsonl: Path | None,
    check: Any,
) -> BroadcastResult:
    """`--all` on ONE event loop: list the apps, then each app's run starts as soon as its own key
    lookup answers (not after the slowest one), on the console's connections."""
    from difyctl.broadcast.targets import pending_target
    from difyctl.commands._targets import with_resolver

    started: list[Fanout] = []

    async def work(resolver: Resolver) -> BroadcastResult:
        from difyctl.broadcast.engine import Fanout  # loaded by the warm-up while the console logs in

        apps = await resolver.listed(mode)
        if not apps:
            raise UsageError(f"no apps{f' of mode {mode}' if mode else ''} in this workspace")
        resolver.end_progress()  # the live table takes over
        keys = resolver.key_tasks(apps, [a.name for a in apps], single=False)
        base_url = resolver.policy.base_url
        targets = [pending_target(app, base_url, key, inputs) for app, key in zip(apps, keys, strict=True)]
        shared = getattr(getattr(resolver.console, "options", None), "async_transport", None)
        with _displays(actx, targets, jsonl, check) as hooks:
            client_options = actx.client_options()
            if shared is not None:
                client_options = dataclasses.replace(client_options, async_transport=shared)
            runtime = actx.get_runtime()
            fanout = Fanout(targets, options(), client_options=client_options, runtime=runtime, **hooks)
            started.append(fanout)
            return await fanout.run()

    try:
        return with_resolver(actx, concurrency, work)
    except KeyboardInterrupt:  # Python 3.10: the interrupt escapes the loop; what finished is kept
        if not started:
            raise
        return started[0].result(interrupted=True)


def _fan_out(
    actx: AppContext, targets: list[Target], options: BroadcastOptions, jsonl: Path | None, check: Any = None
) -> BroadcastResult:
    from difyctl.broadcast.engine import run_broadcast

    with _displays(actx, targets, jsonl, check) as hooks:
        return run_broadcast(
            targets, options, client_options=actx.client_options(), runtime=actx.get_runtime(), **hooks
        )


@contextmanager
def _displays(
    actx: AppContext, targets: list[Target], jsonl: Path | None, check: Any
) -> Iterator[dict[str, Any]]:
    """The live table (a terminal), the JSONL sink and the --schema check, as the fan-out's hooks."""
    from difyctl.broadcast.jsonl import JsonlSink
    from difyctl.output.broadcast import LiveTable

    with ExitStack() as stack:
        sink = stack.enter_context(JsonlSink(jsonl)) if jsonl is not None else None
        live = stack.enter_context(LiveTable(actx.out, [t.name for t in targets]))

        def on_result(res: Any) -> None:
            if check is not None:
                check(res)  # microseconds per answer: fine on the loop, and in the JSONL line too
            live.done(res)
            if sink is not None:
                sink.write(res)

        yield {"on_start": live.start, "on_result": on_result}


def _notice(result: BroadcastResult) -> dict[str, Any]:
    return {
        "event": "broadcast.completed",
        "ok": result.exit_code == 0,
        "exit_code": int(result.exit_code),
        "summary": result.summary(),
        "targets": [{"app": t.app, "name": t.name, "status": t.status} for t in result.targets],
    }
