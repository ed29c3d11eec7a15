"""The typed results: tolerant `from_api`, stable `to_dict`."""

from __future__ import annotations

from typing import Any

from difyctl.client.models import (
    HIDDEN_VALUE,
    SECRET_MASK,
    App,
    AppInfo,
    AppParameters,
    EnvVar,
    ImportResult,
    RunResult,
    Usage,
    Workflow,
)

from .conftest import exchange


def test_app_from_the_recording_and_tolerance() -> None:
    raw = exchange("045")["response"]["json"]["data"][0]
    app = App.from_api(raw)
    assert app.to_dict()["tags"] == [] and app.is_published
    odd = App.from_api(
        {
            "id": 1,
            "mode": "workflow",
            "workflow": None,
            "created_at": "soon",
            "tags": [{"name": "t"}, "x"],
            "enable_api": "yes",
            "max_active_requests": "3",
        }
    )
    assert (odd.id, odd.created_at, odd.tags, odd.enable_api, odd.max_active_requests) == (
        "1",
        None,
        ("t",),
        None,
        3,
    )
    assert not odd.is_published


def test_usage_tolerance() -> None:
    assert Usage.from_api(None) == Usage()
    usage = Usage.from_api({"total_tokens": "12", "latency": "fast", "total_price": 0.5})
    assert (usage.total_tokens, usage.latency_s, usage.total_price) == (12, None, "0.5")
    assert Usage.from_api({"latency": "1.5"}).latency_s == 1.5


def test_parameters_tolerance() -> None:
    params = AppParameters.from_api(exchange("027")["response"]["json"])
    assert isinstance(params.inputs, tuple)
    odd = AppParameters.from_api(
        {
            "user_input_form": [
                {},
                "x",
                {"select": "nope"},
                {"select": {"variable": "v", "options": ["a", "b"]}},
            ]
        }
    )
    (field,) = odd.inputs
    assert (field.type, field.label, field.options, field.required) == ("select", "v", ("a", "b"), False)


def test_app_info() -> None:
    info = AppInfo.from_api({"name": "n", "mode": "chat", "tags": ["a"]})
    assert info.tags == ("a",) and info.author_name is None


def test_import_result() -> None:
    failed = ImportResult.from_api(exchange("079")["response"]["json"])
    assert (failed.ok, failed.pending, failed.app_id, failed.imported_dsl_version) == (
        False,
        False,
        None,
        None,
    )
    assert failed.current_dsl_version == "0.6.0"


def test_env_var_masking() -> None:
    secret = EnvVar.from_api({"id": "1", "name": "K", "value": "s3cret", "value_type": "secret"})
    assert secret.to_dict() == {
        "id": "1",
        "name": "K",
        "value": SECRET_MASK,
        "value_type": "secret",
        "description": "",
    }
    assert secret.to_dict(show_secret=True)["value"] == "s3cret"
    empty = EnvVar("1", "K", "", "secret")
    assert empty.to_dict()["value"] == ""
    assert EnvVar.from_api({}).value_type == "string"
    assert HIDDEN_VALUE == "[__HIDDEN__]"


def test_workflow_tolerance() -> None:
    wf = Workflow.from_api(
        {"environment_variables": ["x", {"name": "A"}], "conversation_variables": [1, {"id": "c"}]}
    )
    assert [v.name for v in wf.environment_variables] == ["A"]
    assert wf.conversation_variables == ({"id": "c"},) and not wf.is_draft and wf.graph == {}


def test_run_result_to_dict() -> None:
    chat = RunResult(mode="chat", answer="hi", latency_ms=12.345, ttft_ms=1.26)
    out: dict[str, Any] = chat.to_dict()
    assert (
        out["answer"] == "hi" and "outputs" not in out and out["latency_ms"] == 12.3 and out["ttft_ms"] == 1.3
    )
    wf = RunResult(mode="workflow", status="partial-succeeded")
    assert wf.ok and wf.to_dict()["outputs"] is None and "answer" not in wf.to_dict()
    assert not RunResult(mode="chat", error="x").ok
