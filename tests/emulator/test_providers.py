"""Model-provider credentials: add -> switch -> delete, obfuscation, [__HIDDEN__], validation, runs."""

from __future__ import annotations

from difyctl.emulator import EDITOR_EMAIL, EDITOR_PASSWORD, EmulatorServer

from .helpers import logged_in, svc

PROVIDER = "langgenius/openai/openai"
CREDS = f"/workspaces/current/model-providers/{PROVIDER}/credentials"


def test_multi_credential_rotation(server: EmulatorServer) -> None:
    key = server.demo_keys()["echo-completion"]
    body = {"inputs": {"query": "x"}, "user": "u"}
    with logged_in(server.base_url) as console:
        providers = console.get("/workspaces/current/model-providers").json()["data"]
        config = next(p for p in providers if p["provider"] == PROVIDER)["custom_configuration"]
        assert config["status"] == "active" and config["current_credential_name"] == "API KEY 1"
        old_id = config["current_credential_id"]
        shown = console.get(CREDS).json()["credentials"]
        assert shown == {"openai_api_key": "sk-emu" + "*" * 12 + "01"}
        bad = console.post(CREDS, json={"credentials": {"openai_api_key": "sk-invalid-123456"}})
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_param"
        check = console.post(
            CREDS + "/validate", json={"credentials": {"openai_api_key": "sk-invalid-1"}}
        ).json()
        assert check["result"] == "error" and check["error"]
        ok = console.post(CREDS + "/validate", json={"credentials": {"openai_api_key": "sk-new-0002"}}).json()
        assert ok == {"result": "success"}
        added = console.post(
            CREDS, json={"credentials": {"openai_api_key": "sk-new-key-0002"}, "name": "rotated"}
        )
        assert added.status_code == 201 and added.json() == {"result": "success"}
        config = console.get("/workspaces/current/model-providers").json()["data"][0]["custom_configuration"]
        new_id = next(
            c["credential_id"] for c in config["available_credentials"] if c["credential_name"] == "rotated"
        )
        assert console.post(CREDS + "/switch", json={"credential_id": old_id}).json() == {"result": "success"}
        assert console.post(CREDS + "/switch", json={"credential_id": new_id}).status_code == 200
        kept = console.request(
            "PUT", CREDS, json={"credential_id": new_id, "credentials": {"openai_api_key": "[__HIDDEN__]"}}
        )
        assert kept.status_code == 200
        assert (
            console.get(CREDS, params={"credential_id": new_id})
            .json()["credentials"]["openai_api_key"]
            .endswith("02")
        )
        assert console.request("DELETE", CREDS, json={"credential_id": old_id}).status_code == 204
        assert svc(server.base_url, key, "POST", "/completion-messages", json=body).status_code == 200
        assert console.request("DELETE", CREDS, json={"credential_id": new_id}).status_code == 204
    failed = svc(server.base_url, key, "POST", "/completion-messages", json=body)
    assert failed.status_code == 400 and failed.json()["code"] == "provider_not_initialize"


def test_credential_writes_need_admin(server: EmulatorServer) -> None:
    with logged_in(server.base_url, EDITOR_EMAIL, EDITOR_PASSWORD) as editor:
        denied = editor.post(CREDS, json={"credentials": {"openai_api_key": "sk-editor-000001"}})
        assert denied.status_code == 403
        assert editor.get(CREDS).status_code == 200
