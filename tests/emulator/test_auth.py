"""Console auth as recorded on Dify 1.13.2: base64 password, 3 cookies, CSRF everywhere, refresh, logout."""

from __future__ import annotations

import httpx
import pytest

from difyctl.emulator import DEMO_EMAIL, DEMO_PASSWORD, EDITOR_EMAIL, EDITOR_PASSWORD, EmulatorServer, jwt

from .helpers import Console, FakeClock, b64, logged_in

CSRF_BODY = {"code": "unauthorized", "message": "CSRF token is missing or invalid.", "status": 401}


def test_login_sets_three_cookies_exactly_like_dify(shared: EmulatorServer) -> None:
    with Console(shared.base_url) as console:
        response = console.login()
    assert response.status_code == 200
    assert response.json() == {"result": "success"}
    cookies = response.headers.get_list("set-cookie")
    assert [c.split("=", 1)[0] for c in cookies] == ["access_token", "refresh_token", "csrf_token"]
    access, refresh, csrf = cookies
    assert access.endswith("; Max-Age=3600; HttpOnly; Path=/; SameSite=Lax")
    assert "; Expires=" in access and access.count("GMT") == 1
    assert refresh.endswith("; Max-Age=2592000; HttpOnly; Path=/; SameSite=Lax")
    assert len(refresh.split(";")[0].split("=", 1)[1]) == 128
    assert csrf.endswith("; Max-Age=3600; Path=/; SameSite=Lax") and "HttpOnly" not in csrf
    token = csrf.split(";")[0].split("=", 1)[1]
    payload = jwt.decode(token, shared.emulator.secret, shared.emulator.clock())
    assert set(payload) == {"exp", "sub"}
    assert payload["sub"] == shared.state.account_by_email(DEMO_EMAIL).id  # type: ignore[union-attr]
    access_payload = jwt.decode(access.split(";")[0].split("=", 1)[1], shared.emulator.secret, 0)
    assert access_payload["iss"] == "SELF_HOSTED" and access_payload["sub"] == "Console API Passport"


@pytest.mark.parametrize(
    ("password", "message"),
    [(DEMO_PASSWORD, "Invalid encrypted data"), (b64("WrongPass123"), "Invalid email or password.")],
)
def test_login_failures(shared: EmulatorServer, password: str, message: str) -> None:
    response = httpx.post(
        f"{shared.base_url}/console/api/login", json={"email": DEMO_EMAIL, "password": password}
    )
    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "message": message, "status": 401}
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'


def test_every_console_get_needs_the_csrf_pair(shared: EmulatorServer) -> None:
    with logged_in(shared.base_url) as console:
        no_header = console.http.get("/console/api/account/profile")
        assert (no_header.status_code, no_header.json()) == (401, CSRF_BODY)
        ok = console.get("/account/profile")
        assert ok.status_code == 200 and ok.json()["email"] == DEMO_EMAIL
        access = console.http.cookies["access_token"]
        bearer = {"Authorization": f"Bearer {access}", "X-CSRF-Token": console.csrf}
        only_bearer = httpx.get(f"{shared.base_url}/console/api/account/profile", headers=bearer)
        assert (only_bearer.status_code, only_bearer.json()) == (401, CSRF_BODY)
        with_cookie = httpx.get(
            f"{shared.base_url}/console/api/account/profile",
            headers={**bearer, "Cookie": f"csrf_token={console.csrf}"},
        )
        assert with_cookie.status_code == 200
        wrong = console.get("/account/profile", headers={"X-CSRF-Token": console.csrf + "x"})
        assert wrong.status_code == 401


def test_no_token_is_invalid_authorization(shared: EmulatorServer) -> None:
    response = httpx.get(f"{shared.base_url}/console/api/apps", headers={"X-CSRF-Token": ""})
    assert response.status_code == 401
    assert response.json() == {
        "code": "unauthorized",
        "message": "Invalid Authorization token.",
        "status": 401,
    }


def test_refresh_rotates_cookies_and_logout_ends_only_that_session(shared: EmulatorServer) -> None:
    with logged_in(shared.base_url) as main, logged_in(shared.base_url) as second:
        old_refresh = second.http.cookies["refresh_token"]
        refreshed = second.post("/refresh-token")
        assert refreshed.status_code == 200 and refreshed.json() == {"result": "success"}
        names = [c.split("=", 1)[0] for c in refreshed.headers.get_list("set-cookie")]
        assert names == ["csrf_token", "access_token", "refresh_token"]
        assert second.http.cookies["refresh_token"] != old_refresh
        assert second.get("/account/profile").status_code == 200
        reuse = httpx.post(
            f"{shared.base_url}/console/api/refresh-token", headers={"Cookie": f"refresh_token={old_refresh}"}
        )
        assert (reuse.status_code, reuse.json()) == (
            401,
            {"result": "fail", "message": "Invalid refresh token"},
        )
        access = second.http.cookies["access_token"]
        logout = second.post("/logout")
        assert logout.status_code == 200 and logout.json() == {"result": "success"}
        assert all(
            "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in c for c in logout.headers.get_list("set-cookie")
        )
        assert second.get("/account/profile").status_code == 401
        replay = httpx.get(
            f"{shared.base_url}/console/api/account/profile",
            headers={"Cookie": f"access_token={access}; csrf_token={main.csrf}", "X-CSRF-Token": main.csrf},
        )
        assert replay.status_code == 401
        assert main.get("/account/profile").status_code == 200


def test_refresh_without_cookie_fails() -> None:
    with EmulatorServer() as server:
        response = httpx.post(f"{server.base_url}/console/api/refresh-token")
    assert (response.status_code, response.json()) == (
        401,
        {"result": "fail", "message": "No refresh token provided"},
    )


def test_short_ttl_expires_then_refresh_recovers() -> None:
    clock = FakeClock()
    with EmulatorServer(access_token_ttl=60, clock=clock) as server, logged_in(server.base_url) as console:
        assert console.get("/apps").status_code == 200
        clock.advance(61)
        expired = console.get("/apps")
        assert expired.status_code == 401
        assert expired.json()["message"] == "Token has expired."
        assert console.post("/refresh-token").status_code == 200
        assert console.get("/apps").status_code == 200


def test_host_prefix_cookies() -> None:
    with EmulatorServer(cookie_prefix="__Host-", cookie_secure=True) as server:
        response = httpx.post(
            f"{server.base_url}/console/api/login", json={"email": DEMO_EMAIL, "password": b64(DEMO_PASSWORD)}
        )
        cookies = response.headers.get_list("set-cookie")
        assert [c.split("=", 1)[0] for c in cookies] == [
            "__Host-access_token",
            "__Host-refresh_token",
            "__Host-csrf_token",
        ]
        assert all("; Secure;" in c for c in cookies)
        values = dict(c.split(";")[0].split("=", 1) for c in cookies)
        csrf = values["__Host-csrf_token"]
        header = "; ".join(f"{k}={v}" for k, v in values.items())
        ok = httpx.get(
            f"{server.base_url}/console/api/apps", headers={"Cookie": header, "X-CSRF-Token": csrf}
        )
        assert ok.status_code == 200
        plain = header.replace("__Host-", "")
        bad = httpx.get(
            f"{server.base_url}/console/api/apps", headers={"Cookie": plain, "X-CSRF-Token": csrf}
        )
        assert bad.status_code == 401


def test_legacy_auth_returns_tokens_in_json() -> None:
    with EmulatorServer(legacy_auth=True) as server:
        base = server.base_url + "/console/api"
        assert httpx.get(server.base_url + "/health").json()["version"] == "1.8.1"
        login = httpx.post(f"{base}/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert login.status_code == 200 and "set-cookie" not in login.headers
        data = login.json()["data"]
        assert set(data) == {"access_token", "refresh_token"}
        apps = httpx.get(f"{base}/apps", headers={"Authorization": f"Bearer {data['access_token']}"})
        assert apps.status_code == 200
        refreshed = httpx.post(f"{base}/refresh-token", json={"refresh_token": data["refresh_token"]})
        assert refreshed.status_code == 200 and set(refreshed.json()["data"]) == {
            "access_token",
            "refresh_token",
        }


def test_admin_api_key_acts_as_owner_without_csrf() -> None:
    with EmulatorServer(admin_api_key="admin-secret-key") as server:
        headers = {"Authorization": "Bearer admin-secret-key", "X-WORKSPACE-ID": server.state.tenant_id}
        profile = httpx.get(f"{server.base_url}/console/api/account/profile", headers=headers)
        assert profile.status_code == 200 and profile.json()["email"] == DEMO_EMAIL
        wrong = {**headers, "X-WORKSPACE-ID": "00000000-0000-0000-0000-000000000000"}
        assert httpx.get(f"{server.base_url}/console/api/apps", headers=wrong).status_code == 401
        with logged_in(server.base_url) as console:
            ws = console.post("/workspaces/current", json={}).json()
        assert ws["id"] == server.state.tenant_id and ws["role"] == "owner"


def test_setup_with_init_password() -> None:
    with EmulatorServer(seed=None, init_password="init-pass-123") as server:
        base = server.base_url + "/console/api"
        with httpx.Client(base_url=base) as client:
            assert client.get("/init").json() == {"status": "not_started"}
            assert client.get("/setup").json() == {"step": "not_started", "setup_at": None}
            body = {"email": "ops@example.com", "name": "Ops", "password": "Passw0rdOps"}
            denied = client.post("/setup", json=body)
            assert denied.status_code == 401
            assert denied.json() == {
                "error": {"type": "authentication_error", "message": "Unauthorized", "status": 401}
            }
            assert client.post("/init", json={"password": "wrong"}).status_code == 401
            assert client.post("/init", json={"password": "init-pass-123"}).status_code == 201
            assert client.post("/setup", json={**body, "password": "short"}).status_code == 400
            assert client.post("/setup", json=body).status_code == 201
            assert client.get("/setup").json()["step"] == "finished"
            assert client.post("/setup", json=body).status_code == 403
        with logged_in(server.base_url, "ops@example.com", "Passw0rdOps") as console:
            assert console.get("/apps").json()["total"] == 0


def test_editor_cannot_delete_keys(server: EmulatorServer) -> None:
    app_id = server.app_id("echo-chat")
    with logged_in(server.base_url, EDITOR_EMAIL, EDITOR_PASSWORD) as editor:
        created = editor.post(f"/apps/{app_id}/api-keys")
        assert created.status_code == 201
        deleted = editor.request("DELETE", f"/apps/{app_id}/api-keys/{created.json()['id']}")
        assert deleted.status_code == 403
        assert deleted.json()["code"] == "forbidden"


def test_current_workspace_is_post_only_like_dify_1_10_1_and_later() -> None:
    """fixtures dify-1.16.0/009 (GET -> 405, this body) and 010 (POST -> 200 with the role)."""
    import json
    from pathlib import Path

    recordings = Path(__file__).resolve().parents[1] / "contract" / "recordings"
    recorded = recordings / "dify-1.16.0" / "009-console-workspace-current-GET-405.json"
    with EmulatorServer(admin_api_key="admin-secret-key") as server:
        headers = {"Authorization": "Bearer admin-secret-key", "X-WORKSPACE-ID": server.state.tenant_id}
        url = f"{server.base_url}/console/api/workspaces/current"
        get = httpx.get(url, headers=headers)
        post = httpx.post(url, headers=headers, json={})
    assert get.status_code == 405
    assert get.json() == {
        "code": "method_not_allowed",
        "message": "The method is not allowed for the requested URL.",
        "status": 405,
    }
    assert get.json() == json.loads(recorded.read_text())["response"]["json"]
    assert post.status_code == 200 and post.json()["role"] == "owner"


def test_current_workspace_is_get_before_1_10_1() -> None:
    """langgenius/dify#27858 turned TenantApi.get into post in 1.10.1: the legacy server serves GET."""
    with EmulatorServer(version="1.10.0") as server, logged_in(server.base_url) as console:
        assert console.get("/workspaces/current").json()["role"] == "owner"
        assert console.post("/workspaces/current", json={}).status_code == 405
