"""ConsoleClient: workspace role and model-provider credentials (MockTransport/respx, the 1.13 shapes)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from difyctl.client import errors as e
from difyctl.client.auth import AdminKeyAuth
from difyctl.client.console import ConsoleClient
from difyctl.client.models import ModelProvider, WorkspaceInfo

from .conftest import BASE, FakeRuntime

AUTH = AdminKeyAuth("admin-key", "ws-1")
PROV = "langgenius/openai/openai"
CREDS = f"/console/api/workspaces/current/model-providers/{PROV}/credentials"
LIST = {
    "data": [
        {
            "provider": PROV,
            "custom_configuration": {
                "status": "active",
                "current_credential_id": "c1",
                "current_credential_name": "API KEY 1",
                "available_credentials": [
                    {"credential_id": "c1", "credential_name": "API KEY 1"},
                    {"credential_id": "c2", "credential_name": "spare"},
                ],
            },
        },
        "not an object",
    ]
}


@respx.mock(base_url=BASE, assert_all_called=True)
def test_list_providers_and_role(respx_mock: respx.MockRouter, fake: FakeRuntime) -> None:
    route = respx_mock.get("/console/api/workspaces/current/model-providers").respond(200, json=LIST)
    respx_mock.post("/console/api/workspaces/current").respond(
        200, json={"id": "ws-1", "name": "W", "role": "editor"}
    )
    with ConsoleClient(BASE, AUTH, runtime=fake.runtime()) as client:
        (provider,) = client.list_providers(model_type="llm")
        ws = client.current_workspace()
    assert route.calls.last.request.url.params["model_type"] == "llm"
    assert provider == ModelProvider.from_api(LIST["data"][0])  # type: ignore[arg-type]
    assert provider.to_dict()["credentials"] == [
        {"id": "c1", "name": "API KEY 1"},
        {"id": "c2", "name": "spare"},
    ]
    assert provider.current_credential_id == "c1" and provider.status == "active"
    assert ws == WorkspaceInfo("ws-1", "W", "editor") and not ws.is_admin
    assert WorkspaceInfo.from_api({"role": "owner"}).is_admin
    assert ModelProvider.from_api({"provider": "x"}).credentials == ()


@respx.mock(base_url=BASE, assert_all_called=True)
def test_credential_crud_keeps_the_slashes_of_the_provider(
    respx_mock: respx.MockRouter, fake: FakeRuntime
) -> None:
    get = respx_mock.get(CREDS).respond(200, json={"credentials": {"openai_api_key": "sk-abc************yz"}})
    add = respx_mock.post(CREDS).respond(201, json={"result": "success"})
    put = respx_mock.put(CREDS).respond(200, json={"result": "success"})
    delete = respx_mock.delete(CREDS).respond(204)
    switch = respx_mock.post(CREDS + "/switch").respond(200, json={"result": "success"})
    validate = respx_mock.post(CREDS + "/validate").mock(
        side_effect=[
            httpx.Response(200, json={"result": "success"}),
            httpx.Response(200, json={"result": "error", "error": "Incorrect API key"}),
        ]
    )
    with ConsoleClient(BASE, AUTH, runtime=fake.runtime()) as client:
        assert client.get_provider_credentials(PROV, "c2") == {"openai_api_key": "sk-abc************yz"}
        client.add_provider_credential(PROV, {"openai_api_key": "sk-new"}, name="rotated")
        client.update_provider_credential(PROV, "c2", {"openai_api_key": "[__HIDDEN__]"})
        client.delete_provider_credential(PROV, "c1")
        client.switch_provider_credential(f"/{PROV}/", "c2")
        assert client.validate_provider_credentials(PROV, {"openai_api_key": "sk-new"}) is None
        assert client.validate_provider_credentials(PROV, {"openai_api_key": "x"}) == "Incorrect API key"
    assert get.calls.last.request.url.params["credential_id"] == "c2"
    assert json.loads(add.calls.last.request.content) == {
        "credentials": {"openai_api_key": "sk-new"},
        "name": "rotated",
    }
    assert json.loads(put.calls.last.request.content) == {
        "credential_id": "c2",
        "credentials": {"openai_api_key": "[__HIDDEN__]"},
    }
    assert json.loads(delete.calls.last.request.content) == {"credential_id": "c1"}
    assert json.loads(switch.calls.last.request.content) == {"credential_id": "c2"}
    assert validate.call_count == 2


@respx.mock(base_url=BASE, assert_all_called=True)
def test_add_refused_by_the_provider_is_a_bad_request_and_never_retried(
    respx_mock: respx.MockRouter, fake: FakeRuntime
) -> None:
    add = respx_mock.post(CREDS).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(
                400, json={"code": "invalid_param", "message": "Incorrect API key", "status": 400}
            ),
        ]
    )
    with ConsoleClient(BASE, AUTH, runtime=fake.runtime()) as client:
        with pytest.raises(e.ServerError):
            client.add_provider_credential(PROV, {"openai_api_key": "sk"})
        with pytest.raises(e.BadRequestError, match="Incorrect API key"):
            client.add_provider_credential(PROV, {"openai_api_key": "sk"})
    assert add.call_count == 2


_405 = {
    "code": "method_not_allowed",
    "message": "The method is not allowed for the requested URL.",
    "status": 405,
}
_WS = {"id": "ws-1", "name": "W", "role": "admin"}


def _role_server(methods: set[str], seen: list[str], status: int = 405) -> httpx.MockTransport:
    """/workspaces/current serving `methods` only: POST from Dify 1.10.1 (langgenius/dify #27858,
    api/controllers/console/workspace/workspace.py `TenantApi.post`; fixture dify-1.16.0/009-010),
    GET on 1.9.x-1.10.0."""

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/console/api/workspaces/current"
        seen.append(request.method)
        if request.method in methods:
            return httpx.Response(200, json=_WS)
        return httpx.Response(status, json=_405 if status == 405 else {"code": "x", "message": "x"})

    return httpx.MockTransport(handle)


def test_role_check_posts_on_current_servers(fake: FakeRuntime) -> None:
    from .conftest import console

    seen: list[str] = []
    with console(_role_server({"POST"}, seen), AUTH, False, fake) as client:
        assert client.current_workspace().role == "admin"
    assert seen == ["POST"]


def test_role_check_falls_back_to_get_once_on_a_1_9_server(fake: FakeRuntime) -> None:
    from .conftest import console

    seen: list[str] = []
    with console(_role_server({"GET"}, seen), AUTH, False, fake) as client:
        assert client.current_workspace() == WorkspaceInfo("ws-1", "W", "admin")
    assert seen == ["POST", "GET"]


def test_role_check_other_errors_are_not_retried_with_get(fake: FakeRuntime) -> None:
    from .conftest import console

    seen: list[str] = []
    with console(_role_server(set(), seen, status=403), AUTH, False, fake) as client:
        with pytest.raises(e.PermissionDeniedError):
            client.current_workspace()
    assert seen == ["POST"]
    seen.clear()
    with console(_role_server(set(), seen), AUTH, False, fake) as client:
        with pytest.raises(e.DifyStatusError) as info:
            client.current_workspace()
    assert info.value.status_code == 405 and seen == ["POST", "GET"]
