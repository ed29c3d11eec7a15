"""Phase 2: DSL export/import/confirm, drafts with the hash lock, secrets, publish, versions, restore."""

from __future__ import annotations

import time
from typing import Any

import yaml

from difyctl.emulator import EmulatorServer
from difyctl.emulator.models import SECRET_MASK

from .helpers import Console, FakeClock, logged_in, svc


def _var(var_id: str, name: str, value: object, value_type: str) -> dict[str, Any]:
    return {"id": var_id, "name": name, "value": value, "value_type": value_type, "description": name.lower()}


ENV = [
    _var("453df750-ccc2-4907-9206-3e3a7767a7eb", "GREETING", "hello-env", "string"),
    _var("bfc44d4c-1605-45be-a969-409a9db72dd2", "RETRIES", 3, "number"),
    _var("f0a0eaaa-a6d7-4c70-b1b1-b8bff77e621d", "API_TOKEN", "fake-local-secret-123", "secret"),
]


def export(console: Console, app_id: str, **params: str) -> str:
    response = console.get(f"/apps/{app_id}/export", params=params)
    assert response.status_code == 200, response.text
    return str(response.json()["data"])


def sync(
    console: Console, app_id: str, env: list[dict[str, Any]], hash_: str | None = None
) -> dict[str, Any]:
    draft = console.get(f"/apps/{app_id}/workflows/draft").json()
    body = {
        "graph": draft["graph"],
        "features": draft["features"],
        "hash": hash_ or draft["hash"],
        "environment_variables": env,
        "conversation_variables": [],
    }
    response = console.post(f"/apps/{app_id}/workflows/draft", json=body)
    return {"status": response.status_code, **response.json()}


def stored_secret(console: Console, app_id: str) -> object:
    data = yaml.safe_load(export(console, app_id, include_secret="true"))
    return {v["name"]: v["value"] for v in data["workflow"]["environment_variables"]}.get("API_TOKEN")


def test_export_is_stable_and_hides_secrets(server: EmulatorServer) -> None:
    app_id = server.app_id("echo-workflow")
    with logged_in(server.base_url) as console:
        assert sync(console, app_id, ENV)["status"] == 200
        first, second = export(console, app_id), export(console, app_id)
        assert first == second
        data = yaml.safe_load(first)
        assert list(data) == ["app", "dependencies", "kind", "version", "workflow"]
        env = {v["name"]: v for v in data["workflow"]["environment_variables"]}
        assert env["API_TOKEN"]["value"] == "" and env["RETRIES"]["value_type"] == "integer"
        assert env["GREETING"]["selector"] == ["env", "GREETING"]
        assert stored_secret(console, app_id) == "fake-local-secret-123"
        draft = console.get(f"/apps/{app_id}/workflows/draft").json()
        masked = {v["name"]: v["value"] for v in draft["environment_variables"]}
        assert masked["API_TOKEN"] == SECRET_MASK and masked["RETRIES"] == 3


def test_draft_hash_lock_and_secret_table(server: EmulatorServer) -> None:
    app_id = server.app_id("echo-workflow")
    with logged_in(server.base_url) as console:
        stale = sync(console, app_id, ENV, hash_="0" * 64)
        assert stale["status"] == 409 and stale["code"] == "draft_workflow_not_sync"
        assert sync(console, app_id, ENV)["status"] == 200
        secret_id = ENV[2]["id"]
        for sent, expected in [
            ("[__HIDDEN__]", "fake-local-secret-123"),
            (SECRET_MASK, "fake-local-secret-123"),
            ("rotated-1", "rotated-1"),
            ("", ""),
        ]:
            env = [*ENV[:2], {**ENV[2], "value": sent}]
            assert sync(console, app_id, env)["status"] == 200
            assert stored_secret(console, app_id) == expected
        unknown = [
            *ENV[:2],
            {**ENV[2], "id": "11111111-1111-1111-1111-111111111111", "value": "[__HIDDEN__]"},
        ]
        sync(console, app_id, unknown)
        assert stored_secret(console, app_id) == "[__HIDDEN__]"
        no_id = sync(console, app_id, [{"name": "X", "value": "1", "value_type": "string"}])
        assert no_id["status"] == 400 and no_id["message"] == "environment variable require a unique id"
        assert secret_id


def test_publish_versions_rename_restore(server: EmulatorServer) -> None:
    clock = FakeClock(time.time())
    server.emulator.config.clock = clock
    app_id = server.app_id("echo-workflow")
    with logged_in(server.base_url) as console:
        clock.advance(5)
        assert sync(console, app_id, ENV)["status"] == 200
        published = console.post(
            f"/apps/{app_id}/workflows/publish", json={"marked_name": "v2", "marked_comment": "env"}
        )
        assert published.status_code == 200 and set(published.json()) == {"result", "created_at"}
        listing = console.get(f"/apps/{app_id}/workflows", params={"page": 1, "limit": 10}).json()
        assert [i["version"] for i in listing["items"]][0] == "draft"
        assert [i["marked_name"] for i in listing["items"]] == ["", "v2", "v1"]
        named = console.get(f"/apps/{app_id}/workflows", params={"named_only": "true"}).json()
        assert [i["marked_name"] for i in named["items"]] == ["v2", "v1"]
        paged = console.get(f"/apps/{app_id}/workflows", params={"limit": 1}).json()
        assert len(paged["items"]) == 1 and paged["has_more"] is True
        v1 = listing["items"][2]
        renamed = console.request(
            "PATCH", f"/apps/{app_id}/workflows/{v1['id']}", json={"marked_name": "v1-initial"}
        )
        assert renamed.status_code == 200 and renamed.json()["marked_name"] == "v1-initial"
        old = yaml.safe_load(export(console, app_id, workflow_id=v1["id"]))
        assert old["workflow"]["environment_variables"] == []
        pub = console.get(f"/apps/{app_id}/workflows/publish").json()
        assert pub["marked_name"] == "v2" and pub["version"] != "draft"
        restored = console.post(f"/apps/{app_id}/workflows/{v1['id']}/restore")
        assert restored.status_code == 200 and set(restored.json()) == {"result", "hash", "updated_at"}
        assert console.get(f"/apps/{app_id}/workflows/draft").json()["environment_variables"] == []
        missing = console.post(f"/apps/{app_id}/workflows/23f66802-8a89-4073-b972-0a6ea5afeb90/restore")
        assert missing.status_code == 404 and missing.json()["message"] == "Workflow not found."
        in_use = console.request("DELETE", f"/apps/{app_id}/workflows/{pub['id']}")
        assert in_use.status_code == 400
        assert console.request("DELETE", f"/apps/{app_id}/workflows/{v1['id']}").status_code == 204


def test_import_statuses_confirm_and_overwrite(server: EmulatorServer) -> None:
    wf_id = server.app_id("echo-workflow")
    with logged_in(server.base_url) as console:
        chat_yaml = export(console, server.app_id("echo-chat"))
        created = console.post("/apps/imports", json={"mode": "yaml-content", "yaml_content": chat_yaml})
        assert created.status_code == 200 and created.json()["status"] == "completed"
        assert created.json()["app_id"] != server.app_id("echo-chat")
        mismatch = console.post(
            "/apps/imports", json={"mode": "yaml-content", "yaml_content": chat_yaml, "app_id": wf_id}
        )
        assert mismatch.status_code == 200 and mismatch.json()["app_mode"] == "workflow"
        detail = console.get(f"/apps/{wf_id}").json()
        assert (detail["name"], detail["mode"]) == ("echo-chat", "workflow")
        assert "version: 0.7.0" in chat_yaml  # 1.16.0/015
        older = chat_yaml.replace("version: 0.7.0", "version: 0.6.0")
        warned = console.post("/apps/imports", json={"mode": "yaml-content", "yaml_content": older})
        assert warned.json()["status"] == "completed-with-warnings"
        newer = chat_yaml.replace("version: 0.7.0", "version: 0.9.0")
        pending = console.post("/apps/imports", json={"mode": "yaml-content", "yaml_content": newer})
        assert pending.status_code == 202 and pending.json()["app_id"] is None
        import_id = pending.json()["id"]
        confirmed = console.post(f"/apps/imports/{import_id}/confirm")
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "completed"
        again = console.post(f"/apps/imports/{import_id}/confirm")
        assert again.status_code == 400
        assert again.json()["error"] == "Import information expired or does not exist"
        deps = console.get(f"/apps/imports/{confirmed.json()['app_id']}/check-dependencies")
        assert deps.json() == {"leaked_dependencies": []}
        completion_yaml = export(console, server.app_id("echo-completion"))
        refused = console.post(
            "/apps/imports",
            json={
                "mode": "yaml-content",
                "yaml_content": chat_yaml,
                "app_id": server.app_id("echo-completion"),
            },
        )
        assert refused.json()["error"] == "Only workflow or advanced chat apps can be overwritten"
        copy = console.post("/apps/imports", json={"mode": "yaml-content", "yaml_content": completion_yaml})
        assert copy.json()["app_mode"] == "completion"


def test_import_failures(shared: EmulatorServer) -> None:
    with logged_in(shared.base_url) as console:
        cases = {
            "app: [unclosed": "Invalid YAML format: while parsing a flow sequence",
            "version: 0.7.0\nkind: app\n": "Missing app data in YAML content",
        }
        for content, error in cases.items():
            response = console.post("/apps/imports", json={"mode": "yaml-content", "yaml_content": content})
            assert response.status_code == 400 and response.json()["error"].startswith(error)
            assert response.json()["imported_dsl_version"] == ""
        unknown = console.post(
            "/apps/imports",
            json={
                "mode": "yaml-content",
                "yaml_content": "app: {mode: workflow}\n",
                "app_id": "908adf6e-536b-4e7b-8618-099b347ae245",
            },
        )
        assert unknown.json()["error"] == "App not found"
        bad_mode = console.post("/apps/imports", json={"mode": "yaml", "yaml_content": "x"})
        assert bad_mode.json() == {
            "code": "invalid_param",
            "message": "Invalid import_mode: yaml",
            "status": 400,
        }


def test_overwrite_then_publish_changes_service_answers(server: EmulatorServer) -> None:
    app_id = server.app_id("echo-workflow")
    key = server.demo_keys()["echo-workflow"]
    with logged_in(server.base_url) as console:
        text = export(console, app_id).replace("variable: result", "variable: echo_v3")
        assert (
            console.post(
                "/apps/imports", json={"mode": "yaml-content", "yaml_content": text, "app_id": app_id}
            ).status_code
            == 200
        )
        before = svc(
            server.base_url, key, "POST", "/workflows/run", json={"inputs": {"query": "a"}, "user": "u"}
        ).json()
        assert before["data"]["outputs"] == {"result": "a"}
        console.post(f"/apps/{app_id}/workflows/publish", json={"marked_name": "v3"})
        after = svc(
            server.base_url, key, "POST", "/workflows/run", json={"inputs": {"query": "a"}, "user": "u"}
        ).json()
        assert after["data"]["outputs"] == {"echo_v3": "a"}


def test_model_config_update(server: EmulatorServer) -> None:
    app_id = server.app_id("echo-completion")
    key = server.demo_keys()["echo-completion"]
    with logged_in(server.base_url) as console:
        config = console.get(f"/apps/{app_id}").json()["model_config"]
        config["pre_prompt"] = "Echo: {{query}}"
        assert console.post(f"/apps/{app_id}/model-config", json=config).json() == {"result": "success"}
        wf_app = server.app_id("echo-workflow")
        assert console.post(f"/apps/{wf_app}/model-config", json=config).status_code == 400
    answer = svc(
        server.base_url, key, "POST", "/completion-messages", json={"inputs": {"query": "x"}, "user": "u"}
    )
    assert answer.json()["answer"] == "Echo: x"
