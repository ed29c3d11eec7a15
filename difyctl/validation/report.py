"""Renderings of a `BatchSummary`: a stable JSON report (like check-jsonschema's) and text lines.

Nothing here prints: the command hands these to `Output` (stderr) or writes the JSON to --report FILE.
"""

from __future__ import annotations

from typing import Any

from difyctl.validation.engine import BatchSummary, DocResult

MAX_TEXT_SAMPLES = 20
MAX_TEXT_ERRORS = 3


def report_dict(summary: BatchSummary, *, schema: str, draft: str, source: str) -> dict[str, Any]:
    data = summary.to_dict()
    return {"status": data.pop("status"), "schema": schema, "draft": draft, "input": source, **data}


def _where(doc: DocResult) -> str:
    return f"line {doc.line}" if doc.line is not None else "document"


def doc_lines(doc: DocResult) -> list[tuple[str, str]]:
    """(level, message) lines for one document: level is "info" or "error"."""
    repairs = f" after repairs ({', '.join(doc.repairs)})" if doc.repairs else ""
    if doc.rung == "repaired":
        return [("info", f"{_where(doc)}: repaired ({', '.join(doc.repairs)})")]
    if doc.rung == "parsed":
        return []
    head = "fallback used" if doc.fallback_used else "invalid"
    level = "info" if doc.fallback_used else "error"
    lines = [(level, f"{_where(doc)}: {head}{repairs}")]
    for err in doc.errors[:MAX_TEXT_ERRORS]:
        lines.append((level, f"  {err['path']}: {err['message']} [{err['keyword']}]"))
    if len(doc.errors) > MAX_TEXT_ERRORS:
        lines.append((level, f"  ... {len(doc.errors) - MAX_TEXT_ERRORS} more errors"))
    return lines


def text_lines(summary: BatchSummary) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    samples = summary.samples()
    for doc in samples[:MAX_TEXT_SAMPLES]:
        lines.extend(doc_lines(doc))
    hidden = summary.failed + summary.counts["repaired"] - min(len(samples), MAX_TEXT_SAMPLES)
    if hidden > 0:
        lines.append(
            ("info", f"... {hidden} more repaired or failed documents not shown (see --report FILE)")
        )
    c = summary.counts
    noun = "document" if summary.total == 1 else "documents"
    tally = (
        f"{c['parsed']} parsed, {c['repaired']} repaired, {c['fallback']} fallback, {c['invalid']} invalid"
    )
    kinds = ", ".join(f"{k} {n}" for k, n in summary.repairs.most_common())
    lines.append(("info", f"{summary.total} {noun}: {tally}" + (f" (repairs: {kinds})" if kinds else "")))
    return lines
