"""The rollback engine (DESIGN.md "Rollback"): it can never lose the present state.

plan():  load + verify the target -> refuse a different app mode -> export the live state (the PUBLISHED
         workflow) into an automatic `pre-rollback-<ts>` snapshot (and the unpublished draft, if it differs,
         into `pre-rollback-draft-<ts>`) -> semantic diff.
apply(): import (or model-config) -> confirm if pending -> publish -> verify by re-export -> probe.
         Anything that fails after the change may have reached the server -> restore the pre-rollback
         state the same way and verify it.

Secrets. A plain export holds secret variables as `value: ''`, and importing it wipes them
(fixtures/README.md). Re-injecting afterwards leaves a window with wiped secrets, and `[__HIDDEN__]` by id
cannot help once the import has replaced the stored value. So plan() also exports the live state with
`include_secret=true`, kept in memory only, and apply() fills every secret the target holds blank with
its live value (by name) BEFORE the single import. There is no moment at which the app holds blank
secrets, a crash between any two steps leaves the published app in its old or its new content, and the
restore path reuses the same in-memory export, so it brings back the secrets too. A blank secret that is
not live is never blanked: apply() refuses until its value is supplied.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from difyctl.client.models import App
from difyctl.errors import DifyctlError, Interrupted, UsageError
from difyctl.snapshots.diff import semantic_diff
from difyctl.snapshots.dsl import (
    WORKFLOW_MODES,
    canonical_json,
    content_hash,
    dump_dsl,
    fill_secrets,
    normalise,
    parse_dsl,
    secret_variables,
)
from difyctl.snapshots.results import (
    APPLIED,
    FAILED,
    REFUSED,
    RESTORE_FAILED,
    RESTORED,
    UNCHANGED,
    RollbackPlan,
    RollbackResult,
    RollbackTarget,
    Step,
)
from difyctl.snapshots.store import PRE_ROLLBACK_PREFIX, SnapshotStore, utcnow

T = TypeVar("T")
log = logging.getLogger(__name__)
IMPORT_DONE = frozenset({"completed", "completed-with-warnings"})


class ImportOutcome(Protocol):
    """What difyctl.client.models.ImportResult offers (read-only)."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def current_dsl_version(self) -> str | None: ...
    @property
    def imported_dsl_version(self) -> str | None: ...


class DslConsole(Protocol):
    """The part of difyctl.client.console.ConsoleClient the engine uses (draft sync is not needed)."""

    def get_app(self, app_id: str) -> App: ...
    def export_dsl(
        self, app_id: str, include_secret: bool = False, workflow_id: str | None = None
    ) -> str: ...
    def import_dsl(
        self, yaml_content: str, app_id: str | None = None, name: str | None = None
    ) -> ImportOutcome: ...
    def confirm_import(self, import_id: str) -> ImportOutcome: ...
    def publish(
        self, app_id: str, marked_name: str | None = None, marked_comment: str | None = None
    ) -> object: ...
    def update_model_config(self, app_id: str, config: Mapping[str, Any]) -> object: ...


Probe = Callable[[App], object]  # raise, or return False, to fail the rollback
Confirm = Callable[[str], bool]


class _Refused(Exception):
    """A confirmation was refused: nothing was applied."""


class _Rejected(Exception):
    """The server refused the change outright (import status failed): nothing was applied."""


class _Failed(Exception):
    """A step after the change failed (verification, probe)."""


@dataclass
class _Progress:
    publish_attempted: bool = False


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return str(message) if message else f"{type(exc).__name__}: {exc}"


def section_hash(method: str, doc: Mapping[str, Any]) -> str:
    """What a rollback makes equal: the whole content (import), or the model config only."""
    if method == "import":
        return content_hash(doc)
    return "sha256:" + hashlib.sha256(canonical_json(normalise(doc).get("model_config")).encode()).hexdigest()


class RollbackEngine:
    def __init__(
        self,
        console: DslConsole,
        store: SnapshotStore,
        *,
        clock: Callable[[], Any] = utcnow,
        probe: Probe | None = None,
        confirm: Confirm | None = None,
        base_url: str | None = None,
        server_version: str | None = None,
    ) -> None:
        self.console = console
        self.store = store
        self.clock = clock
        self.probe = probe
        self.confirm = confirm
        self.base_url = base_url
        self.server_version = server_version

    # --------------------------------------------------------------------------------- targets
    def load_target(self, app_ref: str, tag: str, *, force: bool = False) -> RollbackTarget:
        """A stored snapshot; a hand-edited file (checksum) is refused unless `force`."""
        return RollbackTarget.from_snapshot(self.store.load_verified(app_ref, tag, force=force))

    def target_from_version(self, app_id: str, version_id: str) -> RollbackTarget:
        """A published version of the app (`rollback APP --version ID`)."""
        text = self.console.export_dsl(app_id, workflow_id=version_id)
        return RollbackTarget.from_text(f"version:{version_id}", text)

    # ------------------------------------------------------------------------------------ plan
    def plan(self, app: App | str, target: RollbackTarget | str, *, force: bool = False) -> RollbackPlan:
        app_id = app if isinstance(app, str) else app.id
        if isinstance(target, str):
            target = self.load_target(app_id, target, force=force)  # before anything is sent
        live = self.console.get_app(app_id)
        if target.mode != live.mode:
            raise UsageError(
                f"{target.label} is a {target.mode} app but {live.name!r} is {live.mode}",
                hint="Dify would accept it and silently corrupt the app; apply it to an app of the same mode",
            )
        method = "import" if live.mode in WORKFLOW_MODES else "model-config"
        if method == "model-config" and not isinstance(target.doc.get("model_config"), dict):
            raise UsageError(f"{target.label} has no `model_config:` section to apply to a {live.mode} app")
        workflow_id = live.published_workflow_id if method == "import" else None
        live_text = self.console.export_dsl(live.id, workflow_id=workflow_id)
        live_doc = parse_dsl(live_text, f"the live export of {live.name}")
        secret_text, secrets = "", {}
        if method == "import" and secret_variables(live_doc):
            secret_text = self.console.export_dsl(live.id, include_secret=True, workflow_id=workflow_id)
            secret_doc = parse_dsl(secret_text, f"the live export of {live.name}")
            if content_hash(secret_doc) != content_hash(live_doc):
                raise DifyctlError(f"{live.name!r} changed while it was being exported", hint="run it again")
            secrets = {str(v.get("name")): str(v.get("value") or "") for v in secret_variables(secret_doc)}
        now = self.clock()
        pre = self.store.save(
            live_text,
            app_id=live.id,
            app_name=live.name,
            app_mode=live.mode,
            tag_prefix=PRE_ROLLBACK_PREFIX,
            message=f"automatic, before rollback to {target.label}",
            base_url=self.base_url,
            server_version=self.server_version,
            workflow_id=workflow_id,
            draft=method == "import" and workflow_id is None,
            dedupe=False,
            now=now,
        )
        draft_meta = None
        if method == "import" and workflow_id is not None:
            draft_text = self.console.export_dsl(live.id)
            if content_hash(parse_dsl(draft_text, "the draft export")) != content_hash(live_doc):
                draft_meta = self.store.save(
                    draft_text,
                    app_id=live.id,
                    app_name=live.name,
                    app_mode=live.mode,
                    draft=True,
                    tag_prefix=PRE_ROLLBACK_PREFIX + "draft-",
                    dedupe=False,
                    now=now,
                    message=f"automatic: unpublished draft, replaced by rollback to {target.label}",
                    base_url=self.base_url,
                    server_version=self.server_version,
                ).snapshot
        missing = fill_secrets(target.doc, secrets)[1] if method == "import" else []
        return RollbackPlan(
            app=live,
            target=target,
            pre_rollback=pre.snapshot,
            pre_rollback_path=pre.path,
            live_hash=section_hash(method, live_doc),
            target_hash=section_hash(method, target.doc),
            diff=semantic_diff(live_doc, target.doc),
            method=method,
            draft_snapshot=draft_meta,
            missing_secrets=tuple(missing),
            warnings=tuple(self._warnings(target, method, live_doc)),
            live_text=live_text,
            live_secret_text=secret_text,
            live_secrets=secrets,
        )

    @staticmethod
    def _warnings(target: RollbackTarget, method: str, live_doc: Mapping[str, Any]) -> list[str]:
        out = []
        if not target.verified:
            out.append(f"{target.label} does not match its checksum; used because of --force")
        if method == "model-config":
            meta = ("name", "description")
            if any(target.doc["app"].get(k) != live_doc.get("app", {}).get(k) for k in meta):
                out.append("name and description are not applied to chat/completion apps (model config only)")
        return out

    # ----------------------------------------------------------------------------------- apply
    def apply(
        self,
        plan: RollbackPlan,
        *,
        publish: bool = True,
        yes: bool = False,
        secret_values: Mapping[str, str] | None = None,
        comment: str | None = None,
        marked_name: str = "difyctl rollback",
        force: bool = False,
    ) -> RollbackResult:
        """Make the target live. Never raises for a failure after the change: the result says
        `restored` or `restore-failed`; raises UsageError for an unsupplied secret (nothing sent).
        `comment` / `marked_name` label the published version; `force` applies an unchanged plan
        (a secret value supplied from outside changes what the content hash cannot see)."""
        if plan.unchanged and not force:
            return RollbackResult(plan, UNCHANGED, [Step("apply", "skipped", "the live app already matches")])
        doc, text = plan.target.doc, plan.target.text
        if plan.method == "import":
            doc, missing = fill_secrets(plan.target.doc, {**plan.live_secrets, **(secret_values or {})})
            if missing:
                raise UsageError(
                    f"secret variables blank in {plan.target.label} and not set on the live app: "
                    + ", ".join(missing),
                    hint="supply their values; difyctl never blanks a secret",
                )
            text = plan.target.text if doc == plan.target.doc else dump_dsl(doc)
        steps: list[Step] = []
        progress = _Progress()
        try:
            self._apply_once(
                plan,
                text,
                doc,
                steps,
                progress,
                publish=publish,
                yes=yes,
                expect=plan.target_hash,
                prefix="",
                probe=True,
                comment=comment or f"difyctl rollback to {plan.target.label}",
                marked=marked_name,
            )
        except _Refused as exc:
            return RollbackResult(plan, REFUSED, steps, error=str(exc))
        except _Rejected as exc:
            return RollbackResult(plan, FAILED, steps, error=str(exc), hint="nothing was changed")
        except Exception as exc:  # any failure after the change: restore
            return self._restore(plan, steps, progress, _describe(exc))
        except (
            KeyboardInterrupt
        ):  # Ctrl-C: put the old state back, then stop (a second Ctrl-C stops the restore)
            restored = self._restore(plan, steps, progress, "interrupted")
            raise Interrupted(
                f"rollback interrupted; {restored.status}", hint=restored.hint or restored.error
            ) from None
        return RollbackResult(plan, APPLIED, steps)

    def restore(self, result: RollbackResult, reason: str, *, published: bool = True) -> RollbackResult:
        """Undo an applied result (a release applied atomically, where another app failed): the
        pre-rollback state is imported, published and verified the same way a failed apply is undone."""
        return self._restore(result.plan, list(result.steps), _Progress(published), reason)

    def _restore(
        self, plan: RollbackPlan, steps: list[Step], progress: _Progress, error: str
    ) -> RollbackResult:
        text = plan.live_secret_text or plan.live_text
        doc = parse_dsl(text, f"pre-rollback {plan.pre_rollback.tag}")
        try:
            self._apply_once(
                plan,
                text,
                doc,
                steps,
                _Progress(),
                publish=progress.publish_attempted,
                yes=True,
                expect=plan.live_hash,
                prefix="restore:",
                probe=False,
                comment=f"difyctl restore of {plan.pre_rollback.tag}",
                marked="difyctl restore",
            )
        except Exception as exc:
            return RollbackResult(
                plan,
                RESTORE_FAILED,
                steps,
                error=f"{error}; the restore failed too: {_describe(exc)}",
                hint=f"the pre-rollback state is saved in {plan.pre_rollback_path}: "
                f"difyctl rollback {plan.app.id} {plan.pre_rollback.tag}",
            )
        return RollbackResult(
            plan, RESTORED, steps, error=error, hint=f"the app is back to {plan.pre_rollback.tag} (verified)"
        )

    def _step(self, steps: list[Step], name: str, fn: Callable[[], T], detail: str = "") -> T:
        log.info("rollback step %s", name)
        try:
            value = fn()
        except BaseException as exc:
            steps.append(Step(name, "failed", _describe(exc)))
            log.info("rollback step %s failed: %s", name, _describe(exc))
            raise
        steps.append(Step(name, "ok", detail))
        return value

    def _apply_once(
        self,
        plan: RollbackPlan,
        text: str,
        doc: Mapping[str, Any],
        steps: list[Step],
        progress: _Progress,
        *,
        publish: bool,
        yes: bool,
        expect: str,
        prefix: str,
        probe: bool,
        comment: str,
        marked: str,
    ) -> None:
        app_id = plan.app.id
        if plan.method == "import":
            self._import(app_id, text, steps, prefix, yes)
            if publish:
                progress.publish_attempted = True
                self._step(
                    steps,
                    prefix + "publish",
                    lambda: self.console.publish(app_id, marked[:20], comment[:100]),
                )
        else:
            config = dict(doc.get("model_config") or {})
            self._step(
                steps, prefix + "model-config", lambda: self.console.update_model_config(app_id, config)
            )
        live = self._step(steps, prefix + "verify", lambda: self._verify(plan, publish, expect))
        if probe and self.probe is not None:
            probe_fn = self.probe
            self._step(steps, prefix + "probe", lambda: self._run_probe(probe_fn, live))

    def _import(self, app_id: str, text: str, steps: list[Step], prefix: str, yes: bool) -> None:
        result = self._step(steps, prefix + "import", lambda: self.console.import_dsl(text, app_id=app_id))
        if result.status == "pending":
            question = (
                f"The DSL is version {result.imported_dsl_version}, the server's is "
                f"{result.current_dsl_version}. Import it anyway?"
            )
            if not (yes or (self.confirm is not None and self.confirm(question))):
                steps.append(Step(prefix + "confirm", "refused", question))
                raise _Refused(
                    f"DSL version mismatch ({result.imported_dsl_version} vs "
                    f"{result.current_dsl_version}) not confirmed; nothing was applied"
                )
            result = self._step(steps, prefix + "confirm", lambda: self.console.confirm_import(result.id))
        if result.status not in IMPORT_DONE:
            steps[-1] = Step(steps[-1].name, "failed", result.error or f"import {result.status}")
            raise _Rejected(f"the server refused the import: {result.error or result.status}")

    def _verify(self, plan: RollbackPlan, published: bool, expect: str) -> App:
        live = self.console.get_app(plan.app.id)
        workflow_id = live.published_workflow_id if plan.method == "import" and published else None
        exported = self.console.export_dsl(plan.app.id, workflow_id=workflow_id)
        got = section_hash(plan.method, parse_dsl(exported, "the re-export"))
        if got != expect:
            raise _Failed(f"the re-exported app does not match ({got[:19]}… != {expect[:19]}…)")
        return live

    @staticmethod
    def _run_probe(probe: Probe, app: App) -> None:
        if probe(app) is False:
            raise _Failed("the probe failed")
