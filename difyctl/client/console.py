"""The console API clients: `ConsoleClient` (sync, everything) and `AsyncConsoleClient` (the read
side, for the async fan-out of `snapshot create --all`). Both are thin: each method sends one
`Call` described in `console_calls.py`; all request logic lives in `base.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

import httpx

from difyctl.client.base import AsyncAPIClient, SyncAPIClient
from difyctl.client.console_calls import A, ConsoleCalls, draft_payload
from difyctl.client.errors import AuthenticationError, DifyConnectionError, DifyError
from difyctl.client.models import (
    Account,
    ApiKey,
    App,
    AppPage,
    EnvVar,
    ImportResult,
    ModelProvider,
    ServerInfo,
    Workflow,
    WorkflowPage,
    WorkspaceInfo,
)
from difyctl.client.transport import ClientOptions, Runtime

__all__ = ["AsyncConsoleClient", "ConsoleClient", "draft_payload", "probe_server"]

_ops = ConsoleCalls


class ConsoleClient(SyncAPIClient):
    """`with ConsoleClient(base_url, auth) as console: console.list_apps()`."""

    api_prefix = A

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth | None,
        options: ClientOptions | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        super().__init__(base_url, auth=auth, options=options, runtime=runtime)

    def profile(self) -> Account:
        return self.call(_ops.profile())

    def list_apps(
        self, page: int = 1, limit: int = 100, mode: str | None = None, name: str | None = None
    ) -> AppPage:
        return self.call(_ops.list_apps(page, limit, mode, name))

    def iter_apps(self, mode: str | None = None, name: str | None = None, limit: int = 100) -> Iterator[App]:
        page = 1
        while True:
            result = self.list_apps(page=page, limit=limit, mode=mode, name=name)
            yield from result.items
            if not result.has_more or not result.items:
                return
            page += 1

    def get_app(self, app_id: str) -> App:
        return self.call(_ops.get_app(app_id))

    def list_api_keys(self, app_id: str) -> list[ApiKey]:
        return self.call(_ops.list_api_keys(app_id))

    def create_api_key(self, app_id: str) -> ApiKey:
        return self.call(_ops.create_api_key(app_id))

    def delete_app(self, app_id: str) -> None:
        """DELETE /apps/{id} (204). Used only to undo an app difyctl itself created (apply --atomic)."""
        self.call(_ops.delete_app(app_id))

    def delete_api_key(self, app_id: str, key_id: str) -> None:
        self.call(_ops.delete_api_key(app_id, key_id))

    def export_dsl(self, app_id: str, include_secret: bool = False, workflow_id: str | None = None) -> str:
        return self.call(_ops.export_dsl(app_id, include_secret, workflow_id))

    def import_dsl(
        self, yaml_content: str, app_id: str | None = None, name: str | None = None
    ) -> ImportResult:
        return self.call(_ops.import_dsl(yaml_content, app_id, name))

    def confirm_import(self, import_id: str) -> ImportResult:
        return self.call(_ops.confirm_import(import_id))

    def check_dependencies(self, app_id: str) -> list[dict[str, Any]]:
        return self.call(_ops.check_dependencies(app_id))

    def get_draft(self, app_id: str) -> Workflow:
        return self.call(_ops.get_draft(app_id))

    def sync_draft(
        self,
        app_id: str,
        graph: Mapping[str, Any],
        features: Mapping[str, Any],
        hash: str | None,
        environment_variables: Iterable[EnvVar | Mapping[str, Any]] = (),
        conversation_variables: Iterable[Mapping[str, Any]] = (),
    ) -> str:
        """Replace the draft; returns the new hash. A stale `hash` -> ConflictError (409)."""
        payload = draft_payload(
            graph=graph,
            features=features,
            hash=hash,
            environment_variables=environment_variables,
            conversation_variables=conversation_variables,
        )
        return self.call(_ops.sync_draft(app_id, payload))

    def publish(
        self, app_id: str, marked_name: str | None = None, marked_comment: str | None = None
    ) -> int | None:
        return self.call(_ops.publish(app_id, marked_name, marked_comment))

    def get_published(self, app_id: str) -> Workflow | None:
        return self.call(_ops.get_published(app_id))

    def list_versions(
        self, app_id: str, page: int = 1, limit: int = 10, named_only: bool = False
    ) -> WorkflowPage:
        return self.call(_ops.list_versions(app_id, page, limit, named_only))

    def restore_version(self, app_id: str, workflow_id: str) -> str:
        return self.call(_ops.restore_version(app_id, workflow_id))

    def update_model_config(self, app_id: str, config: Mapping[str, Any]) -> None:
        self.call(_ops.update_model_config(app_id, config))

    def current_workspace(self) -> WorkspaceInfo:
        """The workspace and the caller's role (owner/admin/editor/normal).

        POST (Dify >= 1.10.1); a 405 means a 1.9.x-1.10.0 server, asked once more with GET."""
        from difyctl.client.errors import DifyStatusError

        try:
            return self.call(_ops.current_workspace("POST"))
        except DifyStatusError as exc:
            if exc.status_code != 405:
                raise
        return self.call(_ops.current_workspace("GET"))

    def list_providers(self, model_type: str | None = None) -> list[ModelProvider]:
        return self.call(_ops.list_providers(model_type))

    def get_provider_credentials(self, provider: str, credential_id: str | None = None) -> dict[str, Any]:
        """The (obfuscated) credentials: the active ones unless `credential_id`."""
        return self.call(_ops.get_provider_credentials(provider, credential_id))

    def add_provider_credential(
        self, provider: str, credentials: Mapping[str, Any], name: str | None = None
    ) -> None:
        """Dify validates the credentials first (400 invalid_param when the provider refuses them)."""
        self.call(_ops.add_provider_credential(provider, credentials, name))

    def update_provider_credential(
        self, provider: str, credential_id: str, credentials: Mapping[str, Any], name: str | None = None
    ) -> None:
        self.call(_ops.update_provider_credential(provider, credential_id, credentials, name))

    def delete_provider_credential(self, provider: str, credential_id: str) -> None:
        self.call(_ops.delete_provider_credential(provider, credential_id))

    def switch_provider_credential(self, provider: str, credential_id: str) -> None:
        self.call(_ops.switch_provider_credential(provider, credential_id))

    def validate_provider_credentials(self, provider: str, credentials: Mapping[str, Any]) -> str | None:
        """None when the provider accepts the credentials, else its error text."""
        return self.call(_ops.validate_provider_credentials(provider, credentials))

    def logout(self) -> bool:
        """End this session on the server; False when it had already ended."""
        try:
            self.call(_ops.logout())
        except AuthenticationError:
            return False
        return True

    def server_version(self, skip: int = 0) -> str | None:
        """X-Version seen so far, else /health, else /v1/ (a 404 HTML page on 1.13.2, whose
        X-Version header still tells). `skip`: the probes already asked (each is a retried GET)."""
        for probe in _ops.version_probes()[skip:]:
            if self.last_server_version:
                break
            try:
                version = self.call(probe)
            except DifyConnectionError:  # no answer (or no server) there: none at /v1/ either
                break
            except DifyError:
                continue
            if version:
                return version
        return self.last_server_version


def probe_server(
    base_url: str, *, options: ClientOptions | None = None, runtime: Runtime | None = None
) -> ServerInfo:
    """Is the server there, and which Dify version is it? No auth needed; never raises."""
    with ConsoleClient(base_url, None, options=options, runtime=runtime) as client:
        odd: DifyError | None = None
        try:
            version = client.call(_ops.version_probes()[0])
        except DifyConnectionError as exc:
            return ServerInfo(
                client.base_url, None, reachable=False, problem=exc.message, problem_hint=exc.hint
            )
        except DifyError as exc:  # it answered, but not as Dify does (the web UI's HTML, say)
            version, odd = None, exc
        version = version or client.server_version(skip=1)  # X-Version, else /v1/ (/health: asked)
        problem = odd.message if odd is not None and not version else None
        return ServerInfo(
            client.base_url, version, reachable=True, problem=problem, problem_hint=odd.hint if odd else None
        )


class AsyncConsoleClient(AsyncAPIClient):
    """The read side of the console for async fan-out (`snapshot create --all`)."""

    api_prefix = A

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth | None,
        options: ClientOptions | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        super().__init__(base_url, auth=auth, options=options, runtime=runtime)

    async def profile(self) -> Account:
        return await self.call(_ops.profile())

    async def list_apps(
        self, page: int = 1, limit: int = 100, mode: str | None = None, name: str | None = None
    ) -> AppPage:
        return await self.call(_ops.list_apps(page, limit, mode, name))

    async def iter_apps(
        self, mode: str | None = None, name: str | None = None, limit: int = 100
    ) -> AsyncIterator[App]:
        page = 1
        while True:
            result = await self.list_apps(page=page, limit=limit, mode=mode, name=name)
            for app in result.items:
                yield app
            if not result.has_more or not result.items:
                return
            page += 1

    async def get_app(self, app_id: str) -> App:
        return await self.call(_ops.get_app(app_id))

    async def list_api_keys(self, app_id: str) -> list[ApiKey]:
        return await self.call(_ops.list_api_keys(app_id))

    async def export_dsl(
        self, app_id: str, include_secret: bool = False, workflow_id: str | None = None
    ) -> str:
        return await self.call(_ops.export_dsl(app_id, include_secret, workflow_id))

    async def get_draft(self, app_id: str) -> Workflow:
        return await self.call(_ops.get_draft(app_id))

    async def get_published(self, app_id: str) -> Workflow | None:
        return await self.call(_ops.get_published(app_id))

    async def list_versions(
        self, app_id: str, page: int = 1, limit: int = 10, named_only: bool = False
    ) -> WorkflowPage:
        return await self.call(_ops.list_versions(app_id, page, limit, named_only))

    async def server_version(self, skip: int = 0) -> str | None:
        for probe in _ops.version_probes()[skip:]:
            if self.last_server_version:
                break
            try:
                version = await self.call(probe)
            except DifyConnectionError:  # no answer (or no server) there: none at /v1/ either
                break
            except DifyError:
                continue
            if version:
                return version
        return self.last_server_version
