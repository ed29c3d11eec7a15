from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from difyctl.errors import UsageError
from difyctl.exit_codes import ExitCode
from difyctl.snapshots.diff import SECRET_CHANGED, semantic_diff
from difyctl.snapshots.dsl import (
    HIDDEN,
    blank_secret_names,
    content_hash,
    dump_dsl,
    env_for_draft_sync,
    export_facts,
    fill_secrets,
    normalise,
    parse_dsl,
    read_dsl_file,
    secret_values,
    secret_variables,
)
from tests.snapshots.conftest import APP_ID, DATA, SECRET, load
from tests.snapshots.fakes import FakeConsole


# ------------------------------------------------------------------------------------------- parsing
def test_parse_real_export_roundtrips() -> None:
    doc = parse_dsl((DATA / "echo-workflow.yml").read_bytes(), "059.yml")
    assert doc["app"]["mode"] == "workflow"
    assert parse_dsl(dump_dsl(doc)) == doc


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("app: [unclosed", "line 1"),
        ("app:\n  mode: workflow\n  name: x\n bad: [", "line 4"),
        ("- just\n- a list\n", "not a Dify DSL document"),
        ("kind: app\n", "missing `app:`"),
        ("app:\n  mode: workflow\n", "needs a `workflow:` section"),
        (b"\xff\xfe\x00", "not UTF-8"),
    ],
)
def test_malformed_is_a_usage_error_naming_file_and_line(text: str | bytes, needle: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_dsl(text, "snapshots/x/v1.yml")
    assert info.value.exit_code == ExitCode.USAGE
    assert "snapshots/x/v1.yml" in info.value.message and needle in info.value.message


@pytest.mark.parametrize("name", ["echo-workflow.yml", "echo-chatflow.yml", "echo-workflow-secret.yml"])
def test_export_facts_are_those_of_the_parsed_document(name: str) -> None:
    """What a save records without copying the document: the content hash and DSL version of
    `parse_dsl` (a timestamp version as parse_dsl writes it: ISO text)."""
    raw = (DATA / name).read_bytes()
    doc = parse_dsl(raw, name)
    assert export_facts(raw, name) == (content_hash(doc), str(doc["version"]))
    odd = raw.replace(b"version: ", b"version: 2024-01-02 03:04:05\nold_version: ", 1)
    assert export_facts(odd, name) == (content_hash(parse_dsl(odd)), "2024-01-02T03:04:05")
    with pytest.raises(UsageError, match="not a Dify DSL document"):
        export_facts("- a list\n", name)


def test_read_dsl_file_missing(tmp_path: Any) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        read_dsl_file(tmp_path / "nope.yml")


def test_safe_load_refuses_python_tags() -> None:
    with pytest.raises(UsageError):
        parse_dsl("app: !!python/object/apply:os.system ['true']\n")


# ------------------------------------------------------------------------------------- normalise
def test_normalise_drops_ui_only_fields() -> None:
    norm = normalise(load("echo-workflow.yml"))
    node = norm["workflow"]["graph"]["nodes"][0]
    for key in ("position", "positionAbsolute", "selected", "width", "height", "sourcePosition"):
        assert key not in node
    assert "selected" not in node["data"]
    assert "viewport" not in norm["workflow"]["graph"]
    assert "zIndex" not in norm["workflow"]["graph"]["edges"][0]
    assert not any(k.startswith("icon") for k in norm["app"])
    assert norm["app"]["use_icon_as_answer_icon"] is False  # a real setting: kept


def test_content_hash_equal_with_and_without_secrets_and_across_versions() -> None:
    plain, secret = load("echo-workflow.yml"), load("echo-workflow-secret.yml")
    assert content_hash(plain) == content_hash(secret)
    bumped = dict(plain, version="0.7.0")
    assert content_hash(bumped) == content_hash(plain)
    assert content_hash(plain).startswith("sha256:")


def test_content_hash_sees_semantic_changes() -> None:
    doc = load("echo-workflow.yml")
    changed = copy.deepcopy(doc)
    changed["workflow"]["graph"]["nodes"][1]["data"]["outputs"][0]["variable"] = "other"
    assert content_hash(changed) != content_hash(doc)
    reordered = copy.deepcopy(doc)
    reordered["workflow"]["graph"]["nodes"].reverse()
    assert content_hash(reordered) == content_hash(doc)


_ui_value = st.one_of(
    st.integers(-5000, 5000), st.booleans(), st.fixed_dictionaries({"x": st.integers(), "y": st.integers()})
)
_ui_fields = st.dictionaries(
    st.sampled_from(["position", "positionAbsolute", "selected", "width", "height", "dragging", "zIndex"]),
    _ui_value,
)
_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(
    ui=st.lists(_ui_fields, min_size=2, max_size=2),
    viewport=_ui_value,
    icon=st.text(max_size=3),
    data_ui=st.booleans(),
)
def test_content_hash_ignores_ui_only_fields(
    ui: list[dict[str, Any]], viewport: Any, icon: str, data_ui: bool
) -> None:
    base = load("echo-workflow.yml")
    moved = copy.deepcopy(base)
    for node, extra in zip(moved["workflow"]["graph"]["nodes"], ui, strict=True):
        node.update(extra)
        node["data"]["selected"] = data_ui
        node["data"]["_runningStatus"] = "running"
    moved["workflow"]["graph"]["viewport"] = viewport
    moved["app"]["icon"] = icon
    assert content_hash(moved) == content_hash(base)


@settings(max_examples=60, deadline=None)
@given(extra=st.dictionaries(st.text(max_size=6), _json, max_size=4), data=_json, ui=_ui_fields)
def test_normalise_is_idempotent(extra: dict[str, Any], data: Any, ui: dict[str, Any]) -> None:
    doc = load("echo-workflow-secret.yml")
    doc["workflow"]["graph"]["nodes"].append({"id": "n", "data": {"x": data, "_tmp": 1}, **ui})
    doc["workflow"]["graph"]["edges"].append({"source": "n", "target": "end", "selected": True})
    doc["extra"] = extra
    once = normalise(doc)
    assert normalise(once) == once
    assert normalise(normalise(doc, mask_secrets=True), mask_secrets=True) == normalise(
        doc, mask_secrets=True
    )


# ------------------------------------------------------------------------------------------- secrets
def test_secret_helpers() -> None:
    plain, secret = load("echo-workflow.yml"), load("echo-workflow-secret.yml")
    assert [v["name"] for v in secret_variables(plain)] == ["API_TOKEN"]
    assert blank_secret_names(plain) == ["API_TOKEN"] and blank_secret_names(secret) == []
    assert secret_values(secret) == {"API_TOKEN": SECRET} and secret_values(plain) == {}
    filled, missing = fill_secrets(plain, {"API_TOKEN": "live"})
    assert missing == [] and secret_values(filled) == {"API_TOKEN": "live"}
    assert secret_values(plain) == {}  # input untouched
    kept, missing = fill_secrets(secret, {"API_TOKEN": "live"})
    assert secret_values(kept) == {"API_TOKEN": SECRET}  # the document's own value wins
    _, missing = fill_secrets(plain, {})
    assert missing == ["API_TOKEN"]


def test_env_for_draft_sync_keeps_live_secrets_on_a_dify_like_server() -> None:
    fake = FakeConsole()
    fake.add_app(load("echo-workflow-secret.yml"), APP_ID)
    draft = fake.get_draft(APP_ID)
    target_vars = copy.deepcopy(load("echo-workflow.yml")["workflow"]["environment_variables"])
    target_vars[2]["id"] = "a-new-id-the-draft-does-not-know"  # recreated variable: match by name
    env, missing = env_for_draft_sync(target_vars, draft["environment_variables"])
    assert missing == []
    token = next(v for v in env if v["name"] == "API_TOKEN")
    assert token["value"] == HIDDEN and token["id"] == "f0a0eaaa-a6d7-4c70-b1b1-b8bff77e621d"
    assert next(v for v in env if v["name"] == "RETRIES")["value_type"] == "number"
    fake.sync_draft(
        APP_ID,
        graph=draft["graph"],
        features=draft["features"],
        hash=draft["hash"],
        environment_variables=env,
        conversation_variables=[],
    )
    assert secret_values(fake.doc(APP_ID, published=False)) == {"API_TOKEN": SECRET}
    _, missing = env_for_draft_sync(target_vars, [])
    assert missing == ["API_TOKEN"]


# ---------------------------------------------------------------------------------------------- diff
def test_diff_of_identical_documents_is_empty(v1: dict[str, Any]) -> None:
    diff = semantic_diff(load("echo-workflow.yml"), v1)
    assert diff.is_empty and diff.to_dict()["equal"] is True


def test_diff_nodes_edges_variables(v1: dict[str, Any], v2: dict[str, Any]) -> None:
    diff = semantic_diff(v1, v2)
    assert not diff.is_empty
    by_id = {n.id: n for n in diff.nodes}
    assert by_id["llm"].change == "added" and by_id["llm"].title == "LLM" and by_id["llm"].type == "llm"
    end = by_id["end"]
    assert end.change == "changed" and end.title == "End"
    assert [(f.path, f.old, f.new) for f in end.fields] == [("data.outputs[0].variable", "echo", "echo_v2")]
    assert [(e.source, e.target, e.change) for e in diff.edges] == [("start", "llm", "added")]
    assert [(v.name, v.change) for v in diff.variables] == [("GREETING", "changed")]
    back = semantic_diff(v2, v1)
    assert {n.id: n.change for n in back.nodes}["llm"] == "removed"
    assert back.counts()["edges_removed"] == 1


def test_diff_model_settings_and_prompts(v2: dict[str, Any]) -> None:
    v3 = copy.deepcopy(v2)
    llm = v3["workflow"]["graph"]["nodes"][-1]["data"]
    llm["model"]["completion_params"]["temperature"] = 0.2
    llm["model"]["name"] = "gpt-4o-mini"
    llm["prompt_template"][0]["text"] = "You are verbose."
    llm["selected"] = False  # UI only
    paths = {f.path: (f.old, f.new) for n in semantic_diff(v2, v3).nodes for f in n.fields}
    assert paths == {
        "data.model.completion_params.temperature": (0.7, 0.2),
        "data.model.name": ("gpt-4o", "gpt-4o-mini"),
        "data.prompt_template[0].text": ("You are terse.", "You are verbose."),
    }


def test_diff_never_shows_secret_values(v1: dict[str, Any]) -> None:
    other = copy.deepcopy(v1)
    other["workflow"]["environment_variables"][2]["value"] = "rotated-value-999"
    diff = semantic_diff(v1, other)
    [change] = diff.variables
    assert change.name == "API_TOKEN" and change.fields[0].to_dict()["new"] == SECRET_CHANGED
    rendered = json.dumps(diff.to_dict())
    assert SECRET not in rendered and "rotated-value-999" not in rendered
    # blank = not exported, not a change
    assert semantic_diff(v1, load("echo-workflow.yml")).is_empty
    # a secret turned into a plain string: the type change shows, the old secret value does not
    plain = copy.deepcopy(v1)
    plain["workflow"]["environment_variables"][2].update(value_type="string", value="visible")
    rendered = json.dumps(semantic_diff(v1, plain).to_dict())
    assert "value_type" in rendered and SECRET not in rendered


def test_diff_features_app_meta_dependencies_conversation_vars(v1: dict[str, Any]) -> None:
    other = copy.deepcopy(v1)
    other["workflow"]["features"]["opening_statement"] = "Hi!"
    other["app"]["name"] = "echo-renamed"
    other["app"]["icon"] = "🐙"  # UI only
    other["version"] = "0.7.0"
    other["dependencies"] = [
        {"type": "marketplace", "value": {"marketplace_plugin_unique_identifier": "langgenius/openai:0.1@x"}}
    ]
    other["workflow"]["conversation_variables"] = [
        {"id": "c1", "name": "memory", "value": "", "value_type": "string"}
    ]
    diff = semantic_diff(v1, other)
    assert [(f.path, f.new) for f in diff.features] == [("features.opening_statement", "Hi!")]
    assert [f.path for f in diff.app] == ["app.name"]  # the DSL version is its own line (issue 12)
    assert diff.dsl_version == ("0.6.0", "0.7.0")
    assert diff.dependencies_added == ("langgenius/openai:0.1@x",)
    assert [(v.kind, v.name, v.change) for v in diff.variables] == [("conversation", "memory", "added")]


def test_diff_model_config_for_chat_apps() -> None:
    chat: dict[str, Any] = {
        "app": {"mode": "chat", "name": "bot"},
        "kind": "app",
        "version": "0.6.0",
        "model_config": {
            "pre_prompt": "Be nice.",
            "model": {"provider": "openai", "name": "gpt-4o", "completion_params": {"temperature": 1}},
        },
    }
    new = copy.deepcopy(chat)
    new["model_config"]["pre_prompt"] = "Be brief."
    new["model_config"]["model"]["completion_params"]["temperature"] = 0
    paths = [f.path for f in semantic_diff(chat, new).model_config]
    assert paths == ["model_config.model.completion_params.temperature", "model_config.pre_prompt"]


def test_alias_bombs_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 10)}]" for i in range(1, 8)]
    bomb = "\n".join(lines) + "\napp: {mode: chat, name: boom, x: *a7}\n"
    with pytest.raises(UsageError, match="too large"):
        parse_dsl(bomb, "bomb.yml")


def test_a_json_dsl_file_is_read_as_json_and_sent_as_yaml(tmp_path: Any) -> None:
    """Issue 12 item 6. `json.dumps` writes an emoji icon as a surrogate pair (\\ud83e\\udd16), which
    YAML refuses ("invalid Unicode character escape code"), so a .json file is parsed as JSON; what
    is sent to Dify (which reads YAML, api/services/app_dsl_service.py) is the YAML of that document.
    Its JSON errors name line and column."""
    doc = {"app": {"name": "emo", "mode": "chat", "icon": "\U0001f916"}, "kind": "app", "model_config": {}}
    path = tmp_path / "emo.json"
    path.write_text(json.dumps(doc))
    assert "\\ud83e\\udd16" in path.read_text()
    raw, parsed = read_dsl_file(path)
    assert parsed["app"]["icon"] == "\U0001f916" and parse_dsl(raw) == parsed
    (tmp_path / "bad.json").write_text('{"app": {"mode": "chat"},\n "kind": "app" "x": 1}')
    with pytest.raises(UsageError, match=r"bad\.json: not valid JSON at line 2, column 16"):
        read_dsl_file(tmp_path / "bad.json")
