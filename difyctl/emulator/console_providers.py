"""Model-provider credentials (Dify 1.13 multi-credential flow): list, get (obfuscated), add, update,
delete, switch, validate. A provider without an active credential makes its apps fail like Dify does."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from difyctl.emulator.errors import ApiError, invalid_param
from difyctl.emulator.models import HIDDEN_VALUE, ProviderCredential
from difyctl.emulator.state import State
from difyctl.emulator.web import console_user, emu_of, json_response, no_content, read_json, require_admin

SECRET_HINTS = ("key", "secret", "token", "password")
PROVIDER_NOT_INITIALIZED = (
    "No valid model provider credentials found. "
    "Please go to Settings -> Model Provider to complete your provider credentials."
)


def is_secret(field: str) -> bool:
    return any(hint in field.lower() for hint in SECRET_HINTS)


def obfuscated(token: str) -> str:
    """Dify's ``encrypter.obfuscated_token``."""
    if not token:
        return token
    if len(token) <= 8:
        return "*" * 20
    return token[:6] + "*" * 12 + token[-2:]


def validation_error(credentials: dict[str, Any]) -> str | None:
    """The emulated provider check: secrets must be non-empty and must not contain "invalid"."""
    secrets_ = {k: v for k, v in credentials.items() if is_secret(k)}
    if not secrets_:
        return "Credentials must contain an API key."
    for name, value in secrets_.items():
        if not isinstance(value, str) or not value.strip():
            return f"{name} is required"
        if "invalid" in value.lower():
            return f"Incorrect API key provided: {obfuscated(value)}."
    return None


def provider_not_initialized() -> ApiError:
    return ApiError(400, "provider_not_initialize", PROVIDER_NOT_INITIALIZED)


def check_provider(state: State, provider: str | None) -> None:
    """Runs of apps whose provider is registered but has no active credential fail (400)."""
    if not provider:
        return
    with state.lock:
        known = any(c.provider == provider for c in state.provider_credentials.values())
        if (known or provider in state.active_credentials) and state.active_credential(provider) is None:
            raise provider_not_initialized()


def _provider_item(state: State, provider: str) -> dict[str, Any]:
    creds = state.credentials_of(provider)
    active = state.active_credential(provider)
    short = provider.rsplit("/", 1)[-1]
    return {
        "tenant_id": state.tenant_id,
        "provider": provider,
        "label": {"en_US": short, "zh_Hans": short},
        "description": None,
        "icon_small": None,
        "icon_large": None,
        "background": None,
        "help": None,
        "supported_model_types": ["llm"],
        "configurate_methods": ["predefined-model", "customizable-model"],
        "provider_credential_schema": None,
        "model_credential_schema": None,
        "preferred_provider_type": "custom",
        "custom_configuration": {
            "status": "active" if active else "no-configure",
            "current_credential_id": active.id if active else None,
            "current_credential_name": active.name if active else None,
            "available_credentials": [{"credential_id": c.id, "credential_name": c.name} for c in creds],
        },
        "system_configuration": {"enabled": False, "current_quota_type": None, "quota_configurations": []},
    }


async def list_providers(request: Request) -> Response:
    console_user(request)
    state = emu_of(request).state
    with state.lock:
        names = sorted(
            {c.provider for c in state.provider_credentials.values()} | set(state.active_credentials)
        )
        return json_response({"data": [_provider_item(state, name) for name in names]})


def _credential(state: State, provider: str, credential_id: str | None) -> ProviderCredential:
    cred = (
        state.provider_credentials.get(credential_id) if credential_id else state.active_credential(provider)
    )
    if cred is None or cred.provider != provider:
        raise invalid_param("Credential record not found.")
    return cred


async def get_credentials(request: Request) -> Response:
    console_user(request)
    state = emu_of(request).state
    provider = str(request.path_params["provider"])
    with state.lock:
        cred = _credential(state, provider, request.query_params.get("credential_id"))
        shown = {k: obfuscated(str(v)) if is_secret(k) else v for k, v in cred.credentials.items()}
    return json_response({"credentials": shown})


def _name(state: State, provider: str, name: Any, exclude: str | None = None) -> str:
    taken = {c.name for c in state.credentials_of(provider) if c.id != exclude}
    if name:
        if len(str(name)) > 30:
            raise invalid_param("name: String should have at most 30 characters")
        if str(name) in taken:
            raise invalid_param(f"Credential with name '{name}' already exists.")
        return str(name)
    n = 1
    while f"API KEY {n}" in taken:
        n += 1
    return f"API KEY {n}"


async def add_credential(request: Request) -> Response:
    require_admin(console_user(request))
    emu = emu_of(request)
    provider = str(request.path_params["provider"])
    body = await read_json(request)
    credentials = body.get("credentials")
    if not isinstance(credentials, dict):
        raise invalid_param("credentials: Field required")
    error = validation_error(credentials)
    if error:
        raise invalid_param(error)
    with emu.state.mutate():
        emu.state.add_credential(provider, _name(emu.state, provider, body.get("name")), credentials)
    return json_response({"result": "success"}, 201)


async def update_credential(request: Request) -> Response:
    require_admin(console_user(request))
    emu = emu_of(request)
    provider = str(request.path_params["provider"])
    body = await read_json(request)
    credentials = body.get("credentials")
    if not isinstance(credentials, dict):
        raise invalid_param("credentials: Field required")
    with emu.state.mutate():
        cred = _credential(emu.state, provider, str(body.get("credential_id") or "") or "-")
        merged = {k: cred.credentials.get(k) if v == HIDDEN_VALUE else v for k, v in credentials.items()}
        error = validation_error(merged)
        if error:
            raise invalid_param(error)
        cred.credentials = merged
        if body.get("name"):
            cred.name = _name(emu.state, provider, body["name"], exclude=cred.id)
    return json_response({"result": "success"})


async def delete_credential(request: Request) -> Response:
    require_admin(console_user(request))
    emu = emu_of(request)
    provider = str(request.path_params["provider"])
    body = await read_json(request)
    with emu.state.mutate():
        cred = _credential(emu.state, provider, str(body.get("credential_id") or "") or "-")
        del emu.state.provider_credentials[cred.id]
        if emu.state.active_credentials.get(provider) == cred.id:
            rest = emu.state.credentials_of(provider)
            if rest:
                emu.state.active_credentials[provider] = rest[0].id
            else:
                emu.state.active_credentials[provider] = ""  # still configured, nothing active
    return no_content()


async def switch_credential(request: Request) -> Response:
    require_admin(console_user(request))
    emu = emu_of(request)
    provider = str(request.path_params["provider"])
    body = await read_json(request)
    with emu.state.mutate():
        cred = _credential(emu.state, provider, str(body.get("credential_id") or "") or "-")
        emu.state.active_credentials[provider] = cred.id
    return json_response({"result": "success"})


async def validate_credential(request: Request) -> Response:
    console_user(request)
    body = await read_json(request)
    credentials = body.get("credentials")
    error = validation_error(credentials if isinstance(credentials, dict) else {})
    return json_response({"result": "error", "error": error} if error else {"result": "success"})


M = "/console/api/workspaces/current/model-providers"
C = M + "/{provider:path}/credentials"
routes = [
    Route(M, list_providers, methods=["GET"]),
    Route(C + "/switch", switch_credential, methods=["POST"]),
    Route(C + "/validate", validate_credential, methods=["POST"]),
    Route(C, get_credentials, methods=["GET"]),
    Route(C, add_credential, methods=["POST"]),
    Route(C, update_credential, methods=["PUT"]),
    Route(C, delete_credential, methods=["DELETE"]),
]
