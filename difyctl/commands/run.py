"""run APP [QUERY]: one query (or workflow run) through the service API."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from difyctl.commands._common import OutputOpt, ProfileOpt, VerboseOpt, app_context
from difyctl.commands._notify import NotifyOpt, NotifySecretOpt
from difyctl.exit_codes import ExitCode

if TYPE_CHECKING:
    from difyctl.client.models import RunResult
    from difyctl.output import Output
    from difyctl.run.engine import ValidatedRun


def run(
    ctx: typer.Context,
    app_ref: Annotated[str, typer.Argument(metavar="APP", help="App id, exact name or profile alias.")],
    query: Annotated[
        str | None,
        typer.Argument(metavar="TEXT", help="The question (chat/completion apps).", show_default=False),
    ] = None,  # noqa: UP045
    input_pairs: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--input",
            "-i",
            metavar="KEY=VALUE",
            help="An app input: KEY=VALUE (text) or KEY:=JSON. Repeatable.",
        ),
    ] = None,
    inputs_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--inputs-file",
            metavar="FILE",
            help="A JSON/YAML mapping of inputs.",
            exists=False,
            dir_okay=False,
        ),
    ] = None,
    stream: Annotated[
        bool, typer.Option("--stream", "-s", help="Stream the answer as it is generated.")
    ] = False,
    user: Annotated[
        str | None, typer.Option("--user", metavar="NAME", help="End-user id (default: difyctl-<login>).")
    ] = None,  # noqa: UP045
    conversation: Annotated[
        str | None,
        typer.Option("--conversation", metavar="ID", help="Continue this conversation id."),  # noqa: UP045
    ] = None,
    schema: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--schema",
            metavar="FILE",
            help="Validate the answer against this JSON Schema (JSON or YAML).",
            dir_okay=False,
        ),
    ] = None,
    field: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--field", metavar="NAME", help="With --schema: validate this field of the outputs (e.g. text)."
        ),
    ] = None,
    reask: Annotated[
        int,
        typer.Option(
            "--reask",
            metavar="N",
            min=0,
            max=5,
            help="With --schema: ask a chat app again, with the errors, up to N times.",
        ),
    ] = 0,
    fallback: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--fallback",
            metavar="FILE",
            help="With --schema: the document to use when the answer stays invalid.",
            dir_okay=False,
        ),
    ] = None,
    notify: NotifyOpt = None,
    notify_secret_env: NotifySecretOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> ExitCode:
    """Run an app once: chat apps answer the question (TEXT), workflows run with --input values.

    The endpoint follows the app's mode (from /v1/info); required inputs are checked first.
    A workflow run that ends `failed` exits 1 even though Dify answers HTTP 200.

    \b
    Examples:
      difyctl run echo-chat "What is Dify?"
      difyctl run echo-workflow -i query="hello" -o json
      difyctl run support-bot "Summarise my ticket" --stream
      difyctl run json-chat "ping" --schema answer.schema.json --reask 2 -o json
    """
    from difyctl.commands import _notify
    from difyctl.jsonshape import run_doc
    from difyctl.run.engine import run_and_validate
    from difyctl.run.inputs import default_user, parse_inputs
    from difyctl.validation.engine import validator_option

    actx = app_context(ctx, output, profile, verbose)
    secret = _notify.prepare(actx, notify, notify_secret_env)
    inputs = parse_inputs(input_pairs or [], inputs_file)
    validator = validator_option(schema, fallback=fallback, field=field, reask=reask)
    target = actx.service_target(app_ref)
    echo = _Echo(actx.out) if stream and actx.out.format == "text" else None
    with actx.service(target) as service:
        result, checked = run_and_validate(
            service,
            query=query,
            inputs=inputs,
            user=user or default_user(),
            conversation_id=conversation,
            stream=stream,
            on_delta=echo,
            validator=validator,
            field=field,
            reask=reask,
        )
    validation = {"validation": checked.to_dict()} if checked is not None else {}
    doc = {**run_doc(target.name or app_ref, target, result), **validation}
    actx.out.emit(doc, text=lambda o: _render(o, doc, streamed=echo is not None and echo.shown))
    notice = {k: doc.get(k) for k in ("app", "mode", "status", "error", "latency_ms", "usage")}
    _notify.send(actx, notify, secret, {"event": "run.completed", "ok": result.ok, **notice})
    return _exit_code(result, checked)


class _Echo:
    """Writes the answer's deltas to the terminal as they come, and remembers whether any came."""

    def __init__(self, out: Output) -> None:
        self.out, self.shown = out, False

    def __call__(self, text: str) -> None:
        self.shown = True
        self.out.stream(text)


def _exit_code(result: RunResult, checked: ValidatedRun | None) -> ExitCode:
    """A failed run raises (its exit code by the error); an answer still invalid after re-asks is 1."""
    if not result.ok:
        from difyctl.client.errors import RunFailedError

        raise RunFailedError(result.status, result.error, workflow_run_id=result.workflow_run_id)
    return ExitCode.FAILED if checked is not None and not checked.ok else ExitCode.OK


def _render(out: Any, doc: dict[str, Any], *, streamed: bool) -> None:
    from difyctl.output import to_json

    check = doc.get("validation")
    if streamed:
        out.stream("\n")
    elif check and check["ok"]:
        out.line(to_json(check["document"]))  # the valid (possibly repaired) document, ready for jq
    elif doc.get("outputs") is not None:
        out.line(to_json(doc["outputs"]))
    elif doc.get("answer") is not None:
        out.line(str(doc["answer"]))
    usage = doc.get("usage") or {}
    price = (
        f", {usage['total_price']} {usage.get('currency') or ''}".rstrip() if usage.get("total_price") else ""
    )
    conv = f", conversation {doc['conversation_id']}" if doc.get("conversation_id") else ""
    latency = f"{doc.get('latency_ms') or 0:.0f} ms"
    out.info(f"{doc['mode']} · {latency} · {usage.get('total_tokens', 0)} tokens{price}{conv}")
    if check:
        tries = len(check["attempts"])
        how = f"{check['rung']}" + (f" ({', '.join(check['repairs'])})" if check["repairs"] else "")
        after = f" after {tries} attempts" if tries > 1 else ""
        if check["ok"]:
            out.success(f"schema: valid, {how}{after}")
        else:
            out.error(f"schema: invalid{after}")
            for err in check["errors"][:5]:
                out.info(f"  {err['path']}: {err['message']} ({err['keyword']})")
