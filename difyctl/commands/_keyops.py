"""The glue of the `keys` commands that is more than parse -> call -> render."""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from difyctl.client.errors import DifyError
from difyctl.errors import DifyctlError, UsageError
from difyctl.exit_codes import ExitCode
from difyctl.jsonshape import app_fields
from difyctl.rotation.checks import overall_exit
from difyctl.rotation.engine import KeyRotation, RotateOptions, rotate_key

if TYPE_CHECKING:
    from difyctl.client.models import App
    from difyctl.context import AppContext


def read_secret_stdin(flag: str) -> str:
    value = sys.stdin.readline().strip()
    if not value:
        raise UsageError(
            f"{flag}: nothing on stdin", hint=f'pipe the value in: printf %s "$VALUE" | difyctl ... {flag}'
        )
    return value


def store_known_key(actx: AppContext, ref: str, key_stdin: bool) -> dict[str, Any]:
    from difyctl.client.errors import AuthenticationError
    from difyctl.commands._rotation_wiring import service_factory
    from difyctl.context import _looks_like_uuid
    from difyctl.redact import mask

    if not key_stdin:
        raise UsageError("pass the key on stdin with --stdin (never as a flag)")
    key = read_secret_stdin("--stdin")
    app_id = actx.profile().apps.get(ref) or (ref if _looks_like_uuid(ref) else None)
    name = None
    if app_id is None:
        with actx.console() as console:
            found = actx.resolve_app(console, ref)
        app_id, name = found.id, found.name
    try:
        with service_factory(actx)(key) as svc:
            info = svc.info()
    except AuthenticationError as exc:
        from difyctl.errors import DifyctlError
        from difyctl.exit_codes import ExitCode

        raise DifyctlError(
            "the server refused this key (401): nothing was stored",
            hint=f"copy the whole app-... key of this app; `difyctl keys list {ref}` shows its keys",
            exit_code=ExitCode.AUTH,
        ) from exc
    if name is not None and info.name != name:
        raise UsageError(f"this key belongs to app {info.name!r}, not {name!r}: nothing was stored")
    actx.credentials.set_app_key(actx.profile_name, app_id, key)
    doc = {"app": name or info.name, "app_id": app_id, "mode": info.mode, "key": mask(key), "stored": True}
    return {**doc, **app_fields(app_id, name or info.name, info.mode)}


def rotate_many(
    actx: AppContext,
    refs: Sequence[str],
    all_apps: bool,
    *,
    grace: float,
    probes: Sequence[str],
    sinks: Sequence[str],
    resume: bool,
    finish: bool,
    replace_sinks: bool = False,
    force: bool,
    dry_run: bool,
    prune_unused: float | None,
    yes: bool,
) -> tuple[list[dict[str, Any]], ExitCode]:
    from difyctl.commands._rotation_wiring import key_deps
    from difyctl.output.prompt import confirm
    from difyctl.rotation.sinks import parse_sink

    if bool(refs) == all_apps:
        raise UsageError("name the apps to rotate, or pass --all (not both)")
    if resume and finish:
        raise UsageError("--resume and --finish do not go together")
    if force and not finish:
        raise UsageError("--force only applies to --finish")
    if replace_sinks and not resume:
        raise UsageError("--replace-sinks needs --resume (and the --sink to deliver to instead, if any)")
    opts = RotateOptions(
        grace_s=grace,
        probes=tuple(probes),
        sinks=tuple(parse_sink(s) for s in sinks),
        resume=resume,
        replace_sinks=replace_sinks,
        finish=finish,
        force=force,
        dry_run=dry_run,
        prune_unused_days=prune_unused,
    )
    if not dry_run:
        what = "every app" if all_apps else ", ".join(refs)
        verb = "Revoke the old keys of" if finish else "Rotate the service API keys of"
        confirm(f"{verb} {what}?", yes=yes)
    from difyctl.commands._targets import console_apps

    results: list[KeyRotation] = []
    current: list[App] = []  # the app being rotated, for the interruption line
    # --all: the app list and (unless resuming) every app's keys come from the one resolver, concurrently
    listing = console_apps(actx, with_keys=not (resume or finish)) if all_apps else None
    with _interruptible(actx, results, current), actx.console() as console:
        apps: list[App] = (
            [a for a, _ in listing] if listing is not None else [actx.resolve_app(console, r) for r in refs]
        )
        _check_shared_sinks(opts, apps)
        skipped: list[dict[str, Any]] = []
        looked_up: list[KeyRotation] = []
        if listing is not None and not (resume or finish):  # --all never issues an app's first key
            keyless = {a.id for a, keys in listing if keys == []}
            looked_up = [_lookup_failed(a, keys) for a, keys in listing if isinstance(keys, DifyError)]
            skipped = [_skipped(a) for a in apps if a.id in keyless]
            drop = keyless | {r.app_id for r in looked_up}
            apps = [a for a in apps if a.id not in drop]
        deps = key_deps(actx, console)
        for app in apps:
            current[:] = [app]
            results.append(rotate_key(deps, app, opts))
            current.clear()
        results.extend(looked_up)
    return [r.to_dict() for r in results] + skipped, overall_exit(results)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt (so locks and temp files are released)."""


@contextlib.contextmanager
def _interruptible(actx: AppContext, results: list[KeyRotation], current: list[App]) -> Iterator[None]:
    """Ctrl-C or SIGTERM at any point: one line saying what exists now and the command that finishes
    it, exit 130 / 143 (instead of a bare ^C that hides a journal and an extra key)."""
    previous = None
    if threading.current_thread() is threading.main_thread():

        def on_term(_signum: int, _frame: object) -> None:
            raise Terminated

        previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    except (KeyboardInterrupt, Terminated) as exc:
        code = ExitCode.TERMINATED if isinstance(exc, Terminated) else ExitCode.INTERRUPTED
        raise DifyctlError(_interrupted_line(actx, results, current), exit_code=code) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupted_line(actx: AppContext, results: list[KeyRotation], current: list[App]) -> str:
    from difyctl.commands._rotation_wiring import journal_dir
    from difyctl.rotation.engine import describe_pending
    from difyctl.rotation.journal import JournalStore

    what = "interrupted" + (f" after {len(results)} app(s) were done" if results else "")
    if not current:
        return f"{what}: no rotation was in progress, nothing is pending; apps not reached were not rotated"
    app = current[0]
    profile = actx.profile_name
    command = f"difyctl keys rotate {shlex.quote(app.name)}" + (
        f" --profile {shlex.quote(profile)}" if profile != "default" else ""
    )
    journals = JournalStore(journal_dir(actx))
    return f"{what}: {describe_pending(journals, actx.profile().base_url, profile, app, command)}"


def _lookup_failed(app: App, exc: DifyError) -> KeyRotation:
    """A key lookup that failed after its retries fails only this app: never mistaken for "no key"."""
    from difyctl.targets import lookup_error

    res = KeyRotation(app=app.name, app_id=app.id)
    res.fail(lookup_error(exc)[0], "nothing was changed for this app; run the rotation again", exc.exit_code)
    return res


def _skipped(app: App) -> dict[str, Any]:
    doc = KeyRotation(app=app.name, app_id=app.id).to_dict()
    doc.update(status="skipped", phase=None, error="no service key to rotate", exit_code=0)
    doc["hint"] = f"issue one with `difyctl keys create {shlex.quote(app.name)} --store`"
    return doc


def _check_shared_sinks(opts: RotateOptions, apps: Sequence[App]) -> None:
    """One dotenv VAR for several apps would leave only the last app's key in the file."""
    from difyctl.rotation.sinks import DotenvSink

    if len(apps) < 2:
        return
    for sink in opts.sinks:
        if isinstance(sink, DotenvSink) and not sink.per_app:
            raise UsageError(
                f"sink {sink.name} would receive the key of every app ({len(apps)}): each would overwrite "
                "the previous one",
                hint=f"put {{ALIAS}} in the variable name, e.g. dotenv:{sink.path}:DIFY_API_KEY_{{ALIAS}}",
            )
