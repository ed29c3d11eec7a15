"""Auth strategies (httpx.Auth: one `auth_flow` generator serves sync and async clients) and login.

| strategy         | sends                                                     | for                  |
|------------------|-----------------------------------------------------------|----------------------|
| SessionAuth      | Cookie: access/refresh/csrf (+ `__Host-`) + X-CSRF-Token  | console, Dify >= 1.9 |
| LegacyBearerAuth | Authorization: Bearer <access token>                      | console, Dify < 1.9  |
| ConsoleTokenAuth | a pasted token (Bearer) or browser Cookie string (+ CSRF) | DIFY_CONSOLE_TOKEN   |
| AdminKeyAuth     | Authorization: Bearer <ADMIN_API_KEY> + X-WORKSPACE-ID    | self-hosted CI/cron  |
| AppKeyAuth       | Authorization: Bearer app-...                             | service API (/v1)    |

The session strategies (and `ConsoleSession`, what the keyring stores) live in `session.py` and are
re-exported here; they refresh once on a 401 and raise `SessionExpiredError` after that.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import httpx

from difyctl.client.errors import AuthenticationError, DifyProtocolError, DifyStatusError, RateLimitError
from difyctl.client.models import Account
from difyctl.client.session import (
    ACCESS,
    CONSOLE_PREFIX,
    CSRF,
    HOST_PREFIX,
    REFRESH,
    REFRESH_PATH,
    RELOGIN_HINT,
    ConsoleSession,
    LegacyBearerAuth,
    SessionAuth,
    find_session_cookies,
    parse_cookie_string,
    parse_set_cookies,
    session_auth,
)
from difyctl.client.transport import ClientOptions, Runtime

__all__ = [
    "ACCESS",
    "CSRF",
    "HOST_PREFIX",
    "REFRESH",
    "REFRESH_PATH",
    "RELOGIN_HINT",
    "AdminKeyAuth",
    "AppKeyAuth",
    "ConsoleSession",
    "ConsoleTokenAuth",
    "LegacyBearerAuth",
    "LoginResult",
    "SessionAuth",
    "login",
    "logout",
    "parse_cookie_string",
    "parse_set_cookies",
    "session_auth",
    "version_tuple",
    "wants_base64_password",
]

BASE64_PASSWORD_SINCE = (1, 11, 2)

Flow = Generator[httpx.Request, httpx.Response, None]


# ---- static strategies ------------------------------------------------------------------------


class _HeaderAuth(httpx.Auth):
    def headers(self) -> dict[str, str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def auth_flow(self, request: httpx.Request) -> Flow:
        request.headers.update(self.headers())
        yield request

    def direct_headers(self) -> dict[str, str]:
        """The headers the flow adds (the async client's direct path sends them itself)."""
        return self.headers()


class ConsoleTokenAuth(_HeaderAuth):
    """A pasted `DIFY_CONSOLE_TOKEN`: a bare access token (Bearer; enough on Dify < 1.9) or the
    browser's Cookie string (`access_token=...; csrf_token=...`, `__Host-` names too), from which
    the X-CSRF-Token header is derived. No refresh: an expired token means pasting a new one."""

    def __init__(self, token: str) -> None:
        text = token.strip()
        if text.lower().startswith("cookie:"):
            text = text[len("cookie:") :].strip()
        text = re.sub(r"(?i)^bearer(?:\s+|$)", "", text).strip()
        if not text:
            raise ValueError("the console token is empty")
        self.cookies = parse_cookie_string(text) if "=" in text and not _looks_like_jwt(text) else {}
        _, found = find_session_cookies(self.cookies)
        if self.cookies and not found:
            raise ValueError("the pasted cookie string holds no access_token or csrf_token")
        self.access_token = found.get(ACCESS) if self.cookies else text
        self.csrf_token = found.get(CSRF)

    @property
    def kind(self) -> str:
        return "cookie" if self.cookies else "bearer"

    def headers(self) -> dict[str, str]:
        if not self.cookies:
            return {"Authorization": f"Bearer {self.access_token}"}
        out = {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}
        if self.csrf_token:
            out["X-CSRF-Token"] = self.csrf_token
        return out


def _looks_like_jwt(text: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_=-]*", text) is not None


class AdminKeyAuth(_HeaderAuth):
    """Self-hosted ADMIN_API_KEY: acts as the workspace owner, no CSRF; the choice for CI/cron."""

    def __init__(self, admin_key: str, workspace_id: str) -> None:
        if not admin_key or not workspace_id:
            raise ValueError("the admin API key needs both the key and the workspace id")
        self.admin_key = admin_key
        self.workspace_id = workspace_id

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}", "X-WORKSPACE-ID": self.workspace_id}


class AppKeyAuth(_HeaderAuth):
    """A service API key (`app-...`) for /v1."""

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("the app API key is empty")
        self.key = key

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


# ---- login / logout ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    session: ConsoleSession
    account: Account | None
    server_version: str | None


def version_tuple(version: str | None) -> tuple[int, ...] | None:
    if not version:
        return None
    numbers = re.findall(r"\d+", version.split("-")[0])
    return tuple(int(n) for n in numbers[:3]) or None


def wants_base64_password(version: str | None) -> bool:
    """1.11.2+ decode the password field as base64; older servers (and 1.11.1) want plain text.
    Unknown version: assume a current server."""
    parsed = version_tuple(version)
    return parsed is None or parsed >= BASE64_PASSWORD_SINCE


def _login_body(email: str, password: str, *, encode: bool) -> dict[str, Any]:
    sent = base64.b64encode(password.encode("utf-8")).decode("ascii") if encode else password
    return {"email": email, "password": sent, "remember_me": True}


def _login_error(exc: DifyStatusError) -> DifyStatusError:
    kwargs: dict[str, Any] = {
        "status_code": exc.status_code,
        "code": exc.code,
        "body": exc.body,
        "url": exc.url,
    }
    if exc.code in ("email_password_login_limit", "email_code_login_limit"):
        return RateLimitError(
            "too many failed logins for this account", hint="wait a few minutes before trying again", **kwargs
        )
    if exc.code == "account_banned":
        return AuthenticationError("this account is banned", hint="ask a workspace admin", **kwargs)
    if exc.code == "authentication_failed":
        if "encrypted" in exc.message.lower():
            return AuthenticationError("the server could not decode the password", **kwargs)
        return AuthenticationError(
            "wrong email or password", hint="check DIFY_EMAIL / DIFY_PASSWORD", **kwargs
        )
    return exc


def _session_from_login(body: Any, response: httpx.Response) -> ConsoleSession:
    if isinstance(body, dict) and body.get("result") == "fail":
        raise AuthenticationError(
            f"login refused: {body.get('data') or body.get('message') or 'no reason given'}",
            status_code=response.status_code,
            code="login_failed",
            body=body,
            hint="ask a workspace admin to invite this account to a workspace",
        )
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, dict) and data.get(ACCESS):  # Dify < 1.9: tokens in the JSON
        return ConsoleSession(str(data[ACCESS]), str(data.get(REFRESH) or ""), legacy=True)
    session = ConsoleSession(access_token="")
    if not session.update_from_cookies(parse_set_cookies(response.headers.get_list("set-cookie"))):
        raise DifyProtocolError(
            "login answered success but set no session cookies",
            status_code=response.status_code,
            hint="a proxy in front of Dify may strip Set-Cookie headers",
        )
    return session


def login(
    base_url: str,
    email: str,
    password: str,
    *,
    options: ClientOptions | None = None,
    runtime: Runtime | None = None,
    server_version: str | None = None,
    with_account: bool = True,
) -> LoginResult:
    """Log in with email + password; the password is never logged (bodies never are).
    `with_account=False` skips reading the account back (one round trip less for a command that
    only needs the session: DIFY_EMAIL + DIFY_PASSWORD in CI)."""
    from difyctl.client.base import RequestSpec
    from difyctl.client.console import ConsoleClient

    with ConsoleClient(base_url, None, options=options, runtime=runtime) as client:
        version = server_version or client.server_version()
        encode = wants_base64_password(version)
        spec = RequestSpec(
            "POST", f"{CONSOLE_PREFIX}/login", json=_login_body(email, password, encode=encode)
        )
        try:
            body, response = client.exchange(spec)
        except AuthenticationError as exc:
            if encode or "encrypted" not in exc.message.lower():
                raise _login_error(exc) from None
            # the version said "plain text" but the server wants base64: say it once more, encoded
            spec = RequestSpec("POST", spec.path, json=_login_body(email, password, encode=True))
            try:
                body, response = client.exchange(spec)
            except DifyStatusError as again:
                raise _login_error(again) from None
        except DifyStatusError as exc:
            raise _login_error(exc) from None
        session = _session_from_login(body, response)
        version = client.last_server_version or version
    account = None
    if with_account:
        with ConsoleClient(base_url, session_auth(session), options=options, runtime=runtime) as client:
            account = client.profile()
    return LoginResult(session=session, account=account, server_version=version)


def logout(
    base_url: str,
    auth: httpx.Auth,
    *,
    options: ClientOptions | None = None,
    runtime: Runtime | None = None,
) -> bool:
    """End the session on the server; False when it had already ended."""
    from difyctl.client.console import ConsoleClient

    with ConsoleClient(base_url, auth, options=options, runtime=runtime) as client:
        return client.logout()
