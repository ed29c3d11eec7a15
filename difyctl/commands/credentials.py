"""credentials list | rotate: model-provider credentials (Dify's multi-credential flow)."""

from __future__ import annotations

from typing import Annotated

import typer

from difyctl.commands._common import OutputOpt, ProfileOpt, VerboseOpt, YesOpt, app_context
from difyctl.exit_codes import ExitCode

app = typer.Typer(help="Model-provider credentials: list and rotate.", no_args_is_help=True)


@app.command("list")
def list_credentials(
    ctx: typer.Context,
    provider: Annotated[
        str | None, typer.Argument(metavar="NAME", help="e.g. langgenius/openai/openai or openai.")
    ] = None,  # noqa: UP045
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """List the configured model providers and their credentials (names and ids; never values).

    \b
    Examples:
      difyctl credentials list
      difyctl credentials list openai -o json
    """
    actx = app_context(ctx, output, profile, verbose)
    with actx.console() as console:
        rows_ = console.list_providers()
    wanted = (provider or "").strip("/")
    found = [p for p in rows_ if not wanted or wanted in (p.provider, p.provider.rsplit("/", 1)[-1])]
    docs = [p.to_dict() for p in found]
    rows = [
        [p.provider, p.status, c.name, c.id, "*" if c.id == p.current_credential_id else ""]
        for p in found
        for c in p.credentials or ()
    ]
    actx.out.emit(docs, text=lambda o: o.table(["PROVIDER", "STATUS", "CREDENTIAL", "ID", "ACTIVE"], rows))


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    provider: Annotated[str, typer.Argument(metavar="NAME", help="e.g. langgenius/openai/openai or openai.")],
    from_env: Annotated[
        str | None,
        typer.Option("--from-env", metavar="NAME", help="Take the new secret from this variable."),
    ] = None,  # noqa: UP045
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the new secret from stdin.")] = False,
    field: Annotated[
        str | None,
        typer.Option(
            "--field",
            metavar="NAME",
            help="The credential field to replace (default: the one secret field, e.g. openai_api_key).",
        ),
    ] = None,  # noqa: UP045
    probe: Annotated[
        str | None,
        typer.Option(
            "--probe", metavar="APP", help="An app that uses this provider: run once with the new credential."
        ),
    ] = None,  # noqa: UP045
    yes: YesOpt = False,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> ExitCode:
    """Add the new credential (validated by Dify) -> switch -> probe an app -> delete the old one.

    On a failed switch or probe it switches back and deletes the new credential (exit 1).

    \b
    Example:
      difyctl credentials rotate openai --from-env NEW_OPENAI_KEY --probe support-bot --yes
    """
    from difyctl.commands._secretops import run_credential_rotation
    from difyctl.output.rotation import step_result

    actx = app_context(ctx, output, profile, verbose)
    doc, code = run_credential_rotation(actx, provider, stdin, from_env, field, probe, yes)
    step_result(actx.out, doc)
    return code
