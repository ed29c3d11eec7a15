"""Console app routes: list, detail, create, update, delete, API keys, model config, DSL export/import."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from difyctl.emulator import dsl
from difyctl.emulator.errors import ApiError, app_unavailable, invalid_param, not_found
from difyctl.emulator.models import APP_MODES, App, new_id
from difyctl.emulator.serialize import app_created, app_detail, app_list_item
from difyctl.emulator.templates import default_model_config
from difyctl.emulator.web import (
    base_url,
    console_app,
    console_user,
    emu_of,
    json_response,
    no_content,
    query_bool,
    query_int,
    read_json,
    require_admin,
    require_editor,
)

LIST_MODES = ("completion", "chat", "advanced-chat", "workflow", "agent-chat", "channel", "all")


async def list_apps(request: Request) -> Response:
    console_user(request)
    emu = emu_of(request)
    page = query_int(request, "page", 1, 1, 99999)
    limit = query_int(request, "limit", 20, 1, 100)
    mode = request.query_params.get("mode") or "all"
    if mode not in LIST_MODES:
        raise invalid_param(f"mode: Invalid mode value {mode}")
    name = request.query_params.get("name") or None
    with emu.state.lock:
        apps = emu.state.list_apps(mode, name)
        items = [
            app_list_item(emu.state, a, emu.behaviour.app_fields_1_16)
            for a in apps[(page - 1) * limit : page * limit]
        ]
    total = len(apps)
    return json_response(
        {"page": page, "limit": limit, "total": total, "has_more": page * limit < total, "data": items}
    )


async def get_app(request: Request) -> Response:
    console_user(request)
    app = console_app(request)
    return json_response(app_detail(app, base_url(request), emu_of(request).behaviour.app_fields_1_16))


async def create_app(request: Request) -> Response:
    account = console_user(request)
    require_editor(account)
    emu = emu_of(request)
    body = await read_json(request)
    name = str(body.get("name") or "").strip()
    mode = body.get("mode")
    if not name:
        raise invalid_param("name is required")
    if mode not in APP_MODES:
        raise invalid_param(f"invalid mode value {mode}")
    now = emu.now()
    app = App(id=new_id(), name=name, mode=str(mode), created_by=account.id, created_at=now)
    app.updated_by, app.updated_at = account.id, now
    app.description = str(body.get("description") or "")
    app.icon_type = str(body.get("icon_type") or "emoji")
    app.icon = str(body.get("icon") or "🤖")
    app.icon_background = str(body.get("icon_background") or "#FFEAD5")
    if not app.is_workflow_mode:
        app.model_config = default_model_config(app.mode)
    with emu.state.mutate():
        emu.state.add_app(app)
    return json_response(app_created(app), 201)


async def update_app(request: Request) -> Response:
    account = console_user(request)
    require_editor(account)
    app = console_app(request)
    body = await read_json(request)
    emu = emu_of(request)
    with emu.state.mutate():
        for key in ("name", "description", "icon_type", "icon", "icon_background"):
            if body.get(key) is not None:
                setattr(app, key, str(body[key]))
        if "use_icon_as_answer_icon" in body:
            app.use_icon_as_answer_icon = bool(body["use_icon_as_answer_icon"])
        if "max_active_requests" in body:
            value = body["max_active_requests"]
            app.max_active_requests = int(value) if value else None
        app.updated_by, app.updated_at = account.id, emu.now()
    return json_response(app_detail(app, base_url(request), emu_of(request).behaviour.app_fields_1_16))


async def delete_app(request: Request) -> Response:
    require_editor(console_user(request))
    app = console_app(request)
    emu = emu_of(request)
    with emu.state.mutate():
        emu.state.apps.pop(app.id, None)
    return no_content()


async def list_keys(request: Request) -> Response:
    console_user(request)
    app = console_app(request)
    keys = sorted(app.api_keys, key=lambda k: k.created_at)
    return json_response({"data": [k.to_api() for k in keys]})


async def create_key(request: Request) -> Response:
    require_editor(console_user(request))
    app = console_app(request)
    emu = emu_of(request)
    with emu.state.mutate():
        if len(app.api_keys) >= emu.config.max_keys_per_app:
            raise ApiError(
                400,
                "max_keys_exceeded",
                f"Cannot create more than {emu.config.max_keys_per_app} API keys for this resource type.",
            )
        key = emu.state.add_key(app)
    return json_response(key.to_api(), 201)


async def delete_key(request: Request) -> Response:
    account = console_user(request)
    app = console_app(request)
    require_admin(account)
    emu = emu_of(request)
    key_id = str(request.path_params["key_id"])
    with emu.state.mutate():
        key = next((k for k in app.api_keys if k.id == key_id), None)
        if key is None:
            raise ApiError(404, "not_found", "API key not found", body={"message": "API key not found"})
        app.api_keys.remove(key)
    return no_content()


async def model_config(request: Request) -> Response:
    account = console_user(request)
    require_editor(account)
    app = console_app(request)
    if app.is_workflow_mode:
        raise app_unavailable()
    body = await read_json(request)
    emu = emu_of(request)
    with emu.state.mutate():
        app.model_config = {**default_model_config(app.mode), **body}
        app.updated_by, app.updated_at = account.id, emu.now()
    return json_response({"result": "success"})


async def api_enable(request: Request) -> Response:
    account = console_user(request)
    require_admin(account)
    app = console_app(request)
    body = await read_json(request)
    with emu_of(request).state.mutate():
        app.enable_api = bool(body.get("enable_api"))
    return json_response(app_detail(app, base_url(request), emu_of(request).behaviour.app_fields_1_16))


async def export_app(request: Request) -> Response:
    require_editor(console_user(request))
    app = console_app(request)
    include_secret = query_bool(request, "include_secret")
    workflow_id = request.query_params.get("workflow_id")
    emu = emu_of(request)
    with emu.state.lock:
        workflow = app.draft
        if workflow_id:
            workflow = (
                app.draft if app.draft and app.draft.id == workflow_id else app.find_version(workflow_id)
            )
            if workflow is None:
                raise not_found("Workflow not found.")
        try:
            text = dsl.export_yaml(app, workflow, include_secret, emu.behaviour.dsl_version)
        except ValueError as exc:
            raise invalid_param(str(exc)) from exc
    return json_response({"data": text})


async def import_app(request: Request) -> Response:
    account = console_user(request)
    require_editor(account)
    body = await read_json(request)
    try:
        result = dsl.import_dsl(emu_of(request), account, body)
    except ValueError as exc:
        raise invalid_param(str(exc)) from exc
    return json_response(result.body(), result.http_status)


async def confirm_import(request: Request) -> Response:
    account = console_user(request)
    require_editor(account)
    result = dsl.confirm_import(emu_of(request), account, str(request.path_params["import_id"]))
    return json_response(result.body(), result.http_status)


async def check_dependencies(request: Request) -> Response:
    require_editor(console_user(request))
    app = console_app(request)
    leaked: list[dict[str, Any]] = emu_of(request).leaked_dependencies.get(app.id, [])
    return json_response({"leaked_dependencies": leaked})


A = "/console/api/apps"
ID = "{app_id:uuid}"
routes = [
    Route(A, list_apps, methods=["GET"]),
    Route(A, create_app, methods=["POST"]),
    Route(f"{A}/imports", import_app, methods=["POST"]),
    Route(f"{A}/imports/{{import_id}}/confirm", confirm_import, methods=["POST"]),
    Route(f"{A}/imports/{ID}/check-dependencies", check_dependencies, methods=["GET"]),
    Route(f"{A}/{ID}", get_app, methods=["GET"]),
    Route(f"{A}/{ID}", update_app, methods=["PUT"]),
    Route(f"{A}/{ID}", delete_app, methods=["DELETE"]),
    Route(f"{A}/{ID}/api-keys", list_keys, methods=["GET"]),
    Route(f"{A}/{ID}/api-keys", create_key, methods=["POST"]),
    # <uuid:api_key_id> (api/controllers/console/apikey.py): any other id is no route, a 404 of Flask's
    Route(f"{A}/{ID}/api-keys/{{key_id:uuid}}", delete_key, methods=["DELETE"]),
    Route(f"{A}/{ID}/model-config", model_config, methods=["POST"]),
    Route(f"{A}/{ID}/api-enable", api_enable, methods=["POST"]),
    Route(f"{A}/{ID}/export", export_app, methods=["GET"]),
]
