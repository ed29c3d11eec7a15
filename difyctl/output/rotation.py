"""Text renderings of the rotation results (plain tables; JSON/YAML come from `Output.emit`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from difyctl.output import Output


def when(ts: float | int | None) -> str:
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def rotations(out: Output, docs: Sequence[dict[str, Any]]) -> None:
    rows = []
    for d in docs:
        note = d.get("error") or ""
        if d.get("status") == "promoted" and d.get("grace_until"):
            note = f"finish after {when(d['grace_until'])} UTC"
        rows.append(
            [
                d["app"],
                d["status"],
                d.get("phase") or "",
                d.get("old_key") or "",
                d.get("new_key") or "",
                note,
            ]
        )
    out.table(["APP", "STATUS", "PHASE", "OLD KEY", "NEW KEY", "NOTE"], rows)
    for d in docs:
        if d.get("hint") and d.get("status") != "finished":
            out.info(f"{d['app']}: {d['hint']}")


def health(out: Output, doc: dict[str, Any]) -> None:
    rows = [
        [
            r["app"],
            r.get("key") or "",
            "ok" if r["ok"] else "cancelled" if r.get("status") == "cancelled" else "FAIL",
            "" if r.get("latency_ms") is None else f"{r['latency_ms']:.0f} ms",
            r.get("error") or "",
        ]
        for r in doc["results"]
    ]
    out.table(["APP", "KEY", "STATUS", "LATENCY", "ERROR"], rows)
    s = doc["summary"]
    cancelled = sum(1 for r in doc["results"] if r.get("status") == "cancelled")
    tail = f" ({cancelled} not checked: interrupted)" if cancelled else ""
    out.info(f"{s['ok']}/{s['total']} healthy in {s['wall_ms']:.0f} ms{tail}")


def step_result(out: Output, doc: dict[str, Any]) -> None:
    """The result of `secrets set|rotate` and `credentials rotate`: the steps, then the error line."""
    out.emit(doc, text=lambda o: steps(o, doc))
    if doc.get("error"):
        out.error(doc["error"], doc.get("hint"))


def steps(out: Output, doc: dict[str, Any]) -> None:
    """Secrets and provider-credential rotations: one line per step."""
    for step in doc.get("steps") or []:
        mark = "ok " if step.get("ok") else "ERR"
        detail = f" ({step['error']})" if step.get("error") else ""
        out.line(f"{mark} {step['step']}{detail}")
    out.line(f"status: {doc['status']}")
