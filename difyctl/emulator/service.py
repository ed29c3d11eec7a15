"""Service API (``/v1``, app keys): auth, info/parameters/meta/site, conversations, messages, run records."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from difyctl.emulator.engine import form_variables, start_variables, user_input_form
from difyctl.emulator.errors import (
    MODE_MISMATCH_MESSAGE,
    ApiError,
    app_unavailable,
    forbidden,
    invalid_param,
    not_found,
    unauthorized,
)
from difyctl.emulator.models import ApiKey, App
from difyctl.emulator.runs import end_user_id
from difyctl.emulator.serialize import site
from difyctl.emulator.web import emu_of, json_response, no_content, query_int, read_json

CHAT_MODES = ("chat", "agent-chat", "advanced-chat")
SYSTEM_PARAMETERS = {
    "image_file_size_limit": 10,
    "video_file_size_limit": 100,
    "audio_file_size_limit": 50,
    "file_size_limit": 15,
    "workflow_file_upload_limit": 10,
}


def service_auth(request: Request) -> tuple[App, ApiKey]:
    """Dify's ``validate_app_token``: Bearer app key, then the app's status and enable_api."""
    emu = emu_of(request)
    header = request.headers.get("authorization")
    if not header or " " not in header or header.split(None, 1)[0].lower() != "bearer":
        raise unauthorized("Authorization header must be provided and start with 'Bearer'")
    hit = emu.state.app_for_token(header.split(None, 1)[1].strip())
    if hit is None:
        raise unauthorized("Access token is invalid")
    app, key = hit
    if app.status != "normal":
        raise forbidden("The app's status is abnormal.")
    if not app.enable_api:
        raise forbidden("The app's API service has been disabled.")
    return app, key  # Dify 1.13.2 leaves last_used_at null (fixture 090 after many calls)


def require_user(value: Any) -> str:
    if value is None or value == "":
        raise invalid_param("Arg user must be provided.")
    return str(value)


def not_chat_app() -> ApiError:
    return ApiError(400, "not_chat_app", MODE_MISMATCH_MESSAGE)


def werkzeug_not_found(message: str, path: str, suggestions: list[str]) -> ApiError:
    hint = " or ".join(suggestions)
    return not_found(f"{message} You have requested this URI [{path}] but did you mean {hint} ?")


async def info(request: Request) -> Response:
    app, _ = service_auth(request)
    emu = emu_of(request)
    author = emu.state.accounts.get(app.created_by)
    return json_response(
        {
            "name": app.name,
            "description": app.description,
            "tags": [],
            "mode": app.mode,
            "author_name": author.name if author else None,
        }
    )


def features_body(features: dict[str, Any], variables: list[dict[str, Any]]) -> dict[str, Any]:
    off = {"enabled": False}
    return {
        "opening_statement": features.get("opening_statement") or "",
        "suggested_questions": features.get("suggested_questions") or [],
        "suggested_questions_after_answer": features.get("suggested_questions_after_answer") or off,
        "speech_to_text": features.get("speech_to_text") or off,
        "text_to_speech": features.get("text_to_speech") or {"enabled": False, "language": "", "voice": ""},
        "retriever_resource": features.get("retriever_resource") or off,
        "annotation_reply": features.get("annotation_reply") or off,
        "more_like_this": features.get("more_like_this") or off,
        "user_input_form": user_input_form(variables),
        "sensitive_word_avoidance": features.get("sensitive_word_avoidance") or off,
        "file_upload": features.get("file_upload") or off,
        "system_parameters": dict(SYSTEM_PARAMETERS),
    }


def app_form(app: App) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(features, variables) of what the service API runs: the published workflow or the model config."""
    if app.is_workflow_mode:
        wf = app.published
        if wf is None:
            raise app_unavailable()
        return wf.features, start_variables(wf.graph)
    config = app.model_config or {}
    return config, form_variables(config.get("user_input_form") or [])


async def parameters(request: Request) -> Response:
    app, _ = service_auth(request)
    features, variables = app_form(app)
    return json_response(features_body(features, variables))


async def meta(request: Request) -> Response:
    service_auth(request)
    return json_response({"tool_icons": {}})


async def site_info(request: Request) -> Response:
    app, _ = service_auth(request)
    return json_response(site(app))


def _app_runs(request: Request, app: App) -> list[dict[str, Any]]:
    state = emu_of(request).state
    with state.lock:
        return [r for r in state.workflow_runs.values() if r["app_id"] == app.id]


async def workflow_run_detail(request: Request) -> Response:
    app, _ = service_auth(request)
    run_id = request.path_params["run_id"]
    run = next((r for r in _app_runs(request, app) if r["id"] == run_id), None)
    if run is None:
        raise not_found("Workflow run not found.")
    return json_response(
        {
            "id": run["id"],
            "workflow_id": run["workflow_id"],
            "status": run["status"],
            "inputs": json.dumps(run["inputs"]),
            "outputs": run["outputs"],
            "error": run["error"],
            "total_steps": run["total_steps"],
            "total_tokens": run["total_tokens"],
            "created_at": run["created_at"],
            "finished_at": run["finished_at"],
            "elapsed_time": run["elapsed_time"],
        }
    )


async def workflow_logs(request: Request) -> Response:
    app, _ = service_auth(request)
    page = query_int(request, "page", 1, 1, 99999)
    limit = query_int(request, "limit", 20, 1, 100)
    status = request.query_params.get("status")
    runs = [r for r in reversed(_app_runs(request, app)) if status in (None, "", r["status"])]
    items = runs[(page - 1) * limit : page * limit]
    data = []
    for run in items:
        record = {k: run[k] for k in ("id", "version", "status", "error", "elapsed_time", "total_tokens")}
        record.update(
            {
                "triggered_from": "app-run",
                "total_steps": run["total_steps"],
                "created_at": run["created_at"],
                "finished_at": run["finished_at"],
                "exceptions_count": 0,
            }
        )
        end_user = {"id": end_user_id(run["user"]), "type": "service-api", "is_anonymous": False}
        data.append(
            {
                "id": run["log_id"],
                "workflow_run": record,
                "details": None,
                "created_from": "service-api",
                "created_by_role": "end_user",
                "created_by_account": None,
                "created_by_end_user": {**end_user, "session_id": run["user"]},
                "created_at": run["created_at"],
            }
        )
    body = {
        "page": page,
        "limit": limit,
        "total": len(runs),
        "has_more": page * limit < len(runs),
        "data": data,
    }
    return json_response(body)


def _user_conversations(request: Request, app: App, user: str) -> list[Any]:
    state = emu_of(request).state
    with state.lock:
        convs = [c for c in state.conversations.values() if c.app_id == app.id and c.user == user]
    return sorted(convs, key=lambda c: c.updated_at, reverse=True)


async def conversations(request: Request) -> Response:
    app, _ = service_auth(request)
    user = require_user(request.query_params.get("user"))
    if app.mode not in CHAT_MODES:
        raise not_chat_app()
    limit = query_int(request, "limit", 20, 1, 100)
    convs = _user_conversations(request, app, user)
    last_id = request.query_params.get("last_id")
    if last_id:
        ids = [c.id for c in convs]
        convs = convs[ids.index(last_id) + 1 :] if last_id in ids else []
    page = convs[:limit]
    data = [
        {
            "id": c.id,
            "name": c.name,
            "inputs": c.inputs,
            "status": "normal",
            "introduction": "",
            "created_at": c.created_at,
            "updated_at": c.updated_at,
        }
        for c in page
    ]
    return json_response({"limit": limit, "has_more": len(convs) > limit, "data": data})


async def messages(request: Request) -> Response:
    app, _ = service_auth(request)
    user = require_user(request.query_params.get("user"))
    if app.mode not in CHAT_MODES:
        raise not_chat_app()
    limit = query_int(request, "limit", 20, 1, 100)
    conv_id = request.query_params.get("conversation_id", "")
    conv = next((c for c in _user_conversations(request, app, user) if c.id == conv_id), None)
    if conv is None:
        raise not_found("Conversation Not Exists.")
    items = list(reversed(conv.messages))[:limit]
    return json_response({"limit": limit, "has_more": len(conv.messages) > limit, "data": items})


async def delete_conversation(request: Request) -> Response:
    app, _ = service_auth(request)
    body = await read_json(request)
    user = require_user(body.get("user"))
    emu = emu_of(request)
    with emu.state.lock:
        conv = emu.state.conversations.get(request.path_params["conversation_id"])
        if conv is None or conv.app_id != app.id or conv.user != user:
            raise not_found("Conversation Not Exists.")
        del emu.state.conversations[conv.id]
    return no_content()


async def stop(request: Request) -> Response:
    service_auth(request)
    require_user((await read_json(request)).get("user"))
    return json_response({"result": "success"})


routes = [
    Route("/v1/info", info, methods=["GET"]),
    Route("/v1/parameters", parameters, methods=["GET"]),
    Route("/v1/meta", meta, methods=["GET"]),
    Route("/v1/site", site_info, methods=["GET"]),
    Route("/v1/workflows/run/{run_id}", workflow_run_detail, methods=["GET"]),
    Route("/v1/workflows/logs", workflow_logs, methods=["GET"]),
    Route("/v1/conversations", conversations, methods=["GET"]),
    Route("/v1/conversations/{conversation_id}", delete_conversation, methods=["DELETE"]),
    Route("/v1/messages", messages, methods=["GET"]),
    Route("/v1/chat-messages/{task_id}/stop", stop, methods=["POST"]),
    Route("/v1/completion-messages/{task_id}/stop", stop, methods=["POST"]),
    Route("/v1/workflows/tasks/{task_id}/stop", stop, methods=["POST"]),
]
