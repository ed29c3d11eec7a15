"""apply: make DSL files from git live (one app, or a folder of apps), plan first, restore on failure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, Optional

import typer

from difyctl.commands._common import OutputOpt, ProfileOpt, VerboseOpt, YesOpt, app_context
from difyctl.commands._dsl import AllowBlankOpt, DirOpt, DryRunOpt, NoPublishOpt, ProbeOpt
from difyctl.exit_codes import ExitCode

if TYPE_CHECKING:
    from collections.abc import Mapping

    from difyctl.context import AppContext
    from difyctl.snapshots.store import SnapshotStore

MAX_MESSAGE = 100  # Dify's limit for a version's marked_comment
FileOpt = Annotated[
    str,
    typer.Option("--file", "-f", metavar="FILE", help="A DSL file, or a folder of them (one app per file)."),
]
ExitCodeOpt = Annotated[
    bool, typer.Option("--exit-code", help="With --dry-run: exit 1 when something would change (PR checks).")
]
MessageOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--message",
        "-m",
        metavar="TEXT",
        help="The published version's comment (max 100 chars).",
        show_default=False,
    ),
]
SecretOpt = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option(
        "--secret",
        metavar="KEY=VALUE",
        help="Fill the secret variable NAME from the environment variable.",
    ),
]
AtomicOpt = Annotated[
    bool, typer.Option("--atomic", help="All or nothing: on any failure restore every app already applied.")
]
SummaryOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--summary",
        metavar="FILE",
        help="Append a Markdown report to FILE (e.g. $GITHUB_STEP_SUMMARY).",
        show_default=False,
    ),
]


def apply(
    ctx: typer.Context,
    file: FileOpt,
    app_ref: Annotated[Optional[str], typer.Argument(metavar="APP", help="The app (-f FILE only).")] = None,  # noqa: UP045
    dry_run: DryRunOpt = False,
    exit_code: ExitCodeOpt = False,
    yes: YesOpt = False,
    no_publish: NoPublishOpt = False,
    message: MessageOpt = None,
    secret: SecretOpt = None,
    allow_blank_secret: AllowBlankOpt = False,
    atomic: AtomicOpt = False,
    summary: SummaryOpt = None,
    probe: ProbeOpt = True,
    directory: DirOpt = None,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> ExitCode:
    """Apply DSL files from git: plan (semantic diff vs the live published app), then apply safely.

    Files match live apps by name, by the ids in a `difyctl.yaml` beside them, or by APP (one file).
    Each change: a pre-apply-* safety snapshot, import, publish (--message), verify by re-export, probe,
    and an automatic restore on failure; --dry-run writes nothing. Secrets blank in a file keep their
    live values. Exit 3 when some apps failed and others were applied; with --atomic the applied ones
    are restored (exit 1). Every failure the server's (no answer in --timeout, 5xx), the ones it
    made --atomic undo too: exit 5.

    \b
    Examples:
      difyctl apply -f apps/ --dry-run --exit-code --summary "$GITHUB_STEP_SUMMARY"
      difyctl apply -f apps/ --yes --message "release $TAG" --secret API_TOKEN=PROD_API_TOKEN
      difyctl apply -f echo.yml echo-workflow --yes --atomic
    """
    from pathlib import Path

    from difyctl.commands._dsl import open_store
    from difyctl.errors import UsageError
    from difyctl.output.prompt import require_consent
    from difyctl.release.files import load, pin

    if message is not None and len(message) > MAX_MESSAGE:
        raise UsageError(f"--message is {len(message)} characters; Dify keeps at most {MAX_MESSAGE}")
    files, manifest = load(Path(file), with_app=app_ref is not None)  # malformed: exit 2, nothing sent
    actx = app_context(ctx, output, profile, verbose)
    secrets = _secret_values(secret or [], actx.env)
    if not dry_run:
        require_consent(yes, "apply")
    flags = _Flags(
        dry_run, exit_code, yes, not no_publish, message, atomic, summary, probe, allow_blank_secret
    )
    store = open_store(actx, directory)  # planning writes nothing: a dry run leaves it untouched
    with actx.console() as console:
        app_id = actx.resolve_app(console, app_ref).id if app_ref else None
        code = _run(actx, console, store, pin(files, manifest, console.base_url, app_id), secrets, flags)
    return code


class _Flags(NamedTuple):
    dry_run: bool
    exit_code: bool
    yes: bool
    publish: bool
    message: str | None
    atomic: bool
    summary: str | None
    probe: bool
    allow_blank: bool


def _run(
    actx: AppContext, console: Any, store: SnapshotStore, files: Any, secrets: Mapping[str, str], f: _Flags
) -> ExitCode:
    from difyctl.commands._dsl import make_probe
    from difyctl.output.apply import plan_markdown, render_plan, render_result, result_markdown
    from difyctl.output.prompt import ask_consent, confirm
    from difyctl.release.engine import ReleaseEngine

    engine = ReleaseEngine(
        console,
        store,
        probe_for=(lambda app: make_probe(actx, app)) if f.probe and not f.dry_run else None,
        confirm=ask_consent,
        base_url=console.base_url,
        server_version=console.last_server_version,
        allow_blank=f.allow_blank,
    )
    plan = engine.plan(files, secrets)
    plan.dry_run = f.dry_run
    unused = sorted(set(secrets) - {n for a in plan.apps for n in a.file.secret_names})
    if unused:
        actx.out.warn(f"--secret {', '.join(unused)}: no file has a secret variable of that name")
    out = actx.out
    if out.format == "text":
        render_plan(out, plan)
    if f.dry_run or not plan.changes:
        out.emit({"dry_run": f.dry_run, **plan.to_dict()}, text=lambda _o: None)
        _append(f.summary, plan_markdown(plan))
        return ExitCode.FAILED if f.exit_code and f.dry_run and plan.changes else ExitCode.OK
    confirm(f"Apply {plan.changes} change(s)?", yes=f.yes)
    result = engine.apply(
        plan, publish=f.publish, yes=f.yes, secrets=secrets, message=f.message, atomic=f.atomic
    )
    out.emit(result.to_dict(), text=lambda o: render_result(o, result))
    _append(f.summary, plan_markdown(plan) + "\n" + result_markdown(result))
    return result.exit_code


def _secret_values(flags: list[str], env: Mapping[str, str]) -> dict[str, str]:
    """`--secret NAME=ENV_VAR` -> {NAME: value}. The value never appears in a message."""
    from difyctl.errors import UsageError

    values: dict[str, str] = {}
    for flag in flags:
        name, sep, var = flag.partition("=")
        if not sep or not name.strip() or not var.strip():
            raise UsageError(f"--secret {flag!r}: expected NAME=ENV_VAR (the value is read from ENV_VAR)")
        if not env.get(var.strip()):
            raise UsageError(f"--secret {name}: the environment variable {var.strip()} is not set or empty")
        values[name.strip()] = env[var.strip()]
    return values


def _append(path: str | None, markdown: str) -> None:
    """Append (GitHub's step summary file is shared by the steps of a job)."""
    if not path:
        return
    from difyctl.errors import UsageError

    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(markdown + "\n")
    except OSError as exc:
        raise UsageError(f"--summary {path}: {exc.strerror or exc}") from None
