"""Semantic diff of two DSL documents (after `normalise`): what a reviewer of a rollback needs to see.

Nodes are matched by id, edges by source -> target (and handles), variables by name. Secret values are
never part of a diff: a changed secret reads "(secret changed)", and a blank secret (not exported) is not
a change at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from difyctl.snapshots.dsl import SECRET, canonical_json, normalise

SECRET_CHANGED = "(secret changed)"
_MISSING = object()


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any = None
    new: Any = None
    secret: bool = False

    def to_dict(self) -> dict[str, Any]:
        if self.secret:
            return {"path": self.path, "old": "(secret)", "new": SECRET_CHANGED}
        return {"path": self.path, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class NodeChange:
    id: str
    title: str
    type: str
    change: str  # added | removed | changed
    fields: tuple[FieldChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "title": self.title, "type": self.type, "change": self.change}
        if self.change == "changed":
            out["fields"] = [f.to_dict() for f in self.fields]
        return out


@dataclass(frozen=True)
class EdgeChange:
    source: str
    target: str
    change: str  # added | removed
    source_handle: str = ""
    target_handle: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "change": self.change,
            "source_handle": self.source_handle,
            "target_handle": self.target_handle,
        }


@dataclass(frozen=True)
class VariableChange:
    kind: str  # environment | conversation
    name: str
    change: str  # added | removed | changed
    value_type: str = ""
    fields: tuple[FieldChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "change": self.change,
            "value_type": self.value_type,
        }
        if self.change == "changed":
            out["fields"] = [f.to_dict() for f in self.fields]
        return out


@dataclass(frozen=True)
class DslDiff:
    app: tuple[FieldChange, ...] = ()
    nodes: tuple[NodeChange, ...] = ()
    edges: tuple[EdgeChange, ...] = ()
    variables: tuple[VariableChange, ...] = ()
    features: tuple[FieldChange, ...] = ()
    model_config: tuple[FieldChange, ...] = ()
    dependencies_added: tuple[str, ...] = ()
    dependencies_removed: tuple[str, ...] = ()
    other: tuple[FieldChange, ...] = field(default=())
    dsl_version: tuple[str | None, str | None] | None = None  # (old, new) when the format version differs

    @property
    def is_empty(self) -> bool:
        return not (
            self.dsl_version
            or self.app
            or self.nodes
            or self.edges
            or self.variables
            or self.features
            or self.model_config
            or self.dependencies_added
            or self.dependencies_removed
            or self.other
        )

    def counts(self) -> dict[str, int]:
        def n(change: str) -> int:
            return sum(1 for c in self.nodes if c.change == change)

        return {
            "nodes_added": n("added"),
            "nodes_removed": n("removed"),
            "nodes_changed": n("changed"),
            "edges_added": sum(1 for e in self.edges if e.change == "added"),
            "edges_removed": sum(1 for e in self.edges if e.change == "removed"),
            "variables": len(self.variables),
            "features": len(self.features),
            "model_config": len(self.model_config),
            "app": len(self.app),
            "dependencies": len(self.dependencies_added) + len(self.dependencies_removed),
            "other": len(self.other),
            "dsl_version": 1 if self.dsl_version else 0,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "equal": self.is_empty,
            "summary": self.counts(),
            "app": [c.to_dict() for c in self.app],
            "nodes": [c.to_dict() for c in self.nodes],
            "edges": [c.to_dict() for c in self.edges],
            "variables": [c.to_dict() for c in self.variables],
            "features": [c.to_dict() for c in self.features],
            "model_config": [c.to_dict() for c in self.model_config],
            "dependencies": {
                "added": list(self.dependencies_added),
                "removed": list(self.dependencies_removed),
            },
            "other": [c.to_dict() for c in self.other],
            "dsl_version": (
                {"old": self.dsl_version[0], "new": self.dsl_version[1]} if self.dsl_version else None
            ),
        }


def field_changes(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """Leaf-level changes between two JSON values; lists of equal length are compared item by item."""
    if old is _MISSING:
        return [FieldChange(path or ".", None, new)]
    if new is _MISSING:
        return [FieldChange(path or ".", old, None)]
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}" if path else str(key)
            out.extend(field_changes(old.get(key, _MISSING), new.get(key, _MISSING), sub))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out.extend(field_changes(a, b, f"{path}[{i}]"))
        return out
    if canonical_json(old) == canonical_json(new):
        return []
    return [FieldChange(path or ".", old, new)]


def _section(doc: Mapping[str, Any], *keys: str) -> Any:
    cur: Any = doc
    for key in keys:
        cur = cur.get(key) if isinstance(cur, dict) else None
    return cur


def _nodes(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    nodes = _section(doc, "workflow", "graph", "nodes") or []
    return {str(n.get("id")): n for n in nodes if isinstance(n, dict)}


def _node_label(node: Mapping[str, Any]) -> tuple[str, str]:
    data = node.get("data") if isinstance(node.get("data"), dict) else {}
    assert isinstance(data, dict)
    return str(data.get("title") or ""), str(data.get("type") or node.get("type") or "")


def _diff_nodes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[NodeChange]:
    a, b = _nodes(old), _nodes(new)
    out: list[NodeChange] = []
    for node_id in sorted(set(a) | set(b)):
        if node_id not in b:
            out.append(NodeChange(node_id, *_node_label(a[node_id]), change="removed"))
        elif node_id not in a:
            out.append(NodeChange(node_id, *_node_label(b[node_id]), change="added"))
        else:
            changes = field_changes(a[node_id], b[node_id])
            if changes:
                out.append(
                    NodeChange(node_id, *_node_label(b[node_id]), change="changed", fields=tuple(changes))
                )
    return out


def _edge_id(edge: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (
        str(edge.get("source") or ""),
        str(edge.get("target") or ""),
        str(edge.get("sourceHandle") or ""),
        str(edge.get("targetHandle") or ""),
    )


def _diff_edges(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[EdgeChange]:
    def ids(doc: Mapping[str, Any]) -> set[tuple[str, str, str, str]]:
        return {_edge_id(e) for e in _section(doc, "workflow", "graph", "edges") or [] if isinstance(e, dict)}

    a, b = ids(old), ids(new)
    return [EdgeChange(s, t, "removed", sh, th) for s, t, sh, th in sorted(a - b)] + [
        EdgeChange(s, t, "added", sh, th) for s, t, sh, th in sorted(b - a)
    ]


def _diff_variables(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[VariableChange]:
    out: list[VariableChange] = []
    for kind, key in (("environment", "environment_variables"), ("conversation", "conversation_variables")):
        a = {str(v.get("name")): v for v in _section(old, "workflow", key) or [] if isinstance(v, dict)}
        b = {str(v.get("name")): v for v in _section(new, "workflow", key) or [] if isinstance(v, dict)}
        for name in sorted(set(a) | set(b)):
            va, vb = a.get(name), b.get(name)
            if vb is None:
                assert va is not None
                out.append(VariableChange(kind, name, "removed", str(va.get("value_type") or "")))
            elif va is None:
                out.append(VariableChange(kind, name, "added", str(vb.get("value_type") or "")))
            else:
                fields = _variable_fields(va, vb)
                if fields:
                    out.append(
                        VariableChange(kind, name, "changed", str(vb.get("value_type") or ""), tuple(fields))
                    )
    return out


def _variable_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    secret = SECRET in (old.get("value_type"), new.get("value_type"))
    out: list[FieldChange] = []
    for key in sorted((set(old) | set(new)) - {"id", "value"}):
        out.extend(field_changes(old.get(key, _MISSING), new.get(key, _MISSING), key))
    a, b = old.get("value"), new.get("value")
    if secret:
        if a not in ("", None) and b not in ("", None) and a != b:
            out.append(FieldChange("value", secret=True))
    elif canonical_json(a) != canonical_json(b):
        out.append(FieldChange("value", a, b))
    return out


def _deps(doc: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    for dep in doc.get("dependencies") or []:
        if isinstance(dep, dict):
            value = dep.get("value") if isinstance(dep.get("value"), dict) else {}
            assert isinstance(value, dict)
            ident = (
                value.get("marketplace_plugin_unique_identifier")
                or value.get("plugin_unique_identifier")
                or value.get("repo")
                or dep.get("current_identifier")
                or canonical_json(dep)
            )
            out.add(str(ident))
    return out


_APP_KEYS = ("name", "mode", "description", "use_icon_as_answer_icon")
_WORKFLOW_KNOWN = frozenset({"graph", "features", "environment_variables", "conversation_variables"})


def semantic_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> DslDiff:
    """What changes when `old` (e.g. the live app) becomes `new` (e.g. the rollback target)."""
    a, b = normalise(old), normalise(new)
    app_a, app_b = _section(a, "app") or {}, _section(b, "app") or {}
    app = [
        c
        for k in sorted(set(app_a) | set(app_b))
        for c in field_changes(app_a.get(k, _MISSING), app_b.get(k, _MISSING), f"app.{k}")
    ]
    versions = (a.get("version"), b.get("version"))
    app.sort(key=lambda c: (c.path.split(".")[-1] not in _APP_KEYS, c.path))
    wf_a, wf_b = _section(a, "workflow") or {}, _section(b, "workflow") or {}
    other = [
        c
        for k in sorted((set(wf_a) | set(wf_b)) - _WORKFLOW_KNOWN)
        for c in field_changes(wf_a.get(k, _MISSING), wf_b.get(k, _MISSING), f"workflow.{k}")
    ]
    other += [
        c
        for k in sorted((set(a) | set(b)) - {"app", "workflow", "model_config", "dependencies", "version"})
        for c in field_changes(a.get(k, _MISSING), b.get(k, _MISSING), k)
    ]
    deps_a, deps_b = _deps(a), _deps(b)
    return DslDiff(
        app=tuple(app),
        nodes=tuple(_diff_nodes(a, b)),
        edges=tuple(_diff_edges(a, b)),
        variables=tuple(_diff_variables(a, b)),
        features=tuple(field_changes(wf_a.get("features", {}), wf_b.get("features", {}), "features")),
        model_config=tuple(
            field_changes(a.get("model_config", {}), b.get("model_config", {}), "model_config")
        ),
        dependencies_added=tuple(sorted(deps_b - deps_a)),
        dependencies_removed=tuple(sorted(deps_a - deps_b)),
        other=tuple(other),
        dsl_version=(
            (
                None if versions[0] is None else str(versions[0]),
                None if versions[1] is None else str(versions[1]),
            )
            if versions[0] != versions[1]
            else None
        ),
    )
