"""The release engine behind `difyctl apply -f FILE|DIR`: match files to live apps, plan, apply.

match()  read-only, before anything is sent: each file -> its live app (pinned id, else exact name) or
         "create"; refuses a mode mismatch (Dify would accept it and corrupt the app, fixtures 077-078),
         two files for one app, an ambiguous name, and a new app whose secrets nobody supplied.
plan()   per app, the rollback engine's plan (pre-change snapshot, semantic diff, live secrets kept in
         memory); `--secret` values that differ from the live ones count as a change.
apply()  per app through RollbackEngine.apply (import, publish with the release message, verify by
         re-export, probe, automatic restore on failure); updates first, creations last. Without
         `atomic` a failed app does not stop the others; with it, the first failure stops the run
         and every app already applied is restored (verified) to its pre-change snapshot.
Never prints, never exits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from difyctl.client.models import App
from difyctl.errors import Interrupted, UsageError
from difyctl.release.files import ReleaseFile
from difyctl.release.results import (
    CREATE,
    CREATED,
    INTERRUPTED,
    ROLLED_BACK,
    SKIPPED,
    UNCHANGED,
    UPDATE,
    AppPlan,
    ItemResult,
    ReleasePlan,
    ReleaseResult,
)
from difyctl.snapshots.diff import semantic_diff
from difyctl.snapshots.dsl import (
    WORKFLOW_MODES,
    blank_secret_names,
    content_hash,
    dump_dsl,
    fill_secrets,
    parse_dsl,
    secret_values,
)
from difyctl.snapshots.results import RESTORED, RollbackResult, Step
from difyctl.snapshots.rollback import IMPORT_DONE, Confirm, DslConsole, Probe, RollbackEngine
from difyctl.snapshots.store import SnapshotStore, utcnow

T = TypeVar("T")
log = logging.getLogger(__name__)
MARKED_NAME = "difyctl apply"


class ReleaseConsole(DslConsole, Protocol):
    def iter_apps(
        self, mode: str | None = None, name: str | None = None, limit: int = 100
    ) -> Iterator[App]: ...

    def delete_app(self, app_id: str) -> None: ...


class _NotVerified(Exception):
    pass


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return str(message) if message else f"{type(exc).__name__}: {exc}"


class ReleaseEngine:
    def __init__(
        self,
        console: ReleaseConsole,
        store: SnapshotStore,
        *,
        probe_for: Callable[[App], Probe | None] | None = None,
        confirm: Confirm | None = None,
        base_url: str | None = None,
        server_version: str | None = None,
        clock: Callable[[], Any] = utcnow,
    ) -> None:
        self.console = console
        self.store = store
        self.probe_for = probe_for
        self.confirm = confirm
        self.base_url = base_url
        self.server_version = server_version
        self.clock = clock
        self._engines: dict[str, RollbackEngine] = {}

    # ----------------------------------------------------------------------------------- match
    def match(
        self, files: Sequence[ReleaseFile], secrets: Mapping[str, str] | None = None
    ) -> list[tuple[ReleaseFile, App | None]]:
        apps = list(self.console.iter_apps())
        by_id = {a.id: a for a in apps}
        out: list[tuple[ReleaseFile, App | None]] = []
        for f in files:
            if f.app_id:
                app = by_id.get(f.app_id)
                if app is None:
                    raise UsageError(
                        f"{f.label}: app id {f.app_id} (from the {f.pinned_by}) is not on this server",
                        hint="fix difyctl.yaml, or remove the entry to match the app by name",
                    )
            else:
                found = [a for a in apps if a.name == f.name]
                if len(found) > 1:
                    raise UsageError(
                        f"{f.label}: {len(found)} live apps are named {f.name!r}",
                        hint="pin the file to one app id in difyctl.yaml",
                    )
                app = found[0] if found else None
            if app is not None and app.mode != f.mode:
                raise UsageError(
                    f"{f.label} is a {f.mode} app but {app.name!r} is {app.mode}",
                    hint="Dify would accept it and silently corrupt the app; "
                    "apply it to an app of the same mode",
                )
            if app is None:
                blank = [n for n in blank_secret_names(f.target.doc) if n not in (secrets or {})]
                if blank:
                    raise UsageError(
                        f"{f.label}: the new app {f.name!r} would get blank secrets: {', '.join(blank)}",
                        hint="supply them with --secret NAME=ENV_VAR; difyctl never blanks a secret",
                    )
            out.append((f, app))
        seen: dict[str, str] = {}
        for f, app in out:
            if app is not None:
                if app.id in seen:
                    raise UsageError(
                        f"{seen[app.id]} and {f.label} both apply to {app.name!r} ({app.id})",
                        hint="one file per app; remove or rename one",
                    )
                seen[app.id] = f.label
        return out

    # ------------------------------------------------------------------------------------ plan
    def plan(self, files: Sequence[ReleaseFile], secrets: Mapping[str, str] | None = None) -> ReleasePlan:
        secrets = dict(secrets or {})
        items = []
        for f, app in self.match(files, secrets):
            warnings = tuple(
                f"secret {name} has a value in {f.label}: keep secrets out of the repo (--secret)"
                for name in secret_values(f.target.doc)
            )
            if app is None:
                items.append(AppPlan(f, CREATE, None, None, semantic_diff({}, f.target.doc), (), warnings))
                continue
            engine = self._engine(app)
            rp = engine.plan(app, f.target)
            missing = [n for n in rp.missing_secrets if n not in secrets]
            if missing:
                raise UsageError(
                    f"secret variables blank in {f.label} and not set on {app.name!r}: {', '.join(missing)}",
                    hint="supply them with --secret NAME=ENV_VAR; difyctl never blanks a secret",
                )
            updates = tuple(
                n
                for n in blank_secret_names(f.target.doc)
                if rp.method == "import" and n in secrets and rp.live_secrets.get(n) != secrets[n]
            )
            action = UNCHANGED if rp.unchanged and not updates else UPDATE
            items.append(AppPlan(f, action, rp.app, rp, rp.diff, updates, warnings))
        return ReleasePlan(items)

    def _engine(self, app: App) -> RollbackEngine:
        if app.id not in self._engines:
            self._engines[app.id] = RollbackEngine(
                self.console,
                self.store,
                clock=self.clock,
                probe=self.probe_for(app) if self.probe_for else None,
                confirm=self.confirm,
                base_url=self.base_url,
                server_version=self.server_version,
            )
        return self._engines[app.id]

    # ----------------------------------------------------------------------------------- apply
    def apply(
        self,
        plan: ReleasePlan,
        *,
        publish: bool = True,
        yes: bool = False,
        secrets: Mapping[str, str] | None = None,
        message: str | None = None,
        atomic: bool = False,
    ) -> ReleaseResult:
        secrets = dict(secrets or {})
        order = [a for a in plan.apps if a.action != CREATE] + [a for a in plan.apps if a.action == CREATE]
        done: dict[int, ItemResult] = {}
        undo: dict[int, RollbackResult] = {}
        stop: str | None = None
        for item in order:
            if stop is not None:
                done[id(item)] = ItemResult(item, SKIPPED, error=stop)
                continue
            comment = message or f"difyctl apply {item.file.path.name}"
            try:
                if item.action == CREATE:
                    result = self._create(item, secrets, comment, publish=publish, yes=yes)
                else:
                    result, rollback = self._update(item, secrets, comment, publish=publish, yes=yes)
                    if rollback is not None and rollback.status == "applied":
                        undo[id(item)] = rollback
            except (Interrupted, KeyboardInterrupt) as exc:
                result = ItemResult(item, INTERRUPTED, error=_describe(exc) or "interrupted")
                stop = "not attempted: the run was interrupted"
            done[id(item)] = result
            if not result.ok and atomic and stop is None:
                stop = f"not attempted: {item.file.label} failed (--atomic)"
        interrupted = any(r.status == INTERRUPTED for r in done.values())
        if atomic and any(not r.ok for r in done.values()):
            self._undo(plan, done, undo, publish)
        return ReleaseResult([done[id(a)] for a in plan.apps], atomic=atomic, interrupted=interrupted)

    def _update(
        self, item: AppPlan, secrets: Mapping[str, str], comment: str, *, publish: bool, yes: bool
    ) -> tuple[ItemResult, RollbackResult | None]:
        assert item.plan is not None and item.app is not None
        if item.action == UNCHANGED:
            return ItemResult(
                item, "unchanged", [Step("apply", "skipped", "the live app already matches")]
            ), None
        res = self._engine(item.app).apply(
            item.plan,
            publish=publish,
            yes=yes,
            secret_values=secrets,
            comment=comment,
            marked_name=MARKED_NAME,
            force=bool(item.secret_updates),
        )
        return ItemResult(item, res.status, list(res.steps), res.error, res.hint), res

    def _undo(
        self, plan: ReleasePlan, done: dict[int, ItemResult], undo: dict[int, RollbackResult], publish: bool
    ) -> None:
        failed = next(r.item.file.label for r in done.values() if not r.ok and r.status != SKIPPED)
        for item in plan.apps:
            result = done[id(item)]
            if id(item) in undo and item.app is not None:
                back = self._engine(item.app).restore(undo[id(item)], f"{failed} failed", published=publish)
                ok = back.status == RESTORED
                done[id(item)] = ItemResult(
                    item,
                    ROLLED_BACK if ok else back.status,
                    list(back.steps),
                    f"applied, then restored because {failed} failed (--atomic)" if ok else back.error,
                    back.hint,
                )
            elif result.status == CREATED and result.app_id:
                done[id(item)] = self._uncreate(item, result, f"{failed} failed (--atomic)")

    def _uncreate(self, item: AppPlan, result: ItemResult, why: str) -> ItemResult:
        """An app this run created is deleted again: before the run it did not exist."""
        steps = list(result.steps)
        app_id = str(result.app_id)
        try:
            self._step(steps, "delete created app", lambda: self.console.delete_app(app_id))
        except Exception as exc:
            return ItemResult(
                item,
                result.status,
                steps,
                f"created as {app_id}, and deleting it again failed: {_describe(exc)}",
                "delete it in the console",
                app_id,
            )
        return ItemResult(item, ROLLED_BACK, steps, f"created, then deleted because {why}", None, app_id)

    def _create(
        self, item: AppPlan, secrets: Mapping[str, str], comment: str, *, publish: bool, yes: bool
    ) -> ItemResult:
        f, steps = item.file, list[Step]()
        doc, _missing = fill_secrets(f.target.doc, secrets)
        text = f.target.text if doc == f.target.doc else dump_dsl(doc)
        res: Any = self._step(steps, "import", lambda: self.console.import_dsl(text, name=f.name or None))
        if res.status == "pending":
            question = (
                f"The DSL is version {res.imported_dsl_version}, the server's is "
                f"{res.current_dsl_version}. Import it anyway?"
            )
            if not (yes or (self.confirm is not None and self.confirm(question))):
                steps.append(Step("confirm", "refused", question))
                return ItemResult(
                    item, "refused", steps, "DSL version mismatch not confirmed; nothing created"
                )
            res = self._step(steps, "confirm", lambda: self.console.confirm_import(res.id))
        app_id = getattr(res, "app_id", None)
        if res.status not in IMPORT_DONE or not app_id:
            steps[-1] = Step(steps[-1].name, "failed", res.error or f"import {res.status}")
            return ItemResult(
                item, "failed", steps, f"the server refused the import: {res.error or res.status}"
            )
        try:
            if f.mode in WORKFLOW_MODES and publish:
                self._step(steps, "publish", lambda: self.console.publish(app_id, MARKED_NAME, comment[:100]))
            live = self._step(steps, "verify", lambda: self._verify_created(app_id, f, publish))
            probe = self.probe_for(live) if self.probe_for else None
            if probe is not None:
                self._step(steps, "probe", lambda: self._probe(probe, live))
        except Exception as exc:
            failed = ItemResult(item, "failed", steps, _describe(exc), None, app_id)
            undone = self._uncreate(item, failed, "it did not pass its checks")
            if undone.status == ROLLED_BACK:
                undone.status, undone.error = "failed", f"{_describe(exc)}; the new app was deleted again"
            return undone
        return ItemResult(item, CREATED, steps, app_id=app_id)

    def _verify_created(self, app_id: str, f: ReleaseFile, published: bool) -> App:
        live = self.console.get_app(app_id)
        workflow_id = live.published_workflow_id if f.mode in WORKFLOW_MODES and published else None
        got = content_hash(
            parse_dsl(self.console.export_dsl(app_id, workflow_id=workflow_id), "the re-export")
        )
        if got != f.target.content_hash:
            raise _NotVerified(
                f"the re-exported app does not match ({got[:19]}… != {f.target.content_hash[:19]}…)"
            )
        return live

    @staticmethod
    def _probe(probe: Probe, app: App) -> None:
        if probe(app) is False:
            raise _NotVerified("the probe failed")

    @staticmethod
    def _step(steps: list[Step], name: str, fn: Callable[[], T]) -> T:
        log.info("apply step %s", name)
        try:
            value = fn()
        except BaseException as exc:
            steps.append(Step(name, "failed", _describe(exc)))
            raise
        steps.append(Step(name, "ok"))
        return value
