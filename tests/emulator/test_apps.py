"""Console apps and API keys."""

from __future__ import annotations

import json
from pathlib import Path

from difyctl.emulator import EmulatorServer

from .helpers import logged_in, svc

FIXTURES = Path(__file__).resolve().parents[1] / "contract" / "recordings" / "dify-1.16.0"
LIST_ITEM_KEYS = {
    "id", "name", "max_active_requests", "description", "mode", "icon_type", "icon", "icon_background",
    "model_config", "workflow", "use_icon_as_answer_icon", "created_by", "created_at", "updated_by",
    "updated_at", "tags", "access_mode", "create_user_name", "author_name", "has_draft_trigger", "icon_url",
    "permission_keys", "bound_agent_id", "app_id", "is_starred", "maintainer",  # new in 1.16 (011)
}  # fmt: skip
DETAIL_KEYS = {
    "id", "name", "description", "mode", "icon", "icon_background", "enable_site", "enable_api",
    "model_config", "workflow", "tracing", "use_icon_as_answer_icon", "created_by", "created_at",
    "updated_by", "updated_at", "access_mode", "tags", "icon_type", "api_base_url", "max_active_requests",
    "deleted_tools", "site", "icon_url",
    "permission_keys", "bound_agent_id", "app_id", "maintainer",  # new in 1.16 (014)
}  # fmt: skip


def test_list_pagination_and_filters() -> None:
    # one second for the whole seed: newest-first order must not depend on a second boundary
    frozen = 1_795_000_000.0
    with EmulatorServer(apps=12, clock=lambda: frozen) as server, logged_in(server.base_url) as console:
        page = console.get("/apps", params={"page": 1, "limit": 5}).json()
        assert (page["page"], page["limit"], page["total"], page["has_more"]) == (1, 5, 16, True)
        assert set(page["data"][0]) == LIST_ITEM_KEYS
        assert [a["name"] for a in page["data"][:2]] == ["echo-workflow", "echo-chat"]
        last = console.get("/apps", params={"page": 4, "limit": 5}).json()
        assert len(last["data"]) == 1 and last["has_more"] is False
        names = set()
        for n in (1, 2, 3, 4):
            names |= {a["name"] for a in console.get("/apps", params={"page": n, "limit": 5}).json()["data"]}
        assert len(names) == 16
        workflows = console.get("/apps", params={"mode": "workflow"}).json()
        assert [a["name"] for a in workflows["data"]] == ["echo-workflow"]
        json_apps = console.get("/apps", params={"name": "JSON"}).json()
        assert [a["name"] for a in json_apps["data"]] == ["json-chat"]
        assert console.get("/apps", params={"limit": 101}).status_code == 400
        assert console.get("/apps", params={"limit": 0}).status_code == 400


def test_detail_shape_and_not_found(shared: EmulatorServer) -> None:
    with logged_in(shared.base_url) as console:
        detail = console.get(f"/apps/{shared.app_id('echo-workflow')}").json()
        assert set(detail) == DETAIL_KEYS
        assert detail["api_base_url"] == shared.base_url + "/v1"
        assert detail["workflow"]["id"] == shared.state.app_by_name("echo-workflow").workflow_id  # type: ignore[union-attr]
        missing = console.get("/apps/a313f793-9705-4819-b4f6-b24e83a0a6f9")
        assert missing.status_code == 404
        assert missing.json() == {"code": "app_not_found", "message": "App not found.", "status": 404}
        completion = console.get(f"/apps/{shared.app_id('echo-completion')}").json()
        assert completion["workflow"] is None and completion["model_config"]["pre_prompt"] == "{{query}}"


def test_detail_matches_fixture_shape_when_recorded(shared: EmulatorServer) -> None:
    recorded = FIXTURES / "014-console-app-detail-workflow.json"
    expected = json.loads(recorded.read_text())["response"]["json"]
    with logged_in(shared.base_url) as console:
        detail = console.get(f"/apps/{shared.app_id('echo-workflow')}").json()
    assert set(detail) == set(expected)
    assert set(detail["site"]) == set(expected["site"])


def test_api_keys_lifecycle(server: EmulatorServer) -> None:
    app_id = server.app_id("echo-workflow")
    with logged_in(server.base_url) as console:
        listed = console.get(f"/apps/{app_id}/api-keys").json()["data"]
        assert len(listed) == 1 and set(listed[0]) == {"id", "type", "token", "last_used_at", "created_at"}
        assert listed[0]["type"] == "app" and listed[0]["token"].startswith("app-")
        assert len(listed[0]["token"]) == 28
        created = console.post(f"/apps/{app_id}/api-keys")
        assert created.status_code == 201 and created.json()["last_used_at"] is None
        key = created.json()
        assert svc(server.base_url, key["token"], "GET", "/info").status_code == 200
        deleted = console.request("DELETE", f"/apps/{app_id}/api-keys/{key['id']}")
        assert deleted.status_code == 204 and deleted.content == b""
        rejected = svc(server.base_url, key["token"], "GET", "/info")
        assert rejected.status_code == 401 and rejected.json()["message"] == "Access token is invalid"
        again = console.request("DELETE", f"/apps/{app_id}/api-keys/{key['id']}")
        assert (again.status_code, again.json()) == (404, {"message": "API key not found"})
        # the route takes <uuid:api_key_id> (api/controllers/console/apikey.py): another id matches no
        # route, and Flask answers its own 404, not the resource's "API key not found"
        token_as_id = console.request("DELETE", f"/apps/{app_id}/api-keys/{key['token']}")
        assert token_as_id.status_code == 404 and token_as_id.json()["code"] == "not_found"
        assert token_as_id.json()["message"].startswith("The requested URL was not found on the server.")
        for _ in range(9):
            assert console.post(f"/apps/{app_id}/api-keys").status_code == 201
        over = console.post(f"/apps/{app_id}/api-keys")
        assert over.status_code == 400 and over.json()["code"] == "max_keys_exceeded"


def test_create_and_delete_app(server: EmulatorServer) -> None:
    with logged_in(server.base_url) as console:
        body = {
            "name": "scratch",
            "mode": "workflow",
            "description": "temp",
            "icon_type": "emoji",
            "icon": "🤖",
        }
        created = console.post("/apps", json=body)
        assert created.status_code == 201
        app = created.json()
        assert app["workflow"] is None and app["mode"] == "workflow"
        draft = console.get(f"/apps/{app['id']}/workflows/draft")
        assert draft.status_code == 404 and draft.json()["code"] == "draft_workflow_not_exist"
        assert console.request("DELETE", f"/apps/{app['id']}").status_code == 204
        assert console.get(f"/apps/{app['id']}").status_code == 404
        assert console.post("/apps", json={"name": "x", "mode": "bogus"}).status_code == 400
        chat = console.post("/apps", json={"name": "chatty", "mode": "chat"}).json()
        assert chat["model_config"]["model"]["provider"] == "langgenius/openai/openai"
