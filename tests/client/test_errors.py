"""make_status_error: every status and every body shape Dify (or a proxy) sends, and sync/async parity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from difyctl.client import errors as e
from difyctl.client.base import RequestSpec
from difyctl.client.errors import make_status_error
from difyctl.exit_codes import ExitCode

from .conftest import BOTH, FakeRuntime, close, console, recorded, resolve

REQ = httpx.Request("GET", "http://127.0.0.1:5001/console/api/apps?secret=1")
HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center></body></html>"
)


def _resp(status: int, content: bytes = b"", content_type: str | None = None, **kw: Any) -> httpx.Response:
    headers = {"content-type": content_type} if content_type else {}
    if "json" in kw:
        return httpx.Response(status, json=kw["json"], request=REQ)
    return httpx.Response(status, content=content, headers=headers, request=REQ)


@pytest.mark.parametrize(
    ("response", "cls", "code", "message", "exit_code"),
    [
        (
            _resp(400, json={"code": "invalid_param", "message": "query is required", "status": 400}),
            e.BadRequestError,
            "invalid_param",
            "query is required",
            ExitCode.FAILED,
        ),
        (
            _resp(401, json={"code": "unauthorized", "message": "Access token is invalid", "status": 401}),
            e.AuthenticationError,
            "unauthorized",
            "Access token is invalid",
            ExitCode.AUTH,
        ),
        (
            _resp(
                403,
                json={
                    "code": "forbidden",
                    "message": "The app's API service has been disabled.",
                    "status": 403,
                },
            ),
            e.PermissionDeniedError,
            "forbidden",
            "The app's API service has been disabled.",
            ExitCode.AUTH,
        ),
        (
            _resp(404, json={"code": "app_not_found", "message": "App not found.", "status": 404}),
            e.NotFoundError,
            "app_not_found",
            "App not found.",
            ExitCode.FAILED,
        ),
        (
            _resp(409, json={"code": "draft_workflow_not_sync", "message": "modified", "status": 409}),
            e.ConflictError,
            "draft_workflow_not_sync",
            "modified",
            ExitCode.FAILED,
        ),
        (
            _resp(415, json={"code": "unsupported_media_type", "message": "json please", "status": 415}),
            e.UnsupportedMediaError,
            "unsupported_media_type",
            "json please",
            ExitCode.FAILED,
        ),
        (
            _resp(429, json={"code": "too_many_requests", "message": "Too many requests", "status": 429}),
            e.RateLimitError,
            "too_many_requests",
            "Too many requests",
            ExitCode.RATE_LIMITED,
        ),
        (
            _resp(500, json={"message": "Internal Server Error"}),  # a bare 500 has only a message
            e.ServerError,
            "",
            "Internal Server Error",
            ExitCode.UNAVAILABLE,
        ),
        (
            _resp(503, json={"code": "unavailable", "message": "down", "status": 503}),
            e.ServerError,
            "unavailable",
            "down",
            ExitCode.UNAVAILABLE,
        ),
        # setup/init: {"error": {...}}
        (
            _resp(401, json={"error": {"code": "unauthorized", "message": "Invalid password"}}),
            e.AuthenticationError,
            "unauthorized",
            "Invalid password",
            ExitCode.AUTH,
        ),
        # {"error": "text"} without a message
        (
            _resp(400, json={"error": "bad thing", "code": "x"}),
            e.BadRequestError,
            "x",
            "bad thing",
            ExitCode.FAILED,
        ),
        # deleting a deleted key: a bare {"message"} (fixture 095)
        (
            _resp(404, json={"message": "API key not found"}),
            e.NotFoundError,
            "",
            "API key not found",
            ExitCode.FAILED,
        ),
        # refresh-token failure: {"result": "fail", "message"}
        (
            _resp(401, json={"result": "fail", "message": "Invalid refresh token"}),
            e.AuthenticationError,
            "",
            "Invalid refresh token",
            ExitCode.AUTH,
        ),
        # statuses without a subclass
        (
            _resp(418, json={"code": "teapot", "message": "short and stout"}),
            e.DifyStatusError,
            "teapot",
            "short and stout",
            ExitCode.FAILED,
        ),
        (
            _resp(302, b"", "text/html"),
            e.DifyStatusError,
            "",
            "HTTP 302 Found with an HTML page",
            ExitCode.FAILED,
        ),
    ],
)
def test_mapping_table(
    response: httpx.Response, cls: type, code: str, message: str, exit_code: ExitCode
) -> None:
    err = make_status_error(response)
    assert type(err) is cls
    assert err.code == code
    assert err.message == message
    assert err.status_code == response.status_code
    assert err.exit_code == exit_code
    assert err.method == "GET"
    assert err.url == "http://127.0.0.1:5001/console/api/apps"  # never the query


@pytest.mark.parametrize(
    ("response", "cls", "message"),
    [
        (_resp(502, HTML_502, "text/html"), e.ServerError, "HTTP 502 Bad Gateway with an HTML page"),
        (
            _resp(500, b""),
            e.ServerError,
            "HTTP 500 Internal Server Error with a non-JSON body (no content type)",
        ),
        (
            _resp(503, b"\xff\xfe\x00garbage\x80", "application/octet-stream"),
            e.ServerError,
            "HTTP 503 Service Unavailable with a non-JSON body (application/octet-stream): ",
        ),
        (
            _resp(400, b"upstream said no " * 20, "text/plain"),
            e.BadRequestError,
            "HTTP 400 Bad Request with a non-JSON body (text/plain): upstream said no",
        ),
        (
            _resp(404, b"[1, 2]", "application/json"),
            e.NotFoundError,
            "HTTP 404 Not Found",
        ),  # JSON, not an object
        (_resp(400, json={"code": "x", "message": None}), e.BadRequestError, "HTTP 400 Bad Request"),
    ],
)
def test_non_dify_bodies(response: httpx.Response, cls: type, message: str) -> None:
    err = make_status_error(response)
    assert type(err) is cls
    assert err.message.startswith(message)
    assert len(err.message) < 200  # a snippet, not the page


def test_recorded_v1_root_404_html_page() -> None:
    # 1.13.2 answers GET /v1/ with Flask's HTML 404: seen through the real recording of a 404 page
    response = httpx.Response(
        404, content=b"<!doctype html><title>404 Not Found</title>", headers={"content-type": "text/html"}
    )
    err = make_status_error(response)  # built by hand: no request attached
    assert isinstance(err, e.NotFoundError)
    assert err.method == "" and err.url == ""
    assert "HTML page" in err.message


@pytest.mark.parametrize(
    ("prefix", "cls", "code"),
    [
        ("008", e.AuthenticationError, "authentication_failed"),
        ("010", e.AuthenticationError, "unauthorized"),
        ("034", e.BadRequestError, "not_chat_app"),
        ("036", e.AuthenticationError, "unauthorized"),
        ("038", e.BadRequestError, "invalid_param"),
        ("050", e.NotFoundError, "app_not_found"),
        ("052", e.ConflictError, "draft_workflow_not_sync"),
        ("071", e.NotFoundError, "not_found"),
        ("082", e.BadRequestError, "invalid_param"),
        ("095", e.NotFoundError, ""),
        ("112", e.AuthenticationError, "authentication_failed"),
    ],
)
def test_recorded_errors(prefix: str, cls: type, code: str) -> None:
    err = make_status_error(recorded(prefix, request=REQ))
    assert type(err) is cls
    assert err.code == code
    assert err.message


@pytest.mark.parametrize(
    ("status", "code", "fragment"),
    [
        (429, "too_many_requests", "APP_MAX_ACTIVE_REQUESTS"),
        (401, "unauthorized", "difyctl login"),
        (403, "forbidden", "admin/owner"),
        (502, "", "try again later"),
        (400, "invalid_param", None),
    ],
)
def test_hints(status: int, code: str, fragment: str | None) -> None:
    err = make_status_error(_resp(status, json={"code": code, "message": "m"}))
    if fragment is None:
        assert err.hint is None
    else:
        assert err.hint is not None and fragment in err.hint


def test_a_proxy_that_wants_credentials_is_an_auth_failure_that_names_the_proxy() -> None:
    """A forward proxy (HTTP_PROXY for an http:// server) answering 407: exit 1 with no hint, as if
    the operation itself had failed. It is authentication (4), and the hint says where it goes."""
    err = make_status_error(_resp(407))
    assert type(err) is e.ProxyAuthRequiredError and err.exit_code == ExitCode.AUTH
    assert not isinstance(err, e.AuthenticationError)  # never taken for the console session's 401
    assert err.hint is not None and "USER:PASSWORD@" in err.hint and "NO_PROXY" in err.hint
    assert "407 Proxy Authentication Required" in err.message


def test_error_classes_carry_their_fields() -> None:
    stream = e.DifyStreamError("provider_quota_exceeded", "quota", 400, partial_answer="par")
    assert (stream.code, stream.status, stream.partial_answer, str(stream)) == (
        "provider_quota_exceeded",
        400,
        "par",
        "quota (provider_quota_exceeded)",
    )
    assert e.DifyStreamError("too_many_requests", "busy", 429).exit_code == ExitCode.RATE_LIMITED
    assert e.DifyStreamError("internal_server_error", "boom", 500).exit_code == ExitCode.UNAVAILABLE
    assert e.DifyStreamError("", "plain").message == "plain"
    failed = e.RunFailedError("failed", None, workflow_run_id="r1")
    assert failed.message == "workflow run failed: no error message" and failed.workflow_run_id == "r1"
    truncated = e.StreamTruncatedError("cut", partial_answer="ab")
    assert truncated.partial_answer == "ab" and truncated.exit_code == ExitCode.UNAVAILABLE
    assert isinstance(e.SessionExpiredError("x", status_code=401), e.AuthenticationError)
    assert isinstance(e.DifyTimeoutError("t", url="u"), e.DifyConnectionError)


# ---- sync/async parity: the same wire answer becomes the same exception -------------------------

PARITY_CASES = [
    (400, {"code": "invalid_param", "message": "bad", "status": 400}),
    (401, {"code": "unauthorized", "message": "nope", "status": 401}),
    (403, {"error": {"code": "forbidden", "message": "role"}}),
    (404, {"message": "API key not found"}),
    (409, {"code": "draft_workflow_not_sync", "message": "stale", "status": 409}),
    (429, {"code": "too_many_requests", "message": "busy", "status": 429}),
    (502, None),
]


def _parity_handler(status: int, body: Any) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(status, content=HTML_502, headers={"content-type": "text/html"})
        return httpx.Response(status, json=body)

    return handler


async def _error_of(is_async: bool, status: int, body: Any) -> e.DifyStatusError:
    from difyctl.client.retry import NO_RETRY

    fake = FakeRuntime()
    client = console(_parity_handler(status, body), None, is_async, fake, retry=NO_RETRY)
    try:
        with pytest.raises(e.DifyStatusError) as info:
            await resolve(client.request(RequestSpec("GET", "/console/api/apps")))
    finally:
        await close(client)
    return info.value


@pytest.mark.parametrize(("status", "body"), PARITY_CASES)
async def test_make_status_error_sync_async_parity(status: int, body: Any) -> None:
    sync_err = await _error_of(False, status, body)
    async_err = await _error_of(True, status, body)
    fields = ("status_code", "code", "message", "hint", "method", "url", "body", "exit_code")
    assert type(sync_err) is type(async_err)
    assert [getattr(sync_err, f) for f in fields] == [getattr(async_err, f) for f in fields]


@BOTH
async def test_client_raises_the_mapped_error(is_async: bool, fake: FakeRuntime) -> None:
    client = console(lambda r: recorded("050", request=r), None, is_async, fake)
    with pytest.raises(e.NotFoundError, match="App not found"):
        await resolve(client.get_app("a313f793-9705-4819-b4f6-b24e83a0a6f9"))
    await close(client)


RECORDED_1_16 = Path(__file__).resolve().parents[1] / "contract" / "recordings" / "dify-1.16.0"


def test_recorded_426_is_a_clear_upgrade_error() -> None:
    """1.16.0/047: the /openapi/v1 version gate answers 426 to `difyctl/0.1.0`."""
    res = json.loads((RECORDED_1_16 / "047-openapi-apps-difyctl-0.1.0-UA-426.json").read_text())["response"]
    err = make_status_error(httpx.Response(426, json=res["json"], request=REQ))
    assert type(err) is e.UpgradeRequiredError
    assert err.code == "upgrade_required" and err.status_code == 426
    assert err.message.startswith("this server requires a newer client than difyctl-ops ")
    assert "is no longer supported" in err.message  # the server's own words are kept
    assert err.exit_code == ExitCode.FAILED
    assert err.hint is not None and "upgrade difyctl" in err.hint


def test_426_without_a_body_still_says_upgrade() -> None:
    err = make_status_error(_resp(426, b"", "text/html"))
    assert type(err) is e.UpgradeRequiredError
    assert err.message.startswith("this server requires a newer client") and "HTTP 426" not in err.message
