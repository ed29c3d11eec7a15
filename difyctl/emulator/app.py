"""The ASGI application: routes, Dify-style error pages, X-Version on every answer, fault injection."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from difyctl.emulator import (
    console_apps,
    console_auth,
    console_providers,
    console_workflows,
    openapi,
    service,
    service_runs,
)
from difyctl.emulator.errors import NOT_FOUND_MESSAGE, ApiError, too_many_requests
from difyctl.emulator.runtime import Emulator
from difyctl.emulator.web import emu_of, error_response, json_response

RUN_PATHS = re.compile(r"^/v1/(chat-messages|completion-messages|workflows/run)$")
NOT_FOUND_HTML = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    f"<p>{NOT_FOUND_MESSAGE}</p>\n"
)
PROXY_HTML = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
REASONS = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


async def health(request: Request) -> Response:
    emu = emu_of(request)
    if emu.behaviour.openapi:  # 1.16.0/001 adds the API process id
        return json_response({"pid": os.getpid(), "status": "ok", "version": emu.version})
    return json_response({"status": "ok", "version": emu.version})


async def api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


def _json_api(emu: Emulator, path: str) -> bool:
    if path.startswith("/openapi/v1/"):
        return emu.behaviour.openapi
    return path.startswith("/console/api/") or (path.startswith("/v1/") and path != "/v1/")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 405:
        return json_response(
            {
                "code": "method_not_allowed",
                "message": "The method is not allowed for the requested URL.",
                "status": 405,
            },
            405,
        )
    if _json_api(emu_of(request), path):
        return json_response({"code": "not_found", "message": NOT_FOUND_MESSAGE, "status": 404}, 404)
    return HTMLResponse(NOT_FOUND_HTML, 404)


async def server_error(_request: Request, _exc: Exception) -> Response:
    return json_response({"message": "Internal Server Error"}, 500)


def build_app(emu: Emulator) -> ASGIApp:
    routes = [
        *service_runs.routes,  # hot paths first: the router tries routes in order
        *service.routes,
        Route("/health", health, methods=["GET"]),
        *console_auth.routes,
        *console_apps.routes,
        *console_workflows.routes,
        *console_providers.routes,
        *openapi.routes,
    ]
    handlers = {ApiError: api_error, HTTPException: http_error, Exception: server_error}
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.emu = emu
    return FaultMiddleware(app, emu)


def injected_error(status: int) -> Response:
    if status == 429:
        return error_response(too_many_requests())
    if status in REASONS:
        return HTMLResponse(PROXY_HTML.format(status=status, reason=REASONS[status]), status)
    return json_response({"message": "Internal Server Error"}, status)


class FaultMiddleware:
    """Adds ``X-Version`` to every response and injects the configured faults before routing."""

    def __init__(self, app: ASGIApp, emu: Emulator) -> None:
        self.app = app
        self.emu = emu

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        version = self.emu.version.encode("latin-1")

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-version", version)]}
            await send(message)

        response = await self._fault(scope, receive)
        if response is not None:
            await response(scope, receive, send_with_version)
            return
        await self.app(scope, receive, send_with_version)

    async def _fault(self, scope: Scope, receive: Receive) -> Response | None:
        faults = self.emu.faults
        path, method = scope["path"], scope["method"]
        if path == "/health" or not faults.in_scope(path):
            return None
        rule = faults.take_rule(method, path)
        if rule is not None:
            if isinstance(rule.body, str | bytes):
                return Response(rule.body, rule.status, headers=rule.headers, media_type="text/html")
            return json_response(rule.body, rule.status, headers=rule.headers)
        if faults.hang:
            await self._hang(receive)
            return json_response({"message": "Service Unavailable"}, 503)
        if not (method == "POST" and RUN_PATHS.match(path)):
            latency = faults.latency_seconds()
            if latency > 0:
                await asyncio.sleep(latency)
        if faults.roll(faults.error_rate_5xx):
            return injected_error(faults.error_status)
        if faults.roll(faults.rate_limit_rate):
            return injected_error(429)
        return None

    async def _hang(self, receive: Receive) -> None:
        """Accept and never answer: wait until the client goes away or the server stops."""

        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        task = asyncio.ensure_future(disconnected())
        try:
            while not task.done() and not self.emu.closing and self.emu.faults.hang:
                await asyncio.wait({task}, timeout=0.05)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
