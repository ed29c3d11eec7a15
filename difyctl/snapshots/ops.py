"""Snapshot operations for the commands: what to export, one app or many (bounded concurrency), and the
two sides of `snapshot diff` (a tag, `live`, `draft` or a file). No printing, no exiting."""

from __future__ import annotations

import asyncio
import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from difyctl.client.errors import DifyError
from difyctl.client.models import App
from difyctl.errors import DifyctlError, UsageError
from difyctl.exit_codes import ExitCode
from difyctl.snapshots.dsl import WORKFLOW_MODES, parse_dsl, read_dsl_file
from difyctl.snapshots.paths import is_safety
from difyctl.snapshots.store import SaveResult, SnapshotStore


class Exporter(Protocol):
    def export_dsl(
        self, app_id: str, include_secret: bool = False, workflow_id: str | None = None
    ) -> str: ...


class AsyncExporter(Protocol):
    async def export_dsl(
        self, app_id: str, include_secret: bool = False, workflow_id: str | None = None
    ) -> str: ...


def export_workflow_id(app: App, *, draft: bool = False) -> str | None:
    """The published workflow unless `draft` (Dify's export without workflow_id is the DRAFT).
    None also for a never-published workflow app (only its draft exists) and for chat/completion apps."""
    if draft or app.mode not in WORKFLOW_MODES:
        return None
    return app.published_workflow_id


def _is_draft(app: App, workflow_id: str | None) -> bool:
    return app.mode in WORKFLOW_MODES and workflow_id is None


def export_app(console: Exporter, app: App, *, draft: bool = False, include_secret: bool = False) -> str:
    """`difyctl export APP`: the YAML exactly as the server sends it."""
    return console.export_dsl(
        app.id, include_secret=include_secret, workflow_id=export_workflow_id(app, draft=draft)
    )


@dataclass(frozen=True)
class SnapshotOptions:
    tag: str | None = None
    message: str = ""
    draft: bool = False
    include_secret: bool = False
    base_url: str | None = None
    server_version: str | None = None


def _save(store: SnapshotStore, app: App, text: str, opts: SnapshotOptions, now: _dt.datetime) -> SaveResult:
    workflow_id = export_workflow_id(app, draft=opts.draft)
    return store.save(
        text,
        app_id=app.id,
        app_name=app.name,
        app_mode=app.mode,
        tag=opts.tag,
        message=opts.message,
        base_url=opts.base_url,
        server_version=opts.server_version,
        workflow_id=workflow_id,
        draft=_is_draft(app, workflow_id),
        include_secret=opts.include_secret,
        now=now,
    )


@dataclass(frozen=True)
class SnapshotOutcome:
    """One app of `snapshot create --all`: a result or an error, as data."""

    app: App
    result: SaveResult | None = None
    error: str | None = None
    # of the error: 4 tells the command the session was refused (not in to_dict)
    exit_code: ExitCode = ExitCode.FAILED

    @property
    def ok(self) -> bool:
        return self.result is not None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"app_id": self.app.id, "app_name": self.app.name, "app_mode": self.app.mode}
        out["ok"] = self.ok
        if self.result is not None:
            out.update(status=self.result.status, tag=self.result.snapshot.tag, path=str(self.result.path))
        else:
            out["error"] = self.error
        return out


SAVE_THREADS = 4


async def snapshot_all(
    console: AsyncExporter,
    store: SnapshotStore,
    apps: Sequence[App],
    opts: SnapshotOptions,
    *,
    concurrency: int = 8,
    now: _dt.datetime | None = None,
    done: list[SnapshotOutcome] | None = None,
) -> list[SnapshotOutcome]:
    """Export every app with at most `concurrency` requests in flight. Each export is saved as soon as
    it lands, in worker threads (never on the event loop), so disk writes (fsync) overlap the exports
    still in flight. Saves of distinct apps touch distinct folders (the manifest write is atomic and
    idempotent), so up to SAVE_THREADS run at once; a repeated app is snapshotted once. One `now` for
    all: apps share the default tag of the run. Outcomes come back in the order of `apps`; `done` gets
    each as it finishes (what was saved when the run is interrupted). A file-system error (full disk,
    permission) fails that app only; an unusable store folder fails before anything is exported."""
    if concurrency < 1:
        raise UsageError("--concurrency must be 1 or more")
    await asyncio.to_thread(store.prepare)
    when = now or store.clock()
    apps = list({app.id: app for app in apps}.values())
    gate = asyncio.Semaphore(concurrency)
    writer = asyncio.Semaphore(SAVE_THREADS)

    async def one(app: App) -> SnapshotOutcome:
        async with gate:
            try:
                text = await console.export_dsl(
                    app.id,
                    include_secret=opts.include_secret,
                    workflow_id=export_workflow_id(app, draft=opts.draft),
                )
            except DifyError as exc:
                return SnapshotOutcome(app, error=exc.message, exit_code=ExitCode(exc.exit_code))
        async with writer:  # the request slot is already free for the next export
            try:
                saved = await asyncio.to_thread(_save, store, app, text, opts, when)
                return SnapshotOutcome(app, result=saved)
            except DifyctlError as exc:
                return SnapshotOutcome(app, error=exc.message, exit_code=ExitCode(exc.exit_code))

    async def tracked(app: App) -> SnapshotOutcome:
        outcome = await one(app)
        if done is not None:
            done.append(outcome)
        return outcome

    with store.batch():  # the store folder listed once, not once per save
        return list(await asyncio.gather(*(tracked(app) for app in apps)))


# ----------------------------------------------------------------------------------- snapshot diff
@dataclass(frozen=True)
class DiffSide:
    label: str
    doc: dict[str, Any]
    verified: bool = True  # False: a snapshot whose file no longer matches its sha256


def _looks_like_path(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.endswith((".yml", ".yaml")) or ref.startswith(".")


def resolve_side(
    ref: str,
    *,
    store: SnapshotStore,
    app_ref: str,
    console: Exporter | None = None,
    app: App | None = None,
) -> DiffSide:
    """`live` (published), `draft`, a file path, or a snapshot tag of `app_ref`. Tags and files need
    no server; a malformed file or snapshot is a UsageError naming it."""
    if ref in ("live", "draft"):
        if console is None or app is None:
            raise UsageError(f"{ref!r} needs a connection to the server")
        text = export_app(console, app, draft=ref == "draft")
        return DiffSide(ref, parse_dsl(text, f"the {ref} export of {app.name}"))
    if _looks_like_path(ref):
        return DiffSide(ref, read_dsl_file(Path(ref))[1])
    loaded = store.load_verified(app_ref, ref, force=True)  # diffing is read-only; the flag says it
    return DiffSide(ref, loaded.doc, loaded.verified)


def default_diff_refs(
    store: SnapshotStore,
    app_ref: str,
    from_ref: str | None,
    to_ref: str | None,
    *,
    include_safety: bool = False,
) -> tuple[str, str]:
    """`snapshot diff APP` = newest snapshot -> live; `snapshot diff APP T` = T -> live. The newest
    snapshot is the newest one a user took: safety snapshots (pre-rollback-* ...) copy the live state
    of the moment, so comparing with them would hide drift, unless asked (`include_safety`)."""
    if from_ref is None:
        metas = [m for m in store.list(app_ref) if include_safety or not is_safety(m.tag)]
        if not metas:
            raise UsageError(
                f"no snapshots of {app_ref!r} to compare with",
                hint=None if include_safety else "safety snapshots are skipped unless --include-safety",
            )
        from_ref = metas[-1].tag
    return from_ref, to_ref or "live"
