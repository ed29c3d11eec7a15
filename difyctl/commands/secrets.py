"""secrets list | set | rotate: workflow secret environment variables (draft sync + publish)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from difyctl.commands._common import OutputOpt, ProfileOpt, VerboseOpt, YesOpt, app_context
from difyctl.exit_codes import ExitCode

app = typer.Typer(help="Secret environment variables of workflow and chatflow apps.", no_args_is_help=True)

AppArg = Annotated[str, typer.Argument(metavar="APP", help="App id, exact name or profile alias.")]
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The environment variable.")]
ValueStdinOpt = Annotated[
    bool, typer.Option("--stdin", "--value-stdin", help="Read the new value from stdin.")
]
FromEnvOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--from-env", metavar="NAME", help="Take the new value from this environment variable."),
]


@app.command("list")
def list_secrets(
    ctx: typer.Context,
    ref: AppArg,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """List the environment variables of an app's draft: name, type, value (secrets masked).

    \b
    Example:
      difyctl secrets list support-bot -o json
    """
    from difyctl.rotation.secrets import list_secrets as engine

    actx = app_context(ctx, output, profile, verbose)
    with actx.console() as console:
        docs = engine(console, actx.resolve_app(console, ref))
    rows = [[d["name"], d["value_type"], d["value"]] for d in docs]
    actx.out.emit(docs, text=lambda o: o.table(["NAME", "TYPE", "VALUE"], rows))


@app.command("set")
def set_secret(
    ctx: typer.Context,
    ref: AppArg,
    name: NameArg,
    value_stdin: ValueStdinOpt = False,
    from_env: FromEnvOpt = None,
    no_publish: Annotated[bool, typer.Option("--no-publish", help="Change the draft only.")] = False,
    yes: YesOpt = False,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> ExitCode:
    """Set one secret variable (created when missing); other secrets are kept as they are.

    \b
    Examples:
      printf %s "$TOKEN" | difyctl secrets set support-bot CRM_TOKEN --stdin --yes
      difyctl secrets set support-bot CRM_TOKEN --from-env NEW_CRM_TOKEN --no-publish --yes
    """
    from difyctl.commands._secretops import run_change
    from difyctl.output.rotation import step_result

    actx = app_context(ctx, output, profile, verbose)
    doc, code = run_change(actx, ref, name, value_stdin, from_env, yes=yes, publish=not no_publish, probes=[])
    step_result(actx.out, doc)
    return code


@app.command("rotate")
def rotate_secret(
    ctx: typer.Context,
    ref: AppArg,
    name: NameArg,
    value_stdin: ValueStdinOpt = False,
    from_env: FromEnvOpt = None,
    probe: Annotated[
        list[str] | None,
        typer.Option("--probe", metavar="TEXT", help="A query the app must answer after publishing."),
    ] = None,  # noqa: UP045
    yes: YesOpt = False,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> ExitCode:
    """Rotate a secret: sync -> publish -> probe; on failure the previous value is restored and re-published.

    \b
    Example:
      difyctl secrets rotate support-bot CRM_TOKEN --from-env NEW_CRM_TOKEN --probe "ping" --yes
    """
    from difyctl.commands._secretops import run_change
    from difyctl.output.rotation import step_result

    actx = app_context(ctx, output, profile, verbose)
    doc, code = run_change(
        actx, ref, name, value_stdin, from_env, yes=yes, publish=True, probes=probe or [], rotate=True
    )
    step_result(actx.out, doc)
    return code
