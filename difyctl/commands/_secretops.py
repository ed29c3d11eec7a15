"""The glue of `secrets set|rotate` and `credentials rotate`: read the value, confirm, wire the probe."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from difyctl.errors import UsageError
from difyctl.exit_codes import ExitCode

if TYPE_CHECKING:
    from difyctl.context import AppContext, ServiceTarget


def read_value(actx: AppContext, stdin: bool, from_env: str | None, stdin_flag: str) -> str:
    if stdin == bool(from_env):
        raise UsageError(f"give the new value with exactly one of {stdin_flag} or --from-env VAR")
    if from_env:
        value = actx.env.get(from_env, "")
        if not value:
            raise UsageError(f"environment variable {from_env} is empty or not set")
        return value
    from difyctl.commands._keyops import read_secret_stdin

    return read_secret_stdin(stdin_flag)


def app_probe(actx: AppContext, target: ServiceTarget, queries: Sequence[str]) -> Callable[[], str | None]:
    """A probe through the service API (the key was resolved before anything changes)."""
    from difyctl.commands._rotation_wiring import service_factory
    from difyctl.rotation.checks import probe_key

    service = service_factory(actx)

    def probe() -> str | None:
        return probe_key(service, target.api_key, queries, [], "app")

    return probe


def run_change(
    actx: AppContext,
    ref: str,
    name: str,
    stdin: bool,
    from_env: str | None,
    *,
    yes: bool,
    publish: bool,
    probes: Sequence[str],
    rotate: bool = False,
) -> tuple[dict[str, Any], ExitCode]:
    from difyctl.output.prompt import confirm
    from difyctl.rotation.secrets import SecretDeps, change_secret

    value = read_value(actx, stdin, from_env, "--stdin")
    verb = "Rotate" if rotate else "Set"
    confirm(f"{verb} secret {name} of app {ref}{' and publish' if publish else ''}?", yes=yes)
    probe = app_probe(actx, actx.service_target(ref), probes) if probes else None
    with actx.console() as console:
        app = actx.resolve_app(console, ref)
        result = change_secret(
            SecretDeps(console, probe), app, name, value, publish=publish, create=not rotate
        )
    return result.to_dict(), result.exit_code


def run_credential_rotation(
    actx: AppContext,
    provider: str,
    stdin: bool,
    from_env: str | None,
    field: str | None,
    probe_app: str | None,
    yes: bool,
) -> tuple[dict[str, Any], ExitCode]:
    from difyctl.output.prompt import confirm
    from difyctl.rotation.provider_creds import CredentialDeps, rotate_credential

    value = read_value(actx, stdin, from_env, "--stdin")
    confirm(f"Rotate the credential of model provider {provider}?", yes=yes)
    probe = (
        app_probe(actx, actx.service_target(probe_app), ["difyctl credential probe"]) if probe_app else None
    )
    with actx.console() as console:
        result = rotate_credential(
            CredentialDeps(console, actx.get_runtime().now, probe), provider, value, field
        )
    return result.to_dict(), result.exit_code
