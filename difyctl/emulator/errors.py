"""Dify-style errors: ``{"code", "message", "status"}`` bodies raised as one exception type."""

from __future__ import annotations

from typing import Any

FORBIDDEN_MESSAGE = (
    "You don't have the permission to access the requested resource. "
    "It is either read-protected or not readable by the server."
)
NOT_FOUND_MESSAGE = (
    "The requested URL was not found on the server. "
    "If you entered the URL manually please check your spelling and try again."
)
APP_UNAVAILABLE_MESSAGE = "App unavailable, please check your app configurations."
MODE_MISMATCH_MESSAGE = "Please check if your app mode matches the right API route."
TOO_MANY_REQUESTS_MESSAGE = "Too many requests. Please try again later."
CSRF_MESSAGE = "CSRF token is missing or invalid."
BAD_REQUEST_MESSAGE = "The browser (or proxy) sent a request that this server could not understand."


class ApiError(Exception):
    """An HTTP error answered with a JSON body (``body`` overrides the standard shape)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.body = body if body is not None else {"code": code, "message": message, "status": status}
        self.headers = dict(headers or {})
        if code in ("unauthorized", "authentication_failed") and "WWW-Authenticate" not in self.headers:
            self.headers["WWW-Authenticate"] = 'Bearer realm="api"'


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def forbidden(message: str = FORBIDDEN_MESSAGE) -> ApiError:
    return ApiError(403, "forbidden", message)


def invalid_param(message: str) -> ApiError:
    return ApiError(400, "invalid_param", message)


def not_found(message: str = NOT_FOUND_MESSAGE, code: str = "not_found") -> ApiError:
    return ApiError(404, code, message)


def app_not_found() -> ApiError:
    return ApiError(404, "app_not_found", "App not found.")


def app_unavailable() -> ApiError:
    return ApiError(400, "app_unavailable", APP_UNAVAILABLE_MESSAGE)


def bad_request() -> ApiError:
    return ApiError(400, "bad_request", BAD_REQUEST_MESSAGE)


def too_many_requests() -> ApiError:
    return ApiError(429, "too_many_requests", TOO_MANY_REQUESTS_MESSAGE)


def mode_not_supported(modes: tuple[str, ...]) -> ApiError:
    listed = ", ".join(repr(m) for m in sorted(modes))
    return ApiError(404, "app_not_found", f"App mode is not in the supported list: {{{listed}}}")
