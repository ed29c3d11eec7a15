"""`--notify URL [--notify-secret-env VAR]`, shared by `run` and `broadcast` (typer only at import)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from difyctl.context import AppContext

NotifyOpt = Annotated[
    Optional[str],  # noqa: UP045 - typer inspects the annotation at runtime
    typer.Option(
        "--notify",
        metavar="URL",
        help="When done, POST a JSON completion notice here (signed with --notify-secret-env).",
        show_default=False,
    ),
]
NotifySecretOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--notify-secret-env",
        metavar="NAME",
        help="Sign the notice (X-Difyctl-Signature, HMAC-SHA256) with the secret in this env variable.",
        show_default=False,
    ),
]


def prepare(actx: AppContext, url: str | None, secret_env: str | None) -> str | None:
    """Check the URL and read the secret BEFORE any run is sent (a typo must not waste a run)."""
    from difyctl.errors import UsageError
    from difyctl.notify import check_url, read_secret

    check_url(url)
    if secret_env and not url:
        raise UsageError("--notify-secret-env needs --notify URL")
    return read_secret(actx.env, secret_env)


def send(actx: AppContext, url: str | None, secret: str | None, notice: dict[str, Any]) -> None:
    if not url:
        return
    from difyctl import __version__
    from difyctl.notify import deliver

    runtime = actx.get_runtime()
    now = runtime.now()
    doc = {**notice, "finished_at": int(now), "difyctl_version": __version__}
    deliver(actx.out, url, doc, secret=secret, now=now, options=actx.client_options())
