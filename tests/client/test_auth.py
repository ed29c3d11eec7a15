"""Auth strategies (headers on the wire, the one transparent refresh) and login/logout."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from difyctl.client import errors as e
from difyctl.client.auth import (
    AdminKeyAuth,
    AppKeyAuth,
    ConsoleSession,
    ConsoleTokenAuth,
    LegacyBearerAuth,
    SessionAuth,
    login,
    logout,
    parse_cookie_string,
    parse_set_cookies,
    session_auth,
    version_tuple,
    wants_base64_password,
)

from .conftest import BASE, BOTH, FakeRuntime, close, console, exchange, options, recorded, resolve

LOGIN = exchange("009")
COOKIES = parse_set_cookies(LOGIN["response"]["set_cookie"])
ACCESS, REFRESH, CSRF = COOKIES["access_token"], COOKIES["refresh_token"], COOKIES["csrf_token"]
NEW = parse_set_cookies(exchange("107")["response"]["set_cookie"])


def _session(prefix: str = "") -> ConsoleSession:
    return ConsoleSession(ACCESS, REFRESH, CSRF, cookie_prefix=prefix)


def _cookies(request: httpx.Request) -> dict[str, str]:
    return parse_cookie_string(request.headers.get("cookie", ""))


# ---- the stored session ---------------------------------------------------------------------------


def test_session_json_roundtrip() -> None:
    session = ConsoleSession("a", "r", "c", cookie_prefix="__Host-", legacy=False)
    assert ConsoleSession.from_json(session.to_json()) == session
    legacy = ConsoleSession("a", "r", legacy=True)
    assert ConsoleSession.from_json(legacy.to_json()) == legacy
    assert ConsoleSession.from_json('{"access_token": "a", "cookie_prefix": "evil"}').cookie_prefix == ""


@pytest.mark.parametrize("text", ["[]", "{}", '{"access_token": ""}', "not json"])
def test_session_from_bad_json(text: str) -> None:
    with pytest.raises(ValueError):
        ConsoleSession.from_json(text)


def test_cookie_header_both_spellings() -> None:
    assert _session().cookie_header() == f"access_token={ACCESS}; refresh_token={REFRESH}; csrf_token={CSRF}"
    assert (
        _session("__Host-").cookie_header().startswith(f"__Host-access_token={ACCESS}; __Host-refresh_token=")
    )
    assert ConsoleSession("a").cookie_header() == "access_token=a"


def test_parse_set_cookies_from_the_recording() -> None:
    assert set(COOKIES) == {"access_token", "refresh_token", "csrf_token"}
    assert ACCESS.startswith("eyJ") and len(REFRESH) == 128
    assert parse_set_cookies(["=x", "novalue", "a=1; Path=/"]) == {"a": "1"}
    # logout clears the cookies with empty values: no new session there
    cleared = parse_set_cookies(exchange("109")["response"]["set_cookie"])
    assert ConsoleSession("old").update_from_cookies(cleared) is False


# ---- SessionAuth ----------------------------------------------------------------------------------


class Server:
    """A console that checks the session on every request and counts what it saw."""

    def __init__(self, *, valid: str = ACCESS, refresh: str | int = "ok", replay: int = 200) -> None:
        self.valid = valid
        self.refresh = refresh
        self.replay = replay
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/console/api/refresh-token"):
            if self.refresh == "ok":
                self.valid = NEW["access_token"]
                return recorded("107", request=request)
            return httpx.Response(
                int(self.refresh), json={"result": "fail", "message": "Invalid refresh token"}
            )
        cookies = _cookies(request)
        token = cookies.get("access_token") or cookies.get("__Host-access_token")
        csrf = cookies.get("csrf_token") or cookies.get("__Host-csrf_token")
        if token != self.valid or request.headers.get("x-csrf-token") != csrf:
            return recorded("010", request=request)  # 401 unauthorized
        if len(self.requests) > 2 and self.replay != 200:
            return httpx.Response(
                self.replay, json={"code": "unauthorized", "message": "again", "status": 401}
            )
        return recorded("011", request=request)


@BOTH
@pytest.mark.parametrize("prefix", ["", "__Host-"])
async def test_session_sends_cookies_and_csrf_on_get(is_async: bool, fake: FakeRuntime, prefix: str) -> None:
    server = Server()
    client = console(server, SessionAuth(_session(prefix)), is_async, fake)
    account = await resolve(client.profile())
    await close(client)
    assert account.email == "admin@example.com"
    (request,) = server.requests
    assert request.method == "GET"
    assert _cookies(request) == {
        f"{prefix}access_token": ACCESS,
        f"{prefix}refresh_token": REFRESH,
        f"{prefix}csrf_token": CSRF,
    }
    assert request.headers["x-csrf-token"] == CSRF
    assert "authorization" not in request.headers


@BOTH
async def test_one_transparent_refresh(is_async: bool, fake: FakeRuntime) -> None:
    server = Server(valid="something-else")  # the stored access token has expired
    saved: list[str] = []
    auth = SessionAuth(_session(), on_refresh=lambda s: saved.append(s.to_json()))
    client = console(server, auth, is_async, fake)
    account = await resolve(client.profile())
    await close(client)

    assert account.id == "a1b7e076-4a74-4df8-87e3-f859d31c10dc"
    first, refresh, replay = server.requests
    assert refresh.method == "POST" and refresh.url == f"{BASE}/console/api/refresh-token"
    assert refresh.content == b""  # the refresh token travels as a cookie
    assert _cookies(refresh)["refresh_token"] == REFRESH
    assert _cookies(replay)["access_token"] == NEW["access_token"]
    assert replay.headers["x-csrf-token"] == NEW["csrf_token"]
    assert auth.refreshes == 1
    assert [json.loads(s)["refresh_token"] for s in saved] == [NEW["refresh_token"]]
    assert auth.session.csrf_token == NEW["csrf_token"]


@BOTH
async def test_refresh_failure_means_log_in_again(is_async: bool, fake: FakeRuntime) -> None:
    server = Server(valid="something-else", refresh=401)
    saved: list[ConsoleSession] = []
    client = console(server, SessionAuth(_session(), on_refresh=saved.append), is_async, fake)
    with pytest.raises(e.SessionExpiredError) as info:
        await resolve(client.profile())
    await close(client)
    assert info.value.hint == "run `difyctl login` again"
    assert info.value.exit_code == 4
    assert len(server.requests) == 2 and saved == []


@pytest.mark.parametrize("is_async", [True, "direct"], ids=["async", "direct"])
async def test_a_failed_refresh_is_not_retried_by_every_request_of_a_fan_out(
    is_async: bool, fake: FakeRuntime
) -> None:
    # 50 key lookups all answered 401, the refresh refused: ONE refresh, every lookup "log in again"
    # (each waiter under the lock used to send its own refresh: 50 serial round trips to a dead end)
    import asyncio

    server = Server(valid="something-else", refresh=401)
    client = console(server, SessionAuth(_session()), is_async, fake)
    outcomes = await asyncio.gather(*(client.profile() for _ in range(50)), return_exceptions=True)
    await close(client)
    assert all(isinstance(o, e.SessionExpiredError) and o.exit_code == 4 for o in outcomes)
    assert {str(o) for o in outcomes} == {"the console session has expired (refresh answered HTTP 401)"}
    refreshes = [r for r in server.requests if r.url.path.endswith("/refresh-token")]
    assert len(refreshes) == 1 and len(server.requests) == 51


@BOTH
async def test_a_second_401_does_not_loop(is_async: bool, fake: FakeRuntime) -> None:
    server = Server(valid="something-else", replay=401)
    server.refresh = "ok"

    def handler(request: httpx.Request) -> httpx.Response:
        response = server(request)
        if len(server.requests) >= 3:  # even the refreshed token is rejected
            return httpx.Response(401, json={"code": "unauthorized", "message": "nope", "status": 401})
        return response

    client = console(handler, SessionAuth(_session()), is_async, fake)
    with pytest.raises(e.SessionExpiredError, match="rejected again"):
        await resolve(client.get_app("a1"))
    await close(client)
    assert len(server.requests) == 3  # request, refresh, one replay: no loop, no retry


@BOTH
async def test_no_refresh_token_no_refresh(is_async: bool, fake: FakeRuntime) -> None:
    server = Server(valid="something-else")
    client = console(server, SessionAuth(ConsoleSession(ACCESS, "", CSRF)), is_async, fake)
    with pytest.raises(e.SessionExpiredError, match="no refresh token"):
        await resolve(client.profile())
    await close(client)
    assert len(server.requests) == 1


@BOTH
async def test_a_concurrent_refresh_is_reused(is_async: bool, fake: FakeRuntime) -> None:
    session = _session()
    server = Server(valid=NEW["access_token"])

    def handler(request: httpx.Request) -> httpx.Response:
        response = server(request)
        if response.status_code == 401:  # meanwhile another request refreshed the shared session
            session.update_from_cookies(NEW)
        return response

    auth = SessionAuth(session)
    client = console(handler, auth, is_async, fake)
    await resolve(client.profile())
    await close(client)
    assert [r.url.path for r in server.requests] == ["/console/api/account/profile"] * 2
    assert auth.refreshes == 0


def test_the_synchronous_client_in_several_threads_refreshes_once(fake: FakeRuntime) -> None:
    # `broadcast --all` & co. list the app pages on the synchronous client in daemon threads
    # (commands/_targets.py off_loop), two at once from the start. A stored session whose access token
    # has expired gets a 401 on both: ONE refresh, saved once. Dify rotates the refresh token (the old
    # one is deleted: api/services/account_service.py, AccountService.refresh_token), so a second
    # refresh with it fails and would end the command with "log in again".
    import threading

    from difyctl.client.console import ConsoleClient

    server = Server()
    server.valid = "expired-long-ago"  # the stored access token is rejected
    both_sent = threading.Barrier(2, timeout=30)
    used_refresh: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/refresh-token"):
            used_refresh.append(_cookies(request)["refresh_token"])
            if used_refresh[-1] != REFRESH or len(used_refresh) > 1:  # already rotated
                return httpx.Response(401, json={"code": "unauthorized", "message": "Invalid refresh token"})
        elif _cookies(request).get("access_token") == ACCESS:
            both_sent.wait()  # both requests were sent with the expired token
        return server(request)

    saved: list[str] = []
    auth = SessionAuth(_session(), on_refresh=lambda s: saved.append(s.refresh_token))
    client = ConsoleClient(BASE, auth, options=options(handler), runtime=fake.runtime())
    errors: list[BaseException] = []

    def profile() -> None:
        try:
            client.profile()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=profile) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    client.close()
    assert errors == []
    assert auth.refreshes == 1 and used_refresh == [REFRESH]
    assert saved == [NEW["refresh_token"]]


def test_refresh_keeps_a_path_prefix(fake: FakeRuntime) -> None:
    server = Server(valid="something-else")
    from difyctl.client.console import ConsoleClient

    with ConsoleClient(
        f"{BASE}/dify", SessionAuth(_session()), options=options(server), runtime=fake.runtime()
    ) as c:
        c.profile()
    assert server.requests[1].url.path == "/dify/console/api/refresh-token"


def test_the_refresh_request_itself_is_not_refreshed() -> None:
    auth = SessionAuth(_session())
    flow = auth.auth_flow(httpx.Request("POST", f"{BASE}/console/api/refresh-token"))
    next(flow)
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(401))


# ---- LegacyBearerAuth -----------------------------------------------------------------------------


@BOTH
async def test_legacy_bearer_and_json_refresh(is_async: bool, fake: FakeRuntime) -> None:
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.headers))  # the replay re-sends the same Request object: copy now
        if request.url.path.endswith("refresh-token"):
            assert json.loads(request.content) == {"refresh_token": "r1"}
            return httpx.Response(
                200, json={"result": "success", "data": {"access_token": "a2", "refresh_token": "r2"}}
            )
        if request.headers.get("authorization") != "Bearer a2":
            return httpx.Response(401, json={"code": "unauthorized", "message": "expired", "status": 401})
        return recorded("011", request=request)

    saved: list[ConsoleSession] = []
    auth = session_auth(ConsoleSession("a1", "r1", legacy=True), on_refresh=saved.append)
    assert isinstance(auth, LegacyBearerAuth)
    client = console(handler, auth, is_async, fake)
    await resolve(client.profile())
    await close(client)
    assert [h.get("authorization") for h in seen] == ["Bearer a1", None, "Bearer a2"]
    assert "x-csrf-token" not in seen[0] and "cookie" not in seen[0]
    assert saved[0].access_token == "a2" and saved[0].refresh_token == "r2"


@BOTH
@pytest.mark.parametrize(
    "answer", [b"not json", b"[]", b'{"data": {"refresh_token": "x"}}', b'{"data": "x"}']
)
async def test_legacy_bad_refresh_answer(is_async: bool, fake: FakeRuntime, answer: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("refresh-token"):
            return httpx.Response(200, content=answer)
        return httpx.Response(401, json={"code": "unauthorized", "message": "expired", "status": 401})

    client = console(handler, LegacyBearerAuth(ConsoleSession("a1", "r1", legacy=True)), is_async, fake)
    with pytest.raises(e.SessionExpiredError):
        await resolve(client.profile())
    await close(client)


def test_session_auth_picks_the_strategy() -> None:
    assert isinstance(session_auth(_session()), SessionAuth)


# ---- static strategies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pasted", "kind", "headers"),
    [
        (ACCESS, "bearer", {"Authorization": f"Bearer {ACCESS}"}),
        (f"  Bearer {ACCESS}\n", "bearer", {"Authorization": f"Bearer {ACCESS}"}),
        ("opaque-token", "bearer", {"Authorization": "Bearer opaque-token"}),
        (
            f"access_token={ACCESS}; csrf_token={CSRF}",
            "cookie",
            {"Cookie": f"access_token={ACCESS}; csrf_token={CSRF}", "X-CSRF-Token": CSRF},
        ),
        (
            f"Cookie: locale=en-US; __Host-access_token={ACCESS}; __Host-csrf_token={CSRF}; "
            "__Host-refresh_token=r",
            "cookie",
            {
                "Cookie": f"locale=en-US; __Host-access_token={ACCESS}; __Host-csrf_token={CSRF}; "
                "__Host-refresh_token=r",
                "X-CSRF-Token": CSRF,
            },
        ),
        (f"access_token={ACCESS}", "cookie", {"Cookie": f"access_token={ACCESS}"}),  # < 1.9: no CSRF
    ],
)
def test_console_token_parsing(pasted: str, kind: str, headers: dict[str, str]) -> None:
    auth = ConsoleTokenAuth(pasted)
    assert auth.kind == kind
    assert auth.headers() == headers


@pytest.mark.parametrize("pasted", ["", "   ", "Bearer ", "locale=en; theme=dark"])
def test_console_token_rejects(pasted: str) -> None:
    with pytest.raises(ValueError):
        ConsoleTokenAuth(pasted)


@BOTH
async def test_console_token_on_the_wire(is_async: bool, fake: FakeRuntime) -> None:
    server = Server()
    client = console(server, ConsoleTokenAuth(f"access_token={ACCESS}; csrf_token={CSRF}"), is_async, fake)
    assert (await resolve(client.profile())).name == "Admin"
    await close(client)


@BOTH
async def test_bearer_plus_csrf_pair_as_in_fixture_013(is_async: bool, fake: FakeRuntime) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {ACCESS}"
        return recorded("013", request=request)

    client = console(handler, ConsoleTokenAuth(ACCESS), is_async, fake)
    assert (await resolve(client.profile())).email == "admin@example.com"
    await close(client)


@BOTH
async def test_admin_key_headers(is_async: bool, fake: FakeRuntime) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return recorded("045", request=request)

    client = console(handler, AdminKeyAuth("admin-secret", "ws-123"), is_async, fake)
    await resolve(client.list_apps())
    await close(client)
    (request,) = seen
    assert request.headers["authorization"] == "Bearer admin-secret"
    assert request.headers["x-workspace-id"] == "ws-123"
    assert "x-csrf-token" not in request.headers and "cookie" not in request.headers


@pytest.mark.parametrize(("key", "ws"), [("", "ws"), ("k", "")])
def test_admin_key_needs_both(key: str, ws: str) -> None:
    with pytest.raises(ValueError):
        AdminKeyAuth(key, ws)


def test_app_key() -> None:
    assert AppKeyAuth("app-x").headers() == {"Authorization": "Bearer app-x"}
    with pytest.raises(ValueError):
        AppKeyAuth("")


# ---- login ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "parsed", "base64_password"),
    [
        ("1.13.2", (1, 13, 2), True),
        ("1.11.2", (1, 11, 2), True),
        ("1.11.1", (1, 11, 1), False),
        ("1.11.0", (1, 11, 0), False),
        ("1.8.1", (1, 8, 1), False),
        ("1.12.0-rc1", (1, 12, 0), True),
        ("v2", (2,), True),
        ("", None, True),
        (None, None, True),
        ("unknown", None, True),
    ],
)
def test_version_rules(version: str | None, parsed: tuple[int, ...] | None, base64_password: bool) -> None:
    assert version_tuple(version) == parsed
    assert wants_base64_password(version) is base64_password


class LoginServer:
    def __init__(
        self, version: str | None = "1.13.2", login: Any = "009", profile_auth: str = "cookie"
    ) -> None:
        self.version = version
        self.login = login
        self.profile_auth = profile_auth
        self.requests: list[httpx.Request] = []
        self.passwords: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        headers = {"X-Version": self.version} if self.version else {}
        if path == "/health":
            if self.version is None:
                return httpx.Response(404, text="<html>nginx</html>", headers={"content-type": "text/html"})
            return httpx.Response(200, json={"status": "ok", "version": self.version}, headers=headers)
        if path == "/v1/":
            return httpx.Response(404, text="<html>nginx</html>", headers={"content-type": "text/html"})
        if path == "/console/api/login":
            body = json.loads(request.content)
            self.passwords.append(body["password"])
            assert body["email"] == "admin@example.com" and body["remember_me"] is True
            login = self.login(body) if callable(self.login) else self.login
            if isinstance(login, str):
                return recorded(login, request=request)
            assert isinstance(login, httpx.Response)
            return login
        if path == "/console/api/account/profile":
            return recorded("011", request=request)
        raise AssertionError(path)


def _login(server: Any, fake: FakeRuntime, **kw: Any) -> Any:
    return login(
        BASE, "admin@example.com", "DifyAdmin123", options=options(server), runtime=fake.runtime(), **kw
    )


def test_login_sends_base64_and_reads_the_cookies(fake: FakeRuntime) -> None:
    server = LoginServer()
    result = _login(server, fake)
    assert (
        server.passwords
        == [base64.b64encode(b"DifyAdmin123").decode()]
        == [LOGIN["request"]["body"]["password"]]
    )
    assert result.session == ConsoleSession(ACCESS, REFRESH, CSRF)
    assert result.account.email == "admin@example.com"
    assert result.server_version == "1.13.2"
    profile = server.requests[-1]
    assert _cookies(profile)["access_token"] == ACCESS and profile.headers["x-csrf-token"] == CSRF
    assert "cookie" not in server.requests[1].headers  # login itself carries no session


def test_login_host_prefixed_cookies(fake: FakeRuntime) -> None:
    cookies = [f"__Host-{c}; Secure" for c in LOGIN["response"]["set_cookie"]]
    server = LoginServer(
        login=httpx.Response(200, json={"result": "success"}, headers=[("set-cookie", c) for c in cookies])
    )
    result = _login(server, fake)
    assert result.session.cookie_prefix == "__Host-"
    assert result.session.access_token == ACCESS


@pytest.mark.parametrize("version", ["1.8.1", "1.11.1"])
def test_legacy_login_plain_password_tokens_in_json(fake: FakeRuntime, version: str) -> None:
    answer = httpx.Response(
        200, json={"result": "success", "data": {"access_token": "a", "refresh_token": "r"}}
    )
    server = LoginServer(version=version, login=answer)
    result = _login(server, fake)
    assert server.passwords == ["DifyAdmin123"]
    assert result.session == ConsoleSession("a", "r", legacy=True)
    assert server.requests[-1].headers["authorization"] == "Bearer a"
    assert result.server_version == version


def test_login_falls_back_to_base64_when_the_version_was_wrong(fake: FakeRuntime) -> None:
    def answer(body: dict[str, Any]) -> Any:
        return "009" if body["password"] != "DifyAdmin123" else "008"  # 008: "Invalid encrypted data"

    server = LoginServer(version="1.11.0", login=answer)
    result = _login(server, fake)
    assert server.passwords == ["DifyAdmin123", "RGlmeUFkbWluMTIz"]
    assert result.session.access_token == ACCESS


def test_login_fallback_that_fails_again(fake: FakeRuntime) -> None:
    server = LoginServer(
        version="1.11.0", login=lambda body: "008" if body["password"] == "DifyAdmin123" else "112"
    )
    with pytest.raises(e.AuthenticationError, match="wrong email or password"):
        _login(server, fake)


def test_login_unknown_version_assumes_base64(fake: FakeRuntime) -> None:
    server = LoginServer(version=None)
    result = _login(server, fake)
    assert server.passwords == ["RGlmeUFkbWluMTIz"]
    assert result.server_version == "1.13.2"  # learned from the X-Version of the login answer
    assert [r.url.path for r in server.requests[:2]] == ["/health", "/v1/"]


def test_login_with_a_known_version_skips_the_probe(fake: FakeRuntime) -> None:
    server = LoginServer()
    _login(server, fake, server_version="1.13.2")
    assert server.requests[0].url.path == "/console/api/login"


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "status": status})


@pytest.mark.parametrize(
    ("answer", "cls", "message"),
    [
        ("112", e.AuthenticationError, "wrong email or password"),
        ("008", e.AuthenticationError, "the server could not decode the password"),
        (
            _error(429, "email_code_login_limit", "Too many incorrect password attempts."),
            e.RateLimitError,
            "too many failed logins",
        ),
        (_error(400, "email_password_login_limit", "limit"), e.RateLimitError, "too many failed logins"),
        (
            _error(400, "account_banned", "Account is banned."),
            e.AuthenticationError,
            "this account is banned",
        ),
        (
            httpx.Response(
                200, json={"result": "fail", "data": "workspace not found, please contact system admin"}
            ),
            e.AuthenticationError,
            "login refused: workspace not found",
        ),
        (
            httpx.Response(200, json={"result": "fail"}),
            e.AuthenticationError,
            "login refused: no reason given",
        ),
        (httpx.Response(200, json={"result": "success"}), e.DifyProtocolError, "set no session cookies"),
        (_error(500, "internal_server_error", "boom"), e.ServerError, "boom"),
    ],
)
def test_login_errors(fake: FakeRuntime, answer: Any, cls: type, message: str) -> None:
    server = LoginServer(login=answer)
    with pytest.raises(cls, match=message) as info:
        _login(server, fake)
    assert type(info.value) is cls
    assert len(server.passwords) == 1  # a login is never retried
    assert "DifyAdmin123" not in str(info.value)


def test_login_rate_limit_exit_code(fake: FakeRuntime) -> None:
    with pytest.raises(e.RateLimitError) as info:
        _login(LoginServer(login=_error(429, "email_code_login_limit", "x")), fake)
    assert info.value.exit_code == 7 and info.value.hint is not None


# ---- logout ---------------------------------------------------------------------------------------


@BOTH
async def test_logout(is_async: bool, fake: FakeRuntime) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return recorded("109", request=request)

    assert logout(BASE, SessionAuth(_session()), options=options(handler), runtime=fake.runtime()) is True
    assert seen[0].method == "POST" and seen[0].url.path == "/console/api/logout"
    assert seen[0].headers["x-csrf-token"] == CSRF


def test_logout_of_an_ended_session(fake: FakeRuntime) -> None:
    server = Server(valid="gone", refresh=401)
    assert logout(BASE, SessionAuth(_session()), options=options(server), runtime=fake.runtime()) is False


class RotatingServer:
    """Like Dify: a refresh token works once (it is rotated), and requests interleave."""

    def __init__(self) -> None:
        self.access, self.refresh_token, self.generation = "a0", REFRESH, 0
        self.paths: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        import asyncio

        self.paths.append(request.url.path)
        await asyncio.sleep(0)  # let the other requests of the fan-out run
        cookies = _cookies(request)
        if request.url.path.endswith("refresh-token"):
            if cookies.get("refresh_token") != self.refresh_token:
                return httpx.Response(401, json={"result": "fail", "message": "Invalid refresh token"})
            self.generation += 1
            self.access, self.refresh_token = f"a{self.generation}", f"r{self.generation}"
            return httpx.Response(
                200,
                json={"result": "success"},
                headers=[
                    ("set-cookie", f"access_token={self.access}; Path=/"),
                    ("set-cookie", f"refresh_token={self.refresh_token}; Path=/"),
                    ("set-cookie", f"csrf_token=c{self.generation}; Path=/"),
                ],
            )
        if cookies.get("access_token") != self.access:
            return httpx.Response(401, json={"code": "unauthorized", "message": "expired", "status": 401})
        return recorded("011", request=request)


async def test_an_async_fan_out_refreshes_once(fake: FakeRuntime) -> None:
    import asyncio

    server = RotatingServer()
    saved: list[str] = []
    auth = SessionAuth(
        ConsoleSession("expired", REFRESH, CSRF), on_refresh=lambda s: saved.append(s.access_token)
    )
    client = console(server, auth, True, fake)
    accounts = await asyncio.gather(*(client.profile() for _ in range(5)))
    await close(client)
    assert len(accounts) == 5
    assert server.paths.count("/console/api/refresh-token") == 1
    assert saved == ["a1"] and auth.refreshes == 1


async def test_an_async_legacy_refresh_reads_the_body(fake: FakeRuntime) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("refresh-token"):

            async def body() -> Any:
                yield b'{"data": {"access_token": "a2", '
                yield b'"refresh_token": "r2"}}'

            return httpx.Response(200, content=body())
        if request.headers.get("authorization") != "Bearer a2":
            return httpx.Response(401, json={"code": "unauthorized", "message": "expired", "status": 401})
        return recorded("011", request=request)

    auth = LegacyBearerAuth(ConsoleSession("a1", "r1", legacy=True))
    client = console(handler, auth, True, fake)
    assert (await client.profile()).name == "Admin"
    await close(client)
    assert auth.session.refresh_token == "r2"


def test_one_auth_serves_successive_event_loops(fake: FakeRuntime) -> None:
    import asyncio

    auth = SessionAuth(ConsoleSession("expired", REFRESH, CSRF))
    for _ in range(2):
        server = RotatingServer()
        server.refresh_token = auth.session.refresh_token

        async def main(server: RotatingServer = server) -> None:
            client = console(server, auth, True, fake)
            await asyncio.gather(client.profile(), client.profile())
            await close(client)

        auth.session.access_token = "expired"
        asyncio.run(main())
    assert auth.refreshes == 2
