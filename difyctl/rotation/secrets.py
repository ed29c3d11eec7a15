"""Workflow secret variables: set and rotate one variable through draft sync + publish, with a probe
and a restore that provably brings the previous value back.

Restore path (see fixtures/README.md, "Secret variables"): after the sync, `[__HIDDEN__]` only
keeps the CURRENT stored value (the new one), so it cannot bring the old one back. The old value
is therefore read before the change from an `include_secret=true` export of the PUBLISHED workflow
(what production runs), kept in memory only (never written, logged or journalled), and restored
by syncing it as a plain new value - the one row of the table that stores exactly what is sent.
Every sync is verified by a second in-memory export: the variable holds what was sent and every
other secret is unchanged. Other variables are always sent as `[__HIDDEN__]` with their live ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from difyctl.client.errors import ConflictError, DifyError
from difyctl.client.models import HIDDEN_VALUE, EnvVar
from difyctl.exit_codes import ExitCode

if TYPE_CHECKING:
    from difyctl.client.console import ConsoleClient
    from difyctl.client.models import App, Workflow


class _Stop(Exception):
    pass


@dataclass
class SecretChange:
    app: str
    name: str
    status: str = "started"  # changed | synced | restored | failed | restore-failed
    published: bool = False
    steps: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    hint: str | None = None
    exit_code: ExitCode = ExitCode.OK
    app_id: str | None = None
    app_mode: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK

    def step(self, name: str, ok: bool = True, error: str | None = None) -> None:
        self.steps.append({"step": name, "ok": ok, **({"error": error} if error else {})})

    def to_dict(self) -> dict[str, Any]:
        from difyctl.jsonshape import app_fields

        doc = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("app_id", "app_mode")}
        return {**doc, **app_fields(self.app_id, self.app, self.app_mode)}


@dataclass
class SecretDeps:
    console: ConsoleClient
    probe: Callable[[], str | None] | None = None  # None: passed; else the error
    hook: Callable[[str], None] = lambda _point: None


def list_secrets(console: ConsoleClient, app: App) -> list[dict[str, Any]]:
    draft = console.get_draft(app.id)
    from difyctl.jsonshape import app_fields_of

    return [{**v.to_dict(), **app_fields_of(app)} for v in draft.environment_variables]  # secrets masked


def secret_values(console: ConsoleClient, app_id: str, workflow_id: str | None) -> dict[str, Any]:
    """{name: value} of the secret variables, from an include_secret export: memory only."""
    import yaml

    doc = yaml.safe_load(console.export_dsl(app_id, include_secret=True, workflow_id=workflow_id)) or {}
    env = ((doc.get("workflow") or {}).get("environment_variables")) or []
    return {
        str(v.get("name")): v.get("value")
        for v in env
        if isinstance(v, dict) and v.get("value_type") == "secret"
    }


def _payload_env(draft: Workflow, name: str, value: str, create: bool) -> list[EnvVar]:
    out: list[EnvVar] = []
    found = False
    for v in draft.environment_variables:
        if v.name == name:
            found = True
            out.append(EnvVar(v.id, v.name, value, "secret", v.description))
        elif v.is_secret:
            out.append(EnvVar(v.id, v.name, HIDDEN_VALUE, v.value_type, v.description))
        else:
            out.append(v)
    if not found and create:
        import uuid

        out.append(EnvVar(str(uuid.uuid4()), name, value, "secret", ""))
    return out


class SecretEngine:
    def __init__(self, deps: SecretDeps, app: App, name: str, res: SecretChange) -> None:
        self.deps, self.console, self.app, self.name, self.res = deps, deps.console, app, name, res

    def _sync(self, value: str, create: bool = False) -> None:
        """draft get -> only NAME changed -> sync with the hash; a 409 re-reads and retries once."""
        for attempt in (1, 2):
            draft = self.console.get_draft(self.app.id)
            env = _payload_env(draft, self.name, value, create)
            try:
                self.console.sync_draft(
                    self.app.id, draft.graph, draft.features, draft.hash, env, draft.conversation_variables
                )
                return
            except ConflictError:
                if attempt == 2:
                    raise
                self.res.step("draft changed meanwhile (409): re-read and retry", True)

    def _verify(self, expected: str, others: dict[str, Any]) -> None:
        now = secret_values(self.console, self.app.id, None)
        if now.get(self.name) != expected:
            raise DifyError(f"the draft does not hold the value just sent for {self.name}")
        changed = [k for k, v in others.items() if k != self.name and now.get(k) != v]
        if changed:
            raise DifyError(f"other secrets changed unexpectedly: {', '.join(sorted(changed))}")

    def run(self, value: str, *, publish: bool, create: bool) -> SecretChange:
        res, console = self.res, self.console
        try:
            draft = console.get_draft(self.app.id)
            exists = any(v.name == self.name for v in draft.environment_variables)
            var = next((v for v in draft.environment_variables if v.name == self.name), None)
            if var is not None and not var.is_secret:
                raise res_fail(res, f"{self.name} is a {var.value_type} variable, not a secret")
            if not exists and not create:
                raise res_fail(
                    res, f"app {self.app.name!r} has no variable {self.name}", "`secrets set` creates one"
                )
            published = console.get_published(self.app.id)
            if publish and published is not None and published.hash != draft.hash:
                raise res_fail(
                    res,
                    "the draft has unpublished changes: publishing would ship them too; nothing was changed",
                    "publish or discard the draft first, or use --no-publish",
                )
            before = secret_values(console, self.app.id, None)
            previous = secret_values(console, self.app.id, published.id) if published else {}
            res.step("read the current values (in memory only)")
        except DifyError as exc:
            raise res_fail(res, f"reading the draft failed: {exc.message}", exc.hint) from None
        try:
            self._sync(value, create=create and not exists)
            self._verify(value, before)
            res.step("draft synced and verified")
            self.deps.hook("after_sync")
        except DifyError as exc:
            res.step("draft sync", False, exc.message)
            return self._restore_draft(before, f"the draft sync failed: {exc.message}")
        if not publish:
            res.status = "synced"
            return res
        try:
            console.publish(self.app.id, marked_comment=f"difyctl: secret {self.name} rotated")
            res.published = True
            res.step("published")
            self.deps.hook("after_publish")
        except DifyError as exc:
            res.step("publish", False, exc.message)
            return self._restore(previous, before, f"publishing failed: {exc.message}")
        if self.deps.probe is not None:
            error = self.deps.probe()
            res.step("probe", error is None, error)
            if error is not None:
                return self._restore(previous, before, f"the probe failed: {error}")
        res.status = "changed"
        return res

    def _restore_draft(self, before: dict[str, Any], why: str) -> SecretChange:
        """The sync failed or verified wrong: put the draft's own previous value back (no publish)."""
        if self.name not in before:
            raise res_fail(self.res, why)
        try:
            self._sync(str(before[self.name]))
            self._verify(str(before[self.name]), before)
        except DifyError as exc:
            return self._restore_failed(why, exc)
        self.res.step("draft value restored and verified")
        raise res_fail(self.res, why + "; the previous value was restored", status="restored")

    def _restore(self, previous: dict[str, Any], before: dict[str, Any], why: str) -> SecretChange:
        old = previous.get(self.name, before.get(self.name))
        if old is None:
            raise res_fail(self.res, why + "; the variable is new, nothing to restore", "fix and run again")
        try:
            self._sync(str(old))
            self._verify(str(old), {k: v for k, v in before.items() if k != self.name})
            self.console.publish(self.app.id, marked_comment=f"difyctl: secret {self.name} restored")
        except DifyError as exc:
            return self._restore_failed(why, exc)
        self.res.step("previous value restored, verified and re-published")
        raise res_fail(
            self.res, why + "; the previous value was restored and re-published", status="restored"
        )

    def _restore_failed(self, why: str, exc: DifyError) -> SecretChange:
        self.res.step("restore", False, exc.message)
        raise res_fail(
            self.res,
            f"{why}; RESTORING THE PREVIOUS VALUE FAILED: {exc.message}",
            f"set it again by hand: `difyctl secrets set {self.app.name} {self.name} --stdin`",
            status="restore-failed",
        )


def res_fail(res: SecretChange, error: str, hint: str | None = None, status: str = "failed") -> _Stop:
    res.status, res.error, res.hint, res.exit_code = status, error, hint, ExitCode.FAILED
    return _Stop(error)


def change_secret(
    deps: SecretDeps, app: App, name: str, value: str, *, publish: bool = True, create: bool = False
) -> SecretChange:
    res = SecretChange(app=app.name, name=name, app_id=app.id, app_mode=app.mode)
    if app.mode not in ("workflow", "advanced-chat"):
        res_fail(res, f"app {app.name!r} is a {app.mode} app: only workflow and chatflow apps have variables")
        return res
    try:
        return SecretEngine(deps, app, name, res).run(value, publish=publish, create=create)
    except _Stop:
        return res
