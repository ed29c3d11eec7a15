"""DSL export/import and draft synchronisation, following Dify 1.13's AppDslService and Workflow model."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import yaml

from difyctl.emulator.models import (
    APP_MODES,
    HIDDEN_VALUE,
    SECRET_MASK,
    WORKFLOW_MODES,
    Account,
    App,
    Workflow,
    new_id,
)
from difyctl.emulator.runtime import PENDING_IMPORT_TTL, Emulator, PendingImport
from difyctl.snapshots.defaults import server_filled

IMPORT_MODES = ("yaml-content", "yaml-url")
OVERRIDE_FIELDS = ("name", "description", "icon_type", "icon", "icon_background")


class DslError(ValueError):
    """A failed import: the message becomes the ``error`` of the Import body."""


# -- export ------------------------------------------------------------------------------------
def _export_env(var: dict[str, Any], include_secret: bool) -> dict[str, Any]:
    value = var.get("value")
    value_type = var.get("value_type", "string")
    if value_type == "secret" and not include_secret:
        value = ""
    if value_type == "number":
        value_type = "float" if isinstance(value, float) else "integer"
    name = var.get("name")
    return {
        "description": var.get("description", ""),
        "id": var.get("id"),
        "name": name,
        "selector": ["env", name],
        "value": value,
        "value_type": value_type,
    }


def export_data(
    app: App, workflow: Workflow | None, include_secret: bool, dsl_version: str
) -> dict[str, Any]:
    image = app.icon_type == "image"
    data: dict[str, Any] = {
        "app": {
            "description": app.description,
            "icon": "🤖" if image else app.icon,
            "icon_background": "#FFEAD5" if image else app.icon_background,
            "icon_type": app.icon_type,
            "mode": app.mode,
            "name": app.name,
            "use_icon_as_answer_icon": app.use_icon_as_answer_icon,
        },
        "dependencies": [],
        "kind": "app",
        "version": dsl_version,
    }
    if app.is_workflow_mode:
        if workflow is None:
            raise ValueError("Missing draft workflow configuration, please check.")
        data["workflow"] = {
            "conversation_variables": copy.deepcopy(workflow.conversation_variables),
            "environment_variables": [_export_env(v, include_secret) for v in workflow.environment_variables],
            "features": copy.deepcopy(workflow.features),
            "graph": copy.deepcopy(workflow.graph),
            "rag_pipeline_variables": [],
        }
    else:
        data["model_config"] = copy.deepcopy(app.model_config or {})
    return data


_EXPORT_CACHE: dict[str, str] = {}
_EXPORT_CACHE_MAX = 4096


def export_yaml(app: App, workflow: Workflow | None, include_secret: bool, dsl_version: str) -> str:
    """yaml.dump as Dify does it (sorted keys, allow_unicode). The pure-Python dumper costs ~2 ms
    per app and libyaml's escapes emoji differently, so identical content is dumped once and
    memoised by its canonical JSON (which costs ~0.05 ms): benchmarks fan out hundreds of exports."""
    data = export_data(app, workflow, include_secret, dsl_version)
    key = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    text = _EXPORT_CACHE.get(key)
    if text is None:
        if len(_EXPORT_CACHE) >= _EXPORT_CACHE_MAX:
            _EXPORT_CACHE.clear()
        text = _EXPORT_CACHE[key] = yaml.dump(data, allow_unicode=True)
    return text


# -- drafts ------------------------------------------------------------------------------------
def normalise_env(items: list[Any]) -> list[dict[str, Any]]:
    result = []
    for item in items or []:
        if not isinstance(item, dict):
            raise ValueError("environment variable must be an object")
        if not item.get("id"):
            raise ValueError("environment variable require a unique id")
        var = {
            "id": str(item["id"]),
            "name": item.get("name", ""),
            "value": item.get("value"),
            "value_type": item.get("value_type", "string"),
            "description": item.get("description", ""),
        }
        if var["value_type"] in ("integer", "float"):
            var["value_type"] = "number"
        result.append(var)
    return result


def merge_env(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``[__HIDDEN__]`` or the 20-star mask with a known id keeps the stored value (name may change)."""
    by_id = {v["id"]: v for v in old}
    merged = []
    for var in new:
        previous = by_id.get(var["id"])
        if previous is not None and var.get("value") in (HIDDEN_VALUE, SECRET_MASK):
            var = {**previous, "name": var.get("name", previous.get("name"))}
        merged.append(var)
    return merged


def sync_draft(
    emu: Emulator,
    app: App,
    account: Account,
    graph: dict[str, Any],
    features: dict[str, Any],
    env: list[Any],
    conversation: list[Any],
) -> Workflow:
    now = emu.now()
    env_vars = normalise_env(env)
    draft = app.draft
    if draft is None:
        draft = Workflow(
            new_id(), app.id, "draft", {}, {}, created_by=account.id, created_at=now, updated_at=now
        )
        app.draft = draft
    else:
        draft.updated_by = account.id
        draft.updated_at = now
    draft.graph = copy.deepcopy(graph)
    draft.features = copy.deepcopy(features)
    draft.environment_variables = merge_env(draft.environment_variables, env_vars)
    draft.conversation_variables = copy.deepcopy(list(conversation or []))
    return draft


def version_string(emu: Emulator, app: App) -> str:
    """A publish time like ``2026-03-01 12:00:00.123456`` (UTC), unique within the app."""
    stamp = emu.clock()
    taken = {wf.version for wf in app.versions}
    while True:
        text = datetime.fromtimestamp(stamp, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
        if text not in taken:
            return text
        stamp += 0.000001


def publish_draft(emu: Emulator, app: App, account: Account, name: str = "", comment: str = "") -> Workflow:
    """Freeze the draft into a new version and make it the app's published workflow."""
    if app.draft is None:
        raise ValueError("No valid workflow found.")
    now = emu.now()
    version = app.draft.frozen_copy(new_version=version_string(emu, app), wid=new_id())
    version.marked_name, version.marked_comment = name, comment
    version.created_by, version.created_at = account.id, now
    version.updated_by, version.updated_at = None, now
    app.versions.append(version)
    app.workflow_id = version.id
    app.updated_by, app.updated_at = account.id, now
    return version


# -- import ------------------------------------------------------------------------------------
@dataclass
class ImportResult:
    id: str
    status: str
    app_id: str | None = None
    app_mode: str | None = None
    imported_dsl_version: str = ""
    error: str = ""
    current_dsl_version: str = ""
    fields_1_16: bool = False

    @property
    def http_status(self) -> int:
        return {"pending": 202, "failed": 400}.get(self.status, 200)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "status": self.status, "app_id": self.app_id}
        body["app_mode"] = self.app_mode
        if self.fields_1_16:
            body["permission_keys"] = []  # 1.16.0/012
        body["current_dsl_version"] = self.current_dsl_version
        body["imported_dsl_version"] = self.imported_dsl_version
        body["error"] = self.error
        if self.fields_1_16:
            body["warnings"] = []
        return body


def _version_tuple(text: str) -> tuple[int, int, int]:
    parts = text.strip().split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise DslError(f"Invalid version format: {text}")
    numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
    return numbers[0], numbers[1], numbers[2]


def version_status(imported: str, current_version: str) -> str:
    current = _version_tuple(current_version)
    version = _version_tuple(imported)
    if version > current or version[0] < current[0]:
        return "pending"
    if version[1] < current[1]:
        return "completed-with-warnings"
    return "completed"


def import_dsl(emu: Emulator, account: Account, body: dict[str, Any]) -> ImportResult:
    return _versioned(emu, _import_dsl(emu, account, body))


def confirm_import(emu: Emulator, account: Account, import_id: str) -> ImportResult:
    return _versioned(emu, _confirm_import(emu, account, import_id))


def _versioned(emu: Emulator, result: ImportResult) -> ImportResult:
    result.current_dsl_version = emu.behaviour.dsl_version
    result.fields_1_16 = emu.behaviour.app_fields_1_16
    return result


def _import_dsl(emu: Emulator, account: Account, body: dict[str, Any]) -> ImportResult:
    import_id = str(uuid.uuid4())
    mode = body.get("mode")
    if mode not in IMPORT_MODES:
        raise ValueError(f"Invalid import_mode: {mode}")
    app_id = body.get("app_id") or None
    overrides = {k: body[k] for k in OVERRIDE_FIELDS if body.get(k)}
    try:
        if mode == "yaml-url":
            raise DslError("Error fetching YAML from URL: the emulator has no network access")
        content = body.get("yaml_content")
        if not content:
            raise DslError("yaml_content is required when import_mode is yaml-content")
        data = _load(str(content))
        imported = data.get("version", "0.1.0")
        if not isinstance(imported, str):
            raise DslError(f"Invalid version type, expected str, got {type(imported)}")
        status = version_status(imported, emu.behaviour.dsl_version)
        if not data.get("app"):
            raise DslError("Missing app data in YAML content")
        with emu.state.lock:
            target = _overwrite_target(emu, app_id)
            if status == "pending":
                expires = emu.clock() + PENDING_IMPORT_TTL
                pending = PendingImport(
                    import_id, account.id, str(content), app_id, overrides, imported, expires
                )
                emu.pending_imports[import_id] = pending
                return ImportResult(import_id, "pending", app_id=app_id, imported_dsl_version=imported)
            with emu.state.mutate():
                app = apply_dsl(emu, account, data, target, overrides)
        emu.leaked_dependencies[app.id] = []
        return ImportResult(import_id, status, app.id, app.mode, imported)
    except (DslError, ValueError) as exc:
        return ImportResult(import_id, "failed", error=str(exc))


def _confirm_import(emu: Emulator, account: Account, import_id: str) -> ImportResult:
    pending = emu.pending_imports.pop(import_id, None)
    if pending is None or pending.expires_at <= emu.clock():
        return ImportResult(import_id, "failed", error="Import information expired or does not exist")
    try:
        data = _load(pending.yaml_content)
        with emu.state.mutate():
            target = _overwrite_target(emu, pending.app_id)
            app = apply_dsl(emu, account, data, target, pending.overrides)
    except (DslError, ValueError) as exc:
        return ImportResult(import_id, "failed", error=str(exc))
    return ImportResult(import_id, "completed", app.id, app.mode, pending.imported_version)


def _load(content: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise DslError(f"Invalid YAML format: {exc}") from exc
    if not isinstance(data, dict):
        raise DslError("Invalid YAML format: content must be a mapping")
    return data


def _overwrite_target(emu: Emulator, app_id: str | None) -> App | None:
    if not app_id:
        return None
    app = emu.state.get_app(app_id)
    if app is None:
        raise DslError("App not found")
    if app.mode not in WORKFLOW_MODES:
        raise DslError("Only workflow or advanced chat apps can be overwritten")
    return app


def apply_dsl(
    emu: Emulator, account: Account, data: dict[str, Any], app: App | None, overrides: dict[str, Any]
) -> App:
    """Dify's ``_create_or_update_app``: no mode check on overwrite (077); names come from the YAML."""
    meta = data.get("app") or {}
    now = emu.now()
    mode = app.mode if app is not None else meta.get("mode")
    if not mode:
        raise DslError("loss app mode")
    if mode not in APP_MODES:
        raise DslError(f"invalid mode value {mode}")
    workflow = data.get("workflow")
    config = data.get("model_config")
    if mode in WORKFLOW_MODES and (not workflow or not isinstance(workflow, dict)):
        raise DslError("Missing workflow data for workflow/advanced chat app")
    if mode not in WORKFLOW_MODES and (not isinstance(config, dict) or not config):
        raise DslError("Missing model_config for chat/agent-chat/completion app")
    if isinstance(workflow, dict):
        normalise_env(workflow.get("environment_variables") or [])

    def pick(key: str, default: Any) -> Any:
        return overrides.get(key) or meta.get(key, default)

    if app is None:
        app = App(
            id=new_id(), name=str(pick("name", "")), mode=str(mode), created_by=account.id, created_at=now
        )
        app.updated_by, app.updated_at = account.id, now
        app.use_icon_as_answer_icon = bool(meta.get("use_icon_as_answer_icon", False))
        emu.state.add_app(app)
    else:
        app.name = str(pick("name", app.name))
        app.updated_by, app.updated_at = account.id, now
    app.description = str(pick("description", app.description) or "")
    app.icon_type = str(pick("icon_type", app.icon_type) or "emoji")
    app.icon = str(pick("icon", app.icon) or "🤖")
    app.icon_background = str(pick("icon_background", app.icon_background) or "#FFEAD5")
    if isinstance(workflow, dict) and app.is_workflow_mode:
        sync_draft(
            emu,
            app,
            account,
            workflow.get("graph") or {},
            workflow.get("features") or {},
            workflow.get("environment_variables") or [],
            workflow.get("conversation_variables") or [],
        )
    elif isinstance(config, dict):
        app.model_config = server_filled(config)  # Dify's AppModelConfig round trip (snapshots/defaults.py)
    return app
