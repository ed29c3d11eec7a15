"""login, logout, status, version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from difyctl.commands._common import OutputOpt, ProfileOpt, VerboseOpt, app_context
from difyctl.exit_codes import ExitCode

if TYPE_CHECKING:
    from difyctl.context import AppContext

BaseUrlOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--base-url",
        metavar="URL",
        help="Server root, e.g. https://dify.example.com (env DIFY_BASE_URL).",
        show_default=False,
    ),
]


def login(
    ctx: typer.Context,
    base_url: BaseUrlOpt = None,
    email: Annotated[
        str | None, typer.Option("--email", "-e", metavar="TEXT", help="Account email (env DIFY_EMAIL).")
    ] = None,  # noqa: UP045
    password_stdin: Annotated[
        bool,
        typer.Option("--stdin", "--password-stdin", help="Read the password from the first line of stdin."),
    ] = False,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Log in to the Dify console and store the session in the keyring.

    The password comes from --stdin, DIFY_PASSWORD or a prompt; never from a flag value.

    \b
    Examples:
      difyctl login --base-url https://dify.example.com --email ops@example.com
      echo "$PASS" | difyctl login --base-url http://localhost --email ops@example.com --stdin
      difyctl login -p prod --base-url https://dify.prod.example.com
    """
    from difyctl.client import auth as client_auth
    from difyctl.commands._login import read_password, save_login
    from difyctl.output.prompt import ask_text as ask

    actx = app_context(ctx, output, profile, verbose)
    stored = actx.profiles().profiles.get(actx.profile_name)
    url = (
        base_url
        or actx.env.get("DIFY_BASE_URL")
        or (stored.base_url if stored else None)
        or ask("Dify URL", "--base-url or DIFY_BASE_URL")
    )
    user = (
        email
        or actx.env.get("DIFY_EMAIL")
        or (stored.email if stored else None)
        or ask("Email", "--email or DIFY_EMAIL")
    )
    password = read_password(actx, password_stdin)
    from difyctl.config import normalise_base_url

    url = normalise_base_url(url)
    result = client_auth.login(url, user, password, options=actx.client_options(), runtime=actx.get_runtime())
    doc = save_login(actx, url, user, result)
    actx.out.emit(
        doc,
        text=lambda o: o.success(
            f"Logged in to {url} as {user} (Dify {doc['server_version'] or 'version unknown'}); "
            f"profile {doc['profile']!r} saved"
        ),
    )


def logout(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """End the console session on the server and forget it locally.

    \b
    Example:
      difyctl logout -p staging
    """
    from difyctl.commands._login import logout_profile

    actx = app_context(ctx, output, profile, verbose)
    doc = logout_profile(actx)
    actx.out.emit(
        doc,
        text=lambda o: o.success(
            f"Logged out of profile {doc['profile']!r}"
            + ("" if doc["server"] else " (the server was not reached)")
        ),
    )


def status(
    ctx: typer.Context,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> ExitCode:
    """Show the profile, server version, auth method and logged-in user. Exit 4 when not logged in.

    \b
    Example:
      difyctl status -o json
    """
    from difyctl.commands._login import collect_status

    actx = app_context(ctx, output, profile, verbose)
    doc, code = collect_status(actx)
    actx.out.emit(doc, text=lambda o: _render_status(o, doc))
    return code


def _render_status(out: Any, doc: dict[str, Any]) -> None:
    user = doc.get("user") or {}
    rows = [
        ("profile", doc["profile"]),
        ("server", doc["base_url"]),
        ("version", doc.get("server_version") or ("unreachable" if not doc.get("reachable") else "unknown")),
        ("auth", doc["auth"]),
        ("user", f"{user.get('name', '')} <{user.get('email', '')}>" if user else "not logged in"),
    ]
    workspace = doc.get("workspace")
    if workspace:
        role = f", {workspace['role']}" if workspace.get("role") else ""
        rows.append(("workspace", f"{workspace['id']} ({workspace['name']}{role})"))
    for key, value in rows:
        out.line(f"{key + ':':<11}{value}")
    if doc.get("error"):
        out.error(doc["error"], doc.get("hint"))


def version(
    ctx: typer.Context,
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not ask the server for its version.")
    ] = False,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Print difyctl's version and, when a server is configured, the Dify server's version."""
    import platform

    from difyctl import __version__

    actx: AppContext = app_context(ctx, output, profile, verbose)
    doc: dict[str, Any] = {"difyctl": __version__, "python": platform.python_version()}
    if not offline:
        from difyctl.commands._login import server_version_or_none

        doc.update(server_version_or_none(actx))
    actx.out.emit(
        doc,
        text=lambda o: o.line(
            f"difyctl {__version__} (python {doc['python']})"
            + (
                f"\nserver  {doc['base_url']}: "
                + (
                    f"Dify {doc.get('server_version') or 'version unknown'}"
                    + (f" ({doc['problem']})" if doc.get("problem") else "")
                    if doc["reachable"]
                    else str(doc["problem"])
                )
                if doc.get("base_url")
                else ""
            )
        ),
    )
