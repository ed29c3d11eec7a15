"""validate: check JSON answers against a JSON Schema, with deterministic repair and a fallback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from difyctl.commands._common import OutputOpt, app_context

SchemaOpt = Annotated[
    Path, typer.Option("--schema", "-s", help="JSON Schema (JSON or YAML).", show_default=False)
]
FileArg = Annotated[
    str, typer.Argument(help="Answer text, JSON document, or JSONL with --jsonl; - for stdin.")
]
FieldOpt = Annotated[
    Optional[str],  # noqa: UP045 - typer inspects the annotation at runtime
    typer.Option("--field", "-f", help="Dotted path of the text in each record: answer, data.outputs.text."),
]
FallbackOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--fallback", help="Document (JSON/YAML) that stands in for a failed one.", show_default=False
    ),
]
ReportOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--report", help="Write the JSON report to this file.", show_default=False),
]


def validate(
    ctx: typer.Context,
    schema: SchemaOpt,
    file: FileArg = "-",
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One record per line; stream any size.")] = False,
    field: FieldOpt = None,
    no_repair: Annotated[bool, typer.Option("--no-repair", help="Strict JSON only: no repairs.")] = False,
    fallback: FallbackOpt = None,
    report: ReportOpt = None,
    output: OutputOpt = None,
) -> None:
    """Check JSON answers against a JSON Schema: valid documents on stdout, report on stderr.

    Each document is recorded on one rung: parsed (valid as is), repaired (valid
    once code fences, <think> blocks or text around it are removed, or trailing
    commas, quotes, comments, truncation are fixed; nothing is ever invented),
    fallback (--fallback stood in) or invalid. NaN/Infinity are not JSON.

    Exit codes: 0 all usable, 1 some invalid (no --fallback), 2 bad schema/input.

    \b
    Examples:
      difyctl validate --schema answer.schema.json answer.txt
      difyctl broadcast "Reply in JSON" --all --jsonl runs.jsonl
      difyctl validate -s answer.yaml runs.jsonl --jsonl --field answer
      difyctl validate -s out.json runs.jsonl --jsonl -f outputs.text \\
          --fallback default.json --report report.json
    """
    from difyctl.output import to_json, to_yaml
    from difyctl.validation import engine
    from difyctl.validation.report import report_dict, text_lines

    out = app_context(ctx, output).out
    validator = engine.load_validator(schema, fallback=fallback, repair=not no_repair)
    with engine.open_input(file) as stream:
        results = validator.iter_stream(stream, jsonl=jsonl, field=field)
        summary = engine.consume(results, write=lambda doc: out.stdout.write(doc + "\n"))
    out.stdout.flush()
    if summary.total == 0:
        raise engine.InputError("input is empty (no JSON lines)")
    data = report_dict(summary, schema=str(schema), draft=validator.compiled.draft, source=file)
    if report is not None:
        engine.write_report(report, to_json(data))
    if out.format == "text":
        for level, message in text_lines(summary):
            (out.error if level == "error" else out.info)(message)
    else:
        out.stderr.write(to_json(data) + "\n" if out.format == "json" else to_yaml(data))
    raise typer.Exit(summary.exit_code)
