"""The root command and the ONE error boundary (`run`/`main`).

Command modules import only typer at their top; engines, the client and rich are imported inside the
command that needs them, so `difyctl --help` and `--version` stay fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn, Optional

import typer

from difyctl import __version__
from difyctl.commands import apply as apply_command
from difyctl.commands import (
    apps,
    credentials,
    emulator,
    export,
    health,
    keys,
    login,
    profile,
    promote,
    quickstart,
    rollback,
    secrets,
    snapshot,
    validate,
    versions,
)
from difyctl.commands import broadcast as broadcast_command
from difyctl.commands import run as run_command
from difyctl.commands import webhook as webhook_command
from difyctl.commands._common import TimeoutOpt
from difyctl.exit_codes import ExitCode

app = typer.Typer(
    name="difyctl",
    help=(
        "The ops toolkit for teams that run Dify: snapshot and roll back app DSL, rotate credentials, "
        "fan a query out to many apps, validate JSON answers.\n\n"
        "Start with `difyctl quickstart` (a built-in Dify emulator, nothing to install)."
    ),
    epilog="Exit codes: 0 ok, 1 failed, 2 usage/bad input, 3 partial, 4 auth, 5 unavailable, 7 rate limited.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class Invocation:
    """What `run` hands to the root callback; the AppContext is built there, so `--help` and
    `--version` never import it."""

    env: Mapping[str, str] | None
    runtime: Any = None
    context: Any = None
    transport: Any = None  # tests: an httpx.MockTransport for every client the command builds
    options: dict[str, Any] | None = None  # the root options, until a command builds its context
    rerun: Any = None  # `run` itself, for a command that runs others (quickstart): no import back here

    def build_context(self) -> Any:
        """The AppContext, built when a command first asks (`commands._common.app_context`): a
        subcommand's `--help` never imports it (start-up budget)."""
        if self.context is None:
            from difyctl.context import AppContext

            base = AppContext.from_environment(self.env)
            base.runtime, base.transport = self.runtime, self.transport
            self.context = base.with_options(
                **(self.options or {"output": None, "profile": None, "verbose": False})
            )
        return self.context

    @property
    def debug(self) -> bool:
        env = os.environ if self.env is None else self.env
        return env.get("DIFYCTL_DEBUG", "") not in ("", "0", "false")

    def out(self) -> Any:
        if self.context is not None:
            return self.context.out
        from difyctl.output import Output

        return Output()


def _version_callback(value: bool) -> None:
    if value:
        sys.stdout.write(f"difyctl {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--profile",
            "-p",
            metavar="NAME",
            help="Profile to use (env DIFYCTL_PROFILE).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--output",
            "-o",
            metavar="FORMAT",
            help="text, json or yaml (env DIFYCTL_OUTPUT).",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log HTTP traffic to stderr (redacted).")
    ] = False,
    timeout: TimeoutOpt = None,  # noqa: ARG001 - kept in ctx.meta by its callback
    version: Annotated[  # noqa: ARG001 - handled by its eager callback
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    if isinstance(ctx.obj, Invocation):
        ctx.obj.options = {"output": output, "profile": profile, "verbose": verbose}
        return
    from difyctl.context import AppContext

    base = ctx.obj if isinstance(ctx.obj, AppContext) else AppContext.from_environment()
    ctx.obj = base.with_options(output=output, profile=profile, verbose=verbose)


app.command("quickstart")(quickstart.quickstart)
app.command("login")(login.login)
app.command("logout")(login.logout)
app.command("status")(login.status)
app.command("version")(login.version)
app.add_typer(profile.app, name="profile")
app.add_typer(apps.app, name="apps")
app.command("run")(run_command.run)
# 1. DSL: snapshots, diff, rollback, releases
app.command("export")(export.export)
app.add_typer(snapshot.app, name="snapshot")
app.command("rollback")(rollback.rollback)
app.add_typer(versions.app, name="versions")
app.command("apply")(apply_command.apply)
app.command("promote")(promote.promote)
# 2. credentials
app.add_typer(keys.app, name="keys")
app.command("health")(health.health)
app.add_typer(secrets.app, name="secrets")
app.add_typer(credentials.app, name="credentials")
# 3. fan-out, 4. validation
app.command("broadcast")(broadcast_command.broadcast)
app.command("validate")(validate.validate)
app.add_typer(webhook_command.app, name="webhook")
app.add_typer(emulator.app, name="emulator")

# The order of `difyctl --help`: start, connect, use, then the four jobs.
HELP_ORDER = [
    *("quickstart", "login", "logout", "status", "version", "profile", "apps", "run"),
    *("export", "snapshot", "rollback", "versions", "apply", "promote"),
    *("keys", "health", "secrets", "credentials", "broadcast", "validate", "webhook", "emulator"),
]


def root_command() -> Any:
    """The click command of `difyctl`: lazy subcommands, each with the shared --timeout."""
    from difyctl.cli.lazy import build_root
    from difyctl.commands._common import add_timeout_options

    return build_root(app, HELP_ORDER, add_timeout_options)


def _report(out: Any, exc: BaseException) -> int:
    """Render a known error as one line (+ hint) and return its exit code (the README's table)."""
    from difyctl.errors import exit_code_for

    message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
    code, hint = exit_code_for(exc)
    url = getattr(exc, "url", "")
    if url and url not in message:
        message = f"{message} ({url})"
    out.error(message, hint)
    return code


def run(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    runtime: Any = None,
    transport: Any = None,
) -> int:
    """Run difyctl with `argv` and return the exit code; every error ends here as one clear line.

    `env` replaces os.environ; `runtime` (sleep, clock, rng) is injected by tests and quickstart;
    `transport` (an httpx.MockTransport) by tests that fake the server."""
    from difyctl.errors import known_errors

    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:  # the fast path: no command tree to build (startup budget)
        sys.stdout.write(f"difyctl {__version__}\n")
        return 0
    launch = Invocation(env=env, runtime=runtime, transport=transport, rerun=run)
    command = root_command()
    try:
        result = command.main(args=args, prog_name="difyctl", standalone_mode=False, obj=launch)
        return int(result) if isinstance(result, int) else 0
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0))
    except (typer.Abort, KeyboardInterrupt):
        launch.out().error("interrupted")
        return int(ExitCode.INTERRUPTED)
    except typer.TyperException as exc:  # typer's (vendored) click usage errors: bad flags, missing args
        show = getattr(exc, "show", None)
        if callable(show):
            show(file=launch.out().stderr)
        else:
            launch.out().error(str(exc))
        return int(ExitCode.USAGE)
    except known_errors() as exc:
        if launch.debug:
            _print_traceback(launch)
        return _report(launch.out(), exc)
    except Exception as exc:  # the last resort: one line, the traceback only on request
        from difyctl.errors import from_unexpected

        if launch.debug:
            _print_traceback(launch)
        known = from_unexpected(exc)
        if known is not None:
            return _report(launch.out(), known)
        launch.out().error(
            f"unexpected {exc.__class__.__name__}: {exc}", "set DIFYCTL_DEBUG=1 for the traceback"
        )
        return int(ExitCode.FAILED)
    finally:
        if "difyctl.context" in sys.modules and "logging" in sys.modules:  # --verbose may have set it up
            from difyctl.context import disable_http_log

            disable_http_log()


def _print_traceback(launch: Invocation) -> None:
    import traceback

    traceback.print_exc(file=launch.out().stderr)


def main() -> None:
    import gc

    # A command allocates in bursts (imports, parsed responses) and keeps little cyclic garbage: at
    # the default threshold (700) the young generation was collected ~90 times and the middle one 8
    # times per `broadcast --all` of 100 apps, 30-40 ms of CPU re-scanning live objects. Cycles are
    # still collected, every 20,000 allocations instead.
    gc.set_threshold(20_000, 20, 20)
    leave(run())


def leave(code: int) -> NoReturn:
    """End the process with `code` now. The interpreter's own teardown frees every module and object
    one by one (~0.1 s after a broadcast to 100 apps) and does nothing a finished command needs; the
    atexit handlers (logging, coverage) still run and both streams are flushed first. With another
    non-daemon thread alive, a profiler or tracer attached, or a stream that cannot be flushed, the
    ordinary exit."""
    import atexit
    import threading

    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    run_exitfuncs = getattr(atexit, "_run_exitfuncs", None)
    watched = sys.getprofile() is not None or sys.gettrace() is not None  # `-m cProfile` reports at exit
    if others or watched or run_exitfuncs is None:
        sys.exit(code)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: Python started with that fd closed (`2>&-`)
                stream.flush()
    except (OSError, ValueError):  # a closed pipe (`| head`): Python's own exit reports it as before
        sys.exit(code)
    run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    os._exit(code)
