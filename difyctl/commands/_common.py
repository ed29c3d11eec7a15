"""Options shared by every command (Annotated aliases, as hf's _cli_utils does) and the context getter.

Only typer and the standard library are imported here: `difyctl --help` must stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from difyctl.context import AppContext

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
    return base.with_options(output=output, profile=profile, verbose=verbose)
