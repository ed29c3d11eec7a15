"""Service API (/v1): auth, metadata endpoints, blocking runs, error bodies recorded on Dify 1.13.2."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest

from difyctl.emulator import EmulatorServer

from .helpers import logged_in, svc

USAGE_KEYS = {
    "prompt_tokens", "prompt_unit_price", "prompt_price_unit", "prompt_price", "completion_tokens",
    "completion_unit_price", "completion_price_unit", "completion_price", "total_tokens", "total_price",
    "currency", "latency", "time_to_first_token", "time_to_generate",
}  # fmt: skip


def key(server: EmulatorServer, name: str) -> str:
    return server.demo_keys()[name]


def test_health_version_header_and_not_found_pages(each_version: EmulatorServer) -> None:
    shared = each_version
    version = shared.emulator.version
    health = httpx.get(shared.base_url + "/health")
    expected: dict[str, object] = {"status": "ok", "version": version}
    if version == "1.16.0":
        expected["pid"] = os.getpid()  # 1.16.0/001
    assert health.json() == expected
    assert health.headers["x-version"] == version
    root = httpx.get(shared.base_url + "/v1/")
    assert root.status_code == 404 and root.headers["content-type"].startswith("text/html")
    assert root.headers["x-version"] == version
    unknown = httpx.get(shared.base_url + "/v1/nope")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    bad_method = httpx.delete(shared.base_url + "/v1/info")
    assert bad_method.status_code == 405 and bad_method.json()["code"] == "method_not_allowed"


def test_auth_errors(shared: EmulatorServer) -> None:
    missing = httpx.get(shared.base_url + "/v1/info")
    assert missing.status_code == 401
    assert missing.json() == {
        "code": "unauthorized",
        "message": "Authorization header must be provided and start with 'Bearer'",
        "status": 401,
    }
    bad = svc(shared.base_url, "app-thisIsNotARealKey000000", "GET", "/info")
    assert bad.json() == {"code": "unauthorized", "message": "Access token is invalid", "status": 401}


def test_info_parameters_meta_site(shared: EmulatorServer) -> None:
    base, k = shared.base_url, key(shared, "echo-workflow")
    info = svc(base, k, "GET", "/info").json()
    assert info == {
        "name": "echo-workflow",
        "description": "Start(query) -> End(result = query). No model provider needed.",
        "tags": [],
        "mode": "workflow",
        "author_name": "Admin",
    }
    params = svc(base, k, "GET", "/parameters").json()
    assert params["user_input_form"] == [
        {
            "text-input": {
                "label": "query",
                "max_length": 256,
                "options": [],
                "required": True,
                "type": "text-input",
                "variable": "query",
            }
        }
    ]
    assert params["system_parameters"]["workflow_file_upload_limit"] == 10
    assert svc(base, key(shared, "echo-chat"), "GET", "/parameters").json()["user_input_form"] == []
    completion = svc(base, key(shared, "echo-completion"), "GET", "/parameters").json()
    assert completion["user_input_form"][0]["text-input"]["variable"] == "query"
    assert svc(base, k, "GET", "/meta").json() == {"tool_icons": {}}
    assert svc(base, k, "GET", "/site").json()["title"] == "echo-workflow"


def test_unpublished_workflow_parameters_unavailable(server: EmulatorServer) -> None:
    with logged_in(server.base_url) as console:
        app = console.post("/apps", json={"name": "draft-only", "mode": "workflow"}).json()
        token = console.post(f"/apps/{app['id']}/api-keys").json()["token"]
    response = svc(server.base_url, token, "GET", "/parameters")
    assert response.status_code == 400
    assert response.json() == {
        "code": "app_unavailable",
        "message": "App unavailable, please check your app configurations.",
        "status": 400,
    }


def test_blocking_shapes(shared: EmulatorServer) -> None:
    base = shared.base_url
    wf = svc(
        base,
        key(shared, "echo-workflow"),
        "POST",
        "/workflows/run",
        json={"inputs": {"query": "hi"}, "user": "u"},
    )
    body = wf.json()
    assert wf.headers["content-type"] == "application/json; charset=utf-8"
    assert set(body) == {"task_id", "workflow_run_id", "data"}
    assert body["data"]["outputs"] == {"result": "hi"} and body["data"]["status"] == "succeeded"
    assert body["data"]["total_steps"] == 2 and body["data"]["total_tokens"] > 0
    chat = svc(
        base,
        key(shared, "echo-chat"),
        "POST",
        "/chat-messages",
        json={"inputs": {}, "query": "hello world", "user": "u"},
    ).json()
    assert chat["answer"] == "hello world" and chat["mode"] == "advanced-chat"
    assert set(chat["metadata"]["usage"]) == USAGE_KEYS
    usage = chat["metadata"]["usage"]
    assert usage["currency"] == "USD" and isinstance(usage["total_price"], str)
    assert (
        usage["prompt_tokens"] == 2 + 8
        and usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    )
    query = 'say "hi" \\ {ok}'
    js = svc(
        base,
        key(shared, "json-chat"),
        "POST",
        "/chat-messages",
        json={"inputs": {}, "query": query, "user": "u"},
    ).json()
    assert json.loads(js["answer"]) == {"status": "success", "data": {"echo": query}}
    comp = svc(
        base,
        key(shared, "echo-completion"),
        "POST",
        "/completion-messages",
        json={"inputs": {"query": "c1"}, "user": "u"},
    ).json()
    assert comp["answer"] == "c1" and "conversation_id" not in comp and comp["mode"] == "completion"


@pytest.mark.parametrize(
    ("app", "path", "body", "code", "message"),
    [
        ("echo-workflow", "/chat-messages", {"inputs": {}, "query": "x", "user": "u"}, "not_chat_app",
         "Please check if your app mode matches the right API route."),
        ("echo-chat", "/workflows/run", {"inputs": {}, "user": "u"}, "not_workflow_app",
         "Please check if your app mode matches the right API route."),
        ("echo-chat", "/completion-messages", {"inputs": {}, "user": "u"}, "app_unavailable",
         "App unavailable, please check your app configurations."),
        ("echo-workflow", "/workflows/run", {"inputs": {}, "user": "u"}, "invalid_param",
         "query is required in input form"),
        ("echo-workflow", "/workflows/run", {"inputs": {"query": "x" * 300}, "user": "u"}, "invalid_param",
         "query in input form must be less than 256 characters"),
        ("echo-workflow", "/workflows/run", {"inputs": {"query": "x"}}, "invalid_param",
         "Arg user must be provided."),
        ("echo-chat", "/chat-messages", {"inputs": {}, "query": "", "user": "u"}, "invalid_param",
         "query is required"),
    ],
)  # fmt: skip
def test_recorded_error_bodies(
    shared: EmulatorServer, app: str, path: str, body: dict[str, Any], code: str, message: str
) -> None:
    response = svc(shared.base_url, key(shared, app), "POST", path, json=body)
    assert response.status_code == 400
    assert response.json() == {"code": code, "message": message, "status": 400}


def test_bad_response_mode_and_invalid_json(shared: EmulatorServer) -> None:
    k = key(shared, "echo-workflow")
    bogus = svc(
        shared.base_url,
        k,
        "POST",
        "/workflows/run",
        json={"inputs": {"query": "x"}, "response_mode": "bogus", "user": "u"},
    )
    assert bogus.status_code == 400
    assert bogus.json()["message"].startswith("1 validation error for WorkflowRunPayload\nresponse_mode\n")
    broken = svc(
        shared.base_url,
        k,
        "POST",
        "/workflows/run",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert broken.json() == {
        "code": "bad_request",
        "message": "The browser (or proxy) sent a request that this server could not understand.",
        "status": 400,
    }


def test_agent_chat_refuses_blocking(server: EmulatorServer) -> None:
    with logged_in(server.base_url) as console:
        app = console.post("/apps", json={"name": "agent", "mode": "agent-chat"}).json()
        token = console.post(f"/apps/{app['id']}/api-keys").json()["token"]
    body = {"inputs": {}, "query": "q", "user": "u", "response_mode": "blocking"}
    response = svc(server.base_url, token, "POST", "/chat-messages", json=body)
    assert response.status_code == 400
    assert response.json()["message"] == "Agent Chat App does not support blocking mode"
    streamed = svc(
        server.base_url, token, "POST", "/chat-messages", json={**body, "response_mode": "streaming"}
    )
    assert streamed.status_code == 200 and "agent_message" in streamed.text


def test_conversations_continue_and_unknown(shared: EmulatorServer) -> None:
    k = key(shared, "echo-chat")
    first = svc(
        shared.base_url,
        k,
        "POST",
        "/chat-messages",
        json={"inputs": {}, "query": "first turn", "user": "conv-user"},
    ).json()
    conv = first["conversation_id"]
    second = svc(
        shared.base_url,
        k,
        "POST",
        "/chat-messages",
        json={"inputs": {}, "query": "second turn", "conversation_id": conv, "user": "conv-user"},
    ).json()
    assert second["conversation_id"] == conv and second["answer"] == "second turn"
    unknown = svc(
        shared.base_url,
        k,
        "POST",
        "/chat-messages",
        json={
            "inputs": {},
            "query": "x",
            "conversation_id": "00000000-0000-0000-0000-000000000000",
            "user": "conv-user",
        },
    )
    assert unknown.status_code == 404 and unknown.json()["message"].startswith("Conversation Not Exists.")
    other_user = svc(
        shared.base_url,
        k,
        "POST",
        "/chat-messages",
        json={"inputs": {}, "query": "x", "conversation_id": conv, "user": "someone-else"},
    )
    assert other_user.status_code == 404
    convs = svc(shared.base_url, k, "GET", "/conversations", params={"user": "conv-user", "limit": 5}).json()
    assert [c["id"] for c in convs["data"]] == [conv] and convs["data"][0]["name"] == "first turn"
    msgs = svc(
        shared.base_url, k, "GET", "/messages", params={"user": "conv-user", "conversation_id": conv}
    ).json()
    assert [m["query"] for m in msgs["data"]] == ["second turn", "first turn"]


def test_workflow_run_detail_and_logs(shared: EmulatorServer) -> None:
    k = key(shared, "echo-workflow")
    run = svc(
        shared.base_url, k, "POST", "/workflows/run", json={"inputs": {"query": "final check"}, "user": "ops"}
    ).json()
    detail = svc(shared.base_url, k, "GET", f"/workflows/run/{run['workflow_run_id']}").json()
    assert isinstance(detail["inputs"], str) and json.loads(detail["inputs"])["query"] == "final check"
    assert detail["outputs"] == {"result": "final check"}
    logs = svc(shared.base_url, k, "GET", "/workflows/logs", params={"page": 1, "limit": 5}).json()
    assert logs["data"][0]["workflow_run"]["id"] == run["workflow_run_id"]
    assert svc(shared.base_url, k, "GET", "/workflows/run/nope").status_code == 404


def test_disabled_api_is_forbidden(server: EmulatorServer) -> None:
    app_id = server.app_id("echo-chat")
    with logged_in(server.base_url) as console:
        assert console.post(f"/apps/{app_id}/api-enable", json={"enable_api": False}).status_code == 200
    response = svc(server.base_url, key(server, "echo-chat"), "GET", "/info")
    assert (
        response.status_code == 403
        and response.json()["message"] == "The app's API service has been disabled."
    )
