"""Console sessions: what `difyctl login` stores, and the two strategies that refresh it.

`SessionAuth` (Dify >= 1.9: cookies + X-CSRF-Token) and `LegacyBearerAuth` (< 1.9: Bearer) share
one flow: send; on a 401, refresh once (`POST /console/api/refresh-token`), hand the new tokens
to `on_refresh` so the CLI can store them, replay; a second 401 -> `SessionExpiredError`.
Concurrent requests of an async fan-out that all meet the expiry refresh only once: the refresh
is serialised by a lock, and a request that waited on it replays with the tokens it brought.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from difyctl.client.errors import SessionExpiredError

ACCESS, REFRESH, CSRF = "access_token", "refresh_token", "csrf_token"
HOST_PREFIX = "__Host-"
CONSOLE_PREFIX = "/console/api"
REFRESH_PATH = "/console/api/refresh-token"
RELOGIN_HINT = "run `difyctl login` again"

Flow = Generator[httpx.Request, httpx.Response, None]
AsyncFlow = AsyncGenerator[httpx.Request, httpx.Response]


@dataclass
class ConsoleSession:
    """What `difyctl login` stores in the keyring (as JSON)."""

    access_token: str
    refresh_token: str = ""
    csrf_token: str = ""
    cookie_prefix: str = ""  # "" or "__Host-" (https console with no COOKIE_DOMAIN)
    legacy: bool = False  # Dify < 1.9: Bearer header, tokens in the login JSON, no CSRF

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ConsoleSession:
        data = json.loads(text)
        if not isinstance(data, dict) or not data.get(ACCESS):
            raise ValueError("not a stored console session")
        return cls(
            access_token=str(data[ACCESS]),
            refresh_token=str(data.get(REFRESH) or ""),
            csrf_token=str(data.get(CSRF) or ""),
            cookie_prefix=HOST_PREFIX if data.get("cookie_prefix") == HOST_PREFIX else "",
            legacy=bool(data.get("legacy", False)),
        )

    def cookie_header(self) -> str:
        pairs = ((ACCESS, self.access_token), (REFRESH, self.refresh_token), (CSRF, self.csrf_token))
        return "; ".join(f"{self.cookie_prefix}{name}={value}" for name, value in pairs if value)

    def update_from_cookies(self, cookies: dict[str, str]) -> bool:
        """Take new tokens from parsed Set-Cookie values; True when a new access token came."""
        prefix, found = find_session_cookies(cookies)
        access = found.get(ACCESS)
        if not access:
            return False
        self.access_token = access
        self.refresh_token = found.get(REFRESH) or self.refresh_token
        self.csrf_token = found.get(CSRF) or self.csrf_token
        self.cookie_prefix = prefix
        return True


def parse_set_cookies(values: Iterable[str]) -> dict[str, str]:
    """name -> value from Set-Cookie header values (attributes ignored)."""
    out: dict[str, str] = {}
    for header in values:
        name, sep, value = header.split(";", 1)[0].partition("=")
        if sep and name.strip():
            out[name.strip()] = value.strip()
    return out


def parse_cookie_string(text: str) -> dict[str, str]:
    """name -> value from a browser `Cookie:` header (`a=1; b=2`)."""
    return parse_set_cookies(part for part in text.split(";"))


def find_session_cookies(cookies: dict[str, str]) -> tuple[str, dict[str, str]]:
    """(prefix, {access_token, refresh_token, csrf_token}) accepting both cookie spellings."""
    for prefix in (HOST_PREFIX, ""):
        found = {
            name: cookies[prefix + name] for name in (ACCESS, REFRESH, CSRF) if cookies.get(prefix + name)
        }
        if found:
            return prefix, found
    return "", {}


def _refresh_url(url: httpx.URL) -> httpx.URL:
    """The refresh endpoint on the same server, keeping any path prefix before /console/api."""
    path = url.path
    index = path.find(CONSOLE_PREFIX)
    prefix = path[:index] if index > 0 else ""
    return url.copy_with(path=prefix + REFRESH_PATH, query=None)


def _expired(detail: str) -> SessionExpiredError:
    return SessionExpiredError(
        f"the console session has expired ({detail})", status_code=401, code="unauthorized", hint=RELOGIN_HINT
    )


# ---- refreshing strategies --------------------------------------------------------------------


class _RefreshingAuth(httpx.Auth):
    def __init__(self, session: ConsoleSession, on_refresh: Callable[[ConsoleSession], None] | None = None):
        self.session = session
        self.on_refresh = on_refresh
        self.refreshes = 0
        self._thread_lock = threading.Lock()
        self._refused: tuple[str, str] | None = None  # (access token, why): its refresh was refused
        self._async_lock: Any = None  # asyncio.Lock, made on first use (asyncio is imported lazily)
        self._lock_loop: Any = None

    def _apply(self, request: httpx.Request) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _refresh_request(self, request: httpx.Request) -> httpx.Request:  # pragma: no cover - abstract
        raise NotImplementedError

    def direct_headers(self) -> dict[str, str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _absorb(self, response: httpx.Response) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    # The decisions, shared by both flows -----------------------------------------------------

    @staticmethod
    def _rejected(request: httpx.Request, response: httpx.Response) -> bool:
        return response.status_code == 401 and not request.url.path.endswith(REFRESH_PATH)

    def _must_refresh(self, used: str) -> bool:
        """False when another request refreshed since `used` was sent: just replay."""
        if self.session.access_token != used:
            return False
        if not self.session.refresh_token:
            raise _expired("no refresh token")
        if self._refused is not None and self._refused[0] == used:  # another request's refresh failed
            raise _expired(self._refused[1])
        return True

    def _refreshed(self, response: httpx.Response) -> None:
        if response.status_code != 200 or not self._absorb(response):
            detail = f"refresh answered HTTP {response.status_code}"
            self._refused = (self.session.access_token, detail)  # the waiters fail without asking again
            raise _expired(detail)
        self.refreshes += 1
        if self.on_refresh is not None:
            self.on_refresh(self.session)

    @staticmethod
    def _replayed(response: httpx.Response) -> None:
        if response.status_code == 401:
            raise _expired("rejected again after a refresh")

    # The flows --------------------------------------------------------------------------------

    def auth_flow(self, request: httpx.Request) -> Flow:
        used = self.session.access_token
        self._apply(request)
        response = yield request
        if not self._rejected(request, response):
            return
        # several threads share this auth (the resolver lists app pages in threads): one refresh,
        # the others replay with its tokens (Dify rotates the refresh token: a second refresh fails)
        with self._thread_lock:
            if self._must_refresh(used):
                self._refreshed((yield self._refresh_request(request)))  # httpx read the body if required
        self._apply(request)
        self._replayed((yield request))

    async def async_auth_flow(self, request: httpx.Request) -> AsyncFlow:
        lock = self._loop_lock()
        used = self.session.access_token
        self._apply(request)
        response = yield request
        if not self._rejected(request, response):
            return
        async with lock:  # one refresh for a whole fan-out
            if self._must_refresh(used):
                refreshed = yield self._refresh_request(request)
                if self.requires_response_body:
                    await refreshed.aread()
                self._refreshed(refreshed)
        self._apply(request)
        self._replayed((yield request))

    def _loop_lock(self) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        if self._async_lock is None or self._lock_loop is not loop:  # a lock serves one event loop
            self._async_lock, self._lock_loop = asyncio.Lock(), loop
        return self._async_lock

    # The async client's direct path (no httpx client layer) takes the same decisions ------------

    async def direct_refresh(
        self, used: str, request: httpx.Request, send: Callable[[httpx.Request], Awaitable[httpx.Response]]
    ) -> dict[str, str]:
        """`request`, sent with the access token `used`, was answered 401: refresh once for the whole
        fan-out (not at all when another request already did), exactly as `async_auth_flow` does, and
        return the headers to replay it with."""
        async with self._loop_lock():
            if self._must_refresh(used):
                refreshed = await send(self._refresh_request(request))
                if self.requires_response_body:
                    await refreshed.aread()
                self._refreshed(refreshed)
        return self.direct_headers()

    def direct_replayed(self, status: int) -> None:
        if status == 401:
            raise _expired("rejected again after a refresh")


class SessionAuth(_RefreshingAuth):
    """Dify >= 1.9: the three cookies plus `X-CSRF-Token` on every console request, GET included."""

    def _apply(self, request: httpx.Request) -> None:
        request.headers.pop("Authorization", None)
        request.headers.update(self.direct_headers())

    _headers: tuple[tuple[str, ...], dict[str, str]] | None = None

    def direct_headers(self) -> dict[str, str]:
        """The headers the flow adds (the async client's direct path sends them itself). Built once
        per set of tokens, not per request (1000 lookups in flight held 1000 copies of a ~600-byte
        Cookie string); callers copy, never change, the mapping."""
        s = self.session
        tokens = (s.access_token, s.refresh_token, s.csrf_token, s.cookie_prefix)
        if self._headers is None or self._headers[0] != tokens:
            self._headers = (tokens, {"Cookie": s.cookie_header(), "X-CSRF-Token": s.csrf_token})
        return self._headers[1]

    def _refresh_request(self, request: httpx.Request) -> httpx.Request:
        # the refresh token travels as a cookie; the endpoint takes no body
        headers = {"Cookie": self.session.cookie_header(), "X-CSRF-Token": self.session.csrf_token}
        user_agent = request.headers.get("User-Agent")
        if user_agent:
            headers["User-Agent"] = user_agent
        return httpx.Request("POST", _refresh_url(request.url), headers=headers)

    def _absorb(self, response: httpx.Response) -> bool:
        return self.session.update_from_cookies(parse_set_cookies(response.headers.get_list("set-cookie")))


class LegacyBearerAuth(_RefreshingAuth):
    """Dify < 1.9: `Authorization: Bearer <access token>`, no CSRF; refresh with a JSON body."""

    requires_response_body = True  # the refresh answer is JSON

    def _apply(self, request: httpx.Request) -> None:
        request.headers.update(self.direct_headers())

    def direct_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.session.access_token}"}

    def _refresh_request(self, request: httpx.Request) -> httpx.Request:
        return httpx.Request("POST", _refresh_url(request.url), json={REFRESH: self.session.refresh_token})

    def _absorb(self, response: httpx.Response) -> bool:
        try:
            data = response.json().get("data")
        except (ValueError, AttributeError):
            return False
        if not isinstance(data, dict) or not data.get(ACCESS):
            return False
        self.session.access_token = str(data[ACCESS])
        self.session.refresh_token = str(data.get(REFRESH) or self.session.refresh_token)
        return True


def session_auth(
    session: ConsoleSession, on_refresh: Callable[[ConsoleSession], None] | None = None
) -> httpx.Auth:
    """The right strategy for a stored session."""
    cls = LegacyBearerAuth if session.legacy else SessionAuth
    return cls(session, on_refresh)
