"""Real-DSL-shaped building blocks: default features, model configs and small graphs (seed + app create)."""

from __future__ import annotations

import copy
from typing import Any


def default_features() -> dict[str, Any]:
    return {
        "file_upload": {"enabled": False},
        "opening_statement": "",
        "retriever_resource": {"enabled": False},
        "sensitive_word_avoidance": {"enabled": False},
        "speech_to_text": {"enabled": False},
        "suggested_questions": [],
        "suggested_questions_after_answer": {"enabled": False},
        "text_to_speech": {"enabled": False, "language": "", "voice": ""},
    }


def default_model_config(
    mode: str, pre_prompt: str = "", form: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    config = default_features()
    config.update(
        {
            "annotation_reply": {"enabled": False},
            "more_like_this": {"enabled": False},
            "agent_mode": {"enabled": mode == "agent-chat", "strategy": "function_call", "tools": []},
            "chat_prompt_config": {},
            "completion_prompt_config": {},
            "dataset_configs": {"retrieval_model": "multiple"},
            "dataset_query_variable": "",
            "external_data_tools": [],
            "model": {
                "provider": "langgenius/openai/openai",
                "name": "gpt-4o-mini",
                "mode": "completion" if mode == "completion" else "chat",
                "completion_params": {"temperature": 0.7},
            },
            "pre_prompt": pre_prompt,
            "prompt_type": "simple",
            "user_input_form": copy.deepcopy(form or []),
        }
    )
    return config


def text_variable(name: str, required: bool = True, max_length: int = 256) -> dict[str, Any]:
    return {
        "label": name,
        "max_length": max_length,
        "options": [],
        "required": required,
        "type": "text-input",
        "variable": name,
    }


def _node(node_id: str, data: dict[str, Any], x: int, height: int = 90) -> dict[str, Any]:
    return {
        "data": {"desc": "", "selected": False, **data},
        "height": height,
        "id": node_id,
        "position": {"x": x, "y": 227},
        "positionAbsolute": {"x": x, "y": 227},
        "selected": False,
        "sourcePosition": "right",
        "targetPosition": "left",
        "type": "custom",
        "width": 244,
    }


def _edge(source: str, source_type: str, target: str, target_type: str) -> dict[str, Any]:
    return {
        "data": {
            "isInIteration": False,
            "isInLoop": False,
            "sourceType": source_type,
            "targetType": target_type,
        },
        "id": f"{source}-source-{target}-target",
        "source": source,
        "sourceHandle": "source",
        "target": target,
        "targetHandle": "target",
        "type": "custom",
        "zIndex": 0,
    }


def _graph(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    return {"edges": edges, "nodes": nodes, "viewport": {"x": 0, "y": 0, "zoom": 1}}


def start_node(variables: list[dict[str, Any]]) -> dict[str, Any]:
    return _node("start", {"title": "Start", "type": "start", "variables": variables}, 30)


def echo_workflow_graph(input_name: str = "query", output_name: str = "result") -> dict[str, Any]:
    """Start(input) -> End(output = input)."""
    end = _node(
        "end",
        {
            "outputs": [
                {"value_selector": ["start", input_name], "value_type": "string", "variable": output_name}
            ],
            "title": "End",
            "type": "end",
        },
        334,
    )
    return _graph([start_node([text_variable(input_name)]), end], [_edge("start", "start", "end", "end")])


def answer_graph(answer: str) -> dict[str, Any]:
    """Start -> Answer(template)."""
    node = _node("answer", {"answer": answer, "title": "Answer", "type": "answer", "variables": []}, 334, 105)
    return _graph([start_node([]), node], [_edge("start", "start", "answer", "answer")])


def json_answer_graph() -> dict[str, Any]:
    """Start -> Template (query | tojson) -> Answer: a JSON document that stays valid for any query."""
    template = _node(
        "encode",
        {
            "template": "{{ query | tojson }}",
            "title": "JSON encode",
            "type": "template-transform",
            "variables": [{"value_selector": ["sys", "query"], "variable": "query"}],
        },
        334,
    )
    answer_text = '{"status": "success", "data": {"echo": {{#encode.output#}}}}'
    answer = _node(
        "answer", {"answer": answer_text, "title": "Answer", "type": "answer", "variables": []}, 638, 105
    )
    edges = [
        _edge("start", "start", "encode", "template-transform"),
        _edge("encode", "template-transform", "answer", "answer"),
    ]
    return _graph([start_node([]), template, answer], edges)
