"""From the CLI's AppContext to the rotation engines' injected dependencies (CLI glue: commands/)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from difyctl.rotation.engine import KeyDeps
from difyctl.rotation.journal import JournalStore

if TYPE_CHECKING:
    from difyctl.client.console import ConsoleClient
    from difyctl.client.service import ServiceClient
    from difyctl.context import AppContext


def journal_dir(actx: AppContext) -> Path:
    return actx.config_dir / "rotation"


def service_factory(actx: AppContext) -> Callable[[str], ServiceClient]:
    from difyctl.client.service import ServiceClient

    base_url = actx.profile().base_url

    def make(token: str) -> ServiceClient:
        return ServiceClient(base_url, token, options=actx.client_options(), runtime=actx.get_runtime())

    return make


def key_deps(actx: AppContext, console: ConsoleClient, hook: Callable[[str], None] | None = None) -> KeyDeps:
    from difyctl.run.inputs import default_user

    deps = KeyDeps(
        console=console,
        store=actx.credentials,
        journals=JournalStore(journal_dir(actx)),
        profile=actx.profile_name,
        service=service_factory(actx),
        now=actx.get_runtime().now,
        user=default_user(),
        server=actx.profile().base_url,
    )
    if hook is not None:
        deps.hook = hook
    return deps
