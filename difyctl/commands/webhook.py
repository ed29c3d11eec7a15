"""webhook verify: check a difyctl completion notice (body on stdin) for receivers written in shell."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from difyctl.commands._common import OutputOpt, VerboseOpt, app_context
from difyctl.exit_codes import ExitCode

app = typer.Typer(help="Completion notices sent by --notify: verify their signature.", no_args_is_help=True)


@app.command("verify")
def verify(
    ctx: typer.Context,
    secret_env: Annotated[
        str, typer.Option("--secret-env", metavar="NAME", help="Environment variable holding the secret.")
    ],
    signature: Annotated[
        Optional[str],  # noqa: UP045 - typer inspects the annotation at runtime
        typer.Option(
            "--signature", metavar="TEXT", help="The X-Difyctl-Signature header value.", show_default=False
        ),
    ] = None,
    timestamp: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--timestamp", metavar="N", help="The X-Difyctl-Timestamp header value.", show_default=False
        ),
    ] = None,
    headers_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--headers-file", metavar="FILE", help="`Name: value` lines or a JSON object.", dir_okay=False
        ),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="Refuse timestamps further than this from now (s): replays.", min=0
        ),
    ] = 300.0,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> ExitCode:
    """Read the raw body on stdin; exit 0 when the signature is valid and fresh, 1 otherwise.

    Examples:
      difyctl webhook verify --secret-env HOOK_SECRET --signature "$SIG" --timestamp "$TS" < body.json
      difyctl webhook verify --secret-env HOOK_SECRET --headers-file headers.txt < body.json
    """
    import sys

    from difyctl.errors import UsageError
    from difyctl.notify import parse_headers_file, read_secret
    from difyctl.notify import verify as check

    actx = app_context(ctx, output, verbose=verbose)
    secret = read_secret(actx.env, secret_env) or ""
    if headers_file is not None:
        if signature or timestamp:
            raise UsageError("give --headers-file or --signature/--timestamp, not both")
        try:
            headers = parse_headers_file(headers_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot read {headers_file}: {exc.strerror or exc}") from exc
        signature, timestamp = headers.get("x-difyctl-signature"), headers.get("x-difyctl-timestamp")
    stdin = getattr(sys.stdin, "buffer", None)
    body = stdin.read() if stdin is not None else sys.stdin.read().encode("utf-8")
    verdict = check(secret, body, signature, timestamp, now=actx.get_runtime().now(), tolerance=tolerance)
    doc = {"valid": verdict.ok, "reason": verdict.reason}
    actx.out.emit(doc, text=lambda o: _say(o, verdict.ok, verdict.reason))
    return ExitCode.OK if verdict.ok else ExitCode.FAILED


def _say(out: Any, ok: bool, reason: str) -> None:
    if ok:
        out.success(reason)
    else:
        out.error(reason)
