"""Console setup/init, login, refresh, logout and account routes (Dify 1.13.2 wire format)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from difyctl.emulator import auth, jwt
from difyctl.emulator.errors import ApiError, invalid_param
from difyctl.emulator.runtime import Emulator
from difyctl.emulator.serialize import profile
from difyctl.emulator.web import console_user, emu_of, json_response, read_json

INIT_COOKIE = "session"
TRIAL_FIELDS = ("trial_credits", "trial_credits_used", "trial_credits_exhausted_at", "next_credit_reset_date")
_EMAIL = re.compile(r"^[\w.!#$%&'*+\-/=?^`{|}~]+@([\w-]+\.)+[\w-]{2,}$")
_PASSWORD = re.compile(r"^(?=.*[a-zA-Z])(?=.*\d).{8,}$")


def _auth_error_body() -> ApiError:
    body = {"error": {"type": "authentication_error", "message": "Unauthorized", "status": 401}}
    return ApiError(401, "authentication_error", "Unauthorized", body=body)


def _not_setup() -> ApiError:
    return ApiError(
        401,
        "not_setup",
        "Dify has not been initialized and installed yet. "
        "Please proceed with the initialization and installation process first.",
    )


def _already_setup() -> ApiError:
    return ApiError(
        403,
        "already_setup",
        "Dify has been successfully installed. Please refresh the page or return to the dashboard homepage.",
    )


def _init_cookie(emu: Emulator, validated: bool) -> str:
    value = jwt.encode({"is_init_validated": validated}, emu.secret)
    return f"{INIT_COOKIE}={value}; HttpOnly; Path=/"


def _init_validated(emu: Emulator, request: Request) -> bool:
    if not emu.config.init_password:
        return True
    raw = request.cookies.get(INIT_COOKIE)
    if not raw:
        return False
    try:
        return bool(jwt.decode(raw, emu.secret, emu.clock()).get("is_init_validated"))
    except jwt.TokenError:
        return False


async def init_status(request: Request) -> Response:
    emu = emu_of(request)
    done = _init_validated(emu, request) or emu.state.is_setup
    return json_response({"status": "finished" if done else "not_started"})


async def init_validate(request: Request) -> Response:
    emu = emu_of(request)
    body = await read_json(request)
    if emu.state.is_setup:
        raise _already_setup()
    expected = emu.config.init_password
    if expected and body.get("password") != expected:
        err = _auth_error_body()
        return json_response(err.body, 401, cookies=[_init_cookie(emu, False)])
    return json_response({"result": "success"}, 201, cookies=[_init_cookie(emu, True)])


async def setup_status(request: Request) -> Response:
    state = emu_of(request).state
    if state.setup_at is None:
        return json_response({"step": "not_started", "setup_at": None})
    when = datetime.fromtimestamp(state.setup_at, tz=timezone.utc).replace(tzinfo=None)
    return json_response({"step": "finished", "setup_at": when.isoformat()})


async def setup(request: Request) -> Response:
    emu = emu_of(request)
    if emu.state.is_setup:
        raise _already_setup()
    if not _init_validated(emu, request):
        raise _auth_error_body()
    body = await read_json(request)
    email, name, password = (str(body.get(k) or "") for k in ("email", "name", "password"))
    if not _EMAIL.match(email):
        raise invalid_param(f"{email} is not a valid email.")
    if not 1 <= len(name) <= 30:
        raise invalid_param("Name must be between 1 to 30 characters.")
    if not _PASSWORD.match(password):
        raise invalid_param(
            "Password must contain letters and numbers, and the length must be greater than 8."
        )
    with emu.state.mutate():
        account = emu.state.add_account(email, name, password, "owner")
        account.interface_language = str(body.get("language") or "en-US")
        emu.state.tenant_name = f"{name}'s Workspace"
        emu.state.setup_at = emu.now()
    return json_response({"result": "success"}, 201)


async def login(request: Request) -> Response:
    emu = emu_of(request)
    if not emu.state.is_setup:
        raise _not_setup()
    body = await read_json(request)
    email = str(body.get("email") or "")
    sent = str(body.get("password") or "")
    password = sent if emu.config.legacy_auth else auth.decode_password(sent)
    if password is None:
        raise ApiError(401, "authentication_failed", "Invalid encrypted data")
    with emu.state.lock:
        account = emu.state.account_by_email(email)
    if account is None or account.password != password:
        raise ApiError(401, "authentication_failed", "Invalid email or password.")
    with emu.state.mutate():
        account.last_login_at = emu.now()
        account.last_login_ip = request.client.host if request.client else "127.0.0.1"
    tokens = auth.issue_tokens(emu, account)
    if emu.config.legacy_auth:
        data = {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
        return json_response({"result": "success", "data": data})
    cookies = auth.session_cookies(emu, tokens, order=(auth.ACCESS, auth.REFRESH, auth.CSRF))
    return json_response({"result": "success"}, cookies=cookies)


def _refresh_fail(message: str) -> Response:
    return json_response({"result": "fail", "message": message}, 401)


async def refresh_token(request: Request) -> Response:
    emu = emu_of(request)
    if emu.config.legacy_auth:
        token = str((await read_json(request)).get("refresh_token") or "")
    else:
        token = auth.cookie(emu, request, auth.REFRESH) or ""
    if not token:
        return _refresh_fail("No refresh token provided")
    session = emu.sessions.pop_refresh(token, emu.clock())
    account = emu.state.accounts.get(session.account_id) if session else None
    if account is None:
        return _refresh_fail("Invalid refresh token")
    tokens = auth.issue_tokens(emu, account)
    if emu.config.legacy_auth:
        data = {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
        return json_response({"result": "success", "data": data})
    cookies = auth.session_cookies(emu, tokens, order=(auth.CSRF, auth.ACCESS, auth.REFRESH))
    return json_response({"result": "success"}, cookies=cookies)


async def logout(request: Request) -> Response:
    """Ends this session only (its access and refresh tokens); other sessions stay valid (109-111).

    POST (api/controllers/console/auth/login.py: LogoutApi.post); GET only on the legacy (< 1.9) server."""
    emu = emu_of(request)
    if request.method == "GET" and not emu.config.legacy_auth:
        raise HTTPException(405)
    access = auth.access_token_of(emu, request)
    refresh = auth.cookie(emu, request, auth.REFRESH)
    emu.sessions.revoke(access, refresh)
    cookies = [] if emu.config.legacy_auth else auth.clearing_cookies(emu)
    return json_response({"result": "success"}, cookies=cookies)


async def account_profile(request: Request) -> Response:
    return json_response(profile(console_user(request)))


async def current_workspace(request: Request) -> Response:
    """POST since Dify 1.10.1 (langgenius/dify#27858; 1.16.0/009 GET -> 405, 010 POST), GET before."""
    emu = emu_of(request)
    if request.method != emu.behaviour.workspace_current_method:
        raise HTTPException(405)
    account = console_user(request)
    state = emu.state
    body = {
        "id": state.tenant_id,
        "name": state.tenant_name,
        "plan": "sandbox",
        "status": "normal",
        "created_at": state.setup_at,
        "role": account.role,
        "in_trial": None,
        "trial_end_reason": None,
        "custom_config": None,
    }
    if emu.behaviour.app_fields_1_16:
        body.update(dict.fromkeys(TRIAL_FIELDS))
    return json_response(body)


async def workspaces(request: Request) -> Response:
    console_user(request)
    state = emu_of(request).state
    item = {
        "id": state.tenant_id,
        "name": state.tenant_name,
        "plan": "sandbox",
        "status": "normal",
        "created_at": state.setup_at,
        "current": True,
    }
    return json_response({"workspaces": [item]})


P = "/console/api"
routes = [
    Route(f"{P}/init", init_status, methods=["GET"]),
    Route(f"{P}/init", init_validate, methods=["POST"]),
    Route(f"{P}/setup", setup_status, methods=["GET"]),
    Route(f"{P}/setup", setup, methods=["POST"]),
    Route(f"{P}/login", login, methods=["POST"]),
    Route(f"{P}/refresh-token", refresh_token, methods=["POST"]),
    Route(f"{P}/logout", logout, methods=["POST", "GET"]),
    Route(f"{P}/account/profile", account_profile, methods=["GET"]),
    # POST-only since 1.10.1 (009), GET before: the handler answers 405 to the other one
    Route(f"{P}/workspaces/current", current_workspace, methods=["GET", "POST"]),
    Route(f"{P}/workspaces", workspaces, methods=["GET"]),
]
