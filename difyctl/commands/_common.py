"""Options shared by every command (Annotated aliases, as hf's _cli_utils does) and the context getter.

Only typer and the standard library are imported here: `difyctl --help` must stay fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from difyctl.context import AppContext

AppArg = Annotated[str, typer.Argument(metavar="APP", help="App id, exact name or profile alias.")]
OutputOpt = Annotated[
    Optional[str],  # noqa: UP045 - typer inspects the annotation at runtime
    typer.Option(
        "--output",
        "-o",
        help="Output format: text, json or yaml (env DIFYCTL_OUTPUT).",
        show_default=False,
        metavar="FORMAT",
    ),
]
ProfileOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--profile", "-p", metavar="NAME", help="Profile to use (env DIFYCTL_PROFILE).", show_default=False
    ),
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log HTTP requests to stderr (secrets redacted).")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]

TIMEOUT_META = "difyctl.timeout"


def _remember_timeout(ctx: typer.Context, value: Optional[float]) -> Optional[float]:  # noqa: UP045
    if value is not None:
        ctx.meta[TIMEOUT_META] = value  # ctx.meta is shared by the whole invocation
    return value


TimeoutOpt = Annotated[
    Optional[float],  # noqa: UP045
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        min=0.001,  # DIFYCTL_TIMEOUT has the same bound (context.request_timeout)
        callback=_remember_timeout,
        show_default=False,
        help="Give up on a request that has not fully answered in SECONDS; exit 5 "
        "(env DIFYCTL_TIMEOUT; default: 60 s between reads, 300 s in all, a streamed answer 1260 s).",
    ),
]


def add_timeout_options(command: Any) -> Any:
    """Give every command that talks to a server (it takes --profile) a `--timeout`, unless it has its
    own: one definition instead of ~30 signatures. The value reaches `app_context` through ctx.meta."""
    import typer.main

    for sub in getattr(command, "commands", {}).values():
        add_timeout_options(sub)
    names = {p.name for p in command.params}
    if "profile" in names and "timeout" not in names:
        holder = typer.Typer()

        def _timeout(timeout: TimeoutOpt = None) -> None:  # noqa: ARG001 - only its option is used
            return None

        holder.command()(_timeout)
        param = typer.main.get_command(holder).params[0]
        param.expose_value = False  # set through the callback, never passed to the command
        command.params.append(param)
    return command


def app_context(
    ctx: typer.Context,
    output: str | None = None,
    profile: str | None = None,
    verbose: bool = False,
) -> AppContext:
    """The AppContext of this invocation, with the command-level options merged over the root ones."""
    from difyctl.context import AppContext

    root = ctx.find_root()
    build = getattr(root.obj, "build_context", None)  # cli.Invocation: built on first use
    base = build() if callable(build) else root.obj if isinstance(root.obj, AppContext) else None
    if base is None:
        base = AppContext.from_environment()
        root.obj = base
    timeout = ctx.meta.get(TIMEOUT_META)
    return base.with_options(output=output, profile=profile, verbose=verbose, timeout=timeout)


@contextmanager
def sigterm_as_interrupt() -> Iterator[list[bool]]:
    """SIGTERM (a Kubernetes Job, systemd) ends a fan-out (broadcast, health) as Ctrl-C does, what
    finished printed, and the command exits 143: the handler hands it to the SIGINT handler
    (asyncio.run's cancels the fan-out; outside the loop, KeyboardInterrupt). Left to the default
    action, nothing was printed."""
    import signal
    import threading

    from difyctl.errors import DifyctlError
    from difyctl.exit_codes import ExitCode

    terminated: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield terminated
        return

    def on_term(_signum: int, frame: Any) -> None:
        terminated.append(True)
        handler = signal.getsignal(signal.SIGINT)
        if not callable(handler):  # SIGINT ignored (a background job of a script): end here
            raise KeyboardInterrupt
        handler(signal.SIGINT, frame)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield terminated
    except KeyboardInterrupt:
        if terminated:
            raise DifyctlError("terminated", exit_code=ExitCode.TERMINATED) from None
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
