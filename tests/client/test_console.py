"""ConsoleClient / AsyncConsoleClient against the recorded 1.13.2 console traffic."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from difyctl.client import errors as e
from difyctl.client.auth import AdminKeyAuth
from difyctl.client.console import ConsoleClient, draft_payload
from difyctl.client.models import HIDDEN_VALUE, SECRET_MASK, EnvVar, Workflow

from .conftest import BASE, BOTH, FakeRuntime, close, collect, console, exchange, options, recorded, resolve

WF = "a93c04d0-9c35-465c-baea-7c5e735cc823"
AUTH = AdminKeyAuth("admin-key", "ws-1")


class Recorded:
    """Answers each request with a recorded exchange, checking method + path (+ query) match it."""

    def __init__(self, *prefixes: str) -> None:
        self.prefixes = list(prefixes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        prefix = self.prefixes.pop(0)
        expected = exchange(prefix)["request"]
        assert request.method == expected["method"]
        assert str(request.url) == expected["url"], (str(request.url), expected["url"])
        if expected["body"] and request.method == "POST":
            assert json.loads(request.content) == expected["body"]
        return recorded(prefix, request=request)


async def _run(is_async: bool, fake: FakeRuntime, prefixes: tuple[str, ...], call: Any) -> Any:
    server = Recorded(*prefixes)
    client = console(server, AUTH, is_async, fake)
    try:
        return await resolve(call(client))
    finally:
        await close(client)
        assert server.prefixes == []


@BOTH
async def test_profile(is_async: bool, fake: FakeRuntime) -> None:
    account = await _run(is_async, fake, ("011",), lambda c: c.profile())
    assert account.to_dict() == {
        "id": "a1b7e076-4a74-4df8-87e3-f859d31c10dc",
        "name": "Admin",
        "email": "admin@example.com",
    }


@BOTH
@pytest.mark.parametrize(
    ("prefix", "kwargs", "count"),
    [
        ("045", {}, 3),
        ("046", {"mode": "workflow"}, 1),
    ],
)
async def test_list_apps(
    is_async: bool, fake: FakeRuntime, prefix: str, kwargs: dict[str, Any], count: int
) -> None:
    page = await _run(is_async, fake, (prefix,), lambda c: c.list_apps(limit=30, **kwargs))
    assert len(page.items) == count == page.total
    assert page.page == 1 and page.limit == 30 and page.has_more is False
    first = page.items[0]
    assert first.mode == "workflow" or kwargs == {}
    assert first.is_published


@BOTH
async def test_get_app(is_async: bool, fake: FakeRuntime) -> None:
    app = await _run(is_async, fake, ("048",), lambda c: c.get_app(WF))
    assert (app.id, app.name, app.mode) == (WF, "echo-workflow", "workflow")
    assert app.published_workflow_id == "a59facaa-c17a-4905-9bf4-7d8d2d4edcfa"
    assert app.enable_api is True


@BOTH
async def test_get_app_not_found(is_async: bool, fake: FakeRuntime) -> None:
    with pytest.raises(e.NotFoundError, match="App not found."):
        await _run(is_async, fake, ("050",), lambda c: c.get_app("a313f793-9705-4819-b4f6-b24e83a0a6f9"))


def _app(i: int) -> dict[str, Any]:
    return {"id": f"app-{i}", "name": f"n{i}", "mode": "chat", "workflow": None}


class Pager:
    def __init__(self, total: int, per_page: int) -> None:
        self.apps = [_app(i) for i in range(total)]
        self.per_page = per_page
        self.pages: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        self.pages.append(request.url.params["page"])
        chunk = self.apps[(page - 1) * self.per_page : page * self.per_page]
        has_more = page * self.per_page < len(self.apps)
        return httpx.Response(
            200,
            json={
                "page": page,
                "limit": self.per_page,
                "total": len(self.apps),
                "has_more": has_more,
                "data": chunk,
            },
        )


@BOTH
@pytest.mark.parametrize(("total", "pages"), [(0, 1), (1, 1), (3, 2), (5, 3), (6, 3)])
async def test_iter_apps_follows_has_more(is_async: bool, fake: FakeRuntime, total: int, pages: int) -> None:
    pager = Pager(total, per_page=2)
    client = console(pager, AUTH, is_async, fake)
    apps = await collect(client.iter_apps(mode="chat", limit=2))
    await close(client)
    assert [a.id for a in apps] == [f"app-{i}" for i in range(total)]
    assert len(pager.pages) == pages


@BOTH
async def test_iter_apps_stops_on_an_empty_page_even_if_has_more(is_async: bool, fake: FakeRuntime) -> None:
    client = console(lambda r: httpx.Response(200, json={"data": [], "has_more": True}), AUTH, is_async, fake)
    assert await collect(client.iter_apps()) == []
    await close(client)


@BOTH
async def test_list_api_keys(is_async: bool, fake: FakeRuntime) -> None:
    keys = await _run(is_async, fake, ("090",), lambda c: c.list_api_keys(WF))
    assert [k.token for k in keys] == ["app-yz3eFayZyqGNk9A75ZNhFjtM"]
    assert keys[0].to_dict()["token"] == "app-********FjtM"


@BOTH
@pytest.mark.parametrize(
    ("prefix", "kwargs", "secret"),
    [
        ("059", {}, "value: ''"),
        ("061", {"include_secret": True}, "value: fake-local-secret-123"),
        ("068", {"workflow_id": "a59facaa-c17a-4905-9bf4-7d8d2d4edcfa"}, None),
    ],
)
async def test_export_dsl(
    is_async: bool, fake: FakeRuntime, prefix: str, kwargs: dict[str, Any], secret: str | None
) -> None:
    yaml_text = await _run(is_async, fake, (prefix,), lambda c: c.export_dsl(WF, **kwargs))
    assert yaml_text.startswith("app:\n") and "kind: app" in yaml_text
    if secret:
        assert secret in yaml_text


@BOTH
async def test_export_without_yaml_is_a_protocol_error(is_async: bool, fake: FakeRuntime) -> None:
    client = console(lambda r: httpx.Response(200, json={"data": None}), AUTH, is_async, fake)
    with pytest.raises(e.DifyProtocolError, match="no YAML"):
        await resolve(client.export_dsl(WF))
    await close(client)


@BOTH
async def test_a_list_instead_of_an_object_is_a_protocol_error(is_async: bool, fake: FakeRuntime) -> None:
    client = console(lambda r: httpx.Response(200, json=[1]), AUTH, is_async, fake)
    with pytest.raises(e.DifyProtocolError, match="expected a JSON object for the app"):
        await resolve(client.get_app(WF))
    await close(client)


@BOTH
async def test_get_draft_and_published(is_async: bool, fake: FakeRuntime) -> None:
    draft = await _run(is_async, fake, ("051",), lambda c: c.get_draft(WF))
    assert draft.is_draft and draft.hash.startswith("c4ca42f2")
    assert [n["id"] for n in draft.graph["nodes"]] == ["start", "end"]
    published = await _run(is_async, fake, ("064",), lambda c: c.get_published(WF))
    assert isinstance(published, Workflow) and published.marked_name == "v2"
    secret = [v for v in published.environment_variables if v.is_secret]
    assert secret[0].value == SECRET_MASK
    assert secret[0].to_dict()["value"] == SECRET_MASK


@BOTH
async def test_never_published_is_none(is_async: bool, fake: FakeRuntime) -> None:
    client = console(
        lambda r: httpx.Response(200, content=b"null", headers={"content-type": "application/json"}),
        AUTH,
        is_async,
        fake,
    )
    assert await resolve(client.get_published(WF)) is None
    await close(client)


@BOTH
async def test_list_versions(is_async: bool, fake: FakeRuntime) -> None:
    page = await _run(is_async, fake, ("065",), lambda c: c.list_versions(WF))
    assert [w.version == "draft" for w in page.items] == [True, False, False]
    assert [w.marked_name for w in page.items] == ["", "v2", "v1"]
    assert page.has_more is False and page.limit == 10
    assert set(page.items[1].to_dict()) == {
        "id",
        "version",
        "hash",
        "marked_name",
        "marked_comment",
        "created_at",
        "updated_at",
    }
    named = await _run(is_async, fake, ("066",), lambda c: c.list_versions(WF, named_only=True))
    assert all(w.marked_name for w in named.items)


def test_sync_draft_with_env_vars(fake: FakeRuntime) -> None:
    sent = exchange("053")["request"]["body"]
    server = Recorded("053")
    with ConsoleClient(BASE, AUTH, options=options(server), runtime=fake.runtime()) as client:
        new_hash = client.sync_draft(
            WF,
            graph=sent["graph"],
            features=sent["features"],
            hash=sent["hash"],
            environment_variables=[EnvVar.from_api(v) for v in sent["environment_variables"]],
            conversation_variables=[],
        )
    assert new_hash == "c4ca42f2b5b12272e5376db2be31ae5c25321c675c727d7dac9da48c47dbc505"


def test_sync_draft_stale_hash_is_a_conflict(fake: FakeRuntime) -> None:
    server = Recorded("052")
    sent = exchange("052")["request"]["body"]
    with ConsoleClient(BASE, AUTH, options=options(server), runtime=fake.runtime()) as client:
        with pytest.raises(e.ConflictError) as info:
            client.sync_draft(
                WF,
                sent["graph"],
                sent["features"],
                sent["hash"],
                sent["environment_variables"],
                sent["conversation_variables"],
            )
    assert info.value.code == "draft_workflow_not_sync"
    assert len(server.requests) == 1  # a write: never retried


def test_draft_payload_keeps_secrets_by_id() -> None:
    secret = EnvVar("id-1", "API_TOKEN", HIDDEN_VALUE, "secret")
    payload = draft_payload(
        graph={"nodes": []},
        features={},
        hash=None,
        environment_variables=[secret, {"id": "id-2", "name": "X", "value": 1, "value_type": "number"}],
    )
    assert payload["environment_variables"][0] == {
        "id": "id-1",
        "name": "API_TOKEN",
        "value": HIDDEN_VALUE,
        "value_type": "secret",
        "description": "",
    }
    assert payload["environment_variables"][1]["value"] == 1
    assert payload["hash"] is None and payload["conversation_variables"] == []


def _run_sync(fake: FakeRuntime, prefixes: tuple[str, ...], call: Any) -> Any:
    server = Recorded(*prefixes)
    with ConsoleClient(BASE, AUTH, options=options(server), runtime=fake.runtime()) as client:
        result = call(client)
    assert server.prefixes == []
    return result, server


@pytest.mark.parametrize(
    ("prefix", "status", "ok", "error"),
    [
        ("072", "completed", True, None),
        ("088", "completed-with-warnings", True, None),
        ("083", "pending", False, None),
        ("079", "failed", False, "App not found"),
        ("080", "failed", False, "Invalid YAML format"),
    ],
)
def test_import_dsl(fake: FakeRuntime, prefix: str, status: str, ok: bool, error: str | None) -> None:
    body = exchange(prefix)["request"]["body"]
    result, server = _run_sync(
        fake, (prefix,), lambda c: c.import_dsl(body["yaml_content"], app_id=body.get("app_id"))
    )
    assert result.status == status and result.ok is ok and result.pending is (status == "pending")
    if error:
        assert result.error.startswith(error)
    else:
        assert result.error is None
    assert len(server.requests) == 1
    assert result.to_dict()["status"] == status


def test_import_with_a_name(fake: FakeRuntime) -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return recorded("072", request=request)

    with ConsoleClient(BASE, AUTH, options=options(handler), runtime=fake.runtime()) as client:
        client.import_dsl("app: {}", name="copy")
    assert seen == [{"mode": "yaml-content", "yaml_content": "app: {}", "name": "copy"}]


def test_import_bad_request_without_an_import_body_raises(fake: FakeRuntime) -> None:
    server = Recorded("082")
    body = exchange("082")["request"]["body"]
    server_handler = server

    def handler(request: httpx.Request) -> httpx.Response:
        # replay 082 (a {"code": "invalid_param"} 400) for our yaml-content request
        server_handler.requests.append(request)
        return recorded("082", request=request)

    with ConsoleClient(BASE, AUTH, options=options(handler), runtime=fake.runtime()) as client:
        with pytest.raises(e.BadRequestError, match="Invalid import_mode"):
            client.import_dsl(body["yaml_content"])


@pytest.mark.parametrize("status", [500, 502, 503])
def test_import_is_never_retried_once_sent(fake: FakeRuntime, status: int) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status, json={"message": "boom"})

    with ConsoleClient(BASE, AUTH, options=options(handler), runtime=fake.runtime()) as client:
        with pytest.raises(e.ServerError):
            client.import_dsl("app: {}")
    assert calls == [1] and fake.sleeps == []


def test_confirm_import_once(fake: FakeRuntime) -> None:
    iid = "1de41a66-9ab2-4db2-9988-8b20ad048371"
    done, _ = _run_sync(fake, ("084",), lambda c: c.confirm_import(iid))
    assert (
        done.status == "completed"
        and done.app_mode == "advanced-chat"
        and done.imported_dsl_version == "0.7.0"
    )
    again, _ = _run_sync(fake, ("085",), lambda c: c.confirm_import(iid))
    assert again.status == "failed" and again.error == "Import information expired or does not exist"


def test_check_dependencies(fake: FakeRuntime) -> None:
    deps, _ = _run_sync(fake, ("089",), lambda c: c.check_dependencies(WF))
    assert deps == []


def test_publish_restore_and_model_config(fake: FakeRuntime) -> None:
    created, _ = _run_sync(
        fake, ("063",), lambda c: c.publish(WF, marked_name="v2", marked_comment="added env vars")
    )
    assert created == 1795259241
    new_hash, _ = _run_sync(
        fake, ("069",), lambda c: c.restore_version(WF, "a59facaa-c17a-4905-9bf4-7d8d2d4edcfa")
    )
    assert new_hash.startswith("c4ca42f2")
    with pytest.raises(e.NotFoundError, match="Workflow not found"):
        _run_sync(fake, ("071",), lambda c: c.restore_version(WF, "23f66802-8a89-4073-b972-0a6ea5afeb90"))


@respx.mock(base_url=BASE, assert_all_called=True)
def test_publish_without_names_and_model_config(respx_mock: respx.MockRouter, fake: FakeRuntime) -> None:
    publish = respx_mock.post(f"/console/api/apps/{WF}/workflows/publish").respond(
        200, json={"result": "success"}
    )
    config = respx_mock.post(f"/console/api/apps/{WF}/model-config").respond(200, json={"result": "success"})
    with ConsoleClient(BASE, AUTH, runtime=fake.runtime()) as client:
        assert client.publish(WF) is None
        client.update_model_config(WF, {"model": {"name": "gpt"}})
    assert json.loads(publish.calls.last.request.content) == {}
    assert json.loads(config.calls.last.request.content) == {"model": {"name": "gpt"}}


@respx.mock(base_url=BASE, assert_all_called=True)
def test_create_and_delete_keys(respx_mock: respx.MockRouter, fake: FakeRuntime) -> None:
    create = respx_mock.post(f"/console/api/apps/{WF}/api-keys").mock(
        side_effect=[httpx.Response(503), recorded("091")]
    )
    delete = respx_mock.delete(f"/console/api/apps/{WF}/api-keys/k1").mock(
        side_effect=[recorded("093"), recorded("095")]
    )
    with ConsoleClient(BASE, AUTH, runtime=fake.runtime()) as client:
        with pytest.raises(e.ServerError):
            client.create_api_key(WF)  # 503 after sending: never retried (it may have created a key)
        key = client.create_api_key(WF)
        assert key.token == "app-cuRof2ytbT7j4ZkPGQS1UnKn" and key.last_used_at is None
        client.delete_api_key(WF, "k1")
        with pytest.raises(e.NotFoundError, match="API key not found"):
            client.delete_api_key(WF, "k1")
    assert create.call_count == 2 and delete.call_count == 2
    assert fake.sleeps == []


@respx.mock(base_url=BASE, assert_all_called=False)
def test_max_keys_exceeded(respx_mock: respx.MockRouter, fake: FakeRuntime) -> None:
    respx_mock.post(f"/console/api/apps/{WF}/api-keys").respond(
        400,
        json={"code": "max_keys_exceeded", "message": "Cannot create more than 10 API keys", "status": 400},
    )
    with (
        ConsoleClient(BASE, AUTH, runtime=fake.runtime()) as client,
        pytest.raises(e.BadRequestError) as info,
    ):
        client.create_api_key(WF)
    assert info.value.code == "max_keys_exceeded"


# ---- server version ---------------------------------------------------------------------------------


class VersionServer:
    def __init__(self, health: Any, v1: Any) -> None:
        self.answers = {"/health": health, "/v1/": v1}
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        answer = self.answers.get(request.url.path)
        assert answer is None or "authorization" not in request.headers  # probes go without auth
        if answer is None:
            return httpx.Response(200, json={}, headers={"X-Version": "9.9.9"})
        result: httpx.Response = answer()
        return result


def _html404(version: str | None = None) -> Any:
    headers = {"content-type": "text/html", **({"X-Version": version} if version else {})}
    return lambda: httpx.Response(
        404, content=b"<!doctype html><title>404 Not Found</title>", headers=headers
    )


def _no_answer() -> httpx.Response:
    raise httpx.ReadTimeout("timed out")


@BOTH
@pytest.mark.parametrize(
    "failure", [_no_answer, lambda: (_ for _ in ()).throw(httpx.ConnectError("refused"))]
)
async def test_a_server_that_does_not_answer_the_first_probe_gets_no_second(
    is_async: bool, fake: FakeRuntime, failure: Any
) -> None:
    """/health and /v1/ are the same host and port: when the first probe got no answer (a timeout,
    a refused connection), the second would wait as long again for nothing. `login --timeout 2`
    against a silent server waited 6 s: /health, /v1/, then the login itself."""
    server = VersionServer(failure, lambda: httpx.Response(200, json={"server_version": "1.14.0"}))
    client = console(server, AUTH, is_async, fake)
    assert await resolve(client.server_version()) is None
    await close(client)
    assert "/health" in server.paths and "/v1/" not in server.paths


@BOTH
@pytest.mark.parametrize(
    ("health", "v1", "expected", "paths"),
    [
        (
            lambda: httpx.Response(200, json={"status": "ok", "version": "1.13.2"}),
            None,
            "1.13.2",
            ["/health"],
        ),
        (
            lambda: httpx.Response(200, json={"status": "ok"}, headers={"X-Version": "1.13.2"}),
            None,
            "1.13.2",
            ["/health"],
        ),
        (_html404(), _html404("1.13.2"), "1.13.2", ["/health", "/v1/"]),  # 1.13.2's /v1/ is an HTML 404
        (
            _html404(),
            lambda: httpx.Response(200, json={"welcome": "x", "server_version": "1.14.0"}),
            "1.14.0",
            ["/health", "/v1/"],
        ),
        (_html404(), _html404(), None, ["/health", "/v1/"]),
    ],
)
async def test_server_version(
    is_async: bool, fake: FakeRuntime, health: Any, v1: Any, expected: str | None, paths: list[str]
) -> None:
    server = VersionServer(health, v1)
    client = console(server, AUTH, is_async, fake)
    assert await resolve(client.server_version()) == expected
    await close(client)
    assert server.paths == paths


@BOTH
async def test_server_version_seen_already_costs_nothing(is_async: bool, fake: FakeRuntime) -> None:
    server = VersionServer(None, None)
    client = console(server, AUTH, is_async, fake)
    await resolve(client.profile())
    assert await resolve(client.server_version()) == "9.9.9"
    await close(client)
    assert server.paths == ["/console/api/account/profile"]


# ---- probe_server / logout ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "version", "reachable"),
    [
        (lambda r: httpx.Response(200, json={"status": "ok", "version": "1.13.2"}), "1.13.2", True),
        (
            lambda r: httpx.Response(
                404, text="<html/>", headers={"content-type": "text/html", "X-Version": "1.12.0"}
            ),
            "1.12.0",
            True,
        ),
        (lambda r: httpx.Response(404, text="<html/>", headers={"content-type": "text/html"}), None, True),
    ],
)
def test_probe_server(fake: FakeRuntime, handler: Any, version: str | None, reachable: bool) -> None:
    from difyctl.client.console import probe_server

    info = probe_server(f"{BASE}/", options=options(handler), runtime=fake.runtime())
    assert (info.base_url, info.version, info.reachable) == (BASE, version, reachable)
    assert (info.problem is None) == (version is not None)  # no version: says what answered instead


def test_probe_server_names_what_answered_instead_of_dify(fake: FakeRuntime) -> None:
    """The web UI's address given for the API: /health answers an HTML page with 200. The server is
    there, its version unknown, and why is said (`version` printed a bare "Dify unknown")."""
    from difyctl.client.console import probe_server

    page = lambda r: httpx.Response(200, text="<html>Dify</html>", headers={"content-type": "text/html"})  # noqa: E731
    info = probe_server(BASE, options=options(page), runtime=fake.runtime())
    assert (info.version, info.reachable) == (None, True)
    assert info.problem is not None and "text/html, not JSON" in info.problem
    assert info.problem_hint is not None and "base URL" in info.problem_hint


def test_probe_server_asks_health_once_when_it_answers_an_error(fake: FakeRuntime) -> None:
    """A gateway answering 502 to everything (Dify's api container down): /health is retried (a GET),
    then /v1/ may still carry X-Version (1.13.2's 404 page does, fixture 004 of 1.16.0). /health was
    asked a second time, three attempts more, each call with its own --timeout: `version --timeout 2`
    could wait three bounds, not one."""
    from difyctl.client.console import probe_server

    asked: list[str] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(502, text="<html>Bad Gateway</html>", headers={"content-type": "text/html"})

    info = probe_server(BASE, options=options(gateway), runtime=fake.runtime())
    assert (info.version, info.reachable) == (None, True)
    assert info.problem is not None and "502" in info.problem and "after 3 attempts" in info.problem
    assert asked == ["/health"] * 3 + ["/v1/"] * 3


def test_probe_server_unreachable(fake: FakeRuntime) -> None:
    from difyctl.client.console import probe_server

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    info = probe_server(BASE, options=options(refused), runtime=fake.runtime())
    assert (info.version, info.reachable) == (None, False)
    assert fake.sleeps == [0.5, 1.0]  # connect errors are retried like any unsent request


def test_console_logout(fake: FakeRuntime) -> None:
    answers = iter([recorded("109"), recorded("110")])
    with ConsoleClient(
        BASE, AUTH, options=options(lambda r: next(answers)), runtime=fake.runtime()
    ) as client:
        assert client.logout() is True
        assert client.logout() is False  # already logged out: 401


@respx.mock(base_url=BASE, assert_all_called=False)
def test_delete_app_is_a_204_and_never_retried(respx_mock: respx.MockRouter, fake: FakeRuntime) -> None:
    route = respx_mock.delete(f"/console/api/apps/{WF}").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(204),
            httpx.Response(404, json={"message": "App not found"}),
        ]
    )
    with ConsoleClient(BASE, AUTH, runtime=fake.runtime()) as client:
        with pytest.raises(e.ServerError):
            client.delete_app(WF)  # a DELETE that was sent is not retried
        client.delete_app(WF)
        with pytest.raises(e.NotFoundError):
            client.delete_app(WF)
    assert route.call_count == 3 and fake.sleeps == []
