"""Dify app DSL documents: safe parsing, normalisation, the content hash, and secret variables.

Facts this module relies on (reference/dify-api.md section 6, fixtures 059-062):
- Dify exports with `yaml.dump` defaults: keys sorted, lists in stored order, no timestamps, stable ids.
- Node `position`, `positionAbsolute`, `selected`, `width`/`height`, the graph `viewport` and `app.icon*`
  change when someone merely looks at or moves things in the UI: `normalise` drops them.
- Secret environment variables export as `value: ''` unless `include_secret=true`. A blank secret in a
  document therefore means "not exported", never "empty": `content_hash` ignores secret values.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml

from difyctl.errors import UsageError
from difyctl.snapshots.defaults import canonical_model_config, fill_document_defaults

SECRET = "secret"
HIDDEN = "[__HIDDEN__]"  # draft sync: "keep the stored value of the variable with this id"
WORKFLOW_MODES = frozenset({"workflow", "advanced-chat"})
MODEL_CONFIG_MODES = frozenset({"chat", "agent-chat", "completion"})
MAX_NODES = 2_000_000

NODE_UI_KEYS = frozenset(
    {
        "position",
        "positionAbsolute",
        "selected",
        "width",
        "height",
        "dragging",
        "sourcePosition",
        "targetPosition",
        "zIndex",
    }
)
EDGE_UI_KEYS = frozenset({"selected", "zIndex", "animated"})
NODE_DATA_UI_KEYS = frozenset({"selected"})

__all__ = [
    "HIDDEN",
    "SECRET",
    "app_meta",
    "blank_secret_names",
    "canonical_json",
    "content_hash",
    "dsl_version",
    "dump_dsl",
    "env_for_draft_sync",
    "export_facts",
    "fill_secrets",
    "normalise",
    "parse_dsl",
    "read_dsl_file",
    "secret_values",
    "secret_variables",
]


# --------------------------------------------------------------------------------------------- parsing
def parse_dsl(
    content: str | bytes, source: str = "<dsl>", *, fmt: Literal["json", "yaml"] = "yaml"
) -> dict[str, Any]:
    """Parse DSL YAML (or JSON: `fmt`) through `yamlio` (bounded, no repeated keys). Not a Dify app
    document -> UsageError."""
    doc = _parse_document(content, source, fmt)
    budget = [MAX_NODES]  # YAML aliases can expand exponentially ("billion laughs"): bound the copy
    try:
        return _jsonable(doc, budget)  # type: ignore[no-any-return]
    except RecursionError:
        raise UsageError(f"{source}: nested too deeply to be a Dify DSL document") from None


def export_facts(content: str | bytes, source: str) -> tuple[str, str | None]:
    """(content hash, DSL version) of an export: what `SnapshotStore.save` records. The document is
    parsed once and not kept, so it is not copied before `content_hash` (which copies it anyway):
    one deep copy less per save of `snapshot create --all`."""
    doc = _parse_document(content, source, "yaml")
    version = doc.get("version")
    try:
        return content_hash(doc), None if version is None else str(_jsonable(version))
    except RecursionError:
        raise UsageError(f"{source}: nested too deeply to be a Dify DSL document") from None


def _parse_document(content: str | bytes, source: str, fmt: Literal["json", "yaml"]) -> dict[str, Any]:
    """The document as `yamlio` built it (its size already bounded, aliases expanded included)."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    from difyctl import yamlio

    doc = yamlio.load_text(content, source, fmt=fmt, max_nodes=MAX_NODES)
    if not isinstance(doc, dict):
        raise UsageError(f"{source}: not a Dify DSL document (expected a mapping with an `app:` section)")
    app = doc.get("app")
    if not isinstance(app, dict) or not isinstance(app.get("mode"), str):
        raise UsageError(f"{source}: not a Dify DSL document (missing `app:` section or `app.mode`)")
    if app["mode"] in WORKFLOW_MODES and not isinstance(doc.get("workflow"), dict):
        raise UsageError(f"{source}: a {app['mode']} app needs a `workflow:` section")
    return doc


def read_dsl_file(path: Path) -> tuple[bytes, dict[str, Any]]:
    """Read a DSL file: (exact bytes, parsed document). Unreadable or malformed -> UsageError.
    A `.json` file is parsed as JSON (its `\\u` escapes are not all valid YAML) and its bytes are the
    YAML of that document: Dify's import reads YAML."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() != ".json":
        return raw, parse_dsl(raw, str(path))
    doc = parse_dsl(raw, str(path), fmt="json")
    return dump_dsl(doc).encode("utf-8"), doc


def dump_dsl(doc: Mapping[str, Any]) -> str:
    """YAML the way Dify writes it (yaml.dump defaults: sorted keys, unicode kept)."""
    return yaml.safe_dump(dict(doc), allow_unicode=True, sort_keys=True)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any, budget: list[int] | None = None) -> Any:
    """A JSON-clean deep copy: string keys, lists for tuples, ISO text for YAML timestamps."""
    if budget is not None:
        budget[0] -= 1
        if budget[0] < 0:
            raise UsageError(
                f"document too large (more than {MAX_NODES} values once YAML aliases are expanded)"
            )
    if type(value) in _PLAIN:  # most values of a DSL: one lookup, not four isinstance checks
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v, budget) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, budget) for v in value]
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


# ---------------------------------------------------------------------------------------- metadata
def app_meta(doc: Mapping[str, Any]) -> dict[str, Any]:
    app = doc.get("app")
    return dict(app) if isinstance(app, dict) else {}


def dsl_version(doc: Mapping[str, Any]) -> str | None:
    version = doc.get("version")
    return None if version is None else str(version)


def _workflow(doc: Mapping[str, Any]) -> dict[str, Any]:
    wf = doc.get("workflow")
    return wf if isinstance(wf, dict) else {}


def _env_vars(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [v for v in _workflow(doc).get("environment_variables") or [] if isinstance(v, dict)]


# ------------------------------------------------------------------------------------ normalisation
def _strip_node(node: Any, ui_keys: frozenset[str], data_ui_keys: frozenset[str]) -> Any:
    if not isinstance(node, dict):
        return node
    out = {k: v for k, v in node.items() if k not in ui_keys}
    data = out.get("data")
    if isinstance(data, dict):
        # keys with a leading underscore are transient front-end state (_runningStatus, _isCandidate ...)
        out["data"] = {k: v for k, v in data.items() if k not in data_ui_keys and not k.startswith("_")}
    return out


def _sort_key_json(value: Any) -> str:
    return canonical_json(value)


def _edge_key(edge: Any) -> tuple[str, ...]:
    if not isinstance(edge, dict):
        return ("~", canonical_json(edge))
    return tuple(str(edge.get(k) or "") for k in ("source", "sourceHandle", "target", "targetHandle", "id"))


def _by_name(items: Any) -> Any:
    if not isinstance(items, list):
        return items
    return sorted(
        items,
        key=lambda v: (
            (str(v.get("name", "")), canonical_json(v)) if isinstance(v, dict) else ("~", canonical_json(v))
        ),
    )


def normalise(doc: Mapping[str, Any], *, mask_secrets: bool = False) -> dict[str, Any]:
    """The semantic content of a DSL document: UI-only fields dropped, unordered lists sorted, the
    `model_config` defaults Dify fills on import filled in (snapshots/defaults.py).

    Idempotent. With `mask_secrets` every secret variable value becomes "" (as in a plain export).
    """
    out: dict[str, Any] = _jsonable(doc)  # a deep copy
    fill_document_defaults(out)
    app = out.get("app")
    if isinstance(app, dict):
        out["app"] = {k: v for k, v in app.items() if not k.startswith("icon")}
        if app.get("mode") in MODEL_CONFIG_MODES and isinstance(out.get("model_config"), dict):
            out["model_config"] = canonical_model_config(out["model_config"])  # server-filled defaults
    wf = out.get("workflow")
    if isinstance(wf, dict):
        graph = wf.get("graph")
        if isinstance(graph, dict):
            graph.pop("viewport", None)
            nodes = graph.get("nodes")
            if isinstance(nodes, list):
                stripped = [_strip_node(n, NODE_UI_KEYS, NODE_DATA_UI_KEYS) for n in nodes]
                graph["nodes"] = sorted(
                    stripped,
                    key=lambda n: (
                        (str(n.get("id", "")), canonical_json(n))
                        if isinstance(n, dict)
                        else ("~", canonical_json(n))
                    ),
                )
            edges = graph.get("edges")
            if isinstance(edges, list):
                graph["edges"] = sorted(
                    (_strip_node(e, EDGE_UI_KEYS, frozenset()) for e in edges), key=_edge_key
                )
        for key in ("environment_variables", "conversation_variables"):
            if key in wf:
                wf[key] = _by_name(wf[key])
        if mask_secrets:
            for var in wf.get("environment_variables") or []:
                if isinstance(var, dict) and var.get("value_type") == SECRET:
                    var["value"] = ""
    deps = out.get("dependencies")
    if isinstance(deps, list):
        out["dependencies"] = sorted(deps, key=_sort_key_json)
    return out


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_hash(doc: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the normalised document, secret values and DSL `version` excluded.

    Two exports of the same app content hash equal with or without `include_secret`, and before/after a
    server upgrade that only bumps the DSL format version (the version is recorded in the sidecar instead).
    """
    norm = normalise(doc, mask_secrets=True)
    norm.pop("version", None)
    return "sha256:" + hashlib.sha256(canonical_json(norm).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------------ secrets
def secret_variables(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The secret environment variables of a workflow document (values included as they are)."""
    return [v for v in _env_vars(doc) if v.get("value_type") == SECRET]


def blank_secret_names(doc: Mapping[str, Any]) -> list[str]:
    """Names of secret variables the document holds blank (an export without include_secret)."""
    return [str(v.get("name")) for v in secret_variables(doc) if v.get("value") in ("", None)]


def secret_values(doc: Mapping[str, Any]) -> dict[str, str]:
    """name -> value of the non-blank secrets (from an include_secret export: keep it in memory only)."""
    return {
        str(v.get("name")): str(v["value"]) for v in secret_variables(doc) if v.get("value") not in ("", None)
    }


def fill_secrets(doc: Mapping[str, Any], values: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Blank secrets of `doc` take their value from `values` (by name): "blank in the target keeps live".

    Returns (a new document, the names of blank secrets `values` has no value for). Secrets the document
    holds with a value are the document's and stay as they are. `doc` is not modified.
    """
    out: dict[str, Any] = copy.deepcopy(dict(doc))
    missing: list[str] = []
    for var in _env_vars(out):
        if var.get("value_type") != SECRET or var.get("value") not in ("", None):
            continue
        name = str(var.get("name"))
        if name in values:
            var["value"] = values[name]
        else:
            missing.append(name)
    return out, missing


def env_for_draft_sync(
    target_vars: list[dict[str, Any]], live_vars: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Environment variables for a draft sync that keeps live secrets (fixtures/README.md table).

    A secret blank in `target_vars` whose name is live is sent as `[__HIDDEN__]` with the LIVE id (the only
    combination that keeps the stored value; an unknown id stores the placeholder literally). DSL value
    types are mapped to the draft API's (`integer`/`float` -> `number`). Returns (variables, names of
    blank secrets that are not live: ask for them, never blank them).
    """
    live_by_name = {str(v.get("name")): v for v in live_vars}
    out: list[dict[str, Any]] = []
    missing: list[str] = []
    for var in target_vars:
        item = {k: var.get(k) for k in ("id", "name", "value", "value_type", "description")}
        if item["value_type"] in ("integer", "float"):
            item["value_type"] = "number"
        if item["value_type"] == SECRET and item["value"] in ("", None):
            live = live_by_name.get(str(item["name"]))
            if live is not None and live.get("value_type") == SECRET:
                item["id"], item["value"] = live.get("id"), HIDDEN
            else:
                missing.append(str(item["name"]))
        out.append(item)
    return out, missing
