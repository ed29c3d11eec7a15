"""JSON shapes of the console API, field for field as recorded from Dify 1.13.2."""

from __future__ import annotations

from typing import Any

from difyctl.emulator.models import SECRET_MASK, Account, App, Workflow
from difyctl.emulator.state import State


def workflow_ref(app: App) -> dict[str, Any] | None:
    wf = app.published
    if wf is None:
        return None
    return {
        "id": wf.id,
        "created_by": wf.created_by,
        "created_at": wf.created_at,
        "updated_by": wf.updated_by,
        "updated_at": wf.updated_at,
    }


def _author(state: State, app: App) -> str | None:
    account = state.accounts.get(app.created_by)
    return account.name if account else None


# What the owner may do with an app (1.16.0/011, 014); the emulator has no per-app ACL.
PERMISSION_KEYS = [
    "app.acl.preview", "app.acl.view_layout", "app.acl.test_and_run", "app.acl.edit",
    "app.acl.import_export_dsl", "app.acl.delete", "app.acl.release_and_version", "app.acl.monitor",
    "app.acl.access_config", "app.acl.tracing_config", "app.acl.log_and_annotation",
]  # fmt: skip


def fields_1_16(app: App) -> dict[str, Any]:
    """Fields Dify 1.16 adds to app list items and details (1.16.0/011, 014)."""
    return {
        "permission_keys": list(PERMISSION_KEYS),
        "bound_agent_id": None,
        "app_id": None,
        "is_starred": False,
        "maintainer": app.created_by,
    }


def app_list_item(state: State, app: App, new_fields: bool = False) -> dict[str, Any]:
    item = _app_list_item(state, app)
    if new_fields:
        item.update(fields_1_16(app))
    return item


def _app_list_item(state: State, app: App) -> dict[str, Any]:
    return {
        "id": app.id,
        "name": app.name,
        "max_active_requests": app.max_active_requests,
        "description": app.description,
        "mode": app.mode,
        "icon_type": app.icon_type,
        "icon": app.icon,
        "icon_background": app.icon_background,
        "model_config": app.model_config,
        "workflow": workflow_ref(app),
        "use_icon_as_answer_icon": app.use_icon_as_answer_icon,
        "created_by": app.created_by,
        "created_at": app.created_at,
        "updated_by": app.updated_by,
        "updated_at": app.updated_at,
        "tags": [],
        "access_mode": None,
        "create_user_name": None,
        "author_name": _author(state, app),
        "has_draft_trigger": False,
        "icon_url": None,
    }


def app_created(app: App) -> dict[str, Any]:
    """The short ``app_detail_fields`` answered by POST /apps (fixture 097)."""
    return {
        "id": app.id,
        "name": app.name,
        "description": app.description,
        "mode": app.mode,
        "icon": app.icon,
        "icon_background": app.icon_background,
        "enable_site": app.enable_site,
        "enable_api": app.enable_api,
        "model_config": app.model_config,
        "workflow": workflow_ref(app),
        "tracing": None,
        "use_icon_as_answer_icon": app.use_icon_as_answer_icon,
        "created_by": app.created_by,
        "created_at": app.created_at,
        "updated_by": app.updated_by,
        "updated_at": app.updated_at,
        "access_mode": None,
        "tags": [],
    }


def site(app: App) -> dict[str, Any]:
    return {
        "title": app.name,
        "chat_color_theme": None,
        "chat_color_theme_inverted": False,
        "icon_type": app.icon_type,
        "icon": app.icon,
        "icon_background": app.icon_background,
        "description": None,
        "copyright": None,
        "privacy_policy": None,
        "custom_disclaimer": "",
        "default_language": "en-US",
        "show_workflow_steps": True,
        "use_icon_as_answer_icon": app.use_icon_as_answer_icon,
        "icon_url": None,
    }


def app_detail(app: App, base_url: str, new_fields: bool = False) -> dict[str, Any]:
    detail = _app_detail(app, base_url)
    if new_fields:
        detail.update(fields_1_16(app))
        del detail["is_starred"]  # list items only (1.16.0/011 vs 014)
        detail["site"]["input_placeholder"] = None
    return detail


def _app_detail(app: App, base_url: str) -> dict[str, Any]:
    detail = app_created(app)
    detail.update(
        {
            "icon_type": app.icon_type,
            "api_base_url": base_url.rstrip("/") + "/v1",
            "max_active_requests": app.max_active_requests,
            "deleted_tools": [],
        }
    )
    site_full = {"access_token": app.site_code, "code": app.site_code, **site(app)}
    site_full.pop("icon_url")
    site_full.update(
        {
            "customize_domain": None,
            "customize_token_strategy": "not_allow",
            "prompt_public": False,
            "app_base_url": "http://127.0.0.1:3000",
            "created_by": app.created_by,
            "created_at": app.created_at,
            "updated_by": app.created_by,
            "updated_at": app.created_at,
            "icon_url": None,
        }
    )
    detail["site"] = site_full
    detail["icon_url"] = None
    return detail


def env_var_api(var: dict[str, Any]) -> dict[str, Any]:
    value = var.get("value")
    if var.get("value_type") == "secret":
        value = SECRET_MASK
    return {
        "id": var.get("id"),
        "name": var.get("name"),
        "value": value,
        "value_type": var.get("value_type", "string"),
        "description": var.get("description", ""),
    }


def workflow_api(state: State, wf: Workflow) -> dict[str, Any]:
    creator = state.accounts.get(wf.created_by)
    updater = state.accounts.get(wf.updated_by) if wf.updated_by else None
    return {
        "id": wf.id,
        "graph": wf.graph,
        "features": wf.features,
        "hash": wf.hash,
        "version": wf.version,
        "marked_name": wf.marked_name,
        "marked_comment": wf.marked_comment,
        "created_by": creator.brief() if creator else None,
        "created_at": wf.created_at,
        "updated_by": updater.brief() if updater else None,
        "updated_at": wf.updated_at,
        "tool_published": False,
        "environment_variables": [env_var_api(v) for v in wf.environment_variables],
        "conversation_variables": wf.conversation_variables,
        "rag_pipeline_variables": [],
    }


def profile(account: Account) -> dict[str, Any]:
    return {
        "avatar": None,
        "id": account.id,
        "name": account.name,
        "email": account.email,
        "is_password_set": True,
        "interface_language": account.interface_language,
        "interface_theme": "light",
        "timezone": account.timezone,
        "last_login_at": account.last_login_at,
        "last_login_ip": account.last_login_ip,
        "created_at": account.created_at,
        "avatar_url": None,
    }
