"""Model-provider credentials, rotated with Dify's multi-credential flow:

    add the new credential (Dify validates it with the provider) -> switch to it -> probe through an
    app that uses the provider -> delete the old one.
    On a failed switch or probe: switch back to the old credential and delete the new one.

The new value is only ever sent to the server; results, errors and steps never hold it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from difyctl.client.errors import DifyError
from difyctl.exit_codes import ExitCode

if TYPE_CHECKING:
    from difyctl.client.console import ConsoleClient
    from difyctl.client.models import ModelProvider

SECRET_HINTS = ("key", "secret", "token", "password")


class _Stop(Exception):
    pass


@dataclass
class CredentialRotation:
    provider: str
    status: str = "started"  # rotated | reverted | failed | revert-failed
    old_credential_id: str | None = None
    new_credential_id: str | None = None
    new_credential_name: str | None = None
    secret_field: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    hint: str | None = None
    exit_code: ExitCode = ExitCode.OK

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK

    def step(self, name: str, ok: bool = True, error: str | None = None) -> None:
        self.steps.append({"step": name, "ok": ok, **({"error": error} if error else {})})

    def fail(
        self, error: str, hint: str | None = None, status: str = "failed", code: ExitCode = ExitCode.FAILED
    ) -> _Stop:
        self.status, self.error, self.hint, self.exit_code = status, error, hint, code
        return _Stop(error)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class CredentialDeps:
    console: ConsoleClient
    now: Callable[[], float]
    probe: Callable[[], str | None] | None = None
    hook: Callable[[str], None] = lambda _point: None


def find_provider(console: ConsoleClient, provider: str) -> ModelProvider | None:
    wanted = provider.strip("/")
    rows = console.list_providers()
    exact = [p for p in rows if p.provider == wanted]
    short = [p for p in rows if p.provider.rsplit("/", 1)[-1] == wanted]
    found = exact or short
    return found[0] if len(found) == 1 else None


def _secret_field(current: dict[str, Any], wanted: str | None) -> str:
    if wanted:
        return wanted
    fields = [k for k in current if any(h in k.lower() for h in SECRET_HINTS)]
    if len(fields) != 1:
        from difyctl.errors import UsageError

        raise UsageError(
            f"cannot tell which field holds the secret ({', '.join(fields) or 'none found'})",
            hint="pass --field NAME",
        )
    return fields[0]


def rotate_credential(
    deps: CredentialDeps, provider: str, value: str, field_name: str | None
) -> CredentialRotation:
    res = CredentialRotation(provider=provider)
    try:
        _rotate(deps, res, provider, value, field_name)
    except _Stop:
        pass
    return res


def _rotate(
    deps: CredentialDeps, res: CredentialRotation, provider: str, value: str, field_name: str | None
) -> None:
    import time

    console = deps.console
    found = find_provider(console, provider)
    if found is None:
        raise res.fail(f"no model provider {provider!r} is configured in this workspace", code=ExitCode.USAGE)
    res.provider = pid = found.provider
    res.old_credential_id = old = found.current_credential_id
    current = console.get_provider_credentials(pid, old) if old else {}
    res.secret_field = key = _secret_field(current, field_name)
    # non-secret fields (base URL, organisation ...) carry over; obfuscated secrets cannot
    fields = {k: v for k, v in current.items() if not any(h in k.lower() for h in SECRET_HINTS)}
    fields[key] = value
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(deps.now()))
    res.new_credential_name = name = f"difyctl-{stamp}"
    before = {c.id for c in found.credentials}
    try:
        console.add_provider_credential(pid, fields, name=name)
    except DifyError as exc:
        res.step("add (validated by Dify)", False, exc.message)
        _drop_strays(console, pid, before, name)
        raise res.fail(f"Dify refused the new credential: {exc.message}; nothing changed") from None
    after = find_provider(console, pid)
    new = next(
        (c for c in (after.credentials if after else ()) if c.id not in before and c.name == name), None
    )
    if new is None:
        raise res.fail("the new credential was accepted but is not listed; nothing was switched")
    res.new_credential_id = new.id
    res.step("add (validated by Dify)")
    deps.hook("after_add")
    try:
        console.switch_provider_credential(pid, new.id)
        res.step("switch to the new credential")
        deps.hook("after_switch")
        error = deps.probe() if deps.probe is not None else None
    except DifyError as exc:
        error = f"switch: {exc.message}"
    if deps.probe is not None or error:
        res.step("probe through the app", error is None, error)
    if error is not None:
        _revert(console, res, pid, old, new.id, error)
    if old:
        try:
            console.delete_provider_credential(pid, old)
            res.step("delete the old credential")
        except DifyError as exc:
            res.step("delete the old credential", False, exc.message)
            raise res.fail(
                f"the new credential is active, but deleting the old one failed: {exc.message}",
                f"delete credential {old} in the console (Settings -> Model Provider)",
            ) from None
    res.status = "rotated"


def _drop_strays(console: ConsoleClient, pid: str, before: set[str], name: str) -> None:
    """An add that failed after the server stored it: remove what it left."""
    try:
        after = find_provider(console, pid)
        for c in after.credentials if after else ():
            if c.id not in before and c.name == name:
                console.delete_provider_credential(pid, c.id)
    except DifyError:
        pass


def _revert(
    console: ConsoleClient, res: CredentialRotation, pid: str, old: str | None, new_id: str, why: str
) -> None:
    try:
        if old:
            console.switch_provider_credential(pid, old)
            res.step("switch back to the old credential")
        console.delete_provider_credential(pid, new_id)
        res.step("delete the new credential")
    except DifyError as exc:
        res.step("revert", False, exc.message)
        raise res.fail(
            f"{why}; REVERTING FAILED: {exc.message}",
            f"switch provider {pid} back to credential {old} in the console and delete {new_id}",
            status="revert-failed",
        ) from None
    raise res.fail(f"{why}; switched back to the old credential and deleted the new one", status="reverted")
