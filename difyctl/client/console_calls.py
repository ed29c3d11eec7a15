"""The console API (`/console/api`) described once: each endpoint is a `Call` (request spec + parser
of the JSON answer) built by a function of `ConsoleCalls`. `console.py` sends them, sync or async.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from difyctl.client.base import Call, RequestSpec
from difyctl.client.errors import DifyProtocolError
from difyctl.client.models import (
    Account,
    ApiKey,
    App,
    AppPage,
    EnvVar,
    ImportResult,
    ModelProvider,
    Workflow,
    WorkflowPage,
    WorkspaceInfo,
)

A = "/console/api"
P = f"{A}/workspaces/current/model-providers"


def _creds(provider: str) -> str:
    """The provider id is a path (`langgenius/openai/openai`): its slashes stay, nothing else may."""
    from urllib.parse import quote

    return f"{P}/{quote(provider.strip('/'), safe='/')}/credentials"


def _dict(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise DifyProtocolError(f"expected a JSON object for {what}, got {type(body).__name__}")
    return body


def _app_page(body: Any) -> AppPage:
    d = _dict(body, "the app list")
    return AppPage(
        items=tuple(App.from_api(item) for item in d.get("data") or [] if isinstance(item, dict)),
        page=int(d.get("page") or 1),
        limit=int(d.get("limit") or 0),
        total=int(d.get("total") or 0),
        has_more=bool(d.get("has_more")),
    )


def _workflow_page(body: Any) -> WorkflowPage:
    d = _dict(body, "the version list")
    return WorkflowPage(
        items=tuple(Workflow.from_api(item) for item in d.get("items") or [] if isinstance(item, dict)),
        page=int(d.get("page") or 1),
        limit=int(d.get("limit") or 0),
        has_more=bool(d.get("has_more")),
    )


def _export(body: Any) -> str:
    data = _dict(body, "the export").get("data")
    if not isinstance(data, str):
        raise DifyProtocolError("the export answer holds no YAML in `data`")
    return data


def _hash(body: Any) -> str:
    return str(_dict(body, "the draft answer").get("hash") or "")


def _failed_import(status: int, body: Any) -> bool:
    """Import/confirm answer 400 with an Import object when the DSL is refused: that is data."""
    return status == 400 and isinstance(body, dict) and body.get("status") == "failed"


def _env_payload(items: Iterable[EnvVar | Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [item.to_api() if isinstance(item, EnvVar) else dict(item) for item in items]


def _first_version(key: str) -> Any:
    def parse(body: Any) -> str | None:
        value = body.get(key) if isinstance(body, dict) else None
        return str(value) if value else None

    return parse


class ConsoleCalls:
    """Call builders: the one description of each console endpoint."""

    @staticmethod
    def profile() -> Call[Account]:
        return Call(
            RequestSpec("GET", f"{A}/account/profile"), lambda b: Account.from_api(_dict(b, "the profile"))
        )

    @staticmethod
    def list_apps(page: int, limit: int, mode: str | None, name: str | None) -> Call[AppPage]:
        params = {"page": page, "limit": limit, "mode": mode, "name": name}
        return Call(RequestSpec("GET", f"{A}/apps", params=params), _app_page)

    @staticmethod
    def get_app(app_id: str) -> Call[App]:
        return Call(RequestSpec("GET", f"{A}/apps/{app_id}"), lambda b: App.from_api(_dict(b, "the app")))

    @staticmethod
    def list_api_keys(app_id: str) -> Call[list[ApiKey]]:
        def parse(body: Any) -> list[ApiKey]:
            return [
                ApiKey.from_api(k)
                for k in _dict(body, "the key list").get("data") or []
                if isinstance(k, dict)
            ]

        return Call(RequestSpec("GET", f"{A}/apps/{app_id}/api-keys"), parse)

    @staticmethod
    def create_api_key(app_id: str) -> Call[ApiKey]:
        spec = RequestSpec("POST", f"{A}/apps/{app_id}/api-keys", json={})
        return Call(spec, lambda b: ApiKey.from_api(_dict(b, "the new key")))

    @staticmethod
    def delete_app(app_id: str) -> Call[None]:
        return Call(RequestSpec("DELETE", f"{A}/apps/{app_id}"), lambda _b: None)

    @staticmethod
    def delete_api_key(app_id: str, key_id: str) -> Call[None]:
        return Call(RequestSpec("DELETE", f"{A}/apps/{app_id}/api-keys/{key_id}"), lambda _b: None)

    @staticmethod
    def export_dsl(app_id: str, include_secret: bool, workflow_id: str | None) -> Call[str]:
        params = {"include_secret": True if include_secret else None, "workflow_id": workflow_id}
        return Call(RequestSpec("GET", f"{A}/apps/{app_id}/export", params=params), _export)

    @staticmethod
    def import_dsl(yaml_content: str, app_id: str | None, name: str | None) -> Call[ImportResult]:
        body: dict[str, Any] = {"mode": "yaml-content", "yaml_content": yaml_content}
        if app_id:
            body["app_id"] = app_id
        if name:
            body["name"] = name
        spec = RequestSpec("POST", f"{A}/apps/imports", json=body, accept=_failed_import)
        return Call(spec, lambda b: ImportResult.from_api(_dict(b, "the import")))

    @staticmethod
    def confirm_import(import_id: str) -> Call[ImportResult]:
        spec = RequestSpec("POST", f"{A}/apps/imports/{import_id}/confirm", json={}, accept=_failed_import)
        return Call(spec, lambda b: ImportResult.from_api(_dict(b, "the import")))

    @staticmethod
    def check_dependencies(app_id: str) -> Call[list[dict[str, Any]]]:
        def parse(body: Any) -> list[dict[str, Any]]:
            return [
                d
                for d in _dict(body, "the dependencies").get("leaked_dependencies") or []
                if isinstance(d, dict)
            ]

        return Call(RequestSpec("GET", f"{A}/apps/imports/{app_id}/check-dependencies"), parse)

    @staticmethod
    def get_draft(app_id: str) -> Call[Workflow]:
        spec = RequestSpec("GET", f"{A}/apps/{app_id}/workflows/draft")
        return Call(spec, lambda b: Workflow.from_api(_dict(b, "the draft")))

    @staticmethod
    def sync_draft(app_id: str, payload: dict[str, Any]) -> Call[str]:
        return Call(RequestSpec("POST", f"{A}/apps/{app_id}/workflows/draft", json=payload), _hash)

    @staticmethod
    def publish(app_id: str, marked_name: str | None, marked_comment: str | None) -> Call[int | None]:
        body = {k: v for k, v in (("marked_name", marked_name), ("marked_comment", marked_comment)) if v}
        spec = RequestSpec("POST", f"{A}/apps/{app_id}/workflows/publish", json=body)
        return Call(spec, lambda b: b.get("created_at") if isinstance(b, dict) else None)

    @staticmethod
    def get_published(app_id: str) -> Call[Workflow | None]:
        spec = RequestSpec("GET", f"{A}/apps/{app_id}/workflows/publish")
        return Call(spec, lambda b: Workflow.from_api(b) if isinstance(b, dict) and b.get("id") else None)

    @staticmethod
    def list_versions(app_id: str, page: int, limit: int, named_only: bool) -> Call[WorkflowPage]:
        params = {"page": page, "limit": limit, "named_only": True if named_only else None}
        return Call(RequestSpec("GET", f"{A}/apps/{app_id}/workflows", params=params), _workflow_page)

    @staticmethod
    def restore_version(app_id: str, workflow_id: str) -> Call[str]:
        return Call(RequestSpec("POST", f"{A}/apps/{app_id}/workflows/{workflow_id}/restore", json={}), _hash)

    @staticmethod
    def update_model_config(app_id: str, config: Mapping[str, Any]) -> Call[None]:
        spec = RequestSpec("POST", f"{A}/apps/{app_id}/model-config", json=dict(config))
        return Call(spec, lambda _b: None)

    @staticmethod
    def current_workspace(method: str = "POST") -> Call[WorkspaceInfo]:
        """POST since Dify 1.10.1 (langgenius/dify #27858, fixture dify-1.16.0/009-010), GET on
        1.9.x-1.10.0. It only reads, so the POST is safe to retry."""
        body: dict[str, Any] | None = {} if method == "POST" else None
        spec = RequestSpec(method, f"{A}/workspaces/current", json=body, idempotent=True)
        return Call(spec, lambda b: WorkspaceInfo.from_api(_dict(b, "the workspace")))

    # -- model-provider credentials (the provider id holds slashes: langgenius/openai/openai) ------
    @staticmethod
    def list_providers(model_type: str | None) -> Call[list[ModelProvider]]:
        def parse(body: Any) -> list[ModelProvider]:
            items = _dict(body, "the provider list").get("data") or []
            return [ModelProvider.from_api(p) for p in items if isinstance(p, dict)]

        return Call(RequestSpec("GET", f"{P}", params={"model_type": model_type}), parse)

    @staticmethod
    def get_provider_credentials(provider: str, credential_id: str | None) -> Call[dict[str, Any]]:
        spec = RequestSpec("GET", _creds(provider), params={"credential_id": credential_id})
        return Call(spec, lambda b: dict(_dict(b, "the credentials").get("credentials") or {}))

    @staticmethod
    def add_provider_credential(
        provider: str, credentials: Mapping[str, Any], name: str | None
    ) -> Call[None]:
        body: dict[str, Any] = {"credentials": dict(credentials)}
        if name:
            body["name"] = name
        return Call(RequestSpec("POST", _creds(provider), json=body), lambda _b: None)

    @staticmethod
    def update_provider_credential(
        provider: str, credential_id: str, credentials: Mapping[str, Any], name: str | None
    ) -> Call[None]:
        body: dict[str, Any] = {"credential_id": credential_id, "credentials": dict(credentials)}
        if name:
            body["name"] = name
        return Call(RequestSpec("PUT", _creds(provider), json=body), lambda _b: None)

    @staticmethod
    def delete_provider_credential(provider: str, credential_id: str) -> Call[None]:
        spec = RequestSpec("DELETE", _creds(provider), json={"credential_id": credential_id})
        return Call(spec, lambda _b: None)

    @staticmethod
    def switch_provider_credential(provider: str, credential_id: str) -> Call[None]:
        spec = RequestSpec("POST", _creds(provider) + "/switch", json={"credential_id": credential_id})
        return Call(spec, lambda _b: None)

    @staticmethod
    def validate_provider_credentials(provider: str, credentials: Mapping[str, Any]) -> Call[str | None]:
        """None when valid, else Dify's error text (HTTP 200 in both cases)."""

        def parse(body: Any) -> str | None:
            d = _dict(body, "the validation")
            return None if d.get("result") == "success" else str(d.get("error") or "invalid credentials")

        spec = RequestSpec("POST", _creds(provider) + "/validate", json={"credentials": dict(credentials)})
        return Call(spec, parse)

    @staticmethod
    def logout() -> Call[None]:
        return Call(RequestSpec("POST", f"{A}/logout", json={}), lambda _b: None)

    @staticmethod
    def version_probes() -> tuple[Call[str | None], ...]:
        """/health {status, version} without auth; then /v1/ {server_version} on newer servers."""
        return (
            Call(RequestSpec("GET", "/health", authenticated=False), _first_version("version")),
            Call(RequestSpec("GET", "/v1/", authenticated=False), _first_version("server_version")),
        )


def draft_payload(
    *,
    graph: Mapping[str, Any],
    features: Mapping[str, Any],
    hash: str | None,
    environment_variables: Iterable[EnvVar | Mapping[str, Any]] = (),
    conversation_variables: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    return {
        "graph": dict(graph),
        "features": dict(features),
        "hash": hash,
        "environment_variables": _env_payload(environment_variables),
        "conversation_variables": [dict(v) for v in conversation_variables],
    }
