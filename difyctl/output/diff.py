"""Text rendering of a semantic DSL diff (`snapshot diff`, `rollback`, `apply`, `promote`).

Coloured on a TTY (through `Output.line(style=...)`), plain otherwise. Values come from the diff's
`to_dict()`, which already masks secrets: a secret value is never rendered, only "(secret changed)".
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from difyctl.output import Output
    from difyctl.snapshots.diff import DslDiff

ADDED, REMOVED, CHANGED = "green", "red", "yellow"
_MARK = {"added": ("+", ADDED), "removed": ("-", REMOVED), "changed": ("~", CHANGED)}
MAX_VALUE = 80


def short(value: Any) -> str:
    """One line, at most MAX_VALUE characters: enough to review, never a wall of YAML."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _field(out: Output, change: dict[str, Any], indent: str) -> None:
    old, new = change.get("old"), change.get("new")
    if old is None:
        out.line(f"{indent}+ {change['path']}: {short(new)}", style=ADDED)
    elif new is None:
        out.line(f"{indent}- {change['path']}: {short(old)}", style=REMOVED)
    elif change.get("new") == "(secret changed)":
        out.line(f"{indent}~ {change['path']}: (secret changed)", style=CHANGED)
    else:
        out.line(f"{indent}~ {change['path']}: {short(old)} -> {short(new)}", style=CHANGED)


_LABELS = {  # key -> (singular, plural)
    "nodes_added": ("node added", "nodes added"),
    "nodes_removed": ("node removed", "nodes removed"),
    "nodes_changed": ("node changed", "nodes changed"),
    "edges_added": ("edge added", "edges added"),
    "edges_removed": ("edge removed", "edges removed"),
    "variables": ("variable", "variables"),
    "features": ("feature field", "feature fields"),
    "model_config": ("model config field", "model config fields"),
    "app": ("app field", "app fields"),
    "dependencies": ("dependency", "dependencies"),
    "other": ("other field", "other fields"),
}


def _version_text(diff: DslDiff) -> str:
    old, new = diff.dsl_version or (None, None)
    return f"DSL version {old or '(none)'} -> {new or '(none)'}"


def summary_line(diff: DslDiff) -> str:
    """`1 node changed, 2 edges added, 6 model config fields` (and the DSL version change, if any)."""
    parts = []
    for key, count in diff.counts().items():
        if count and key in _LABELS:
            one, many = _LABELS[key]
            parts.append(f"{count} {one if count == 1 else many}")
    if diff.dsl_version:
        parts.append(_version_text(diff))
    return ", ".join(parts) or "no differences"


def render_diff(out: Output, diff: DslDiff, *, old_label: str, new_label: str) -> None:
    """`--- OLD` / `+++ NEW` then one section per kind of change, and a summary line."""
    if diff.is_empty:
        out.line(f"no differences between {old_label} and {new_label}")
        return
    doc = diff.to_dict()
    out.line(f"--- {old_label}", style=REMOVED)
    out.line(f"+++ {new_label}", style=ADDED)
    if diff.dsl_version:
        out.line(_version_text(diff), style=CHANGED)
    for section in ("app", "features", "model_config", "other"):
        if doc[section]:
            out.line(f"{section}:", style="bold")
            for change in doc[section]:
                _field(out, change, "  ")
    if doc["nodes"]:
        out.line("nodes:", style="bold")
        for node in doc["nodes"]:
            mark, style = _MARK[node["change"]]
            out.line(
                f"  {mark} {node['id']} {json.dumps(node['title'], ensure_ascii=False)} ({node['type']})",
                style=style,
            )
            for change in node.get("fields", []):
                _field(out, change, "      ")
    if doc["edges"]:
        out.line("edges:", style="bold")
        for edge in doc["edges"]:
            mark, style = _MARK[edge["change"]]
            out.line(f"  {mark} {edge['source']} -> {edge['target']}", style=style)
    if doc["variables"]:
        out.line("variables:", style="bold")
        for var in doc["variables"]:
            mark, style = _MARK[var["change"]]
            kind = f"{var['kind']} {var['value_type']}".strip()
            out.line(f"  {mark} {var['name']} ({kind})", style=style)
            for change in var.get("fields", []):
                _field(out, change, "      ")
    deps = doc["dependencies"]
    if deps["added"] or deps["removed"]:
        out.line("dependencies:", style="bold")
        for dep in deps["added"]:
            out.line(f"  + {dep}", style=ADDED)
        for dep in deps["removed"]:
            out.line(f"  - {dep}", style=REMOVED)
    out.line(f"summary: {summary_line(diff)}")
