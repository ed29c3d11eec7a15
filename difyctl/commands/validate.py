"""validate: check JSON answers against a JSON Schema, with deterministic repair and a fallback."""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, Optional

import typer

from difyctl.commands._common import OutputOpt, app_context
from difyctl.exit_codes import ExitCode
from difyctl.validation.deadline import DEFAULT_TIME_LIMIT

if TYPE_CHECKING:
    from collections.abc import Iterable

    from difyctl.output import Output
    from difyctl.validation.engine import BatchSummary, DocResult

SchemaOpt = Annotated[
    Path, typer.Option("--schema", metavar="FILE", help="JSON Schema (JSON or YAML).", show_default=False)
]
FileArg = Annotated[
    str, typer.Argument(help="Answer text, JSON document, or JSONL with --jsonl; - for stdin.")
]
FieldOpt = Annotated[
    Optional[str],  # noqa: UP045 - typer inspects the annotation at runtime
    typer.Option(
        "--field", metavar="NAME", help="Dotted path of the text in each record: answer, data.outputs.text."
    ),
]
FallbackOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--fallback",
        metavar="FILE",
        help="Document (JSON/YAML) that stands in for a failed one.",
        show_default=False,
    ),
]
ReportOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--report", metavar="FILE", help="Write the JSON report to this file.", show_default=False),
]


TimeLimitOpt = Annotated[
    float,
    typer.Option(
        "--time-limit",
        help="CPU seconds one document may take in Python-side checks (a backtracking pattern); "
        "over it, the document is invalid. 0: no limit.",
        min=0,
        metavar="SECONDS",
    ),
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
    time_limit: TimeLimitOpt = DEFAULT_TIME_LIMIT,
    output: OutputOpt = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Say which validator decides, and why (stderr).")
    ] = False,
) -> ExitCode:
    """Check JSON answers against a JSON Schema: valid documents on stdout, report on stderr.

    Each document is recorded on one rung: parsed (valid as is), repaired (valid
    once code fences, <think> blocks or text around it are removed, or trailing
    commas, quotes, Python literals, comments, truncation are fixed; nothing is
    ever invented), fallback (--fallback stood in) or invalid. NaN/Infinity are not JSON.

    With -o json (or yaml) the report is the one document on stdout, each
    document's value inside it; --verbose says which validator decides.

    Exit codes: 0 all usable, 1 some invalid (no --fallback), 2 bad schema/input.

    \b
    Examples:
      difyctl validate --schema answer.schema.json answer.txt
      difyctl broadcast "Reply in JSON" --all --jsonl runs.jsonl
      difyctl validate --schema answer.yaml runs.jsonl --jsonl --field answer
      difyctl validate --schema out.json runs.jsonl --jsonl -o json | jq .summary
      difyctl validate --schema out.json runs.jsonl --jsonl --field outputs.text \\
          --fallback default.json --report report.json
    """
    from difyctl.output import to_json
    from difyctl.validation import engine
    from difyctl.validation.report import report_dict

    out = app_context(ctx, output, verbose=verbose).out
    validator = engine.load_validator(schema, fallback=fallback, repair=not no_repair, time_limit=time_limit)
    if verbose:
        for note in validator.compiled.notes:
            out.info(f"schema: {note}")
    documents = _DocumentSink(out.stdout, out.format)
    with engine.open_input(file) as stream:
        summary = documents.drain(validator.iter_stream(stream, jsonl=jsonl, field=field))
    if summary.total == 0:
        raise engine.InputError("input is empty (no JSON lines)")
    data = report_dict(summary, schema=str(schema), draft=validator.compiled.draft, source=file)
    if report is not None:
        engine.write_report(report, to_json(data))
    documents.finish(out, data, summary)
    return summary.exit_code


class _DocumentSink:
    """Where each document goes: text writes usable values one per line (validate as a filter); json
    streams every document's result into the report's "documents" array (flat memory); yaml collects."""

    def __init__(self, stdout: IO[str], fmt: str) -> None:
        self.stdout = stdout
        self.format = fmt
        self.collected: list[Any] = []
        self.pending: list[str] = []
        self.batch = 1 if _is_tty(stdout) else 32
        self.count = 0

    def drain(self, results: Iterable[DocResult]) -> BatchSummary:
        """Every result into the summary; text writes the usable values as they come."""
        import gc

        from difyctl.validation import engine

        gc.freeze()  # start-up's objects (typer, jsonschema...) stay: spare them the collector's walks (~4 %)
        if self.format != "text":
            return engine.consume(results, each=self.add)
        summary = engine.consume(results, write=self.write_value)
        self.flush()
        return summary

    def finish(self, out: Output, data: dict[str, Any], summary: BatchSummary) -> None:
        """The report: text lines on stderr, or the one json/yaml document on stdout."""
        from difyctl.output import to_yaml
        from difyctl.validation.report import text_lines

        if out.format == "text":
            out.stdout.flush()
            for level, message in text_lines(summary):
                (out.error if level == "error" else out.info)(message)
            return
        del data["documents"], data["documents_omitted"]  # all of them are in this report
        if out.format == "json":
            out.stdout.write(self.close(data))
        else:
            out.stdout.write(to_yaml({"documents": self.collected, **data}))
        out.stdout.flush()

    def write_value(self, line: str) -> None:
        self.pending.append(line)
        if len(self.pending) >= self.batch:  # one write per 32 lines (~ what a pipe buffers anyway)
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.stdout.write("\n".join(self.pending) + "\n")
            self.pending.clear()

    def add(self, doc: DocResult) -> None:
        if self.format == "yaml":
            self.collected.append(doc.to_dict())
        elif self.format == "json":
            from difyctl.validation.engine import dump

            self.stdout.write(('{"documents": [\n  ' if self.count == 0 else ",\n  ") + dump(doc.to_dict()))
        self.count += 1

    def close(self, data: dict[str, Any]) -> str:
        """The rest of the JSON report after the streamed documents: one JSON object in all."""
        import json

        body = json.dumps(data, indent=2, ensure_ascii=False)  # '{\n  "status": ...\n}'
        return ("" if self.count else '{"documents": [') + "\n]," + body[1:] + "\n"


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
