"""The client's error tree, and the ONE function that maps an HTTP response to it.

    DifyError
    ├── DifyConnectionError          transport failed before a response (refused, reset, DNS)
    │   ├── DifyTimeoutError         connect/read/write/pool timeout
    │   └── ProxyRefusedError        407 to the CONNECT of an https:// request (exit 4)
    ├── DifyProtocolError            the server answered something that is not Dify's wire format
    │   └── StreamTruncatedError     an SSE stream ended before its final event
    ├── DifyStreamError              an `event: error` frame inside an HTTP 200 stream
    ├── RunFailedError               a workflow run that finished with status failed/stopped (HTTP 200)
    └── DifyStatusError              an HTTP error status, with Dify's {code, message, status}
        ├── BadRequestError          400 (invalid_param, app_unavailable, not_chat_app, ...)
        ├── AuthenticationError      401
        │   └── SessionExpiredError  401 after the one transparent refresh: log in again
        ├── PermissionDeniedError    403
        ├── ProxyAuthRequiredError   407: the forward proxy (HTTP_PROXY ...) wants credentials
        ├── NotFoundError            404
        ├── ConflictError            409 (draft_workflow_not_sync)
        ├── UnsupportedMediaError    415
        ├── UpgradeRequiredError     426: the server requires a newer client (exit 1: retrying cannot help)
        ├── RateLimitError           429 (too_many_requests, rate_limit_error)
        └── ServerError              5xx (also a 502 HTML page from a proxy)

Each class carries the exit code of DESIGN.md, so the CLI's error boundary is one table lookup.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from difyctl import __version__
from difyctl.exit_codes import ExitCode

_MAX_SNIPPET = 120
ATTEMPTS = "difyctl.attempts"  # Response.extensions: how many times a retried request was sent
_RETRY_HEADERS = frozenset({"retry-after", "retry-after-ms"})


class DifyError(Exception):
    """Base of everything the client raises."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class DifyConnectionError(DifyError):
    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, message: str, *, url: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.url = url


class DifyTimeoutError(DifyConnectionError):
    pass


class ProxyRefusedError(DifyConnectionError):
    """The forward proxy answered the CONNECT of an https:// request with 407 (httpx's ProxyError):
    authentication, as a 407 on an http:// request is (ProxyAuthRequiredError)."""

    exit_code = ExitCode.AUTH


class DifyProtocolError(DifyError):
    """The response could not be understood (HTML, garbage, wrong shape)."""

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, message: str, *, status_code: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code


class StreamTruncatedError(DifyProtocolError):
    def __init__(self, message: str, *, partial_answer: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.partial_answer = partial_answer


class DifyStreamError(DifyError):
    """Dify sent `{"event": "error", code, message, status}` in the middle of a 200 stream."""

    def __init__(
        self, code: str, message: str, status: int | None = None, *, partial_answer: str = ""
    ) -> None:
        super().__init__(f"{message} ({code})" if code else message)
        self.code = code
        self.status = status
        self.partial_answer = partial_answer
        if status == 429:
            self.exit_code = ExitCode.RATE_LIMITED
        elif status is not None and status >= 500:
            self.exit_code = ExitCode.UNAVAILABLE


class RunFailedError(DifyError):
    """A workflow run finished with status failed/stopped although Dify answered 200."""

    def __init__(self, status: str, error: str | None, *, workflow_run_id: str | None = None) -> None:
        super().__init__(f"workflow run {status}: {error or 'no error message'}")
        self.status = status
        self.error = error
        self.workflow_run_id = workflow_run_id


class DifyStatusError(DifyError):
    exit_code = ExitCode.FAILED

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str = "",
        body: Any = None,
        method: str = "",
        url: str = "",
        hint: str | None = None,
        retry_headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code
        self.code = code
        self.body = body
        # only Retry-After / Retry-After-Ms (never cookies): callers that retry outside the client
        # (broadcast re-sends runs refused with 429) honour them through retry.delay_for
        self.retry_headers = dict(retry_headers or {})
        self.method = method
        self.url = url


class BadRequestError(DifyStatusError):
    pass


class AuthenticationError(DifyStatusError):
    exit_code = ExitCode.AUTH


class SessionExpiredError(AuthenticationError):
    pass


class PermissionDeniedError(DifyStatusError):
    exit_code = ExitCode.AUTH


class NotFoundError(DifyStatusError):
    pass


class ProxyAuthRequiredError(DifyStatusError):
    """407 from the forward proxy of HTTP_PROXY / ALL_PROXY (an http:// server; for https:// httpx
    raises ProxyError on the CONNECT). Authentication, but not the console session's: never refreshed."""

    exit_code = ExitCode.AUTH


class ConflictError(DifyStatusError):
    pass


class UnsupportedMediaError(DifyStatusError):
    pass


class UpgradeRequiredError(DifyStatusError):
    """426 Upgrade Required: the server refuses this client's version (Dify >= 1.15's version gate on
    /openapi/v1 answers it to ``difyctl/<old>``, recording 1.16.0/047). Exit 1: the operation failed and
    retrying cannot help; the user must change the client, not the input (2) or the login (4)."""


class RateLimitError(DifyStatusError):
    exit_code = ExitCode.RATE_LIMITED


class ServerError(DifyStatusError):
    exit_code = ExitCode.UNAVAILABLE


_BY_STATUS: dict[int, type[DifyStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    407: ProxyAuthRequiredError,
    409: ConflictError,
    415: UnsupportedMediaError,
    426: UpgradeRequiredError,
    429: RateLimitError,
}


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_SNIPPET else flat[: _MAX_SNIPPET - 1] + "…"


def _body_fields(body: Any) -> tuple[str, str]:
    """(code, message) from the three body shapes Dify uses.

    Most endpoints: {code, message, status}; setup/init: {"error": {...}}; a few: {"message"} or
    {"result": "fail", "message"} (refresh-token)."""
    if not isinstance(body, dict):
        return "", ""
    inner = body.get("error")
    if isinstance(inner, dict):
        body = inner
    elif isinstance(inner, str) and "message" not in body:
        return str(body.get("code", "")), inner
    code = body.get("code")
    message = body.get("message")
    return (str(code) if code is not None else ""), (str(message) if message is not None else "")


def make_status_error(response: httpx.Response) -> DifyStatusError:
    """Map an error response to the error tree: the only place statuses become exceptions."""
    status = response.status_code
    try:
        request: httpx.Request | None = response.request
    except RuntimeError:  # a Response built by hand, never sent
        request = None
    method = request.method if request is not None else ""
    url = str(request.url.copy_with(query=None)) if request is not None else ""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        body = None
    code, message = _body_fields(body)
    if not message:
        if body is None:
            content_type = response.headers.get("content-type", "").split(";")[0] or "no content type"
            text = response.text if response.content else ""
            kind = "an HTML page" if "html" in content_type else f"a non-JSON body ({content_type})"
            detail = f": {_snippet(text)}" if text and "html" not in content_type else ""
            message = f"HTTP {status} {response.reason_phrase} with {kind}{detail}"
        else:
            message = f"HTTP {status} {response.reason_phrase}"
    attempts = response.extensions.get(ATTEMPTS, 1)
    if isinstance(attempts, int) and attempts > 1:  # retried (5xx, 429): say so
        message = f"{message} (after {attempts} attempts)"
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else DifyStatusError
    if status == 426:
        detail = f" ({message})" if message and not message.startswith("HTTP 426") else ""
        message = f"this server requires a newer client than difyctl-ops {__version__}{detail}"
    hint = _hint_for(status, code)
    retry_headers = {k: v for k, v in response.headers.items() if k.lower() in _RETRY_HEADERS}
    return cls(
        message,
        status_code=status,
        code=code,
        body=body,
        method=method,
        url=url,
        hint=hint,
        retry_headers=retry_headers,
    )


PROXY_AUTH_HINT = (
    "the proxy in HTTP_PROXY / HTTPS_PROXY / ALL_PROXY wants credentials "
    "(http://USER:PASSWORD@host:port), or exempt the server with NO_PROXY"
)


def _hint_for(status: int, code: str) -> str | None:
    if code == "too_many_requests":  # no option named: most commands that meet it have no --concurrency
        return (
            "the app's max active requests was reached: send fewer requests at once, or raise "
            "APP_MAX_ACTIVE_REQUESTS on the server"
        )
    if status == 426:
        return (
            "upgrade difyctl (pip install -U difyctl-ops); if it is current, the server or a proxy in "
            "front of it is gating on the User-Agent: check its client-version settings"
        )
    if status == 401:
        return "check the key or run `difyctl login` again"
    if status == 407:
        return PROXY_AUTH_HINT
    if status == 403:
        return "your role may be too low for this (API keys and credentials need admin/owner)"
    if status >= 500:
        return "the server (or a proxy in front of it) failed; try again later"
    return None
