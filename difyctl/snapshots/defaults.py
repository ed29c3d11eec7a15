"""The `model_config` keys Dify fills on import, so a hand-written chat / agent-chat / completion file
and its re-export compare equal (issue 12).

Source (langgenius/dify): `api/services/app_dsl_service.py` imports a chat-like app with
`AppModelConfig().from_model_config_dict(model_config)` and exports `app_model_config.to_dict()`;
`api/models/model.py` `AppModelConfig` stores each JSON column only when the value is truthy and reads
it back through `*_dict` / `*_list` properties with the defaults below. Keys outside that list are not
stored (the export drops them). `annotation_reply` comes from a separate table that an import does
not touch. The console's model-config endpoint validates first and stores its own defaults (e.g.
`agent_mode: {enabled: false, tools: []}`), so `canonical_model_config` also treats a disabled switch
the same whatever settings it carries, and a blank text the same as a missing one. The two paths
even disagree on one default (`retriever_resource` is on after an import, off after the console's
validation), so the change engine sends `server_filled(...)` to the model-config endpoint: the app
then holds what an import of the same file would hold.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

# Filled on every export (fixtures dify-1.13.2/059: app.description, app.use_icon_as_answer_icon,
# dependencies, kind): absent in a hand-written file means these values.
APP_DEFAULTS: dict[str, Any] = {"description": "", "use_icon_as_answer_icon": False}
DOC_DEFAULTS: dict[str, Any] = {"kind": "app", "dependencies": []}

# JSON columns: stored only when truthy, read back with this default (AppModelConfig.*_dict / *_list).
JSON_DEFAULTS: dict[str, Any] = {
    "suggested_questions": [],
    "suggested_questions_after_answer": {"enabled": False},
    "speech_to_text": {"enabled": False},
    "text_to_speech": {"enabled": False},
    "retriever_resource": {"enabled": True},
    "annotation_reply": {"enabled": False},
    "more_like_this": {"enabled": False},
    "sensitive_word_avoidance": {"enabled": False, "type": "", "configs": []},
    "external_data_tools": [],
    "model": {},
    "user_input_form": [],
    "agent_mode": {"enabled": False, "strategy": None, "tools": [], "prompt": None},
    "chat_prompt_config": {},
    "completion_prompt_config": {},
    "dataset_configs": {"retrieval_model": "multiple"},
    "file_upload": {
        "image": {
            "enabled": False,
            "number_limits": 3,
            "detail": "high",
            "transfer_methods": ["remote_url", "local_file"],
        }
    },
}
# Text columns: stored as given (absent -> null).
TEXT_KEYS = ("opening_statement", "dataset_query_variable", "pre_prompt")
SWITCHES = frozenset(k for k, v in JSON_DEFAULTS.items() if isinstance(v, dict) and "enabled" in v)


def _fresh(value: Any) -> Any:
    """A copy of a small JSON default (copy.deepcopy is ten times slower on these)."""
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    return value


def fill_document_defaults(doc: dict[str, Any]) -> None:
    """In place: the app-level keys every export carries (normalise() calls this on its copy)."""
    for key, default in DOC_DEFAULTS.items():
        if doc.get(key) is None:
            doc[key] = _fresh(default)
    app = doc.get("app")
    if isinstance(app, dict):
        for key, default in APP_DEFAULTS.items():
            if app.get(key) is None:
                app[key] = default


def server_filled(config: Mapping[str, Any], *, share: bool = False) -> dict[str, Any]:
    """The model_config a Dify server exports after importing `config` (AppModelConfig round trip).
    `share`: reuse `config`'s values instead of copying them (the caller owns a private copy)."""
    out: dict[str, Any] = {}
    for key, default in JSON_DEFAULTS.items():
        value = config.get(key)
        out[key] = (value if share else copy.deepcopy(value)) if value else _fresh(default)
    configs = out["dataset_configs"]
    if config.get("dataset_configs") and isinstance(configs, dict) and "retrieval_model" not in configs:
        out["dataset_configs"] = {"retrieval_model": "single"}
    for key in TEXT_KEYS:
        out[key] = config.get(key)
    out["prompt_type"] = config.get("prompt_type", "simple")
    return out


def canonical_model_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """One form for every way Dify can hold the same model config: import defaults filled, disabled
    switches reduced to `{enabled: false}`, blank texts as "" (normalise() uses this on its own copy,
    so the values are shared, not copied again)."""
    out = server_filled(config, share=True)
    for key in SWITCHES:
        value = out[key]
        if isinstance(value, dict) and not value.get("enabled"):
            out[key] = {"enabled": False}
    upload = out["file_upload"]
    if (
        isinstance(upload, dict)
        and not upload.get("enabled")
        and not (upload.get("image") or {}).get("enabled")
    ):
        out["file_upload"] = {"enabled": False}  # the console's and the import's "off" look different
    for key in TEXT_KEYS:
        out[key] = out[key] or ""
    out["prompt_type"] = out["prompt_type"] or "simple"
    return out
