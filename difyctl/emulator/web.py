"""Request/response helpers shared by the route modules (starlette is imported here)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from difyctl.emulator.auth import authenticate
from difyctl.emulator.errors import ApiError, app_not_found, bad_request, forbidden, invalid_param
from difyctl.emulator.models import Account, App
from difyctl.emulator.runtime import Emulator

Handler = Callable[[Request], Awaitable[Response]]


def emu_of(request: Request) -> Emulator:
    emu: Emulator = request.app.state.emu
    return emu


def dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def json_response(
    data: Any,
    status: int = 200,
    *,
    headers: dict[str, str] | None = None,
    charset: bool = False,
    cookies: list[str] | None = None,
) -> Response:
    media = "application/json; charset=utf-8" if charset else "application/json"
    response = Response(dumps(data), status_code=status, headers=headers)
    response.headers["content-type"] = media
    for value in cookies or []:
        response.raw_headers.append((b"set-cookie", value.encode("latin-1")))
    return response


def no_content() -> Response:
    response = Response(b"", status_code=204)
    response.headers["content-type"] = "application/json"
    return response


def error_response(exc: ApiError) -> Response:
    return json_response(exc.body, exc.status, headers=exc.headers)


async def read_json(request: Request, *, required: bool = False) -> dict[str, Any]:
    """The JSON object body; an empty body is ``{}``; unparsable -> 400 bad_request (fixture 044)."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise bad_request()
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request() from exc
    if not isinstance(data, dict):
        raise bad_request()
    return data


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise invalid_param(f"{name}: invalid literal for int() with base 10: '{raw}'") from exc
    if not low <= value <= high:
        raise invalid_param(f"{name}: must be between {low} and {high}")
    return value


def query_bool(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("true", "1", "yes", "on")


def console_user(request: Request) -> Account:
    return authenticate(emu_of(request), request)


def require_editor(account: Account) -> None:
    if not account.can_edit:
        raise forbidden()


def require_admin(account: Account) -> None:
    if not account.is_admin_or_owner:
        raise forbidden()


def console_app(request: Request) -> App:
    emu = emu_of(request)
    app_id = str(request.path_params.get("app_id", ""))
    with emu.state.lock:
        app = emu.state.get_app(app_id)
    if app is None:
        raise app_not_found()
    return app
