"""run APP [QUERY]: one query (or workflow run) through the service API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from difyctl.commands._common import OutputOpt, ProfileOpt, VerboseOpt, app_context


def run(
    ctx: typer.Context,
    app_ref: Annotated[str, typer.Argument(metavar="APP", help="App id, exact name or profile alias.")],
    query: Annotated[Optional[str], typer.Argument(help="The question (chat/completion apps).")] = None,  # noqa: UP045
    input_pairs: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--input", "-i", help="An app input: KEY=VALUE (text) or KEY:=JSON. Repeatable."),
    ] = None,
    inputs_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--inputs-file", help="A JSON/YAML mapping of inputs.", exists=False, dir_okay=False),
    ] = None,
    stream: Annotated[
        bool, typer.Option("--stream", "-s", help="Stream the answer as it is generated.")
    ] = False,
    user: Annotated[
        str | None, typer.Option("--user", help="End-user id (default: difyctl-<login>).")
    ] = None,  # noqa: UP045
    conversation: Annotated[
        Optional[str], typer.Option("--conversation", "-c", help="Continue this conversation id.")  # noqa: UP045
    ] = None,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run an app once: chat apps answer QUERY, workflows run with --input values.

    The endpoint follows the app's mode (from /v1/info); required inputs are checked first.
    A workflow run that ends `failed` exits 1 even though Dify answers HTTP 200.

    Examples:
      difyctl run echo-chat "What is Dify?"
      difyctl run echo-workflow -i query="hello" -o json
      difyctl run support-bot "Summarise my ticket" --stream
    """
    from difyctl.runs import default_user, parse_inputs, run_app

    actx = app_context(ctx, output, profile, verbose)
    inputs = parse_inputs(input_pairs or [], inputs_file)
    target = actx.service_target(app_ref)
    live = stream and actx.out.format == "text"
    shown: list[str] = []

    def on_delta(text: str) -> None:
        shown.append(text)
        actx.out.stream(text)

    with actx.service(target) as service:
        result = run_app(
            service,
            query=query,
            inputs=inputs,
            user=user or default_user(),
            conversation_id=conversation,
            stream=stream,
            on_delta=on_delta if live else None,
        )
    doc: dict[str, Any] = {"app": target.name or app_ref, **result.to_dict()}
    actx.out.emit(doc, text=lambda o: _render(o, doc, streamed=bool(shown)))
    if not result.ok:
        from difyctl.client.errors import RunFailedError

        raise RunFailedError(result.status, result.error, workflow_run_id=result.workflow_run_id)


def _render(out: Any, doc: dict[str, Any], *, streamed: bool) -> None:
    from difyctl.output import to_json

    if streamed:
        out.stream("\n")
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
