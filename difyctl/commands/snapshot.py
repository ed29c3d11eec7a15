"""snapshot create | list | show | diff | verify | prune: the local, git-friendly store of app DSL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from difyctl.commands._common import OutputOpt, ProfileOpt, VerboseOpt, YesOpt, app_context
from difyctl.commands._dsl import DirOpt
from difyctl.exit_codes import ExitCode, all_failed

if TYPE_CHECKING:
    from difyctl.context import AppContext
    from difyctl.snapshots.ops import SnapshotOutcome

app = typer.Typer(help="Snapshots of app DSL: create, list, show, diff, verify, prune.", no_args_is_help=True)

SECRET_WARNING = (
    "--include-secret: these snapshots hold SECRET VALUES in clear text (files are 0600). "
    "Never commit them; prefer snapshots without secrets."
)


@app.command("create")
def create(
    ctx: typer.Context,
    apps: Annotated[
        list[str] | None, typer.Argument(metavar="APP", help="App ids, names or aliases.")
    ] = None,  # noqa: UP045
    all_apps: Annotated[bool, typer.Option("--all", help="Every app of the workspace.")] = False,
    tag: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--tag", "-t", metavar="NAME", help="Tag (default: UTC time)."),
    ] = None,
    message: Annotated[
        str, typer.Option("--message", "-m", metavar="TEXT", help="Why this snapshot (kept in the sidecar).")
    ] = "",
    draft: Annotated[
        bool, typer.Option("--draft", help="Snapshot the draft instead of the published app.")
    ] = False,
    include_secret: Annotated[
        bool, typer.Option("--include-secret", help="Keep secret values (0600 files).")
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", metavar="N", help="Exports in flight with --all.", min=1)
    ] = 8,
    directory: DirOpt = None,
    layout: Annotated[
        str,
        typer.Option(
            "--layout",
            metavar="NAME",
            help="store (sidecars, history) or flat: one <app>.yml per app + difyctl.yaml in --dir, "
            "exactly as exported, the layout `apply -f DIR` reads (seed a git repo).",
        ),
    ] = "store",
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> ExitCode:
    """Snapshot apps into the store: one DSL file + a sidecar per app; no duplicate when unchanged.

    Exit 3 when some apps of several failed (the others are saved), 4 when the server refused the
    session; when all failed, 5 no export reached a server, 7 every one rate limited, else 1.

    \b
    Examples:
      difyctl snapshot create echo-workflow --tag v2.4.0 -m "before the prompt change"
      difyctl snapshot create --all --concurrency 16
      DIFYCTL_SNAPSHOT_DIR=ops/snapshots difyctl snapshot create support-bot --draft
      difyctl snapshot create --all --dir apps --layout flat   # then: difyctl apply -f apps
    """
    from difyctl.commands._dsl import open_store
    from difyctl.errors import UsageError
    from difyctl.snapshots.ops import SnapshotOptions
    from difyctl.snapshots.paths import check_user_tag

    if bool(apps) == all_apps:
        raise UsageError("name the apps to snapshot, or pass --all (not both)")
    if tag is not None:
        check_user_tag(tag)  # before anything is sent: valid, not `live`/`draft`/pre-rollback-*
    actx = app_context(ctx, output, profile, verbose)
    if layout != "store":
        _create_flat(
            actx, apps or [], all_apps, directory, layout, draft=draft, extra=bool(tag or include_secret)
        )
        return ExitCode.OK
    store = open_store(actx, directory)
    if include_secret:
        actx.out.warn(SECRET_WARNING)
    if all_apps:
        from difyctl.broadcast.pool import warm_up

        warm_up()  # the fan-out transport loads while the console logs in
    with actx.console() as console:
        # --all: the apps are listed by the fan-out's own client (_run_all), not here
        targets = None if all_apps else [actx.resolve_app(console, r) for r in apps or []]
        version = None if all_apps else console.server_version()
        opts = SnapshotOptions(tag, message, draft, include_secret, console.base_url, version)
        outcomes = _run_all(actx, console, store, targets, opts, concurrency)
    return _report_created(actx, outcomes)


def _create_flat(
    actx: AppContext,
    refs: list[str],
    all_apps: bool,
    directory: str | None,
    layout: str,
    *,
    draft: bool,
    extra: bool,
) -> None:
    from pathlib import Path

    from difyctl.errors import UsageError
    from difyctl.release.files import write_flat_folder
    from difyctl.snapshots.ops import export_app

    if layout != "flat" or not directory or extra:
        raise UsageError(
            "--layout is store or flat; flat needs --dir and takes no --tag / --include-secret",
            hint="difyctl snapshot create --all --dir apps --layout flat",
        )
    with actx.console() as console:
        targets = list(console.iter_apps()) if all_apps else [actx.resolve_app(console, r) for r in refs]
        exports = [(app, export_app(console, app, draft=draft)) for app in targets]
        paths = write_flat_folder(Path(directory), exports, console.base_url)
    docs = [
        {"app_id": a.id, "app_name": a.name, "app_mode": a.mode, "path": str(p)}
        for (a, _t), p in zip(exports, paths, strict=True)
    ]
    actx.out.emit(
        {"layout": "flat", "dir": directory, "files": docs},
        text=lambda o: o.table(["APP", "PATH"], [[d["app_name"], d["path"]] for d in docs]),
    )
    actx.out.info(f"{len(docs)} file(s) and difyctl.yaml written to {directory}")


def _run_all(
    actx: AppContext, console: Any, store: Any, apps: list[Any] | None, opts: Any, concurrency: int
) -> list[Any]:
    """Export and save `apps`, or (None) every app of the workspace, on one event loop. The app list
    (pages fetched concurrently) goes through the synchronous console, whose transport the login or the
    stored session has loaded, in daemon threads, while the warm-up thread loads the aiohttp transport
    the exports need; the server version is the one the listing's answers carried (no /health)."""
    import asyncio
    import dataclasses

    from difyctl.broadcast.pool import fanout_options, quiet_gc
    from difyctl.client.console import AsyncConsoleClient
    from difyctl.commands._targets import SyncListing
    from difyctl.snapshots.ops import snapshot_all
    from difyctl.targets import list_all_apps

    class Counting:  # advances the progress bar as each export lands
        def __init__(self, inner: AsyncConsoleClient, tick: Any) -> None:
            self.inner, self.tick = inner, tick

        async def export_dsl(
            self, app_id: str, include_secret: bool = False, workflow_id: str | None = None
        ) -> str:
            try:
                return await self.inner.export_dsl(
                    app_id, include_secret=include_secret, workflow_id=workflow_id
                )
            finally:
                self.tick()

    done: list[Any] = []
    targets: list[Any] = list(apps or [])

    async def go() -> list[Any]:
        run_opts = opts
        if apps is None:
            with actx.out.progress(None, "listing apps"):
                targets.extend(await list_all_apps(SyncListing(console), concurrency=concurrency, ahead=1))
            run_opts = dataclasses.replace(opts, server_version=console.server_version())
        options = fanout_options(actx.client_options(), concurrency)  # striped: -c 32 beats -c 8
        async with AsyncConsoleClient(console.base_url, console.auth, options, actx.get_runtime()) as client:
            with actx.out.progress(len(targets), "snapshot") as bar:
                exporter = Counting(client, bar.advance)
                return await snapshot_all(
                    exporter, store, targets, run_opts, concurrency=concurrency, done=done
                )

    try:
        with quiet_gc():  # each export's parse makes ~200 YAML nodes: no collection mid-fan-out
            return asyncio.run(go())
    except KeyboardInterrupt:
        from difyctl.errors import Interrupted

        saved = sum(1 for o in done if o.ok)
        raise Interrupted(
            f"interrupted: {saved} of {len(targets)} apps snapshotted into {store.root}",
            hint="run the same command again: apps whose snapshot is unchanged are not saved twice",
        ) from None


def _report_created(actx: AppContext, outcomes: list[SnapshotOutcome]) -> ExitCode:
    from difyctl.errors import PartialFailure

    docs = [o.to_dict() for o in outcomes]
    counts = {k: sum(1 for d in docs if d.get("status") == k) for k in ("created", "tagged", "unchanged")}
    failed = sum(1 for o in outcomes if not o.ok)

    def text(o: Any) -> None:
        rows = []
        for oc in outcomes:
            if oc.result is None:
                rows.append([oc.app.name, "failed", "", oc.error or ""])
            elif oc.result.created:
                rows.append([oc.app.name, "created", oc.result.snapshot.tag, str(oc.result.path)])
            elif oc.result.status == "tagged":
                alias = oc.result.snapshot
                rows.append(
                    [oc.app.name, "tagged", alias.tag, f"unchanged: same content as {alias.alias_of}"]
                )
            else:
                rows.append(
                    [oc.app.name, "unchanged", oc.result.snapshot.tag, "same content as this snapshot"]
                )
        o.table(["APP", "STATUS", "TAG", "PATH"], rows)

    actx.out.emit({"snapshots": docs, **counts, "failed": failed}, text=text)
    actx.out.info(
        f"{counts['created']} created, "
        + (f"{counts['tagged']} tagged (unchanged content, no duplicate), " if counts["tagged"] else "")
        + f"{counts['unchanged']} unchanged (no duplicate), {failed} failed"
    )
    if failed:
        from difyctl.errors import DifyctlError

        if any(o.exit_code == ExitCode.AUTH for o in outcomes if not o.ok):  # the session went away
            raise DifyctlError(
                f"{failed} of {len(outcomes)} snapshots failed: the server refused the session",
                hint="run `difyctl login` again, then the same command (unchanged apps are not saved twice)",
                exit_code=ExitCode.AUTH,
            )
        if failed == len(outcomes):
            return all_failed(o.exit_code for o in outcomes)  # 5: no export reached the server
        raise PartialFailure(f"{failed} of {len(outcomes)} snapshots failed")
    return ExitCode.OK


@app.command("list")
def list_snapshots(
    ctx: typer.Context,
    app_ref: Annotated[
        str | None, typer.Argument(metavar="APP", help="Only this app (id, name, folder).")
    ] = None,  # noqa: UP045
    directory: DirOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """List the snapshots in the store (oldest first). Works offline.

    \b
    Examples:
      difyctl snapshot list
      difyctl snapshot list echo-workflow -o json
    """
    from difyctl.commands._dsl import open_store

    actx = app_context(ctx, output, verbose=verbose)
    metas = open_store(actx, directory).list(app_ref)

    def text(o: Any) -> None:
        if not metas:
            o.info("no snapshots")
            return
        rows = [
            [
                m.app_name,
                m.tag + (f" (= {m.alias_of})" if m.alias_of else ""),
                m.created_at,
                ("draft" if m.draft else "published") + (" +secrets" if m.include_secret else ""),
                m.message,
            ]
            for m in metas
        ]
        o.table(["APP", "TAG", "CREATED", "KIND", "MESSAGE"], rows)

    actx.out.emit([m.to_dict() for m in metas], text=text)


@app.command("show")
def show(
    ctx: typer.Context,
    app_ref: Annotated[str, typer.Argument(metavar="APP", help="App id, name or store folder.")],
    tag: Annotated[str, typer.Argument(metavar="NAME", help="Snapshot tag.")],
    dsl: Annotated[bool, typer.Option("--dsl", help="Print the DSL file itself (text mode).")] = False,
    directory: DirOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Show one snapshot's metadata (and checksum status), or its DSL with --dsl.

    \b
    Examples:
      difyctl snapshot show echo-workflow v2.4.0
      difyctl snapshot show echo-workflow v2.4.0 --dsl > echo.yml
    """
    from difyctl.commands._dsl import open_store

    actx = app_context(ctx, output, verbose=verbose)
    store = open_store(actx, directory)
    loaded = store.load_verified(app_ref, tag, force=True)
    doc = {**loaded.meta.to_dict(), "path": str(loaded.path), "verified": loaded.verified}

    def text(o: Any) -> None:
        if dsl:
            o.stream(loaded.text)
            return
        for key, value in doc.items():
            o.line(f"{key + ':':<16}{'' if value is None else value}")

    actx.out.emit(doc, text=text)
    if not loaded.verified:
        actx.out.warn(f"{loaded.path} does not match its recorded sha256 (edited by hand or corrupt)")


@app.command("diff")
def diff(
    ctx: typer.Context,
    app_ref: Annotated[str, typer.Argument(metavar="APP", help="App id, name or profile alias.")],
    from_ref: Annotated[
        str | None,
        typer.Argument(metavar="NAME", help="Tag, live, draft or a file (default: newest snapshot)."),
    ] = None,  # noqa: UP045
    to_ref: Annotated[
        str | None, typer.Argument(metavar="NAME", help="Tag, live, draft or a file (default: live).")
    ] = None,  # noqa: UP045
    include_safety: Annotated[
        bool,
        typer.Option(
            "--include-safety",
            help="The newest snapshot may be a safety one (pre-rollback-*, pre-apply-*, pre-promote-*).",
        ),
    ] = False,
    directory: DirOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> ExitCode:
    """Semantic diff of two versions of an app (UI-only changes ignored, secrets never shown).

    Exit 0 when equal, 1 when different. Without FROM the newest snapshot you took is compared:
    safety snapshots are skipped unless --include-safety (or named as FROM).

    \b
    Examples:
      difyctl snapshot diff echo-workflow                 # newest snapshot -> live
      difyctl snapshot diff echo-workflow v2.3.0 v2.4.0
      difyctl snapshot diff echo-workflow live draft -o json
      difyctl snapshot diff echo-workflow v2.4.0 ./echo-workflow.yml
    """
    from difyctl.commands._dsl import open_store
    from difyctl.jsonshape import app_fields_of, diff_doc, snapshot_app_fields
    from difyctl.output.diff import render_diff
    from difyctl.snapshots.diff import semantic_diff
    from difyctl.snapshots.ops import default_diff_refs, resolve_side

    actx = app_context(ctx, output, profile, verbose)
    store = open_store(actx, directory)
    online = to_ref is None or bool({from_ref, to_ref} & {"live", "draft"})
    if not online:
        sides = [resolve_side(r, store=store, app_ref=app_ref) for r in (from_ref, to_ref) if r]
        ident = snapshot_app_fields(store.list(app_ref) if store.find_app_dir(app_ref) else [])
    else:
        with actx.console() as console:
            live = actx.resolve_app(console, app_ref)
            refs = default_diff_refs(store, live.id, from_ref, to_ref, include_safety=include_safety)
            sides = [resolve_side(r, store=store, app_ref=live.id, console=console, app=live) for r in refs]
        ident = app_fields_of(live)
    old, new = sides
    result = semantic_diff(old.doc, new.doc)
    for side in (old, new):
        if not side.verified:
            actx.out.warn(
                f"snapshot {side.label} does not match its recorded sha256 (edited by hand or corrupt)"
            )
    doc = diff_doc(old.label, new.label, result, ident)
    actx.out.emit(doc, text=lambda o: render_diff(o, result, old_label=old.label, new_label=new.label))
    return ExitCode.OK if result.is_empty else ExitCode.FAILED


@app.command("verify")
def verify(
    ctx: typer.Context, directory: DirOpt = None, output: OutputOpt = None, verbose: VerboseOpt = False
) -> ExitCode:
    """Re-hash every snapshot: exit 1 naming each corrupt, missing or orphan file (aliases are checked
    against the file they name; a store that does not exist is exit 2).

    \b
    Example:
      difyctl snapshot verify --dir ops/snapshots
    """
    from difyctl.commands._dsl import open_store

    actx = app_context(ctx, output, verbose=verbose)
    store = open_store(actx, directory)
    problems = store.verify()
    doc = {
        "ok": not problems,
        "root": str(store.root),
        "checked": len(store.list()),
        "problems": [p.to_dict() for p in problems],
    }

    def text(o: Any) -> None:
        for p in problems:
            o.line(f"{p.kind}: {p.path}: {p.detail}", style="red")
        o.line(
            f"{doc['checked']} snapshots checked in {store.root}: "
            + ("all intact" if not problems else f"{len(problems)} problem(s)")
        )

    actx.out.emit(doc, text=text)
    return ExitCode.FAILED if problems else ExitCode.OK


@app.command("prune")
def prune(
    ctx: typer.Context,
    app_ref: Annotated[str, typer.Argument(metavar="APP", help="App id, name or store folder.")],
    keep: Annotated[
        int, typer.Option("--keep", "-k", metavar="N", help="How many of the newest to keep.", min=0)
    ],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Also remove safety snapshots (pre-rollback-* ...) younger than 7 days."
        ),
    ] = False,
    yes: YesOpt = False,
    directory: DirOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Delete all but the newest N snapshots (--keep N) of an app (recent safety ones are kept; content stays
    while another tag points to it).

    \b
    Examples:
      difyctl snapshot prune echo-workflow --keep 10 --yes
    """
    from difyctl.commands._dsl import open_store
    from difyctl.jsonshape import prune_doc
    from difyctl.output.prompt import confirm

    actx = app_context(ctx, output, verbose=verbose)
    store = open_store(actx, directory)
    metas = store.list(app_ref)
    count = len(metas) - keep
    if count > 0:
        confirm(f"Delete up to {count} snapshot(s) of {app_ref!r}?", yes=yes)
    result = store.prune(app_ref, keep, force=force)

    def text(o: Any) -> None:
        o.line(
            f"removed {len(result.removed)}, kept {len(result.kept)}"
            + (
                f", protected {len(result.protected)} recent safety snapshot(s) (use --force)"
                if result.protected
                else ""
            )
        )

    actx.out.emit(prune_doc(result, metas), text=text)
