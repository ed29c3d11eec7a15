"""Service API runs: chat-messages, completion-messages, workflows/run (blocking and streaming)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from difyctl.emulator import runs
from difyctl.emulator.console_providers import check_provider
from difyctl.emulator.engine import GraphRunner, InputError, to_text, validate_inputs
from difyctl.emulator.errors import ApiError, invalid_param, too_many_requests
from difyctl.emulator.models import App
from difyctl.emulator.runtime import Emulator
from difyctl.emulator.service import (
    CHAT_MODES,
    app_form,
    not_chat_app,
    require_user,
    service_auth,
    werkzeug_not_found,
)
from difyctl.emulator.state import Conversation
from difyctl.emulator.streaming import SSEResponse, StreamPlan, event_stream, plan_stream, silent_stream
from difyctl.emulator.web import emu_of, json_response, read_json

PYDANTIC_URL = "https://errors.pydantic.dev/2.12/v"
CHAT_SUGGESTIONS = ["/v1/chat-messages", "/api/chat-messages", "/v1/chat-messages/<string:task_id>/stop"]


@dataclass
class RunRequest:
    app: App
    mode: str
    user: str
    query: str
    inputs: dict[str, Any]
    streaming: bool
    conversation: Conversation | None = None
    account: dict[str, Any] | None = None  # an /openapi/v1 run by this account (id, name, email)


def _response_mode(body: dict[str, Any], model: str) -> bool:
    value = body.get("response_mode")
    if value in (None, "blocking"):
        return False
    if value == "streaming":
        return True
    raise invalid_param(
        f"1 validation error for {model}\nresponse_mode\n  Input should be 'blocking' or 'streaming' "
        f"[type=literal_error, input_value={value!r}, input_type={type(value).__name__}]\n"
        f"    For further information visit {PYDANTIC_URL}/literal_error"
    )


def _inputs(body: dict[str, Any], model: str) -> dict[str, Any]:
    value = body.get("inputs")
    if not isinstance(value, dict):
        kind = "missing" if value is None else "dict_type"
        text = "Field required" if value is None else "Input should be a valid dictionary"
        raise invalid_param(
            f"1 validation error for {model}\ninputs\n  {text} [type={kind}, input_value={body!r}, "
            f"input_type=dict]\n    For further information visit {PYDANTIC_URL}/{kind}"
        )
    return value


async def chat_messages(request: Request) -> Response:
    app, _ = service_auth(request)
    body = await read_json(request, required=True)
    user = require_user(body.get("user"))
    if app.mode not in CHAT_MODES:
        raise not_chat_app()
    streaming = _response_mode(body, "ChatRequestPayload")
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise invalid_param("query is required")
    inputs = _inputs(body, "ChatRequestPayload")
    if app.mode == "agent-chat" and not streaming:
        raise invalid_param("Agent Chat App does not support blocking mode")
    conversation = None
    conv_id = body.get("conversation_id")
    if conv_id:
        state = emu_of(request).state
        with state.lock:
            conversation = state.conversations.get(str(conv_id))
        if conversation is None or conversation.app_id != app.id or conversation.user != user:
            raise werkzeug_not_found("Conversation Not Exists.", request.url.path, CHAT_SUGGESTIONS)
    run = RunRequest(app, app.mode, user, query, inputs, streaming, conversation)
    return await execute(emu_of(request), request, run)


async def completion_messages(request: Request) -> Response:
    app, _ = service_auth(request)
    body = await read_json(request, required=True)
    user = require_user(body.get("user"))
    if app.mode != "completion":
        raise ApiError(400, "app_unavailable", "App unavailable, please check your app configurations.")
    streaming = _response_mode(body, "CompletionRequestPayload")
    inputs = _inputs(body, "CompletionRequestPayload")
    run = RunRequest(app, app.mode, user, str(body.get("query") or ""), inputs, streaming)
    return await execute(emu_of(request), request, run)


async def workflows_run(request: Request) -> Response:
    app, _ = service_auth(request)
    body = await read_json(request, required=True)
    user = require_user(body.get("user"))
    if app.mode != "workflow":
        raise ApiError(400, "not_workflow_app", "Please check if your app mode matches the right API route.")
    streaming = _response_mode(body, "WorkflowRunPayload")
    inputs = _inputs(body, "WorkflowRunPayload")
    return await execute(emu_of(request), request, RunRequest(app, "workflow", user, "", inputs, streaming))


async def execute(emu: Emulator, request: Request, run: RunRequest) -> Response:
    app = run.app
    if app.is_workflow_mode and app.published is None:
        raise invalid_param("Workflow not published")
    _, variables = app_form(app)
    try:
        cleaned = validate_inputs(variables, run.inputs)
    except InputError as exc:
        if run.streaming and app.is_workflow_mode:
            if emu.behaviour.missing_input_fails_stream and app.published is not None:
                run_id = str(uuid.uuid4())
                events = runs.failed_input_events(run_id, app.published.id, emu.now(), str(exc))
                return SSEResponse(event_stream(emu, events, StreamPlan(), {}))
            return SSEResponse(silent_stream(emu, request))
        raise invalid_param(str(exc)) from exc
    for provider in app_providers(app):
        check_provider(emu.state, provider)
    if not emu.acquire_slot(app):
        raise too_many_requests()
    try:
        latency = emu.faults.latency_seconds()
        ids, events, blocking = _compute(emu, run, cleaned, latency)
    except BaseException:
        emu.release_slot(app.id)
        raise
    if run.streaming:
        error_head = {k: v for k, v in events[0].items() if k in ("conversation_id", "message_id", "task_id")}
        plan = plan_stream(emu, latency, len(events))
        return SSEResponse(
            event_stream(emu, events, plan, error_head), on_close=lambda: emu.release_slot(app.id)
        )
    try:
        if latency > 0:
            await asyncio.sleep(latency)
    finally:
        emu.release_slot(app.id)
    return json_response(blocking, charset=True)


def app_providers(app: App) -> list[str]:
    """Model providers an app calls: its model config, or the LLM nodes of its published graph."""
    if not app.is_workflow_mode:
        model = (app.model_config or {}).get("model") or {}
        return [str(model["provider"])] if model.get("provider") else []
    wf = app.published
    nodes = wf.graph.get("nodes", []) if wf else []
    found = [((n.get("data") or {}).get("model") or {}).get("provider") for n in nodes]
    return sorted({str(p) for p in found if p})


def _compute(
    emu: Emulator, run: RunRequest, inputs: dict[str, Any], latency: float
) -> tuple[runs.RunIds, list[dict[str, Any]], dict[str, Any]]:
    app = run.app
    now = emu.now()
    ids = runs.RunIds(created_at=now)
    prompt = " ".join([run.query, *(to_text(v) for v in inputs.values())])
    conv = run.conversation
    if app.mode in CHAT_MODES:
        if conv is None:
            conv = Conversation(str(uuid.uuid4()), app.id, run.user, run.query[:50], inputs, now, now)
            emu.state.remember_conversation(conv)
        ids.conversation_id = conv.id
    if app.is_workflow_mode:
        wf = app.published
        assert wf is not None
        ids.workflow_id = wf.id
        system: dict[str, Any] = {"files": [], "user_id": run.user, "app_id": app.id}
        system.update({"workflow_id": wf.id, "workflow_run_id": ids.run_id})
        if app.mode == "advanced-chat" and conv is not None:
            system.update({"query": run.query, "conversation_id": conv.id})
            system["dialogue_count"] = len(conv.messages) + 1
        started_inputs = {**inputs, **{f"sys.{k}": v for k, v in system.items() if k != "conversation_id"}}
        if app.mode == "workflow":
            system["timestamp"] = now
        text_first = emu.behaviour.text_before_nodes
        separator = "\n" if text_first else ""
        graph = GraphRunner(
            app.mode,
            inputs,
            system,
            wf.env_values(),
            end_separator=separator,
            start_sys_vars=emu.behaviour.start_node_sys_vars,
        ).run(wf.graph)
        answer = (
            graph.answer if app.mode == "advanced-chat" else json.dumps(graph.outputs, ensure_ascii=False)
        )
        usage = runs.usage_for(prompt, answer, latency)
        events = (
            runs.graph_events(
                ids, app.mode, graph, started_inputs, usage, latency, run.user, text_first=text_first
            )
            if run.streaming
            else []
        )
        if run.account is not None:
            runs.as_account_run(events, run.account)
        data = runs.workflow_data(ids, graph.outputs, latency, int(usage["total_tokens"]), len(graph.nodes))
        _remember_run(emu, app, wf.version, {**started_inputs, "sys.timestamp": now}, data, run.user)
        if app.mode == "workflow":
            return ids, events, runs.blocking_workflow(ids, data)
        answer = graph.answer
    else:
        answer = runs.model_answer(app.mode, app.model_config or {}, run.query, inputs)
        usage = runs.usage_for(prompt, answer, latency)
        events = runs.model_events(ids, app.mode, answer, usage) if run.streaming else []
    if conv is not None:
        _remember_message(emu, conv, ids, run, inputs, answer)
    blocking = runs.blocking_message(ids, app.mode, answer, usage)
    if emu.behaviour.message_reasoning:
        for body in (*events, blocking):
            if "metadata" in body:
                body["metadata"]["reasoning"] = {}
    return ids, events, blocking


def _remember_run(
    emu: Emulator,
    app: App,
    version: str,
    inputs: dict[str, Any],
    data: dict[str, Any],
    user: str,
) -> None:
    record = dict(data)
    record.update(
        {"app_id": app.id, "version": version, "inputs": inputs, "user": user, "log_id": str(uuid.uuid4())}
    )
    emu.state.remember_run(record)


def _remember_message(
    emu: Emulator, conv: Conversation, ids: runs.RunIds, run: RunRequest, inputs: dict[str, Any], answer: str
) -> None:
    with emu.state.lock:
        conv.messages.append(
            {
                "id": ids.message_id,
                "conversation_id": conv.id,
                "parent_message_id": "00000000-0000-0000-0000-000000000000",
                "inputs": inputs,
                "query": run.query,
                "answer": answer,
                "feedback": None,
                "retriever_resources": [],
                "created_at": ids.created_at,
                "agent_thoughts": [],
                "message_files": [],
                "status": "normal",
                "error": None,
                "extra_contents": [],
            }
        )
        conv.updated_at = ids.created_at


routes = [
    Route("/v1/chat-messages", chat_messages, methods=["POST"]),
    Route("/v1/completion-messages", completion_messages, methods=["POST"]),
    Route("/v1/workflows/run", workflows_run, methods=["POST"]),
]
