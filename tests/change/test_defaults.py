"""Server-filled model_config defaults are not changes (issue 12, item 5).

Facts from langgenius/dify `api/models/model.py` (AppModelConfig.to_dict / from_model_config_dict) and
`api/services/app_dsl_service.py` (import = from_model_config_dict, export = to_dict)."""

from __future__ import annotations

from typing import Any

import pytest

from difyctl.snapshots.defaults import JSON_DEFAULTS, canonical_model_config, server_filled
from difyctl.snapshots.diff import semantic_diff
from difyctl.snapshots.dsl import content_hash, normalise

MINIMAL = {"pre_prompt": "Be nice.", "model": {"provider": "openai", "name": "gpt-4o", "mode": "chat"}}


def test_the_import_round_trip_fills_every_default_and_drops_unknown_keys() -> None:
    got = server_filled({**MINIMAL, "not_a_column": 1, "suggested_questions_after_answer": {}})
    assert "not_a_column" not in got
    assert got["suggested_questions_after_answer"] == {"enabled": False}  # falsy is stored as NULL
    assert got["retriever_resource"] == {"enabled": True}  # the one switch that defaults to on
    assert got["dataset_configs"] == {"retrieval_model": "multiple"}
    assert got["prompt_type"] == "simple" and got["opening_statement"] is None
    assert set(got) == set(JSON_DEFAULTS) | {
        "opening_statement",
        "dataset_query_variable",
        "pre_prompt",
        "prompt_type",
    }
    assert server_filled({**MINIMAL, "dataset_configs": {"top_k": 2}})["dataset_configs"] == {
        "retrieval_model": "single"
    }


@pytest.mark.parametrize("mode", ["chat", "agent-chat", "completion"])
def test_a_minimal_file_hashes_like_its_re_export(mode: str) -> None:
    written = {
        "app": {"mode": mode, "name": "bot"},
        "kind": "app",
        "version": "0.6.0",
        "model_config": MINIMAL,
    }
    exported: dict[str, Any] = {**written, "model_config": server_filled(MINIMAL)}
    assert content_hash(written) == content_hash(exported)
    assert semantic_diff(written, exported).is_empty
    changed = {**written, "model_config": {**MINIMAL, "pre_prompt": "Be brief."}}
    assert [f.path for f in semantic_diff(exported, changed).model_config] == ["model_config.pre_prompt"]


def test_a_real_setting_is_still_a_change() -> None:
    on = canonical_model_config({**MINIMAL, "speech_to_text": {"enabled": True}})
    off = canonical_model_config(MINIMAL)
    assert on["speech_to_text"] == {"enabled": True} and off["speech_to_text"] == {"enabled": False}
    # the console's own defaults for a disabled switch, and a blank text, are the same content
    assert canonical_model_config({**MINIMAL, "agent_mode": {"enabled": False, "tools": []}}) == off
    assert canonical_model_config({**MINIMAL, "dataset_query_variable": ""}) == off


def test_workflow_documents_are_not_touched() -> None:
    doc = {"app": {"mode": "workflow", "name": "w"}, "workflow": {"graph": {}}, "model_config": {"x": 1}}
    assert normalise(doc)["model_config"] == {"x": 1}
