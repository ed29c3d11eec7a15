"""Console workflow routes: draft get/sync (hash lock), publish, versions, rename, delete, restore."""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from difyctl.emulator import dsl
from difyctl.emulator.errors import ApiError, invalid_param, mode_not_supported, not_found
from difyctl.emulator.models import WORKFLOW_MODES, App, Workflow, new_id
from difyctl.emulator.serialize import workflow_api
from difyctl.emulator.web import (
    console_app,
    console_user,
    emu_of,
    json_response,
    no_content,
    query_bool,
    query_int,
    read_json,
    require_editor,
)

DRAFT_SUGGESTIONS = (
    "/console/api/apps/<uuid:app_id>/workflows/draft or /console/api/apps/<uuid:app_id>/workflows/draft/run "
    "or /console/api/apps/<uuid:app_id>/advanced-chat/workflows/draft/run"
)


def workflow_app(request: Request) -> App:
    app = console_app(request)
    if app.mode not in WORKFLOW_MODES:
        raise mode_not_supported(WORKFLOW_MODES)
    return app


def _no_draft(request: Request) -> ApiError:
    return ApiError(
        404,
        "draft_workflow_not_exist",
        "Draft workflow need to be initialized. You have requested this URI "
        f"[{request.url.path}] but did you mean {DRAFT_SUGGESTIONS} ?",
    )


async def get_draft(request: Request) -> Response:
    require_editor(console_user(request))
    app = workflow_app(request)
    emu = emu_of(request)
    with emu.state.lock:
        if app.draft is None:
            raise _no_draft(request)
        return json_response(workflow_api(emu.state, app.draft))


async def sync_draft(request: Request) -> Response:
    account = console_user(request)
    require_editor(account)
    app = workflow_app(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/json", "text/plain"):
        raise ApiError(415, "unsupported_media_type", f"Content type {content_type} is not supported")
    body = await read_json(request, required=True)
    graph, features = body.get("graph"), body.get("features")
    if not isinstance(graph, dict) or not isinstance(features, dict):
        raise invalid_param("graph and features are required")
    emu = emu_of(request)
    with emu.state.mutate():
        if app.draft is not None and body.get("hash") != app.draft.hash:
            raise ApiError(
                409,
                "draft_workflow_not_sync",
                "Workflow graph might have been modified, please refresh and resubmit.",
            )
        try:
            draft = dsl.sync_draft(
                emu,
                app,
                account,
                graph,
                features,
                body.get("environment_variables") or [],
                body.get("conversation_variables") or [],
            )
        except ValueError as exc:
            raise invalid_param(str(exc)) from exc
    return json_response({"result": "success", "hash": draft.hash, "updated_at": draft.updated_at})


async def publish(request: Request) -> Response:
    account = console_user(request)
    require_editor(account)
    app = workflow_app(request)
    body = await read_json(request)
    name = str(body.get("marked_name") or "")
    comment = str(body.get("marked_comment") or "")
    if len(name) > 20:
        raise invalid_param("Marked name cannot exceed 20 characters")
    if len(comment) > 100:
        raise invalid_param("Marked comment cannot exceed 100 characters")
    emu = emu_of(request)
    with emu.state.mutate():
        try:
            version = dsl.publish_draft(emu, app, account, name, comment)
        except ValueError as exc:
            raise invalid_param(str(exc)) from exc
    return json_response({"result": "success", "created_at": version.created_at})


async def get_published(request: Request) -> Response:
    require_editor(console_user(request))
    app = workflow_app(request)
    emu = emu_of(request)
    with emu.state.lock:
        published = app.published
        return json_response(workflow_api(emu.state, published) if published else None)


async def list_versions(request: Request) -> Response:
    account = console_user(request)
    require_editor(account)
    app = workflow_app(request)
    page = query_int(request, "page", 1, 1, 99999)
    limit = query_int(request, "limit", 10, 1, 100)
    user_id = request.query_params.get("user_id")
    if user_id and user_id != account.id:
        raise ApiError(403, "forbidden", "User ID does not match the current user")
    emu = emu_of(request)
    with emu.state.lock:
        if app.workflow_id is None:
            return json_response({"items": [], "page": page, "limit": limit, "has_more": False})
        rows: list[Workflow] = ([app.draft] if app.draft else []) + list(app.versions)
        rows.sort(key=lambda wf: wf.version, reverse=True)
        if query_bool(request, "named_only"):
            rows = [wf for wf in rows if wf.marked_name]
        if user_id:
            rows = [wf for wf in rows if wf.created_by == user_id]
        chunk = rows[(page - 1) * limit : page * limit + 1]
        items = [workflow_api(emu.state, wf) for wf in chunk[:limit]]
    return json_response({"items": items, "page": page, "limit": limit, "has_more": len(chunk) > limit})


def _version(request: Request, app: App) -> Workflow:
    wf = app.find_version(str(request.path_params["workflow_id"]))
    if wf is None:
        raise not_found("Workflow not found.")
    return wf


async def rename_version(request: Request) -> Response:
    account = console_user(request)
    require_editor(account)
    app = workflow_app(request)
    body = await read_json(request)
    emu = emu_of(request)
    with emu.state.mutate():
        wf = _version(request, app)
        updates: dict[str, Any] = {
            k: body[k] for k in ("marked_name", "marked_comment") if body.get(k) is not None
        }
        if len(str(updates.get("marked_name", ""))) > 20:
            raise invalid_param("Marked name cannot exceed 20 characters")
        for key, value in updates.items():
            setattr(wf, key, str(value))
        wf.updated_by, wf.updated_at = account.id, emu.now()
        return json_response(workflow_api(emu.state, wf))


async def delete_version(request: Request) -> Response:
    require_editor(console_user(request))
    app = workflow_app(request)
    emu = emu_of(request)
    with emu.state.mutate():
        wf = _version(request, app)
        if wf.id == app.workflow_id:
            raise invalid_param(
                f"Cannot delete workflow that is currently in use by app. Workflow ID: {wf.id}"
            )
        app.versions.remove(wf)
    return no_content()


async def restore_version(request: Request) -> Response:
    """Copy a published version (graph, features, variables incl. secret values) into the draft."""
    account = console_user(request)
    require_editor(account)
    app = workflow_app(request)
    emu = emu_of(request)
    with emu.state.mutate():
        if app.draft and app.draft.id == str(request.path_params["workflow_id"]):
            raise invalid_param("source workflow must be published")
        source = _version(request, app)
        now = emu.now()
        draft = app.draft
        if draft is None:
            draft = Workflow(new_id(), app.id, "draft", {}, {}, created_by=account.id, created_at=now)
            app.draft = draft
        draft.graph = copy.deepcopy(source.graph)
        draft.features = copy.deepcopy(source.features)
        draft.environment_variables = copy.deepcopy(source.environment_variables)
        draft.conversation_variables = copy.deepcopy(source.conversation_variables)
        draft.updated_by, draft.updated_at = account.id, now
    return json_response({"result": "success", "hash": draft.hash, "updated_at": draft.updated_at})


W = "/console/api/apps/{app_id:uuid}/workflows"
routes = [
    Route(f"{W}/draft", get_draft, methods=["GET"]),
    Route(f"{W}/draft", sync_draft, methods=["POST"]),
    Route(f"{W}/publish", get_published, methods=["GET"]),
    Route(f"{W}/publish", publish, methods=["POST"]),
    Route(W, list_versions, methods=["GET"]),
    Route(f"{W}/{{workflow_id}}", rename_version, methods=["PATCH"]),
    Route(f"{W}/{{workflow_id}}", delete_version, methods=["DELETE"]),
    Route(f"{W}/{{workflow_id}}/restore", restore_version, methods=["POST"]),
]
