"""Deterministic execution of Dify app graphs: Start variables, templates, Answer/End streaming order."""

from __future__ import annotations

import json
import re
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

VAR_PATTERN = re.compile(r"\{\{#([a-zA-Z0-9_]{1,50}(?:\.[a-zA-Z_][a-zA-Z0-9_]{0,29}){1,10})#\}\}")
JINJA_PATTERN = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_.]*)\s*(?:\|\s*([a-z_]+)\s*)?\}\}")
SIMPLE_PATTERN = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
TEXT_TYPES = ("text-input", "paragraph", "select")


class InputError(ValueError):
    """An input that fails the app's form (answered as 400 invalid_param)."""


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


# -- input forms -------------------------------------------------------------------------------
def start_variables(graph: dict[str, Any]) -> list[dict[str, Any]]:
    for node in graph.get("nodes", []):
        data = node.get("data") or {}
        if data.get("type") == "start":
            return [v for v in data.get("variables") or [] if isinstance(v, dict)]
    return []


def form_variables(user_input_form: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Model-config apps keep ``[{"text-input": {...}}]``; flatten it to variable dicts with a type."""
    variables = []
    for item in user_input_form or []:
        for kind, spec in item.items():
            if isinstance(spec, dict):
                variables.append({"type": kind, **spec})
    return variables


def user_input_form(variables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{str(v.get("type", "text-input")): v} for v in variables]


def validate_inputs(variables: list[dict[str, Any]], inputs: dict[str, Any]) -> dict[str, Any]:
    """Dify's ``BaseAppGenerator._validate_inputs`` messages, word for word."""
    cleaned: dict[str, Any] = {}
    for var in variables:
        name = str(var.get("variable", ""))
        kind = var.get("type", "text-input")
        value = inputs.get(name)
        if value is None or value == "":
            if var.get("required"):
                raise InputError(f"{name} is required in input form")
            cleaned[name] = "" if kind in TEXT_TYPES else None
            continue
        if kind in TEXT_TYPES and not isinstance(value, str):
            raise InputError(f"{name} in input form must be a string")
        if kind in TEXT_TYPES:
            max_length = var.get("max_length")
            if isinstance(max_length, int) and max_length > 0 and len(value) > max_length:
                raise InputError(f"{name} in input form must be less than {max_length} characters")
        if kind == "select":
            options = var.get("options") or []
            if options and value not in options:
                raise InputError(f"{name} in input form must be one of the following: {options}")
        if kind == "number" and isinstance(value, str):
            try:
                value = float(value) if "." in value else int(value)
            except ValueError as exc:
                raise InputError(f"{name} in input form must be a valid number") from exc
        cleaned[name] = value
    return cleaned


# -- templates ---------------------------------------------------------------------------------
@dataclass
class Segment:
    text: str = ""
    selector: list[str] | None = None


def parse_template(template: str) -> list[Segment]:
    segments: list[Segment] = []
    pos = 0
    for match in VAR_PATTERN.finditer(template):
        if match.start() > pos:
            segments.append(Segment(text=template[pos : match.start()]))
        segments.append(Segment(selector=match.group(1).split(".")))
        pos = match.end()
    if pos < len(template):
        segments.append(Segment(text=template[pos:]))
    return segments


def render_simple(template: str, values: dict[str, Any]) -> str:
    """``{{var}}`` prompts of chat/completion apps."""
    return SIMPLE_PATTERN.sub(lambda m: to_text(values.get(m.group(1), "")), template)


def render_jinja_lite(template: str, values: dict[str, Any]) -> str:
    """The subset of Jinja used by template-transform nodes: ``{{ name }}`` and ``{{ name | filter }}``."""

    def sub(match: re.Match[str]) -> str:
        value: Any = values
        for part in match.group(1).split("."):
            value = value.get(part) if isinstance(value, dict) else None
        flt = match.group(2)
        if flt == "tojson":
            return json.dumps(value, ensure_ascii=False)
        text = to_text(value)
        return {"upper": text.upper(), "lower": text.lower(), "trim": text.strip()}.get(flt or "", text)

    return JINJA_PATTERN.sub(sub, template)


# -- graph runs ----------------------------------------------------------------------------------
@dataclass
class NodeRun:
    id: str
    node_id: str
    node_type: str
    title: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    tokens: int = 0


@dataclass
class Chunk:
    text: str
    selector: list[str]
    after: int  # emitted after node ``after`` ran, before its node_finished event


@dataclass
class GraphRun:
    nodes: list[NodeRun] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    answer: str = ""


def _order(graph: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = {str(n.get("id")): n for n in graph.get("nodes", []) if isinstance(n, dict)}
    starts = [nid for nid, n in nodes.items() if (n.get("data") or {}).get("type") == "start"]
    children: dict[str, list[str]] = {nid: [] for nid in nodes}
    indegree = dict.fromkeys(nodes, 0)
    for edge in graph.get("edges", []):
        src, dst = str(edge.get("source")), str(edge.get("target"))
        if src in nodes and dst in nodes:
            children[src].append(dst)
            indegree[dst] += 1
    reachable: set[str] = set()
    stack = list(starts)
    while stack:
        nid = stack.pop()
        if nid not in reachable:
            reachable.add(nid)
            stack.extend(children[nid])
    queue = deque(starts)
    order: list[str] = []
    remaining = {nid: sum(1 for p in nodes if nid in children[p] and p in reachable) for nid in reachable}
    while queue:
        nid = queue.popleft()
        order.append(nid)
        for child in children[nid]:
            remaining[child] -= 1
            if remaining[child] == 0:
                queue.append(child)
    return [nodes[nid] for nid in order]


class GraphRunner:
    def __init__(
        self,
        mode: str,
        inputs: dict[str, Any],
        system: dict[str, Any],
        env: dict[str, Any],
        *,
        end_separator: str = "",
        start_sys_vars: bool = True,
    ) -> None:
        """``end_separator``: Dify 1.16 streams an End node's outputs joined by "\n" chunks (1.16.0/040)."""
        self.mode = mode
        self.end_separator = end_separator
        self.start_sys_vars = start_sys_vars
        self.inputs = inputs
        self.system = system
        self.pool: dict[str, dict[str, Any]] = {"sys": dict(system), "env": dict(env), "conversation": {}}

    def resolve(self, selector: list[str]) -> Any:
        value: Any = self.pool.get(selector[0], {})
        for part in selector[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def render(self, template: str) -> str:
        return VAR_PATTERN.sub(lambda m: to_text(self.resolve(m.group(1).split("."))), template)

    def execute(self, node: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], int]:
        data = node.get("data") or {}
        kind = data.get("type")
        if kind == "start":
            values = dict(self.inputs)
            if self.start_sys_vars:
                values.update({f"sys.{k}": v for k, v in self.system.items()})
            return values, values, 0
        if kind == "answer":
            return {}, {"answer": self.render(str(data.get("answer", ""))), "files": []}, 0
        if kind == "end":
            outs = {
                str(o.get("variable")): self.resolve(list(o.get("value_selector") or ["", ""]))
                for o in data.get("outputs") or []
            }
            return outs, outs, 0
        if kind == "template-transform":
            values = {
                str(v.get("variable")): self.resolve(list(v.get("value_selector") or ["", ""]))
                for v in data.get("variables") or []
            }
            return values, {"output": render_jinja_lite(str(data.get("template", "")), values)}, 0
        if kind == "llm":
            prompt = data.get("prompt_template")
            texts = [p.get("text", "") for p in prompt] if isinstance(prompt, list) else []
            if isinstance(prompt, dict):
                texts = [prompt.get("text", "")]
            user = [
                p.get("text", "") for p in prompt or [] if isinstance(p, dict) and p.get("role") == "user"
            ]
            rendered = self.render(str((user or texts or [""])[-1]))
            tokens = count_tokens(" ".join(self.render(str(t)) for t in texts)) + count_tokens(rendered)
            return {}, {"text": rendered, "finish_reason": "stop"}, tokens
        if kind == "variable-aggregator":
            for sel in data.get("variables") or []:
                value = self.resolve(list(sel))
                if value is not None:
                    return {}, {"output": value}, 0
            return {}, {"output": None}, 0
        if kind == "code":
            first = next(
                iter(
                    self.resolve(list(v.get("value_selector") or ["", ""]))
                    for v in data.get("variables") or []
                ),
                None,
            )
            defaults = {"string": to_text(first), "number": 0, "object": {}}
            outs = {
                name: defaults.get(str(spec.get("type")), [])
                for name, spec in (data.get("outputs") or {}).items()
            }
            return {}, outs, 0
        return {}, {}, 0

    def run(self, graph: dict[str, Any]) -> GraphRun:
        result = GraphRun()
        order = _order(graph)
        position = {str(n.get("id")): i for i, n in enumerate(order)}
        for node in order:
            node_id = str(node.get("id"))
            data = node.get("data") or {}
            inputs, outputs, tokens = self.execute(node)
            self.pool[node_id] = outputs
            run = NodeRun(
                str(uuid.uuid4()), node_id, str(data.get("type")), str(data.get("title", "")), inputs, outputs
            )
            run.tokens = tokens
            result.nodes.append(run)
        result.chunks = self._chunks(order, position)
        answers = [n.outputs.get("answer", "") for n in result.nodes if n.node_type == "answer"]
        result.answer = "".join(to_text(a) for a in answers)
        if self.mode == "workflow":
            ends = [n for n in result.nodes if n.node_type == "end"]
            result.outputs = dict(ends[-1].outputs) if ends else {}
        else:
            result.outputs = {"answer": result.answer, "files": []}
        return result

    def _chunks(self, order: list[dict[str, Any]], position: dict[str, int]) -> list[Chunk]:
        chunks: list[Chunk] = []
        last = 0
        for index, node in enumerate(order):
            data = node.get("data") or {}
            kind = data.get("type")
            node_id = str(node.get("id"))
            if kind == "answer" and self.mode != "workflow":
                segments = parse_template(str(data.get("answer", "")))
            elif kind == "end" and self.mode == "workflow":
                segments = []
                for number, output in enumerate(data.get("outputs") or []):
                    if number and self.end_separator:
                        segments.append(Segment(text=self.end_separator))
                    segments.append(Segment(selector=list(output.get("value_selector") or [])))
            else:
                continue
            for seg in segments:
                if seg.selector is None:
                    available = 0
                    text, selector = seg.text, [node_id, "answer"]
                else:
                    available = position.get(seg.selector[0], 0)
                    value = self.resolve(seg.selector)
                    if kind == "end" and not isinstance(value, str):
                        continue
                    text, selector = to_text(value), list(seg.selector)
                last = min(max(last, available), index)
                if text:
                    chunks.append(Chunk(text, selector, last))
        return chunks


def count_tokens(text: str) -> int:
    """Deterministic stand-in for a tokenizer: one token per word, plus one per 4 chars of long words."""
    return sum(1 + len(word) // 8 for word in text.split())
