"""Turn an executed app into Dify's blocking bodies and streaming event sequences."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from difyctl.emulator.engine import GraphRun, count_tokens, render_simple, to_text

PROMPT_UNIT_PRICE = Decimal("0.15")
COMPLETION_UNIT_PRICE = Decimal("0.60")
PRICE_UNIT = Decimal("0.000001")
PROMPT_OVERHEAD_TOKENS = 8
_PRICE_QUANTUM = Decimal("0.0000001")
_WORD_CHUNKS = re.compile(r"\S+\s*|\s+")


def _price(tokens: int, unit_price: Decimal) -> Decimal:
    return (Decimal(tokens) * unit_price * PRICE_UNIT).quantize(_PRICE_QUANTUM)


def make_usage(prompt_tokens: int, completion_tokens: int, latency: float) -> dict[str, Any]:
    prompt_price = _price(prompt_tokens, PROMPT_UNIT_PRICE)
    completion_price = _price(completion_tokens, COMPLETION_UNIT_PRICE)
    return {
        "prompt_tokens": prompt_tokens,
        "prompt_unit_price": str(PROMPT_UNIT_PRICE),
        "prompt_price_unit": str(PRICE_UNIT),
        "prompt_price": str(prompt_price),
        "completion_tokens": completion_tokens,
        "completion_unit_price": str(COMPLETION_UNIT_PRICE),
        "completion_price_unit": str(PRICE_UNIT),
        "completion_price": str(completion_price),
        "total_tokens": prompt_tokens + completion_tokens,
        "total_price": str(prompt_price + completion_price),
        "currency": "USD",
        "latency": round(latency, 3),
        "time_to_first_token": round(latency, 3),
        "time_to_generate": 0.0,
    }


def usage_for(prompt: str, answer: str, latency: float) -> dict[str, Any]:
    """Deterministic token counts: words of the prompt + a fixed overhead, words of the answer."""
    return make_usage(count_tokens(prompt) + PROMPT_OVERHEAD_TOKENS, max(count_tokens(answer), 1), latency)


def word_chunks(text: str) -> list[str]:
    return _WORD_CHUNKS.findall(text) or [text]


@dataclass
class RunIds:
    task_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    conversation_id: str = ""
    workflow_id: str = ""
    created_at: int = 0


def message_metadata(usage: dict[str, Any]) -> dict[str, Any]:
    return {"annotation_reply": None, "retriever_resources": [], "usage": usage}


def blocking_message(ids: RunIds, mode: str, answer: str, usage: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": "message",
        "task_id": ids.task_id,
        "id": ids.message_id,
        "message_id": ids.message_id,
        "conversation_id": ids.conversation_id,
        "mode": mode,
        "answer": answer,
        "metadata": message_metadata(usage),
        "created_at": ids.created_at,
    }
    if mode == "completion":
        del body["conversation_id"]
    return body


def workflow_data(
    ids: RunIds, outputs: dict[str, Any], elapsed: float, tokens: int, steps: int
) -> dict[str, Any]:
    return {
        "id": ids.run_id,
        "workflow_id": ids.workflow_id,
        "status": "succeeded",
        "outputs": outputs,
        "error": None,
        "elapsed_time": round(elapsed, 6),
        "total_tokens": tokens,
        "total_steps": steps,
        "created_at": ids.created_at,
        "finished_at": ids.created_at,
    }


def blocking_workflow(ids: RunIds, data: dict[str, Any]) -> dict[str, Any]:
    return {"task_id": ids.task_id, "workflow_run_id": ids.run_id, "data": data}


def _node_base(node: Any) -> dict[str, Any]:
    return {
        "id": node.id,
        "node_id": node.node_id,
        "node_type": node.node_type,
        "title": node.title,
        "index": 1,
        "predecessor_node_id": None,
    }


def _text_event(ids: RunIds, head: dict[str, Any], chunk: Any, chat: bool) -> dict[str, Any]:
    if chat:
        return {
            "event": "message",
            **{k: head[k] for k in ("conversation_id", "message_id", "created_at", "task_id")},
            "id": ids.message_id,
            "answer": chunk.text,
            "from_variable_selector": chunk.selector,
        }
    text = {"text": chunk.text, "from_variable_selector": chunk.selector}
    return {"event": "text_chunk", **head, "data": text}


def graph_events(
    ids: RunIds,
    mode: str,
    run: GraphRun,
    started_inputs: dict[str, Any],
    usage: dict[str, Any],
    elapsed: float,
    user: str,
    *,
    text_first: bool = False,
) -> list[dict[str, Any]]:
    """The event sequence of a workflow or chatflow run, in the order Dify 1.13.2 sends it; with
    ``text_first`` in Dify 1.16's order: all text right after workflow_started (1.16.0/040, 044)."""
    chat = mode != "workflow"
    head: dict[str, Any] = {"workflow_run_id": ids.run_id, "task_id": ids.task_id}
    if chat:
        head = {
            "conversation_id": ids.conversation_id,
            "message_id": ids.message_id,
            "created_at": ids.created_at,
            "task_id": ids.task_id,
            "workflow_run_id": ids.run_id,
        }
    ts = ids.created_at
    started = {"id": ids.run_id, "workflow_id": ids.workflow_id, "inputs": started_inputs, "created_at": ts}
    events: list[dict[str, Any]] = [
        {"event": "workflow_started", **head, "data": {**started, "reason": "initial"}}
    ]
    if text_first:
        events += [_text_event(ids, head, chunk, chat) for chunk in run.chunks]
    for index, node in enumerate(run.nodes):
        base = _node_base(node)
        events.append(
            {
                "event": "node_started",
                **head,
                "data": {
                    **base,
                    "inputs": None,
                    "inputs_truncated": False,
                    "created_at": ts,
                    "extras": {},
                    "iteration_id": None,
                    "loop_id": None,
                    "agent_strategy": None,
                },
            }
        )
        if not text_first:
            events += [_text_event(ids, head, c, chat) for c in run.chunks if c.after == index]
        finished = {
            **base,
            "inputs": node.inputs,
            "inputs_truncated": False,
            "process_data": {},
            "process_data_truncated": False,
            "outputs": node.outputs,
            "outputs_truncated": False,
            "status": "succeeded",
            "error": None,
            "elapsed_time": 0.0001,
            "execution_metadata": None,
            "created_at": ts,
            "finished_at": ts,
            "files": [],
            "iteration_id": None,
            "loop_id": None,
        }
        events.append({"event": "node_finished", **head, "data": finished})
    if chat:
        events.append(message_end(ids, usage, head))
    data = workflow_data(ids, run.outputs, elapsed, int(usage["total_tokens"]), len(run.nodes))
    data.update({"created_by": {"id": _end_user_id(user), "user": user}, "exceptions_count": 0, "files": []})
    events.append({"event": "workflow_finished", **head, "data": data})
    return events


def message_end(ids: RunIds, usage: dict[str, Any], head: dict[str, Any] | None = None) -> dict[str, Any]:
    base = head or {
        "conversation_id": ids.conversation_id,
        "message_id": ids.message_id,
        "created_at": ids.created_at,
        "task_id": ids.task_id,
    }
    base = {k: v for k, v in base.items() if k != "workflow_run_id"}
    return {
        "event": "message_end",
        **base,
        "id": ids.message_id,
        "metadata": message_metadata(usage),
        "files": [],
    }


def model_answer(mode: str, model_config: dict[str, Any], query: str, inputs: dict[str, Any]) -> str:
    """The echo model of chat/completion/agent apps: the pre-prompt rendered, or the query itself."""
    template = str(model_config.get("pre_prompt") or "")
    values = {"query": query, **inputs}
    if "{{" in template:
        return render_simple(template, values)
    if mode == "completion":
        return template or query or to_text(next(iter(inputs.values()), ""))
    return query


def model_events(ids: RunIds, mode: str, answer: str, usage: dict[str, Any]) -> list[dict[str, Any]]:
    head = {
        "conversation_id": ids.conversation_id,
        "message_id": ids.message_id,
        "created_at": ids.created_at,
        "task_id": ids.task_id,
    }
    events: list[dict[str, Any]] = []
    kind = "agent_message" if mode == "agent-chat" else "message"
    thought_id = str(uuid.uuid4())
    if mode == "agent-chat":
        events.append(_thought(head, thought_id, ""))
    events += [
        {"event": kind, **head, "id": ids.message_id, "answer": piece} for piece in word_chunks(answer)
    ]
    if mode == "agent-chat":
        events.append(_thought(head, thought_id, answer))
    events.append(message_end(ids, usage, head))
    return events


def _thought(head: dict[str, Any], thought_id: str, thought: str) -> dict[str, Any]:
    return {
        "event": "agent_thought",
        **head,
        "id": thought_id,
        "position": 1,
        "thought": thought,
        "observation": "",
        "tool": "",
        "tool_labels": {},
        "tool_input": "",
        "message_files": [],
    }


def _end_user_id(user: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"difyctl-emulator-end-user:{user}"))


end_user_id = _end_user_id


def failed_input_events(run_id: str, workflow_id: str, created_at: int, error: str) -> list[dict[str, Any]]:
    """Dify 1.16's stream for a missing required input: started, then finished ``failed`` (1.16.0/042).

    The task id equals the run id there, and the started inputs are empty."""
    head = {"task_id": run_id, "workflow_run_id": run_id}
    base = {"id": run_id, "workflow_id": workflow_id}
    finished: dict[str, Any] = {
        **base,
        "status": "failed",
        "outputs": None,
        "error": error,
        "elapsed_time": 0.0,
        "total_tokens": 0,
        "total_steps": 0,
        "created_by": {},
        "created_at": created_at,
        "finished_at": created_at,
        "exceptions_count": 1,
        "files": [],
    }
    return [
        {
            "event": "workflow_started",
            **head,
            "data": {**base, "inputs": {}, "created_at": created_at, "reason": "initial"},
        },
        {"event": "workflow_finished", **head, "data": finished},
    ]


NODE_DETAIL_KEYS = ("inputs", "outputs", "process_data")
NODE_TRUNCATION_KEYS = ("inputs_truncated", "outputs_truncated", "process_data_truncated", "agent_strategy")


def as_account_run(events: list[dict[str, Any]], account: dict[str, Any]) -> None:
    """An /openapi/v1 run (1.16.0/065, 066): node data hidden, the run created by the account."""
    for event in events:
        data = event.get("data")
        if not isinstance(data, dict):
            continue
        if event["event"] in ("node_started", "node_finished"):
            for key in NODE_TRUNCATION_KEYS:
                data.pop(key, None)
            for key in NODE_DETAIL_KEYS:
                if key in data:
                    data[key] = None
        elif event["event"] == "workflow_finished":
            data["created_by"] = dict(account)
    for event in events:
        if event["event"] == "message_end":  # no usage, no annotation (066)
            metadata = event.get("metadata") or {}
            event["metadata"] = {k: v for k, v in metadata.items() if k not in ("usage", "annotation_reply")}
