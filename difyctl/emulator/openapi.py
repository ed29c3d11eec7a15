"""Dify's ``/openapi/v1`` surface (>= 1.15 with OPENAPI_ENABLED), as recorded on 1.16.0 (002-003, 046-070).

Device-flow login (a console session approves a user code; the device gets a ``dfoa_`` bearer), the
account and its workspaces, apps (list, describe, DSL export, dependency check, import, run) and the
User-Agent version gate. Served only when the emulated version has it (``Behaviour.openapi``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from difyctl.emulator import dsl, oauth
from difyctl.emulator.auth import authenticate, bearer
from difyctl.emulator.config import version_tuple
from difyctl.emulator.errors import ApiError, invalid_param, not_found, unauthorized
from difyctl.emulator.models import Account, App
from difyctl.emulator.runtime import Emulator
from difyctl.emulator.service import app_form, features_body
from difyctl.emulator.service_runs import RunRequest, execute
from difyctl.emulator.web import base_url, emu_of, json_response, query_bool, read_json

P = "/openapi/v1"
# The version gate of 1.16.0/047: the official TypeScript CLI's User-Agent, below its minimum -> 426.
OFFICIAL_CLI_UA = re.compile(r"^difyctl/(\d+\.\d+\.\d+)")
MIN_CLI_VERSION = "0.2.0"
INSTALL_HINT = "Upgrade difyctl: https://docs.dify.ai/en/cli/install"
SECURITY_HEADERS = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}

Handler = Callable[[Request], Awaitable[Response]]


def _iso(ts: float, *, zulu: bool = False) -> str:
    when = datetime.fromtimestamp(ts, tz=timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if zulu else when.replace(tzinfo=None).isoformat()


def _gate(request: Request) -> None:
    match = OFFICIAL_CLI_UA.match(request.headers.get("user-agent", ""))
    if match and version_tuple(match.group(1)) < version_tuple(MIN_CLI_VERSION):
        message = f"difyctl {match.group(1)} is no longer supported; upgrade to >= {MIN_CLI_VERSION}."
        body = {"code": "upgrade_required", "message": message, "status": 426, "hint": INSTALL_HINT}
        raise ApiError(426, "upgrade_required", message, body=body)


def route(path: str, handler: Handler, method: str) -> Route:
    """An /openapi/v1 route: 404 on versions without it, the UA gate first, security headers always."""

    async def wrapped(request: Request) -> Response:
        emu = emu_of(request)
        if not emu.behaviour.openapi:
            raise HTTPException(404)
        try:
            _gate(request)
            response = await handler(request)
        except ApiError as exc:
            exc.headers.update(SECURITY_HEADERS)
            raise
        response.headers.update(SECURITY_HEADERS)
        return response

    return Route(P + path, wrapped, methods=[method])


def _subject(request: Request) -> tuple[Emulator, Account]:
    """The ``dfoa_`` bearer's account. 1.16.0 answers 500 to an unknown bearer (069, 070): a server bug
    the emulator reproduces so that clients map it themselves."""
    emu = emu_of(request)
    token = bearer(request)
    if token is None:
        raise unauthorized("bearer required")
    found = emu.oauth.lookup(token, emu.clock())
    account = emu.state.accounts.get(found.account_id) if found else None
    if account is None:
        raise ApiError(500, "internal_server_error", "Internal Server Error")
    return emu, account


def _workspaces(emu: Emulator, account: Account) -> list[dict[str, Any]]:
    return [{"id": emu.state.tenant_id, "name": emu.state.tenant_name, "role": account.role}]


def _account_brief(account: Account) -> dict[str, Any]:
    return {"id": account.id, "email": account.email, "name": account.name}


async def version(request: Request) -> Response:
    return json_response({"version": emu_of(request).version, "edition": "SELF_HOSTED"})


async def health(_request: Request) -> Response:
    return json_response({"ok": True})


async def device_code(request: Request) -> Response:
    emu = emu_of(request)
    body = await read_json(request)
    if body.get("client_id") != oauth.CLIENT_ID:
        return json_response({"error": "unsupported_client"}, 400)
    grant = emu.oauth.start(oauth.CLIENT_ID, str(body.get("device_label") or ""), emu.clock())
    return json_response(
        {
            "device_code": grant.device_code,
            "user_code": grant.user_code,
            "verification_uri": base_url(request) + "/device",
            "expires_in": oauth.DEVICE_CODE_TTL,
            "interval": oauth.POLL_INTERVAL,
        }
    )


async def device_token(request: Request) -> Response:
    emu = emu_of(request)
    body = await read_json(request)
    result = emu.oauth.exchange(str(body.get("device_code") or ""), emu.clock())
    if isinstance(result, str):
        return json_response({"error": result}, 400)
    account = emu.state.accounts[result.account_id]
    return json_response(
        {
            "token": result.token,
            "expires_at": datetime.fromtimestamp(result.expires_at, tz=timezone.utc).isoformat(),
            "subject_type": "account",
            "account": _account_brief(account),
            "workspaces": _workspaces(emu, account),
            "default_workspace_id": emu.state.tenant_id,
            "token_id": result.token_id,
        }
    )


async def device_lookup(request: Request) -> Response:
    emu = emu_of(request)
    now = emu.clock()
    grant = emu.oauth.by_user_code(request.query_params.get("user_code", ""), now)
    if grant is None:
        return json_response({"valid": False, "expires_in_remaining": 0, "client_id": None})
    remaining = int(grant.expires_at - now)
    return json_response({"valid": True, "expires_in_remaining": remaining, "client_id": grant.client_id})


async def device_approve(request: Request) -> Response:
    """Approved by a logged-in console session (cookies + CSRF, 1.16.0/052)."""
    emu = emu_of(request)
    account = authenticate(emu, request)
    body = await read_json(request)
    grant = emu.oauth.by_user_code(str(body.get("user_code") or ""), emu.clock())
    if grant is None:
        raise not_found("user code not found or expired")
    grant.account_id = account.id
    return json_response({"status": "approved"})


async def account_info(request: Request) -> Response:
    emu, account = _subject(request)
    return json_response(
        {
            "subject_type": "account",
            "subject_email": account.email,
            "subject_issuer": None,
            "account": _account_brief(account),
            "workspaces": _workspaces(emu, account),
            "default_workspace_id": emu.state.tenant_id,
        }
    )


async def account_sessions(request: Request) -> Response:
    emu, account = _subject(request)
    rows = [
        {
            "id": t.token_id,
            "prefix": "dfoa_",
            "client_id": t.client_id,
            "device_label": t.device_label,
            "created_at": _iso(t.created_at, zulu=True),
            "last_used_at": None if t.last_used_at is None else _iso(t.last_used_at, zulu=True),
            "expires_at": _iso(t.expires_at, zulu=True),
        }
        for t in emu.oauth.of_account(account.id)
    ]
    return json_response({"page": 1, "limit": 100, "total": len(rows), "has_more": False, "data": rows})


async def workspaces(request: Request) -> Response:
    emu, account = _subject(request)
    rows = [{**w, "status": "normal", "current": True} for w in _workspaces(emu, account)]
    return json_response({"workspaces": rows})


def _app_row(app: App) -> dict[str, Any]:
    return {
        "id": app.id,
        "name": app.name,
        "description": app.description,
        "mode": app.mode,
        "updated_at": _iso(app.updated_at),
    }


async def list_apps(request: Request) -> Response:
    emu, _ = _subject(request)
    if request.query_params.get("workspace_id") != emu.state.tenant_id:
        raise not_found("workspace not found")
    with emu.state.lock:
        apps = sorted(emu.state.apps.values(), key=lambda a: (-a.updated_at, -a.seq))
        where = {"workspace_id": emu.state.tenant_id, "workspace_name": emu.state.tenant_name}
        rows = [{**_app_row(a), **where} for a in apps[:20]]
    return json_response(
        {"page": 1, "limit": 20, "total": len(apps), "has_more": len(apps) > 20, "data": rows}
    )


def _app(request: Request) -> tuple[Emulator, Account, App]:
    emu, account = _subject(request)
    with emu.state.lock:
        app = emu.state.get_app(str(request.path_params["app_id"]))
    if app is None:
        raise not_found("app not found")
    return emu, account, app


def input_schema(variables: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON schema of an app's inputs (1.16.0/058)."""
    properties: dict[str, Any] = {}
    for var in variables:
        name = str(var.get("variable", ""))
        spec: dict[str, Any] = {"type": "number" if var.get("type") == "number" else "string", "title": name}
        if isinstance(var.get("max_length"), int) and var["max_length"] > 0:
            spec["maxLength"] = var["max_length"]
        if var.get("options"):
            spec["enum"] = list(var["options"])
        properties[name] = spec
    inputs = {
        "type": "object",
        "properties": properties,
        "required": [str(v.get("variable")) for v in variables if v.get("required")],
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"inputs": inputs},
        "required": ["inputs"],
    }


async def describe_app(request: Request) -> Response:
    emu, _, app = _app(request)
    features, variables = app_form(app)
    info = {
        **_app_row(app),
        "service_api_enabled": app.enable_api,
        "is_agent": app.mode == "agent-chat",
    }
    return json_response(
        {
            "info": info,
            "parameters": features_body(features, variables),
            "input_schema": input_schema(variables),
        }
    )


async def export_dsl(request: Request) -> Response:
    emu, _, app = _app(request)
    with emu.state.lock:
        try:
            text = dsl.export_yaml(
                app, app.draft, query_bool(request, "include_secret"), emu.behaviour.dsl_version
            )
        except ValueError as exc:
            raise invalid_param(str(exc)) from exc
    return json_response({"data": text})


async def check_dependencies(request: Request) -> Response:
    emu, _, app = _app(request)
    return json_response({"leaked_dependencies": list(emu.leaked_dependencies.get(app.id, []))})


async def import_app(request: Request) -> Response:
    emu, account = _subject(request)
    if request.path_params["workspace_id"] != emu.state.tenant_id:
        raise not_found("workspace not found")
    result = dsl.import_dsl(emu, account, await read_json(request))
    return json_response(result.body(), result.http_status)


async def run_app(request: Request) -> Response:
    """Always a stream (065, 066); a workflow given a ``query`` is a 422 (067)."""
    emu, account, app = _app(request)
    body = await read_json(request, required=True)
    raw_inputs = body.get("inputs")
    inputs: dict[str, Any] = raw_inputs if isinstance(raw_inputs, dict) else {}
    query = body.get("query")
    if app.mode == "workflow" and query is not None:
        raise ApiError(422, "invalid_param", "query_not_supported_for_workflow")
    if app.mode != "workflow" and not (isinstance(query, str) and query.strip()):
        raise ApiError(422, "invalid_param", "query_required")
    run = RunRequest(app, app.mode, account.id, str(query or ""), inputs, streaming=True)
    run.account = _account_brief(account)
    return await execute(emu, request, run)


routes = [
    route("/_version", version, "GET"),
    route("/_health", health, "GET"),
    route("/oauth/device/code", device_code, "POST"),
    route("/oauth/device/token", device_token, "POST"),
    route("/oauth/device/lookup", device_lookup, "GET"),
    route("/oauth/device/approve", device_approve, "POST"),
    route("/account", account_info, "GET"),
    route("/account/sessions", account_sessions, "GET"),
    route("/workspaces", workspaces, "GET"),
    route("/workspaces/{workspace_id}/apps/imports", import_app, "POST"),
    route("/apps", list_apps, "GET"),
    route("/apps/{app_id}:run", run_app, "POST"),
    route("/apps/{app_id}/dsl", export_dsl, "GET"),
    route("/apps/{app_id}/dependencies:check", check_dependencies, "GET"),
    route("/apps/{app_id}", describe_app, "GET"),
]
