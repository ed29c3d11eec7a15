"""The release engine behind `difyctl apply -f FILE|DIR`: match files to live apps, plan, apply.

match()  read-only, before anything is sent: each file -> its live app (pinned id, else exact name) or
         "create"; refuses a mode mismatch (Dify would accept it and corrupt the app, fixtures 077-078),
         two files for one app, an ambiguous name, and a new app whose secrets nobody supplied.
plan()   per app, the change engine's plan (read-only: semantic diff, secret plan, live secrets kept
         in memory); `--secret` values that differ from the live ones count as a change.
apply()  per app through the one change engine, difyctl.change (import, publish with the release
         message, verify by re-export, probe, automatic restore on failure); updates first,
         creations last. Without `atomic` a failed app does not stop the others; with it, the first
         failure stops the run and every app already applied is restored (verified) to its safety
         snapshot.
Never prints, never exits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from difyctl.change.create import CREATED as ENGINE_CREATED
from difyctl.change.create import CreateResult
from difyctl.change.engine import ChangeEngine, refuse_missing_secrets
from difyctl.change.steps import Confirm, CreatingConsole, Probe, describe
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
    blank_secret_names,
    secret_values,
)
from difyctl.snapshots.results import RESTORED, RollbackResult, Step
from difyctl.snapshots.store import SnapshotStore, utcnow

MARKED_NAME = "difyctl apply"
_SECRET_HINT = "supply them with --secret NAME=ENV_VAR (or pass --allow-blank-secret)"


class ReleaseConsole(CreatingConsole, Protocol):
    def iter_apps(
        self, mode: str | None = None, name: str | None = None, limit: int = 100
    ) -> Iterator[App]: ...


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
        allow_blank: bool = False,
    ) -> None:
        self.allow_blank = allow_blank  # --allow-blank-secret: a secret with no value anywhere stays blank
        self.console = console
        self.store = store
        self.probe_for = probe_for
        self.confirm = confirm
        self.base_url = base_url
        self.server_version = server_version
        self.clock = clock
        self._engines: dict[str, ChangeEngine] = {}

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
                ChangeEngine.check_create(
                    f.target, f.name, secret_values=secrets, allow_blank=self.allow_blank, hint=_SECRET_HINT
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
            rp = engine.plan(app, f.target, secret_values=secrets)
            if not self.allow_blank:
                missing = [n for n in rp.missing_secrets if n not in secrets]
                refuse_missing_secrets(f.label, missing, live=repr(app.name), hint=_SECRET_HINT)
            updates = tuple(
                n
                for n in blank_secret_names(f.target.doc)
                if rp.method == "import" and n in secrets and rp.live_secrets.get(n) != secrets[n]
            )
            action = UNCHANGED if rp.unchanged and not updates else UPDATE
            items.append(AppPlan(f, action, rp.app, rp, rp.diff, updates, warnings))
        return ReleasePlan(items)

    def _engine(self, app: App | None) -> ChangeEngine:
        key = app.id if app is not None else ""
        if key not in self._engines:
            self._engines[key] = ChangeEngine(
                self.console,
                self.store,
                clock=self.clock,
                probe=self.probe_for(app) if self.probe_for and app is not None else None,
                confirm=self.confirm,
                base_url=self.base_url,
                server_version=self.server_version,
                verb="apply",
            )
        return self._engines[key]

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
                result = ItemResult(item, INTERRUPTED, error=describe(exc) or "interrupted")
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
            allow_blank=self.allow_blank,
        )
        return ItemResult(item, res.status, list(res.steps), res.error, res.hint, cause=res.cause), res

    def _undo(
        self, plan: ReleasePlan, done: dict[int, ItemResult], undo: dict[int, RollbackResult], publish: bool
    ) -> None:
        first = next(r for r in done.values() if not r.ok and r.status != SKIPPED)
        failed = first.item.file.label
        # undone because of that failure: its cause is theirs (the server cut it: 5, not 1)
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
                    cause=first.cause,
                )
            elif result.status == CREATED and result.app_id:
                undone = self._uncreate(item, result, f"{failed} failed (--atomic)")
                done[id(item)] = dataclasses.replace(undone, cause=first.cause)

    def _uncreate(self, item: AppPlan, result: ItemResult, why: str) -> ItemResult:
        """An app this run created is deleted again: before the run it did not exist."""
        created = CreateResult(ENGINE_CREATED, list(result.steps), app_id=result.app_id)
        done = self._engine(None).uncreate(created, why)
        status = ROLLED_BACK if done.status == ROLLED_BACK else result.status
        return ItemResult(item, status, done.steps, done.error, done.hint, result.app_id)

    def _create(
        self, item: AppPlan, secrets: Mapping[str, str], comment: str, *, publish: bool, yes: bool
    ) -> ItemResult:
        f = item.file
        res = self._engine(None).create(
            f.target,
            f.name or None,
            publish=publish,
            yes=yes,
            secret_values=secrets,
            comment=comment,
            marked_name=MARKED_NAME,
            probe_for=self.probe_for,
        )
        return ItemResult(item, res.status, res.steps, res.error, res.hint, res.app_id)
