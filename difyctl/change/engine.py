"""The one change engine (DESIGN.md "Rollback"): every change difyctl makes to an app goes through here,
whether it comes from `rollback`, `apply`, `promote` or `promote --create`. It can never lose the present.

plan():    read-only. Load + verify the target -> refuse a different app mode -> export the live state
           (the PUBLISHED workflow, and the draft if it differs) -> semantic diff + secret plan. Nothing
           is written anywhere and nothing mutating is sent: `--dry-run` stops here.
apply():   an empty plan is "nothing to do" (no snapshot either). Otherwise: safety snapshot
           (`pre-<verb>-<ts>`, and `pre-<verb>-draft-<ts>` for unpublished draft edits) -> import (or
           model-config) -> confirm a pending import only with yes -> publish -> verify by re-export ->
           probe. Anything that fails after the change may have reached the server -> restore the safety
           state the same way and verify it.
create():  a new app (apply of a file no app matches, `promote --create`): import -> confirm -> publish
           -> verify -> probe; a new app that fails its checks is deleted again (before, it did not exist).

Secrets. A plain export holds secret variables as `value: ''`, and importing it wipes them
(fixtures/README.md). So plan() also exports the live state with `include_secret=true`, kept in memory
only, and apply() fills every secret the target holds blank with its live value (by name) BEFORE the
single import. There is no moment at which the app holds blank secrets, and the restore path reuses the
same in-memory export. A blank secret that is not live is never blanked: apply() refuses until its
value is supplied. The plan says per secret: kept, set, removed, missing (change/secrets.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from difyctl.change.create import CreateResult, create_app, uncreate_app
from difyctl.change.secrets import plan_secrets
from difyctl.change.steps import (
    Confirm,
    DslConsole,
    Failed,
    Probe,
    Refused,
    Rejected,
    describe,
    import_confirmed,
    run_step,
)
from difyctl.client.models import App
from difyctl.errors import DifyctlError, Interrupted, UsageError
from difyctl.snapshots.defaults import server_filled
from difyctl.snapshots.diff import semantic_diff
from difyctl.snapshots.dsl import (
    WORKFLOW_MODES,
    blank_secret_names,
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
from difyctl.snapshots.store import SnapshotStore, utcnow


@dataclass
class _Progress:
    publish_attempted: bool = False


def section_hash(method: str, doc: Mapping[str, Any]) -> str:
    """What a change makes equal: the whole content (import), or the model config only."""
    if method == "import":
        return content_hash(doc)
    return "sha256:" + hashlib.sha256(canonical_json(normalise(doc).get("model_config")).encode()).hexdigest()


def refuse_missing_secrets(
    label: str,
    missing: Sequence[str],
    *,
    live: str = "the live app",
    hint: str = "supply their values, or pass --allow-blank-secret to create them blank",
) -> None:
    """The one refusal of a secret that is blank in the target and has no value anywhere."""
    if missing:
        raise UsageError(
            f"secret variables blank in {label} and not set on {live}: " + ", ".join(missing), hint=hint
        )


class ChangeEngine:
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
        verb: str = "rollback",
    ) -> None:
        self.console = console
        self.store = store
        self.clock = clock
        self.probe = probe
        self.confirm = confirm
        self.base_url = base_url
        self.server_version = server_version
        self.verb = verb

    # --------------------------------------------------------------------------------- targets
    def load_target(self, app_ref: str, tag: str, *, force: bool = False) -> RollbackTarget:
        """A stored snapshot; a hand-edited file (checksum) is refused unless `force`."""
        return RollbackTarget.from_snapshot(self.store.load_verified(app_ref, tag, force=force))

    # ------------------------------------------------------------------------------------ plan
    def plan(
        self,
        app: App | str,
        target: RollbackTarget | str,
        *,
        force: bool = False,
        secret_values: Mapping[str, str] | None = None,
    ) -> RollbackPlan:
        """Read-only: nothing is written, nothing mutating is sent."""
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
        draft_text = ""
        if method == "import" and workflow_id is not None:
            text = self.console.export_dsl(live.id)
            if content_hash(parse_dsl(text, "the draft export")) != content_hash(live_doc):
                draft_text = text
        live_names = [str(v.get("name")) for v in secret_variables(live_doc)]
        secret_plan = plan_secrets(target.doc, live_names, secrets, secret_values or {})
        return RollbackPlan(
            app=live,
            target=target,
            live_hash=section_hash(method, live_doc),
            target_hash=section_hash(method, target.doc),
            diff=semantic_diff(live_doc, target.doc),
            method=method,
            verb=self.verb,
            secrets=secret_plan,
            warnings=tuple(self._warnings(target, method, live_doc)),
            live_text=live_text,
            draft_text=draft_text,
            live_workflow_id=workflow_id,
            live_secret_text=secret_text,
            live_secrets=secrets,
        )

    @staticmethod
    def _warnings(target: RollbackTarget, method: str, live_doc: Mapping[str, Any]) -> list[str]:
        out = []
        if not target.verified:
            out.append(f"{target.label} does not match its checksum; used because of --force")
        if method == "model-config":
            mine, live = target.doc["app"], live_doc.get("app") or {}
            # a key the file leaves out (a hand-written file has no description:) is not a change
            if any(k in mine and (mine[k] or "") != (live.get(k) or "") for k in ("name", "description")):
                out.append("name and description are not applied to chat/completion apps (model config only)")
        return out

    def safety_snapshot(self, plan: RollbackPlan) -> None:
        """Save the live state (and unpublished draft edits) as `pre-<verb>-<ts>`: the way back."""
        now = self.clock()
        draft = plan.method == "import" and plan.live_workflow_id is None
        pre = self.store.save(
            plan.live_text,
            app_id=plan.app.id,
            app_name=plan.app.name,
            app_mode=plan.app.mode,
            tag_prefix=plan.safety_prefix,
            message=f"automatic, before {plan.verb} to {plan.target.label}",
            base_url=self.base_url,
            server_version=self.server_version,
            workflow_id=plan.live_workflow_id,
            draft=draft,
            dedupe=False,
            now=now,
        )
        plan.pre_rollback, plan.pre_rollback_path = pre.snapshot, pre.path
        if plan.draft_text:
            plan.draft_snapshot = self.store.save(
                plan.draft_text,
                app_id=plan.app.id,
                app_name=plan.app.name,
                app_mode=plan.app.mode,
                draft=True,
                tag_prefix=plan.safety_prefix + "draft-",
                dedupe=False,
                now=now,
                message=f"automatic: unpublished draft, replaced by {plan.verb} to {plan.target.label}",
                base_url=self.base_url,
                server_version=self.server_version,
            ).snapshot

    def check(self, plan: RollbackPlan, *, allow_blank: bool = False) -> None:
        """What apply() would refuse before sending anything, said at plan time (a dry run
        must fail the way the run it previews fails): a secret with no value anywhere."""
        if not plan.unchanged and not allow_blank:
            refuse_missing_secrets(plan.target.label, plan.missing_secrets)

    # ----------------------------------------------------------------------------------- apply
    def apply(
        self,
        plan: RollbackPlan,
        *,
        publish: bool = True,
        yes: bool = False,
        secret_values: Mapping[str, str] | None = None,
        comment: str | None = None,
        marked_name: str | None = None,
        force: bool = False,
        allow_blank: bool = False,
    ) -> RollbackResult:
        """Make the target live. Never raises for a failure after the change: the result says
        `restored` or `restore-failed`; raises UsageError for an unsupplied secret (nothing sent or
        written). `comment` / `marked_name` label the published version; `force` applies an unchanged
        plan (a secret value supplied from outside changes what the content hash cannot see);
        `allow_blank` lets a secret that has no value anywhere be created blank (`--allow-blank-secret`)."""
        if plan.unchanged and not force:
            return RollbackResult(plan, UNCHANGED, [Step("apply", "skipped", "the live app already matches")])
        doc, text = plan.target.doc, plan.target.text
        if plan.method == "import":
            doc, missing = fill_secrets(plan.target.doc, {**plan.live_secrets, **(secret_values or {})})
            if not allow_blank:
                refuse_missing_secrets(plan.target.label, missing)
            text = plan.target.text if doc == plan.target.doc else dump_dsl(doc)
        if plan.pre_rollback is None:
            self.safety_snapshot(plan)  # before anything is sent: the way back is on disk first
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
                comment=comment or f"difyctl {plan.verb} to {plan.target.label}",
                marked=marked_name or f"difyctl {plan.verb}",
            )
        except Refused as exc:
            return RollbackResult(plan, REFUSED, steps, error=str(exc))
        except Rejected as exc:
            return RollbackResult(plan, FAILED, steps, error=str(exc), hint="nothing was changed")
        except Exception as exc:  # any failure after the change: restore
            return self._restore(plan, steps, progress, describe(exc), getattr(exc, "exit_code", None))
        except KeyboardInterrupt:  # Ctrl-C: put the old state back, then stop (a second one stops that)
            restored = self._restore(plan, steps, progress, "interrupted")
            raise Interrupted(
                f"{plan.verb} interrupted; {restored.status}", hint=restored.hint or restored.error
            ) from None
        return RollbackResult(plan, APPLIED, steps)

    def restore(self, result: RollbackResult, reason: str, *, published: bool = True) -> RollbackResult:
        """Undo an applied result (a release applied atomically, where another app failed): the
        safety snapshot's state is imported, published and verified the same way a failed apply is undone."""
        return self._restore(result.plan, list(result.steps), _Progress(published), reason)

    def _restore(
        self, plan: RollbackPlan, steps: list[Step], progress: _Progress, error: str, cause: int | None = None
    ) -> RollbackResult:
        text = plan.live_secret_text or plan.live_text
        tag = plan.pre_rollback.tag if plan.pre_rollback else "the safety snapshot"
        doc = parse_dsl(text, f"safety snapshot {tag}")
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
                comment=f"difyctl restore of {tag}",
                marked="difyctl restore",
            )
        except Exception as exc:
            return RollbackResult(
                plan,
                RESTORE_FAILED,
                steps,
                error=f"{error}; the restore failed too: {describe(exc)}",
                hint=f"the state before the {plan.verb} is saved in {plan.pre_rollback_path}: "
                f"difyctl rollback {plan.app.id} {tag}",
                cause=cause,
            )
        hint = f"the app is back to {tag} (verified)"
        return RollbackResult(plan, RESTORED, steps, error=error, hint=hint, cause=cause)

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
            import_confirmed(
                self.console, text, steps, app_id=app_id, yes=yes, confirm=self.confirm, prefix=prefix
            )
            if publish:
                progress.publish_attempted = True
                run_step(
                    steps,
                    prefix + "publish",
                    lambda: self.console.publish(app_id, marked[:20], comment[:100]),
                )
        else:
            config = server_filled(doc.get("model_config") or {})  # what an import would store
            run_step(steps, prefix + "model-config", lambda: self.console.update_model_config(app_id, config))
        live = run_step(
            steps, prefix + "verify", lambda: self.verify(plan.app.id, plan.method, publish, expect)
        )
        if probe and self.probe is not None:
            probe_fn = self.probe
            run_step(steps, prefix + "probe", lambda: self.run_probe(probe_fn, live))

    def verify(self, app_id: str, method: str, published: bool, expect: str) -> App:
        """Re-export the app and compare its hash with `expect` (Failed when they differ)."""
        live = self.console.get_app(app_id)
        workflow_id = live.published_workflow_id if method == "import" and published else None
        exported = self.console.export_dsl(app_id, workflow_id=workflow_id)
        got = section_hash(method, parse_dsl(exported, "the re-export"))
        if got != expect:
            raise Failed(f"the re-exported app does not match ({got[:19]}… != {expect[:19]}…)")
        return live

    @staticmethod
    def run_probe(probe: Probe, app: App) -> None:
        if probe(app) is False:
            raise Failed("the probe failed")

    # ---------------------------------------------------------------------------------- create
    def create(
        self,
        target: RollbackTarget,
        name: str | None,
        *,
        publish: bool = True,
        yes: bool = False,
        secret_values: Mapping[str, str] | None = None,
        comment: str | None = None,
        marked_name: str | None = None,
        probe_for: Callable[[App], Probe | None] | None = None,
    ) -> CreateResult:
        """A new app from `target` (change/create.py): import -> confirm -> publish -> verify -> probe;
        a new app that fails a check after the import is deleted again."""
        return create_app(
            self,
            target,
            name,
            publish=publish,
            yes=yes,
            secret_values=secret_values or {},
            comment=comment,
            marked=(marked_name or f"difyctl {self.verb}")[:20],
            probe_for=probe_for,
        )

    @staticmethod
    def check_create(
        target: RollbackTarget,
        name: str,
        *,
        secret_values: Mapping[str, str] | None = None,
        allow_blank: bool = False,
        hint: str = "pass --allow-blank-secret to create them blank, then `difyctl secrets set`",
    ) -> None:
        """What create() must not do silently, said before anything is sent (a dry run too): a new
        app whose secrets have no value anywhere (an export carries none) is refused unless allowed."""
        blank = [n for n in blank_secret_names(target.doc) if n not in (secret_values or {})]
        if blank and not allow_blank:
            raise UsageError(
                f"{target.label}: the new app {name!r} would get blank secrets: {', '.join(blank)}", hint=hint
            )

    def uncreate(self, created: CreateResult, why: str) -> CreateResult:
        """Delete an app this run created (an --atomic release undone): before the run it did not exist."""
        return uncreate_app(self, created, why)
